"""The datadiligence comparison's notrain column stays right on all 35 fixtures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_datadiligence.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_datadiligence", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_notrain_is_right_on_every_fixture_of_the_comparison(tmp_path: Path) -> None:
    compare = load()
    media, web = compare.media_cases(compare.bench.signing_kit()), compare.web_cases()
    compare.run_notrain(media, web, tmp_path)
    cases = [*media, *web]
    assert len(cases) == 35
    assert [(c.name, c.notrain) for c in cases] == [(c.name, c.correct) for c in cases]
