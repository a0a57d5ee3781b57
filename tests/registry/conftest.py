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
