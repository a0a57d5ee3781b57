"""``notrain build`` on the Spark engine, as a script that ``spark-submit`` runs.

The arguments are those of ``notrain build``; ``--engine spark`` is implied. The cluster's
master, memory and executors come from spark-submit's own options, so ``--spark-master``
is not needed. Executors run no Python (redaction uses Spark's built-in functions), so
notrain is installed only where the driver runs::

    spark-submit --master yarn --deploy-mode client --num-executors 50 \\
        --executor-cores 4 --executor-memory 8g --driver-memory 4g \\
        "$(python -m notrain.corpus.spark_submit --path)" \\
        --content /data/content --accounts /data/accounts.parquet \\
        --registry /data/registry.parquet --out /data/datasets/2026-06 --as-of 2026-06-01

``python -m notrain.corpus.spark_submit --path`` prints this file's path;
``python -m notrain.corpus.spark_submit ARGS`` runs the same build without spark-submit.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--path"]:
        print(__file__)
        return
    if not any(a == "--engine" or a.startswith("--engine=") for a in args):
        args = ["--engine", "spark", *args]
    from notrain.cli import main as cli_main

    sys.argv = ["notrain", "build", *args]
    cli_main()


if __name__ == "__main__":
    main()
