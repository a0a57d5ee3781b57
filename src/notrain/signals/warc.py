"""Scan WARC files: one decision per captured document, site-wide files applied per site.

The files given together are one crawl. A first, parallel pass reads every file: each
``response`` (or ``resource``) record of a site-wide file (robots.txt, ai.txt,
tdmrep.json) is kept as a capture; every other successful (2xx) record is a document,
whose own signals are read right there — ``X-Robots-Tag``, ``Content-Usage``,
``Content-Signal`` and ``tdm-reservation`` headers, the HTML's meta tags, the XMP and C2PA
of a media or document payload — and whose text is extracted. Documents go to a staging
Parquet part, so memory does not grow with the crawl. The second pass, parallel too, applies
each site's files to its documents and decides; the output is written in input order.

A WARC that cannot be read past some point keeps the rows before it and gets an error row
(``url`` null) saying where it broke. Revisit, request and metadata records carry no
document and are skipped.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from notrain.errors import InputError
from notrain.signals import aipref, content_signal, tdmrep
from notrain.signals.deadline import DEFAULT_ITEM_SECONDS, Deadline, ItemTimeout
from notrain.signals.decision import Finding, Signal, Verdict, decide
from notrain.signals.output import UTC_TIMESTAMP, WEB_SCHEMA, ParquetSink
from notrain.signals.page import decode, parse_html
from notrain.signals.robots import Agents, header_values, noai_findings
from notrain.signals.scan import Progress, Runner, ScanSummary, default_workers
from notrain.signals.site import (
    Capture,
    Crawl,
    SiteSignals,
    canonical_url,
    redirect_targets,
    site_file,
)

MAX_RECORD_BYTES = 64 << 20
HTML_TYPES = ("text/html", "application/xhtml+xml")
SITE_FILE_MAX_BYTES = 1 << 20

_FINDING = pa.struct([("signal", pa.string()), ("verdict", pa.string()), ("evidence", pa.string())])
STAGING_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("fetched_at", UTC_TIMESTAMP),
        ("content_type", pa.string()),
        ("record_id", pa.string()),
        ("findings", pa.list_(_FINDING)),
        ("tdm_headers", pa.list_(pa.string())),
        ("tdm_metas", pa.list_(pa.string())),
        ("tdm_policies", pa.list_(pa.string())),
        ("tdm_meta_policies", pa.list_(pa.string())),
        ("text", pa.string()),
        ("error", pa.string()),
        ("offset", pa.int64()),  # of the record in its WARC, to read it again as a site file
    ]
)


@dataclass(frozen=True)
class WarcTask:
    path: str
    staging: str
    agents: Agents
    max_record_bytes: int = MAX_RECORD_BYTES
    item_seconds: float | None = DEFAULT_ITEM_SECONDS


@dataclass
class WarcPart:
    """What the first pass learnt from one WARC file."""

    path: str
    staging: str | None
    documents: int = 0
    captures: list[Capture] = field(default_factory=list)
    hops: list[Capture] = field(default_factory=list)  # other non-2xx answers, bodiless
    error: str | None = None


# -- pass 1: one WARC file, in a worker --------------------------------------------------------


def read_warcs(tasks: Sequence[WarcTask]) -> list[WarcPart]:
    return [read_warc(task) for task in tasks]


class BrokenWarc(Exception):
    """The file is not a WARC, or a record in it is cut short."""


def read_warc(task: WarcTask) -> WarcPart:
    """Read one WARC file; never raises for what is in the file."""
    from warcio.archiveiterator import ArchiveIterator

    part = WarcPart(task.path, task.staging)
    rows: list[dict[str, Any]] = []
    writer = pq.ParquetWriter(task.staging, STAGING_SCHEMA, compression="zstd")
    offset: int | None = None
    # warcio reports a wrong Content-Length by writing to stderr; that is this file's error.
    complaints = io.StringIO()
    try:
        with (
            open(task.path, "rb") as handle,
            contextlib.redirect_stderr(complaints),
            Deadline(task.item_seconds) as deadline,
        ):
            records = ArchiveIterator(handle)
            for record in records:
                if offset is None:
                    _check_format(record)
                row, capture = None, None
                if record.rec_type in ("response", "resource"):
                    try:
                        with deadline.item("reading this record"):
                            row, capture = _record(record, task)
                    except ItemTimeout as exc:
                        row = _timed_out(record, str(exc))
                start = records.get_record_offset()  # reads the record to its end
                if getattr(record.raw_stream, "limit", 0) > 0:
                    raise BrokenWarc(f"the record at offset {start} is cut short")
                offset = start
                if capture is not None:
                    (part.captures if site_file(capture.url) else part.hops).append(capture)
                if row is not None:
                    row["offset"] = start
                    rows.append(row)
                    part.documents += 1
                if len(rows) >= 512:
                    writer.write_table(pa.Table.from_pylist(rows, schema=STAGING_SCHEMA))
                    rows = []
        if complaints.getvalue().strip():
            first = " ".join(complaints.getvalue().split())[:200]
            raise BrokenWarc(f"warcio: {first}")
    except Exception as exc:  # any failure of the file is this file's error row, not a crash
        where = f"after the record at offset {offset}" if offset is not None else "at the start"
        part.error = f"{task.path}: unreadable {where}: {type(exc).__name__}: {exc}"
    finally:
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=STAGING_SCHEMA))
        writer.close()
    return part


def _check_format(record: Any) -> None:
    # warcio reads any line as an ARC header; only a real ARC file starts with filedesc://.
    if record.format == "warc":
        return
    uri = record.rec_headers.get_header("uri") or ""
    if not uri.startswith("filedesc://"):
        raise BrokenWarc("not a WARC (or ARC) file")


def _record(record: Any, task: WarcTask) -> tuple[dict[str, Any] | None, Capture | None]:
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    if not url or not url.lower().startswith(("http://", "https://")):  # schemes ignore case
        return None, None
    fetched_at = _time(headers.get_header("WARC-Date"))
    status, fields = _status(record)
    if site_file(url):
        location = next(iter(header_values(fields, "location")), None)
        body = record.content_stream().read(SITE_FILE_MAX_BYTES)
        return None, Capture(url, status, fetched_at, body, location)
    if not 200 <= status < 300:
        # Any answer but a document's may be a hop of a site file's redirects: kept small.
        if status < 300:
            return None, None
        location = next(iter(header_values(fields, "location")), None)
        return None, Capture(url, status, fetched_at, b"", location)
    return _document(record, url, fetched_at, fields, task), None


def _timed_out(record: Any, error: str) -> dict[str, Any] | None:
    """The error row of a record whose reading took too long."""
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    if not url or site_file(url):
        return None  # a site file not read is a site file not captured: unknown
    return {
        "url": url, "fetched_at": _time(headers.get_header("WARC-Date")), "content_type": None,
        "record_id": headers.get_header("WARC-Record-ID"), "findings": [], "tdm_headers": [],
        "tdm_metas": [], "tdm_policies": [], "tdm_meta_policies": [], "text": None,
        "error": error, "offset": None,
    }  # fmt: skip


def reread(path: str, offset: int) -> Capture | None:
    """The record at ``offset`` of a WARC file, as a site-file capture."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as handle:
        handle.seek(offset)
        for record in ArchiveIterator(handle):
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            status, fields = _status(record)
            location = next(iter(header_values(fields, "location")), None)
            body = record.content_stream().read(SITE_FILE_MAX_BYTES)
            fetched_at = _time(record.rec_headers.get_header("WARC-Date"))
            return Capture(url, status, fetched_at, body, location)
    return None


