"""``notrain synth``, ``notrain build`` and ``notrain dataset``: the corpus builder's CLI."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from notrain.cli.common import err, out, parse_time, progress_bar
from notrain.engine_names import EngineName

if TYPE_CHECKING:  # like the settings (pydantic), loaded only by the commands using them
    from rich.table import Table

DATASET_ID = re.compile(r"ds-[0-9a-f]{16}")

dataset_app = typer.Typer(help="Inspect and verify built datasets.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.command()(synth)
    root.command()(build)
    root.command()(recall)
    root.command("build-web")(build_web)
    root.add_typer(dataset_app, name="dataset")


def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the platform into.")],
    users: Annotated[int, typer.Option(min=1, help="Number of member accounts.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 0,
    content_per_user: Annotated[
        float, typer.Option(min=0.1, help="Average content items per account.")
    ] = 10.0,
    objection_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of accounts that objected.")
    ] = 0.02,
    erasure_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of accounts that asked for erasure.")
    ] = 0.005,
    consent_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of accounts that consented.")
    ] = 0.05,
    non_member_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Non-member objectors, as a share of accounts."),
    ] = 0.001,
    snapshot: Annotated[
        bool, typer.Option(help="Also write a registry snapshot (registry.parquet).")
    ] = True,
) -> None:
    """Generate a synthetic platform (accounts, content, registry snapshot) for demos."""
    from notrain.synth import SNAPSHOT_FILE, synthesize_platform, synthesize_snapshot

    with progress_bar() as bar:
        task = bar.add_task("content", total=int(users * content_per_user))
        result = synthesize_platform(
            out_dir,
            users=users,
            seed=seed,
            content_per_user=content_per_user,
            progress=lambda rows: bar.update(task, completed=rows),
        )
    out.print(f"accounts: {result.accounts:,} rows  -> {result.accounts_path}")
    out.print(f"content:  {result.content:,} rows  -> {result.content_path}")
    if snapshot:
        info = synthesize_snapshot(
            result.accounts_path,
            out_dir / SNAPSHOT_FILE,
            seed=seed,
            objection_rate=objection_rate,
            erasure_rate=erasure_rate,
            consent_rate=consent_rate,
            non_member_rate=non_member_rate,
        )
        out.print(f"registry: sha256 {info.sha256[:16]}…  -> {info.path}")


# -- build ---------------------------------------------------------------------------------


def _summary_table(counts: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(title="Rows kept and left out", show_footer=True)
    table.add_column("", footer="input rows")
    table.add_column("rows", justify="right", footer=f"{counts['input']:,}")
    table.add_column("share", justify="right")
    total = max(counts["input"], 1)
    table.add_row("kept", f"{counts['kept']:,}", f"{counts['kept'] / total:.1%}", style="bold")
    for reason, rows in counts["excluded_by_reason"].items():
        table.add_row(f"  {reason}", f"{rows:,}", f"{rows / total:.1%}")
    table.add_row("left out", f"{counts['excluded']:,}", f"{counts['excluded'] / total:.1%}")
    return table


def build(
    content: Annotated[
        str, typer.Option(help="Content: a .parquet/.jsonl/.csv file, a directory or a glob.")
    ],
    accounts: Annotated[str, typer.Option(help="Accounts: a file, a directory or a glob.")],
    registry: Annotated[str, typer.Option(help="Registry snapshot (Parquet, with sidecar).")],
    out_dir: Annotated[
        str,
        typer.Option(
            "--out", help="Dataset directory (must not exist); a URI with --engine spark."
        ),
    ],
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML file (default: the shipped policy).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Decisions effective at this ISO time count (default: now)."),
    ] = None,
    signals: Annotated[
        str | None,
        typer.Option(
            help="Decisions of `notrain signals scan-media`: reserved items are left out."
        ),
    ] = None,
    engine: Annotated[
        EngineName | None,
        typer.Option(
            help="duckdb: in-process, one machine; spark: Apache Spark, local or a cluster "
            "(needs the spark extra and Java 17) [NOTRAIN_BUILD_ENGINE].",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="Spark master URL: local[4], spark://host:7077, yarn… (default: the one "
            "spark-submit was given, else local[THREADS]) [NOTRAIN_SPARK_MASTER].",
        ),
    ] = None,
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Input rows per chunk; a chunk's kept rows make one shard "
            "[NOTRAIN_BUILD_CHUNK_ROWS].",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Engine threads [NOTRAIN_BUILD_THREADS].")
    ] = None,
    memory_limit: Annotated[
        str | None, typer.Option(help="Engine memory limit, e.g. 2GB [NOTRAIN_BUILD_MEMORY_LIMIT].")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the manifest as JSON instead of a table.")
    ] = False,
    register_dataset: Annotated[
        bool,
        typer.Option(
            "--register/--no-register",
            help="Record the dataset in the registry's catalogue [NOTRAIN_DATABASE_URL].",
        ),
    ] = True,
) -> None:
    """Build a training dataset under a policy: shards, manifest, exclusions, lineage."""
    from notrain.corpus.build import BuildRequest, build_dataset
    from notrain.corpus.storage import is_uri
    from notrain.policy.loader import load_default_policy, load_policy
    from notrain.settings import get_settings

    settings = get_settings()
    loaded = load_policy(policy) if policy else load_default_policy()
    request = BuildRequest(
        content=content,
        accounts=accounts,
        registry=registry,
        out=out_dir if is_uri(out_dir) else Path(out_dir),
        policy=loaded,
        as_of=parse_time(as_of, "--as-of") if as_of else None,
        signals=signals,
        chunk_rows=chunk_rows or settings.build_chunk_rows,
        threads=threads or settings.build_threads,
        memory_limit=memory_limit or settings.build_memory_limit,
        engine=(engine or settings.build_engine).value,
        spark_master=spark_master or settings.spark_master,
        spark_broadcast_rows=settings.spark_broadcast_rows,
    )
    with progress_bar() as bar:
        task = bar.add_task("building", total=None)

        def report(phase: str, done: int, total: int | None) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        result = build_dataset(request, progress=report)
    if register_dataset:
        if isinstance(result.out, Path):
            from notrain.cli.proofs import record_dataset

            record_dataset(result.out)
        else:
            err.print(
                f"note: {result.out} is not catalogued: the lineage catalogue reads datasets "
                "from the local disk",
                highlight=False,
                markup=False,
            )
    if json_output:
        sys.stdout.write(json.dumps(result.manifest, indent=2) + "\n")
        return
    out.print(_summary_table(result.counts))
    manifest = result.manifest
    out.print(
        f"dataset {manifest['dataset_id']} as of {manifest['as_of']} -> {result.out} "
        f"({len(manifest['shards'])} shards)",
        highlight=False,
    )


def recall(
    dataset: Annotated[
        str,
        typer.Option(
            help="The dataset to recall from: its directory, or its id in the catalogue "
            "[NOTRAIN_DATABASE_URL]."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory of the new version.")],
    registry: Annotated[
        str | None,
        typer.Option(
            help="A newer registry snapshot (Parquet with its sidecar). Default: one exported "
            "from the registry database now, written beside --out as OUT.registry.parquet."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Decisions effective at this ISO time count (default: now)."),
    ] = None,
    accounts: Annotated[
        str | None,
        typer.Option(help="Accounts file (default: the parent's, if unchanged)."),
    ] = None,
    content: Annotated[
        str | None,
        typer.Option(
            help="The parent's content, if moved (read only for texts where a newly listed "
            "identifier may hide behind a placeholder; default: its recorded path)."
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="The parent's policy file, if it was not the shipped default."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the manifest as JSON instead of a summary.")
    ] = False,
    register_dataset: Annotated[
        bool,
        typer.Option(
            "--register/--no-register",
            help="Record the new version in the registry's catalogue [NOTRAIN_DATABASE_URL].",
        ),
    ] = True,
) -> None:
    """Write a new version of a dataset without what later objections and erasures disallow."""
    from notrain.corpus.dataset import refuse_existing
    from notrain.corpus.recall import RecallRequest, read_manifest, recall_dataset
    from notrain.policy.loader import load_policy
    from notrain.settings import get_settings

    settings = get_settings()
    parent = _dataset_dir(dataset)
    refuse_existing(out_dir)  # before a snapshot is exported for it
    if registry is None:
        recorded = list(read_manifest(parent)["inputs"]["accounts"])
        registry = _export_snapshot(
            out_dir.parent / f"{out_dir.name}.registry.parquet",
            accounts or settings.accounts_path or (recorded[0] if recorded else None),
        )
    request = RecallRequest(
        dataset=parent,
        registry=registry,
        out=out_dir,
        as_of=parse_time(as_of, "--as-of") if as_of else None,
        accounts=accounts,
        content=content,
        policy=load_policy(policy) if policy else None,
        threads=settings.build_threads,
        memory_limit=settings.build_memory_limit,
    )
    with progress_bar() as bar:
        task = bar.add_task("recalling", total=None)

        def report(phase: str, done: int, total: int | None) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        result = recall_dataset(request, progress=report)
    if register_dataset:
        from notrain.cli.proofs import record_dataset

        record_dataset(Path(result.out))
    manifest = result.manifest
    if json_output:
        sys.stdout.write(json.dumps(manifest, indent=2) + "\n")
        return
    summary = manifest["recall"]
    out.print(
        f"dataset {manifest['dataset_id']} (recall of {manifest['parent']['dataset_id']}) "
        f"as of {manifest['as_of']} -> {result.out}",
        highlight=False,
    )
    out.print(
        f"removed {summary['removed']:,} rows "
        + (
            "(" + ", ".join(f"{r}: {n:,}" for r, n in summary["removed_by_reason"].items()) + ")"
            if summary["removed"]
            else ""
        )
        + f"; {len(summary['shards_rewritten'])} shards rewritten, "
        f"{summary['shards_carried_over']} carried over unchanged",
        highlight=False,
    )
    if summary["rescored"] == "all":
        out.print(
            "every kept row was scored again: the parent's registry snapshot is gone or "
            "changed, or --accounts was given",
            highlight=False,
        )


def _dataset_dir(dataset: str) -> Path:
    """A dataset directory, or the directory the catalogue records for a dataset id."""
    path = Path(dataset)
    if path.is_dir() or not DATASET_ID.fullmatch(dataset):
        return path
    from notrain.lineage.catalogue import dataset_path, open_catalogue

    with open_catalogue() as session:
        return dataset_path(session, dataset)


def _export_snapshot(path: Path, accounts: str | None) -> str:
    """Export the registry's decisions now, as `notrain registry export` does."""
    from notrain.cli.registry import export_registry

    err.print(f"registry: {export_registry(path, None, accounts)}", highlight=False)
    return str(path)


