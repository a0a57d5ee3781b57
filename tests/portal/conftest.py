from tests.portal.fixtures import (  # noqa: F401 - fixtures
    api_key,
    app,
    client,
    officer,
    portal_settings,
    signed_in,
)
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
