"""Where the builder's driver reads and writes files: the local disk, or any file system
Hadoop can reach (HDFS, S3 through s3a, GCS, ABFS, ``file://``…).

A location is a plain path, or a URI with a scheme (``hdfs://nn/data``, ``s3a://bucket/x``,
``file:///tmp/x``). Plain paths go to :data:`LOCAL` (``pathlib`` and ``os``); URIs go to a
:class:`HadoopStorage` made from a running Spark session, whose JVM holds the cluster's own
configuration (``core-site.xml``, s3a credentials), so notrain needs none of its own.

Each implementation offers only primitive operations; everything built on them — hashing,
expanding inputs, staging, publishing — is written once, against :class:`Storage`.
Failures of either implementation are raised as :class:`OSError` (``FileNotFoundError``,
``FileExistsError`` where the cause is known), so callers handle both alike.
"""

from __future__ import annotations

import glob as globbing
import hashlib
import io
import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

CHUNK = 1 << 22
"""Bytes per read when hashing: 4 MiB."""

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:/")


def is_uri(location: str | Path) -> bool:
    """Whether ``location`` is a URI with a scheme (``hdfs://…``), not a plain path."""
    return isinstance(location, str) and bool(_SCHEME.match(location))


class Storage(ABC):
    """The primitive file operations the driver needs, on one kind of location."""

    @abstractmethod
    def exists(self, path: str) -> bool: ...

    @abstractmethod
    def is_dir(self, path: str) -> bool: ...

    @abstractmethod
    def is_file(self, path: str) -> bool: ...

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """The entries of directory ``path``, files and directories, sorted."""

    @abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """The files matching ``pattern``, sorted."""

    @abstractmethod
    def open_read(self, path: str) -> IO[bytes]:
        """A seekable binary reader (pyarrow can read Parquet footers through it)."""

    @abstractmethod
    def open_write(self, path: str) -> IO[bytes]:
        """A binary writer of a new file; fails if ``path`` exists."""

    @abstractmethod
    def mkdirs(self, path: str) -> None: ...

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target``, which must not exist."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Remove a file or a directory tree; nothing happens if it is not there."""

    @abstractmethod
    def child(self, parent: str, name: str) -> str: ...

    @abstractmethod
    def parent(self, path: str) -> str: ...

    @abstractmethod
    def name(self, path: str) -> str: ...

    @abstractmethod
    def uri(self, path: str) -> str:
        """``path`` as Spark's readers and writers take it."""

    atomic_rename: bool = False
    """Whether renaming a directory moves it in one step (a local disk, HDFS) rather than
    possibly copying it file by file (S3 through s3a, GCS): not knowable for every Hadoop
    file system, so assumed only for the local one."""

    def sha256(self, path: str) -> str:
        """The file's sha256, streamed in chunks of :data:`CHUNK` bytes."""
        digest = hashlib.sha256()
        with self.open_read(path) as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        return digest.hexdigest()

    def sync(self, directory: str, *, files: bool = True) -> None:
        """Make ``directory``'s entries (and, with ``files``, the files directly in it)
        durable. Nothing to do where closing a file already persists it (Hadoop).
        """
        del directory, files


class LocalStorage(Storage):
    """The driver's own file system, through ``pathlib`` and ``os``."""

    atomic_rename = True

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    def is_file(self, path: str) -> bool:
        return Path(path).is_file()

    def listdir(self, path: str) -> list[str]:
        return sorted(str(p) for p in Path(path).iterdir())

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in globbing.glob(pattern, recursive=True) if Path(p).is_file())

    def open_read(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    def open_write(self, path: str) -> IO[bytes]:
        return open(path, "xb")

    def mkdirs(self, path: str) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    def rename(self, source: str, target: str) -> None:
        if os.path.lexists(target):
            raise FileExistsError(17, "already exists", target)
        os.rename(source, target)

    def delete(self, path: str) -> None:
        if Path(path).is_dir() and not Path(path).is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)

    def child(self, parent: str, name: str) -> str:
        return str(Path(parent) / name)

    def parent(self, path: str) -> str:
        return str(Path(path).parent)

    def name(self, path: str) -> str:
        return Path(path).name

    def uri(self, path: str) -> str:
        return Path(path).resolve().as_uri()

    def sync(self, directory: str, *, files: bool = True) -> None:
        for item in Path(directory).iterdir() if files else ():
            if item.is_file():
                with item.open("rb") as handle:
                    os.fsync(handle.fileno())
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


LOCAL = LocalStorage()


