"""Spark redacts every labelled case byte for byte as DuckDB does.

The plan's redaction passes, written for Spark SQL (java.util.regex), run over the
cases of ``redaction_cases.txt`` and some texts the two regex libraries could read
differently; the DuckDB (RE2) output is the reference.
"""

from __future__ import annotations

from typing import Any

import pytest

from notrain.corpus.dialect import SPARK
from notrain.corpus.plan import BuildPlan
from notrain.corpus.redaction import redact_texts, redaction_query
from notrain.policy.loader import default_policy_text, load_policy_text
from notrain.policy.model import Policy
from tests.corpus.redaction_cases import load_cases
from tests.corpus.world import AS_OF

pytestmark = pytest.mark.slow

TRICKY = [
    "call 0612345678\nor +33 6 12 34 56 78\n",
    "06 12 34 56 78\r\n",
    "0612345678.\n2024-06-26\n",
    "a@example.org\n",
    "192.0.2.1\n::1\n",
    "\u0661\u0662\u0663 \u0966\u0967\u0968 ٠٦١٢٣٤٥٦٧٨",  # Arabic-Indic and Devanagari digits
    "x\u00a0+49\u00a030\u00a012345678\u202fy",
    "ÉCOLE@EXAMPLE.FR and Émile@école.fr",
]


def _spark_redact(spark: Any, texts: list[str], policy: Policy) -> list[str]:
    plan = BuildPlan.compile(policy, AS_OF)
    frame = spark.createDataFrame(list(enumerate(texts)), "id BIGINT, text STRING")
    frame.createOrReplaceTempView("texts")
    sql = redaction_query(plan.redaction_passes(SPARK), "texts", "ARRAY<STRING>")
    return [row["text"] for row in spark.sql(sql).collect()]


@pytest.mark.parametrize("switches", ["", "ips = false", "emails = false"])
def test_spark_redacts_every_case_as_duckdb_does(spark: Any, switches: str) -> None:
    text = default_policy_text()
    if switches:
        text = text.replace(switches.replace("false", "true"), switches)
    policy = load_policy_text(text, "<test>").policy
    texts = [case.text for case in load_cases()] + TRICKY
    duckdb = redact_texts(texts, policy)
    assert sum("[phone]" in t for t in duckdb) > 150
    assert _spark_redact(spark, texts, policy) == duckdb
