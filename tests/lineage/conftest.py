from tests.registry.fixtures import config, database_url  # noqa: F401 - fixtures
