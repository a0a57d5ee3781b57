from tests.portal.fixtures import app, client, portal_settings  # noqa: F401 - fixtures
from tests.proofs.fixtures import log_key, standalone  # noqa: F401 - fixtures
from tests.registry.fixtures import (  # noqa: F401 - fixtures
    accounts_path,
    backend,
    clock,
    config,
    database_url,
    outbox,
    person,
    registry,
    session,
)