def _status(record: Any) -> tuple[int, list[tuple[str, str]]]:
    headers = record.rec_headers
    if record.http_headers is not None and record.rec_type == "response":
        http = record.http_headers
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = 0
        return status, list(http.headers)
    return 200, [("Content-Type", headers.get_header("Content-Type") or "")]


def _document(
    record: Any,
    url: str,
    fetched_at: datetime | None,
    fields: list[tuple[str, str]],
    task: WarcTask,
) -> dict[str, Any]:
    from notrain.signals.media import SNIFF_BYTES, sniff

    content_type = next(iter(header_values(fields, "content-type")), None)
    mime = (content_type or "").split(";")[0].strip().lower()
    row: dict[str, Any] = {
        "url": url,
        "fetched_at": fetched_at,
        "content_type": content_type,
        "record_id": record.rec_headers.get_header("WARC-Record-ID"),
        "tdm_headers": header_values(fields, "tdm-reservation"),
        "tdm_metas": [],
        "tdm_policies": header_values(fields, "tdm-policy"),
        "tdm_meta_policies": [],
        "text": None,
        "error": None,
        "offset": None,
    }
    try:
        body = record.content_stream().read(task.max_record_bytes + 1)
    except Exception as exc:  # a payload that does not decode (bad gzip, bad chunking)
        row["error"] = f"payload cannot be decoded: {type(exc).__name__}: {exc}"
        body = b""
    if len(body) > task.max_record_bytes:
        row["error"] = f"payload larger than {task.max_record_bytes} bytes; not read"
        body = b""
    if mime not in (*HTML_TYPES, "text/plain"):
        # An image sent without a type, or as application/octet-stream, is still an image
        # and still carries its own signals: the bytes say what it is, not the label.
        mime = sniff(body[:SNIFF_BYTES]) or mime
    is_image = mime.startswith("image/")
    findings = noai_findings(
        [("header X-Robots-Tag", None, v) for v in header_values(fields, "x-robots-tag")],
        task.agents,
        is_image=is_image,
        signal=Signal.X_ROBOTS_TAG,
    )
    findings += aipref.header_findings(header_values(fields, "content-usage"))
    findings += content_signal.header_findings(header_values(fields, "content-signal"))
    if mime in HTML_TYPES and body:
        page = parse_html(body, content_type)
        # <meta name="robots"> speaks to every crawler, <meta name="GPTBot"> to one.
        metas = [
            (f'meta name="{name}"', None if name == "robots" else name, content)
            for name, content in page.metas
            if name == "robots" or name in task.agents.tokens
        ]
        findings += noai_findings(metas, task.agents, is_image=False, signal=Signal.META_ROBOTS)
        row["tdm_metas"] = page.meta("tdm-reservation")
        row["tdm_meta_policies"] = page.meta("tdm-policy")
        row["text"] = page.text
    elif mime == "text/plain" and body:
        row["text"] = decode(body, content_type)
    elif body:  # media and documents: their own XMP and C2PA, whatever the format
        findings += _embedded(body, row)
    row["findings"] = [
        {"signal": str(f.signal), "verdict": str(f.verdict), "evidence": f.evidence}
        for f in findings
    ]
    return row