def build_web(
    documents: Annotated[
        str, typer.Option(help="Output of `notrain signals scan-warc` (Parquet).")
    ],
    registry: Annotated[str, typer.Option(help="Registry snapshot (Parquet, with sidecar).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Dataset directory (must not exist).")],
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML file (default: the shipped policy).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Decisions effective at this ISO time count (default: now)."),
    ] = None,
) -> None:
    """Build a dataset of web documents (url, fetched_at, text) from a scanned crawl."""
    from notrain.corpus.web import WebBuildRequest, build_web_dataset
    from notrain.policy.loader import load_default_policy, load_policy
    from notrain.settings import get_settings

    settings = get_settings()
    result = build_web_dataset(
        WebBuildRequest(
            documents=documents,
            registry=registry,
            out=out_dir,
            policy=load_policy(policy) if policy else load_default_policy(),
            as_of=parse_time(as_of, "--as-of") if as_of else None,
            threads=settings.build_threads,
            memory_limit=settings.build_memory_limit,
        )
    )
    counts = result.counts
    reasons = ", ".join(f"{r}: {n:,}" for r, n in counts["excluded_by_reason"].items())
    out.print(
        f"dataset {result.manifest['dataset_id']}: {counts['kept']:,} documents kept, "
        f"{counts['excluded']:,} left out ({reasons}) -> {result.out}",
        highlight=False,
    )


