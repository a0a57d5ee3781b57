"""schemathesis against the API's own OpenAPI schema: no generated input gets a 5xx.

Examples are bounded per operation to keep CI short; the app runs on SQLite and on
PostgreSQL (where a stray NUL byte or an out-of-range integer would surface as a 500).
The operations are driven from hypothesis directly rather than through schemathesis's
pytest plugin, which is parametrised per database here through the fixtures.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from notrain.portal import create_app
from notrain.settings import Settings
from tests.registry.fixtures import FakeClock

EXAMPLES = 25


def test_no_generated_input_gets_a_server_error(
    portal_settings: Settings, clock: FakeClock
) -> None:
    relaxed = portal_settings.model_copy(
        update={"portal_ip_rate_limit": 0, "portal_email_rate_limit": 0}
    )
    app = create_app(relaxed, clock=clock, deliver_mail=False)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()
    answered = app.state.portal.metrics.http_requests
    total = sum(sample.value for metric in answered.collect() for sample in metric.samples
                if sample.name.endswith("_total"))  # fmt: skip
    assert total >= len(operations) * 5  # the generated cases did reach the app
