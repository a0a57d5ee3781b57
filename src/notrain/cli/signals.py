"""``notrain signals``: scan media files and web crawls for "do not train" signals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from notrain.cli.common import out, progress_bar

signals_app = typer.Typer(
    help="Read machine-readable opt-out signals from media files and WARC crawls.",
    no_args_is_help=True,
)

WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Worker processes (default: one per core)."),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
]
ItemSecondsOption = Annotated[
    float,
    typer.Option(
        min=0,
        help="Give up a file or record that takes longer than this (seconds; 0: no bound); "
        "it becomes an error row.",
    ),
]
AgentOption = Annotated[
    str,
    typer.Option(help="Our crawler's product token, looked up in robots.txt and ai.txt."),
]
AlsoAgentOption = Annotated[
    list[str] | None,
    typer.Option(
        "--also-agent",
        help="Another AI crawler token to honour besides the built-in list (repeatable).",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(signals_app, name="signals")


def _summary(title: str, by_decision: dict[str, int], rows: int) -> Table:
    table = Table(title=title, show_footer=True)
    table.add_column("decision", footer="items")
    table.add_column("items", justify="right", footer=f"{rows:,}")
    for decision in ("reserved", "allowed", "unknown", "error"):
        table.add_row(decision, f"{by_decision.get(decision, 0):,}")
    return table


@signals_app.command("scan-media")
def scan_media(
    content: Annotated[
        str,
        typer.Option(help="Content table: a .parquet/.jsonl/.csv file, a directory or a glob."),
    ],
    media_root: Annotated[
        Path, typer.Option(help="Directory the content's media_uri paths are relative to.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    workers: WorkersOption = None,
    overwrite: OverwriteOption = False,
    item_seconds: ItemSecondsOption = 60.0,
) -> None:
    """Read the XMP and C2PA signals of every content row's media file; one row each.

    media_uri is a path relative to --media-root; one that leads outside it is refused
    and recorded as an error row, as is a missing or corrupt file.
    """
    from notrain.signals import require_extra

    require_extra()
    from notrain.signals.scan import scan_media as run

    with progress_bar() as bar:
        task = bar.add_task("scanning media", total=None)
        summary = run(
            content,
            media_root,
            out_file,
            workers=workers,
            overwrite=overwrite,
            item_seconds=item_seconds or None,
            progress=lambda phase, done, total: bar.update(
                task, description=phase, completed=done, total=total
            ),
        )
    out.print(_summary("Media signals", summary.by_decision, summary.rows))
    out.print(f"-> {summary.out}", highlight=False)


@signals_app.command("scan-warc")
def scan_warc(
    files: Annotated[
        list[Path],
        typer.Argument(metavar="WARC", help="WARC files (.warc or .warc.gz) of one crawl."),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    agent: AgentOption = "notrain",
    also_agent: AlsoAgentOption = None,
    workers: WorkersOption = None,
    overwrite: OverwriteOption = False,
    item_seconds: ItemSecondsOption = 60.0,
) -> None:
    """Decide every document in the WARC files of one crawl; one row each, with its text.

    Each site's robots.txt, ai.txt and tdmrep.json captured in the same crawl apply to its
    pages; a site file the crawl does not hold makes its pages "unknown".
    """
    from notrain.signals import require_extra

    require_extra()
    from notrain.signals.robots import AI_AGENTS, Agents
    from notrain.signals.warc import scan_warcs

    agents = Agents(ours=agent, ai=(*AI_AGENTS, *(also_agent or [])))
    with progress_bar() as bar:
        task = bar.add_task("reading WARC files", total=None)
        summary = scan_warcs(
            files,
            out_file,
            agents=agents,
            workers=workers,
            overwrite=overwrite,
            item_seconds=item_seconds or None,
            progress=lambda phase, done, total: bar.update(
                task, description=phase, completed=done, total=total
            ),
        )
    out.print(_summary("Web signals", summary.by_decision, summary.rows))
    out.print(f"-> {summary.out}", highlight=False)