def _embedded(body: bytes, row: dict[str, Any]) -> list[Finding]:
    from notrain.signals.media import UnknownFormat, read_signals

    try:
        findings, error = read_signals(io.BytesIO(body))
    except UnknownFormat:
        return []  # SVG and the like: no embedded signal notrain can read
    except Exception as exc:  # a payload that breaks a reader is this record's error
        row["error"] = f"embedded signals cannot be read: {type(exc).__name__}: {exc}"
        return []
    if error:
        row["error"] = error
    return findings


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- pass 2: decide, in input order ---------------------------------------------------------


def scan_warcs(
    files: Sequence[Path],
    out: Path,
    *,
    agents: Agents | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
    item_seconds: float | None = DEFAULT_ITEM_SECONDS,
) -> ScanSummary:
    """Scan WARC files as one crawl; write one row per document to ``out`` (Parquet).

    A record that takes longer than ``item_seconds`` to read, or a document to decide, is
    an error row (None: no bound)."""
    for path in files:
        if not path.is_file():
            raise InputError(path, "WARC file not found")
    agents = agents or Agents()
    with ParquetSink(out, WEB_SCHEMA, overwrite=overwrite) as sink:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            limits = (max_record_bytes, item_seconds)
            return _scan(files, sink, staging, agents, workers, progress, limits)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _scan(
    files: Sequence[Path],
    sink: ParquetSink,
    staging: Path,
    agents: Agents,
    workers: int | None,
    progress: Progress | None,
    limits: tuple[int, float | None],
) -> ScanSummary:
    count = min(default_workers() if workers is None else workers, len(files))
    with Runner(count) as runner:
        return _passes(files, sink, staging, agents, runner, progress, limits)


