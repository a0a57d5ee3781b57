"""How the Spark engine types its inputs: contract columns as Spark SQL types, and Spark's
type names as the DuckDB engine spells them, so both engines word their errors alike."""

from __future__ import annotations

import pyarrow as pa

INTEGERS = {"bigint", "int", "smallint", "tinyint"}
TIMESTAMPS = {"timestamp", "timestamp_ntz"}
NULL_TYPE = "void"


def spark_type(arrow_type: pa.DataType) -> tuple[str, set[str]]:
    """The Spark SQL type a contract column is cast to, and the source types accepted."""
    if pa.types.is_int64(arrow_type):
        return "BIGINT", INTEGERS
    if pa.types.is_string(arrow_type):
        return "STRING", {"string"}
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP", TIMESTAMPS | {"date"}
    if pa.types.is_date32(arrow_type):
        return "DATE", {"date"} | TIMESTAMPS
    if pa.types.is_list(arrow_type) and pa.types.is_string(arrow_type.value_type):
        return "ARRAY<STRING>", {"array<string>", f"array<{NULL_TYPE}>"}
    if pa.types.is_list(arrow_type):
        return "ARRAY<BIGINT>", {f"array<{t}>" for t in INTEGERS} | {f"array<{NULL_TYPE}>"}
    raise AssertionError(f"no Spark mapping for {arrow_type}")


DUCKDB_SPELLING = {
    "bigint": "BIGINT", "int": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT",
    "string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "timestamp_ntz": "TIMESTAMP",
    "boolean": "BOOLEAN", "double": "DOUBLE", "float": "FLOAT", NULL_TYPE: "NULL",
}  # fmt: skip


def spelled(spark_type: str) -> str:
    """A Spark type as the DuckDB engine names it, so both engines word errors alike."""
    spark_type = spark_type.lower()
    if spark_type.startswith("array<") and spark_type.endswith(">"):
        return spelled(spark_type[len("array<") : -1]) + "[]"
    return DUCKDB_SPELLING.get(spark_type, spark_type.upper())


__all__ = ["DUCKDB_SPELLING", "INTEGERS", "NULL_TYPE", "TIMESTAMPS", "spark_type", "spelled"]
