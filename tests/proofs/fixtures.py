"""Fixtures of the proofs' tests: a fixed log key and the stand-alone verifier script."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notrain.proofs.keys import LogKey

SCRIPT = Path(__file__).resolve().parents[2] / "src" / "notrain" / "proofs" / "standalone_verify.py"


@pytest.fixture
def log_key() -> LogKey:
    return LogKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


@pytest.fixture(scope="session")
def standalone() -> ModuleType:
    """The stand-alone verifier, loaded as a module for in-process checks."""
    spec = importlib.util.spec_from_file_location("verify_receipt", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_standalone(document: dict[str, Any], folder: Path, key: bytes) -> tuple[int, str]:
    """Run the script as a person would: a file, a key, an exit status and a line."""
    path = folder / "document.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(path), "--key", key.hex()],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr
