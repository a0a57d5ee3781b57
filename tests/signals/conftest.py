"""Shared fixtures of the signals tests: one certificate chain per session."""

from __future__ import annotations

import pytest

from tests.signals.make import SigningKit, signing_kit


@pytest.fixture(scope="session")
def kit() -> SigningKit:
    return signing_kit()