def _passes(
    files: Sequence[Path],
    sink: ParquetSink,
    staging: Path,
    agents: Agents,
    runner: Runner,
    progress: Progress | None,
    limits: tuple[int, float | None],
) -> ScanSummary:
    tasks = [
        WarcTask(str(path), str(staging / f"read-{i:05d}.parquet"), agents, *limits)
        for i, path in enumerate(files)
    ]
    parts: list[WarcPart] = []
    for done in runner.run(read_warcs, _read_crashed, tasks):
        parts.extend(done)
        if progress:
            progress("reading WARC files", len(parts), len(files))
    # The crawl's site files go to every worker of the second pass through one file.
    crawl = staging / "crawl.pickle"
    crawl.write_bytes(pickle.dumps(follow_redirects(parts)))
    decide_tasks = [
        DecideTask(part.path, part.staging, part.error, str(crawl), agents,
                   str(staging / f"decided-{i:05d}.parquet"), limits[1])
        for i, part in enumerate(parts)
    ]  # fmt: skip
    summary = ScanSummary(sink.path)
    for finished in runner.run(decide_parts, _decide_crashed, decide_tasks):
        for decided in finished:
            for batch in pq.ParquetFile(decided.path).iter_batches(batch_size=2048):
                sink.write_batch(batch)
            for decision, n in decided.by_decision.items():
                summary.by_decision[decision] = summary.by_decision.get(decision, 0) + n
            summary.rows += decided.rows
        if progress:
            progress("deciding", summary.rows, sum(p.documents for p in parts))
    summary.worker_restarts = runner.restarts
    return summary


def _read_crashed(task: WarcTask) -> WarcPart:
    return WarcPart(task.path, None, error=f"{task.path}: the reader crashed on this file")


# -- pass 2: decide, one part per worker, in input order -----------------------------------


@dataclass(frozen=True)
class DecideTask:
    warc_file: str
    staging: str | None
    error: str | None
    crawl: str
    agents: Agents
    out: str
    item_seconds: float | None = DEFAULT_ITEM_SECONDS


@dataclass(frozen=True)
class Decided:
    path: str
    rows: int
    by_decision: dict[str, int]


def decide_parts(tasks: Sequence[DecideTask]) -> list[Decided]:
    return [decide_part(task) for task in tasks]


def follow_redirects(parts: Sequence[WarcPart]) -> tuple[list[Capture], frozenset[str]]:
    """The crawl's site-file captures, with every hop and target their redirects reach in
    the crawl (any path, any host); and the targets that were read as documents, which
    are site files and no documents."""
    captures = [c for part in parts for c in part.captures]
    starts = sorted({c.url for c in captures if 300 <= c.status < 400 and c.location})
    if not starts:
        return captures, frozenset()
    hops = [hop for part in parts for hop in part.hops]
    reached, missing = redirect_targets(Crawl(captures + hops), starts)
    captures += [hop for hop in hops if canonical_url(hop.url) in reached]
    found = [c for c in _targets(parts, missing) if c is not None]
    return captures + found, frozenset(canonical_url(c.url) for c in found)


def _targets(parts: Sequence[WarcPart], wanted: set[str]) -> Iterator[Capture | None]:
    """The documents at the ``wanted`` URLs, read again from their WARC as site files."""
    import pyarrow.compute as pc

    paths = {urlsplit(url).path for url in wanted}
    for part in parts:
        if not wanted or not part.staging or not Path(part.staging).exists():
            continue
        table = pq.read_table(part.staging, columns=["url", "offset"])
        hit = None
        for path in paths:  # a cheap filter before canonicalising
            found = pc.match_substring(table["url"], path)
            hit = found if hit is None else pc.or_(hit, found)
        for row in table.filter(hit).to_pylist() if hit is not None else []:
            if canonical_url(row["url"]) in wanted and row["offset"] is not None:
                yield reread(part.path, row["offset"])


