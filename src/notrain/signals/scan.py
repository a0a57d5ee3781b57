"""Scan many files in parallel, and the media scan: content rows → one decision each.

Work runs in a pool of processes (``spawn``ed, so no thread state is forked into a native
library). Results come back in input order, so a rerun writes the same file. A file that
crashes a worker — a segfault in a native reader is the risk with hostile files — breaks
the pool; the runner then replays the unfinished chunks one item at a time in a one-worker
pool, so the file that kills its worker is found, recorded as an error row, and the rest
are scanned normally. Nothing a file does can end the scan.

A time bound per item is kept inside the worker (:mod:`~notrain.signals.deadline`); native
code that never returns to Python escapes it. With ``seconds`` given, the runner is the
backstop: a chunk that is still running well past its items' bounds has its workers
killed, and its items are replayed alone, each killed again if it overruns; that one is
recorded by ``overdue``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, TimeoutError
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from notrain.errors import InputError, ScanError
from notrain.signals.deadline import DEFAULT_ITEM_SECONDS, ItemTimeout, time_limit
from notrain.signals.decision import Decision, decide
from notrain.signals.output import MEDIA_SCHEMA, ParquetSink

Item = TypeVar("Item")
Result = TypeVar("Result")

Progress = Callable[[str, int, int | None], None]
"""Called with (phase, items done, items in total or None when not known yet)."""


def default_workers() -> int:
    return max(os.cpu_count() or 1, 1)


class Runner:
    """A pool of worker processes, kept across runs (the two passes of a WARC scan share
    it); ``workers=0`` runs everything inline, without crash isolation."""

    def __init__(self, workers: int, slack: float = 10.0) -> None:
        self.workers = workers
        self.slack = slack  # added to each item's bound before the runner steps in
        self.restarts = 0
        self._pool: ProcessPoolExecutor | None = None
        self._seconds: float | None = None
        self._overdue: Callable[[Any], Any] | None = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _live(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _spawn(self.workers)
        return self._pool

    def run(
        self,
        work: Callable[[Sequence[Item]], list[Result]],
        crashed: Callable[[Item], Result],
        items: Iterable[Item],
        *,
        chunk: int = 1,
        seconds: float | None = None,
        overdue: Callable[[Item], Result] | None = None,
    ) -> Iterator[list[Result]]:
        """Per chunk of ``items``, the results of ``work``, in input order. An item whose
        work kills its worker gets ``crashed(item)`` instead, one that runs far past
        ``seconds`` ``overdue(item)``."""
        self._seconds, self._overdue = (seconds, overdue) if overdue is not None else (None, None)
        chunks = _chunked(items, max(chunk, 1))
        if self.workers <= 0:
            for part in chunks:
                yield work(part)
            return
        pending: deque[tuple[list[Item], Future[list[Result]]]] = deque()
        for part in chunks:
            pending.append((part, self._live().submit(work, part)))
            while len(pending) >= self.workers * 3:
                yield from self._drain_one(pending, work, crashed)
        while pending:
            yield from self._drain_one(pending, work, crashed)

    def _drain_one(
        self,
        pending: deque[tuple[list[Item], Future[list[Result]]]],
        work: Callable[[Sequence[Item]], list[Result]],
        crashed: Callable[[Item], Result],
    ) -> Iterator[list[Result]]:
        """Yield the results of the oldest chunk, or of every unfinished one if the pool
        broke: those are replayed one item at a time in quarantine."""
        part, future = pending[0]
        try:
            result = future.result(timeout=self._limit(len(part)))
        except (BrokenProcessPool, TimeoutError) as exc:
            if isinstance(exc, TimeoutError) and self._pool is not None:
                _kill(self._pool)  # the pool breaks: every unfinished chunk is replayed
            replay = list(pending)
            pending.clear()
            self.close()
            self.restarts += 1
            for part, future in replay:
                if future.done() and not future.cancelled() and future.exception() is None:
                    yield future.result()
                else:
                    yield self._quarantine(part, work, crashed)
            return
        pending.popleft()
        yield result

    def _quarantine(
        self,
        part: list[Item],
        work: Callable[[Sequence[Item]], list[Result]],
        crashed: Callable[[Item], Result],
    ) -> list[Result]:
        results: list[Result] = []
        for item in part:
            pool = _spawn(1)
            try:
                results.extend(pool.submit(work, [item]).result(timeout=self._limit(1)))
            except TimeoutError:
                _kill(pool)
                assert self._overdue is not None  # a limit is set only with it
                results.append(self._overdue(item))
            except BrokenProcessPool:
                _check_workers_start()
                results.append(crashed(item))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return results

    def _limit(self, items: int) -> float | None:
        """How long the parent waits for ``items`` before it kills their worker: far past
        the bound the worker keeps itself, so this only catches what escapes it."""
        if self._seconds is None:
            return None
        return items * (self._seconds + self.slack) + self.slack


def _kill(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop a running task; its processes are killed.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def _spawn(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _check_workers_start() -> None:
    """Blame an item only if a worker can run at all; else no file is at fault."""
    pool = _spawn(1)
    try:
        pool.submit(_ping).result()
    except BrokenProcessPool:
        raise ScanError(
            "worker processes cannot start (is the program importable by a fresh "
            "Python process?); --workers 0 in the library scans in-process"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ping() -> bool:
    return True


def _chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- the media scan ------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaItem:
    """One content row with media: where its file is, or why it cannot be looked at."""

    content_id: int
    media_uri: str
    path: str | None
    problem: str | None = None
    seconds: float | None = DEFAULT_ITEM_SECONDS  # the time bound for reading it


@dataclass
class ScanSummary:
    out: Path
    rows: int = 0
    by_decision: dict[str, int] = field(default_factory=dict)
    worker_restarts: int = 0

    def count(self, decision: str) -> None:
        self.rows += 1
        self.by_decision[decision] = self.by_decision.get(decision, 0) + 1


def resolve_media(media_root: Path, media_uri: str) -> tuple[str | None, str | None]:
    """(absolute path, None) for a URI inside the media root, else (None, the problem).

    The URI is a relative POSIX path. Absolute paths, URLs, ``..`` that climbs out, and
    symbolic links that lead out of the root are refused.
    """
    if not media_uri or "\x00" in media_uri:
        return None, "media_uri is empty or holds a NUL byte"
    if "://" in media_uri or media_uri.startswith(("/", "\\")) or ":" in media_uri[:3]:
        return None, f"media_uri {media_uri!r} is not a path relative to the media root"
    root = media_root.resolve()
    target = (root / PurePosixPath(media_uri)).resolve()
    if not target.is_relative_to(root):
        return None, f"media_uri {media_uri!r} leads outside the media root"
    return str(target), None


def scan_media_items(items: Sequence[MediaItem]) -> list[Decision]:
    """The work of one chunk (runs in a worker process)."""
    return [_decide_item(item) for item in items]


def _decide_item(item: MediaItem) -> Decision:
    if item.path is None:
        return decide([], error=item.problem or "no path")
    try:
        stat = os.stat(item.path)
    except OSError:
        return decide([], error="file not found")
    try:
        with time_limit(item.seconds, "reading this file"):
            return _scan_cached(item.path, stat.st_mtime_ns, stat.st_size)
    except ItemTimeout as exc:
        return decide([], error=str(exc))


@lru_cache(maxsize=4096)
def _scan_cached(path: str, mtime_ns: int, size: int) -> Decision:
    # Several rows may point at one file; the key changes if the file does.
    del mtime_ns, size
    from notrain.signals.media import scan_path

    return scan_path(Path(path))


def crashed_media(_item: MediaItem) -> Decision:
    return decide([], error="the reader crashed on this file (worker process died)")


def overdue_media(item: MediaItem) -> Decision:
    error = f"reading this file took longer than {item.seconds:g} s; its worker was stopped"
    return decide([], error=error)


def media_items(
    content: str, media_root: Path, seconds: float | None = DEFAULT_ITEM_SECONDS
) -> tuple[Iterator[MediaItem], int | None]:
    """The content rows that have media, and how many content rows there are (if known)."""
    from notrain.signals.content import read_media_rows

    rows, total = read_media_rows(content)

    def items() -> Iterator[MediaItem]:
        for content_id, media_uri in rows:
            path, problem = resolve_media(media_root, media_uri)
            yield MediaItem(content_id, media_uri, path, problem, seconds)

    return items(), total


def scan_media(
    content: str,
    media_root: Path,
    out: Path,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    chunk: int = 64,
    item_seconds: float | None = DEFAULT_ITEM_SECONDS,
) -> ScanSummary:
    """Scan the media of every content row; write one row per item to ``out`` (Parquet).

    ``workers=0`` scans in this process, without crash isolation (for tests and debugging).
    A file that takes longer than ``item_seconds`` to read is an error row (None: no bound).
    """
    if not media_root.is_dir():
        raise InputError(media_root, "media root is not a directory")
    items, total = media_items(content, media_root, item_seconds)
    summary = ScanSummary(out)
    done = 0
    queue: deque[MediaItem] = deque()

    def remember() -> Iterator[MediaItem]:
        for item in items:
            queue.append(item)
            yield item

    count = default_workers() if workers is None else workers
    with ParquetSink(out, MEDIA_SCHEMA, overwrite=overwrite) as sink, Runner(count) as runner:
        for decisions in runner.run(
            scan_media_items, crashed_media, remember(), chunk=chunk,
            seconds=item_seconds, overdue=overdue_media,
        ):  # fmt: skip
            rows = []
            for decision in decisions:
                item = queue.popleft()
                rows.append(_media_row(item, decision))
                summary.count(str(decision.decision))
            sink.write(rows)
            done += len(decisions)
            if progress:
                progress("scanning media", done, total)
        summary.worker_restarts = runner.restarts
    return summary


def _media_row(item: MediaItem, decision: Decision) -> dict[str, object]:
    return {
        "content_id": item.content_id,
        "media_uri": item.media_uri,
        "decision": str(decision.decision),
        "signal": decision.signal,
        "evidence": decision.evidence,
        "error": decision.error,
        "findings": decision.finding_lines,
    }