class HadoopStorage(Storage):
    """Any file system Hadoop reaches, through the ``org.apache.hadoop.fs`` API of a JVM.

    ``jvm`` and ``conf`` are a Spark session's ``_jvm`` and
    ``_jsc.hadoopConfiguration()``; nothing here imports PySpark. Every call is a round
    trip to the JVM, and every byte read or written crosses the Py4J gateway (hashing does
    not: it runs in the JVM).
    """

    def __init__(self, jvm: Any, conf: Any) -> None:
        from py4j.protocol import Py4JError

        self._jvm = jvm
        self._conf = conf
        self._errors: tuple[type[BaseException], ...] = (Py4JError,)

    def _path(self, path: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(path)

    @contextmanager
    def _oserror(self, path: str) -> Iterator[None]:
        """Java exceptions as the OSError a local call would raise."""
        try:
            yield
        except self._errors as exc:
            java = getattr(exc, "java_exception", None)
            kind = java.getClass().getName() if java is not None else ""
            message = str(java.getMessage() if java is not None else exc).splitlines()
            text = message[0] if message else type(exc).__name__
            if kind.endswith("FileNotFoundException"):
                raise FileNotFoundError(2, text, path) from None
            if kind.endswith("FileAlreadyExistsException"):
                raise FileExistsError(17, text, path) from None
            raise OSError(5, text, path) from None

    def _fs(self, jpath: Any) -> Any:
        return jpath.getFileSystem(self._conf)

    def _status(self, path: str) -> Any:
        """The file's status, or None if there is none (one call: one request to S3)."""
        jpath = self._path(path)
        try:
            with self._oserror(path):
                return self._fs(jpath).getFileStatus(jpath)
        except FileNotFoundError:
            return None

    def exists(self, path: str) -> bool:
        return self._status(path) is not None

    def is_dir(self, path: str) -> bool:
        status = self._status(path)
        return status is not None and bool(status.isDirectory())

    def is_file(self, path: str) -> bool:
        status = self._status(path)
        return status is not None and bool(status.isFile())

    def listdir(self, path: str) -> list[str]:
        jpath = self._path(path)
        with self._oserror(path):
            return sorted(str(s.getPath().toString()) for s in self._fs(jpath).listStatus(jpath))

    def glob(self, pattern: str) -> list[str]:
        jpath = self._path(pattern)
        with self._oserror(pattern):
            found = self._fs(jpath).globStatus(jpath)
            return sorted(str(s.getPath().toString()) for s in found or [] if s.isFile())

    def open_read(self, path: str) -> IO[bytes]:
        jpath = self._path(path)
        with self._oserror(path):
            fs = self._fs(jpath)
            size = int(fs.getFileStatus(jpath).getLen())
            stream = fs.open(jpath)
        return io.BufferedReader(_JavaInput(stream, size, self._oserror, path), CHUNK)

    def sha256(self, path: str) -> str:
        """Hashed inside the JVM by commons-codec (shipped with Spark): one call, and the
        bytes never cross to Python. Without that class, the streamed hash."""
        digests = self._jvm.org.apache.commons.codec.digest.DigestUtils
        if type(digests).__name__ != "JavaClass":  # py4j's stand-in for a missing class
            return super().sha256(path)
        jpath = self._path(path)
        with self._oserror(path):
            stream = self._fs(jpath).open(jpath)
            try:
                return str(digests.sha256Hex(stream))
            finally:
                stream.close()

    def open_write(self, path: str) -> IO[bytes]:
        jpath = self._path(path)
        with self._oserror(path):
            stream = self._fs(jpath).create(jpath, False)
        return io.BufferedWriter(_JavaOutput(stream, self._oserror, path), CHUNK)

    def mkdirs(self, path: str) -> None:
        jpath = self._path(path)
        with self._oserror(path):
            if not self._fs(jpath).mkdirs(jpath):
                raise OSError(5, "cannot create the directory", path)

    def rename(self, source: str, target: str) -> None:
        # HDFS moves ``source`` into ``target`` when that is a directory: look first.
        if self.exists(target):
            raise FileExistsError(17, "already exists", target)
        jsource, jtarget = self._path(source), self._path(target)
        with self._oserror(source):
            if not self._fs(jsource).rename(jsource, jtarget):
                raise OSError(5, f"the file system refused to rename it to {target}", source)

    def delete(self, path: str) -> None:
        jpath = self._path(path)
        with self._oserror(path):
            self._fs(jpath).delete(jpath, True)

    def child(self, parent: str, name: str) -> str:
        return str(self._jvm.org.apache.hadoop.fs.Path(self._path(parent), name).toString())

    def parent(self, path: str) -> str:
        parent = self._path(path).getParent()
        return str(parent.toString()) if parent is not None else path

    def name(self, path: str) -> str:
        return str(self._path(path).getName())

    def uri(self, path: str) -> str:
        return path


class _JavaInput(io.RawIOBase):
    """A Hadoop ``FSDataInputStream`` as a seekable Python reader."""

    def __init__(self, stream: Any, size: int, oserror: Any, path: str) -> None:
        self._stream, self._size, self._oserror, self._path = stream, size, oserror, path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._oserror(self._path):
            data = self._stream.readNBytes(len(buffer))  # byte[] arrives as bytes
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        # RawIOBase's own reads 8 KiB per call: one JVM round trip each.
        blocks = []
        while block := self.read(CHUNK):
            blocks.append(block)
        return b"".join(blocks)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self._size}[whence]
        with self._oserror(self._path):
            self._stream.seek(base + offset)
        return base + offset

    def tell(self) -> int:
        return int(self._stream.getPos())

    def close(self) -> None:
        if not self.closed:
            with self._oserror(self._path):
                self._stream.close()
        super().close()


class _JavaOutput(io.RawIOBase):
    """A Hadoop ``FSDataOutputStream`` as a Python writer; closing it persists the file."""

    def __init__(self, stream: Any, oserror: Any, path: str) -> None:
        self._stream, self._oserror, self._path = stream, oserror, path

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        block = bytes(data)
        with self._oserror(self._path):
            self._stream.write(block)
        return len(block)

    def close(self) -> None:
        if not self.closed:
            with self._oserror(self._path):
                self._stream.close()
        super().close()


def read_text(storage: Storage, path: str) -> str:
    with storage.open_read(path) as handle:
        return handle.read().decode("utf-8")


def write_text(storage: Storage, path: str, text: str) -> None:
    with storage.open_write(path) as handle:
        handle.write(text.encode("utf-8"))


__all__ = [
    "LOCAL",
    "HadoopStorage",
    "LocalStorage",
    "Storage",
    "is_uri",
    "read_text",
    "write_text",
]