@lru_cache(maxsize=2)
def _site(crawl: str, agents: Agents) -> SiteSignals:
    with open(crawl, "rb") as handle:
        captures, followed = pickle.load(handle)  # our own staging file
    return SiteSignals(Crawl(captures), agents, followed)


def decide_part(task: DecideTask) -> Decided:
    """Decide every document of one WARC file's staging part; write them to ``task.out``."""
    site = _site(task.crawl, task.agents)
    counts: dict[str, int] = {}
    rows = 0
    with pq.ParquetWriter(task.out, WEB_SCHEMA, compression="zstd") as writer:
        for decided in _decided(task, site):
            writer.write_table(pa.Table.from_pylist(decided, schema=WEB_SCHEMA))
            for row in decided:
                counts[row["decision"]] = counts.get(row["decision"], 0) + 1
            rows += len(decided)
    return Decided(task.out, rows, counts)


def _decide_crashed(task: DecideTask) -> Decided:
    error = f"{task.warc_file}: deciding crashed on this file"
    row = _error_row(task.warc_file, error)
    pq.write_table(pa.Table.from_pylist([row], schema=WEB_SCHEMA), task.out)
    return Decided(task.out, 1, {row["decision"]: 1})


def _decided(task: DecideTask, site: SiteSignals) -> Iterator[list[dict[str, Any]]]:
    if task.staging and Path(task.staging).exists():
        for batch in pq.ParquetFile(task.staging).iter_batches(batch_size=2048):
            with Deadline(task.item_seconds) as deadline:
                decided = [
                    _bounded(row, task.warc_file, site, deadline)
                    for row in batch.to_pylist()
                    if not site.is_site_file(row["url"])
                ]
            yield decided
    if task.error:
        yield [_error_row(task.warc_file, task.error)]


def _bounded(
    row: dict[str, Any], warc_file: str, site: SiteSignals, deadline: Deadline
) -> dict[str, Any]:
    try:
        with deadline.item("deciding this document"):
            return _decide_row(row, warc_file, site)
    except ItemTimeout as exc:
        given_up = _error_row(warc_file, str(exc))
        for key in ("url", "fetched_at", "content_type", "record_id"):
            given_up[key] = row[key]
        return given_up


def _error_row(warc_file: str, error: str) -> dict[str, Any]:
    decision = decide([], error=error)
    return {
        "url": None,
        "fetched_at": None,
        "decision": str(decision.decision),
        "signal": decision.signal,
        "evidence": decision.evidence,
        "error": decision.error,
        "findings": decision.finding_lines,
        "text": None,
        "content_type": None,
        "record_id": None,
        "warc_file": warc_file,
    }


def _decide_row(row: dict[str, Any], warc_file: str, site: SiteSignals) -> dict[str, Any]:
    findings = [
        Finding(Signal(f["signal"]), Verdict(f["verdict"]), f["evidence"]) for f in row["findings"]
    ]
    from_site, tdm_file = site.findings(row["url"], row["fetched_at"])
    findings += from_site
    findings += tdmrep.layered(
        tdm_file, row["tdm_headers"], row["tdm_metas"], row["tdm_policies"],
        row["tdm_meta_policies"],
    )  # fmt: skip
    decision = decide(findings, error=row["error"])
    reserved = decision.decision is Verdict.RESERVED
    return {
        "url": row["url"],
        "fetched_at": row["fetched_at"],
        "decision": str(decision.decision),
        "signal": decision.signal,
        "evidence": decision.evidence,
        "error": decision.error,
        "findings": decision.finding_lines,
        # Reserved content is not copied out of the crawl.
        "text": None if reserved else row["text"],
        "content_type": row["content_type"],
        "record_id": row["record_id"],
        "warc_file": warc_file,
    }