# -- dataset -------------------------------------------------------------------------------


@dataset_app.command("verify")
def dataset_verify(
    path: Annotated[
        str,
        typer.Argument(
            help="A dataset directory written by `notrain build`, or its URI (hdfs://, "
            "s3a://…; read through Spark's Hadoop file systems) [NOTRAIN_SPARK_MASTER]."
        ),
    ],
    audit: Annotated[
        bool,
        typer.Option(
            "--audit",
            help="Also recompute the dataset's commitment to the people in it from its "
            "lineage (needs --commitment-key and --key, or this registry's own key).",
        ),
    ] = False,
    commitment_key: Annotated[
        str | None, typer.Option(help="The commitment key the registry gave the auditor (hex).")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="The registry's public key (hex or file).")
    ] = None,
) -> None:
    """Check every file of a dataset against the sha256 in its manifest."""
    from notrain.corpus.dataset import verify
    from notrain.corpus.storage import LOCAL, Storage, is_uri

    storage: Storage = LOCAL
    if is_uri(path):
        from notrain.corpus.engines import create_engine
        from notrain.settings import get_settings

        storage = create_engine("spark", spark_master=get_settings().spark_master).storage(path)
    problems = verify(path, storage)
    if audit and not problems:
        from notrain.cli.proofs import audit_dataset

        problems = audit_dataset(Path(path), commitment_key, key)
    if problems:
        for problem in problems:
            err.print(f"{path}: {problem}", highlight=False, markup=False)
        raise typer.Exit(code=8)
    out.print(f"{path}: every file matches its manifest", highlight=False)
