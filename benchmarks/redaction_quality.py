"""Precision and recall of redaction on the labelled cases, per kind and per category.

    python benchmarks/redaction_quality.py             # the shipped default policy
    python benchmarks/redaction_quality.py --failures  # and every case redacted wrongly

Cases are read from ``tests/corpus/redaction_cases.txt`` and redacted by DuckDB with the
plan's own passes (as ``notrain redact`` does). A placeholder counts as found only if it
replaced exactly a marked span of its kind (see ``tests/corpus/redaction_cases.py``).
Not a test: it asserts nothing, it reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.corpus.redaction_cases import POSITIVE, UNTOUCHABLE, load_cases, score  # noqa: E402

from notrain.corpus.redaction import redact_texts  # noqa: E402
from notrain.policy.loader import load_default_policy, load_policy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, help="policy TOML (default: the shipped one)")
    parser.add_argument("--failures", action="store_true", help="print every wrong case")
    args = parser.parse_args()
    policy = (load_policy(args.policy) if args.policy else load_default_policy()).policy

    cases = load_cases()
    started = time.perf_counter()
    outputs = redact_texts([case.text for case in cases], policy)
    seconds = time.perf_counter() - started
    result = score(cases, outputs)

    negatives = sum(n for category, n in result.cases.items() if category not in POSITIVE)
    languages = len({case.language for case in cases})
    print(f"{len(cases)} cases ({negatives} negative) in {languages} languages, "
          f"redacted in {seconds:.2f} s")  # fmt: skip
    print()
    print(f"{'kind':8s} {'spans':>6s} {'TP':>5s} {'FP':>5s} {'FN':>5s} {'precision':>10s} "
          f"{'recall':>7s}")  # fmt: skip
    for kind in POSITIVE:
        spans = result.true[kind] + result.false_negative[kind]
        print(f"{kind:8s} {spans:6d} {result.true[kind]:5d} {result.false_positive[kind]:5d} "
              f"{result.false_negative[kind]:5d} {result.precision(kind):10.3f} "
              f"{result.recall(kind):7.3f}")  # fmt: skip
    print()
    print(f"{'category':12s} {'cases':>6s} {'wrong':>6s}  (* = must never be touched)")
    for category in sorted(result.cases, key=lambda c: (c not in POSITIVE, c)):
        mark = "*" if category in UNTOUCHABLE else " "
        print(f"{category:12s}{mark}{result.cases[category]:6d} {result.changed[category]:6d}")
    if args.failures:
        print()
        for case, output in result.failures:
            print(f"line {case.line} ({case.category}, {case.language}): {case.text!r}")
            print(f"    expected {case.expected!r}")
            print(f"    got      {output!r}")


if __name__ == "__main__":
    main()
