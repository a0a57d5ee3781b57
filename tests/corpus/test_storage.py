"""The storage module: the local and the Hadoop implementation pass the same cases.

The Hadoop one runs against ``file://`` URIs (Hadoop's ``LocalFileSystem``) in the test
Spark session's JVM; HDFS and S3 are not reachable here.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.corpus import dataset
from notrain.corpus.storage import LOCAL, HadoopStorage, Storage, is_uri
from notrain.errors import OutputError

Located = tuple[Storage, Callable[[Path], str]]


@pytest.fixture(params=["local", pytest.param("hadoop", marks=pytest.mark.slow)])
def located(request: pytest.FixtureRequest) -> Located:
    """A storage, and how it names a local path."""
    if request.param == "local":
        return LOCAL, str
    spark: Any = request.getfixturevalue("spark")
    hadoop = HadoopStorage(spark._jvm, spark._jsc.hadoopConfiguration())
    return hadoop, lambda path: f"file://{path}"


def _names(storage: Storage, found: list[str]) -> list[str]:
    return [storage.name(f) for f in found]


def test_uris_and_plain_paths() -> None:
    for text in ("hdfs://nn:8020/data", "s3a://bucket/x", "file:///tmp/x", "file:/tmp/x",
                 "gs://b/o", "abfs://c@a.dfs.core.windows.net/p"):  # fmt: skip
        assert is_uri(text), text
    for text in ("/tmp/x", "data/x.parquet", "./a:b", "C:x", "weird:name.parquet"):
        assert not is_uri(text), text
    assert not is_uri(Path("/tmp/x"))


def test_files_and_directories(tmp_path: Path, located: Located) -> None:
    storage, at = located
    root = at(tmp_path)
    folder = storage.child(root, "folder")
    assert not storage.exists(folder)
    storage.mkdirs(storage.child(folder, "deeper"))
    assert storage.exists(folder)
    assert storage.is_dir(folder)
    assert not storage.is_file(folder)
    data = bytes(range(256)) * 40_000  # ~10 MB: more than one chunk
    target = storage.child(folder, "b.bin")
    with storage.open_write(target) as handle:
        handle.write(data)
    assert (tmp_path / "folder" / "b.bin").read_bytes() == data
    assert storage.is_file(target)
    assert not storage.is_dir(target)
    with storage.open_read(target) as handle:
        assert handle.read() == data
    assert storage.sha256(target) == hashlib.sha256(data).hexdigest()
    (tmp_path / "folder" / "a.parquet").write_bytes(b"x")
    assert _names(storage, storage.listdir(folder)) == ["a.parquet", "b.bin", "deeper"]
    assert _names(storage, storage.glob(storage.child(folder, "*.parquet"))) == ["a.parquet"]
    assert storage.glob(storage.child(folder, "*.csv")) == []
    assert storage.name(target) == "b.bin"
    assert storage.name(storage.parent(target)) == "folder"


def test_refusals_and_missing_files(tmp_path: Path, located: Located) -> None:
    storage, at = located
    (tmp_path / "there.txt").write_text("x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(FileExistsError):
        storage.open_write(at(tmp_path / "there.txt"))
    with pytest.raises(FileNotFoundError):
        storage.open_read(at(tmp_path / "absent.txt"))
    with pytest.raises(FileExistsError):
        storage.rename(at(tmp_path / "there.txt"), at(tmp_path / "dir"))
    assert (tmp_path / "there.txt").read_text() == "x"
    assert list((tmp_path / "dir").iterdir()) == []
    assert not storage.exists(at(tmp_path / "absent.txt"))
    assert not storage.is_dir(at(tmp_path / "absent.txt"))
    storage.delete(at(tmp_path / "absent.txt"))  # nothing there: nothing happens


def test_rename_and_delete_a_tree(tmp_path: Path, located: Located) -> None:
    storage, at = located
    (tmp_path / "staged" / "sub").mkdir(parents=True)
    (tmp_path / "staged" / "sub" / "f").write_text("f")
    storage.rename(at(tmp_path / "staged"), at(tmp_path / "published"))
    assert (tmp_path / "published" / "sub" / "f").read_text() == "f"
    assert not (tmp_path / "staged").exists()
    storage.delete(at(tmp_path / "published"))
    assert not (tmp_path / "published").exists()


def test_seeking_reads_a_parquet_footer(tmp_path: Path, located: Located) -> None:
    storage, at = located
    pq.write_table(pa.table({"n": list(range(5000))}), tmp_path / "t.parquet")
    with storage.open_read(at(tmp_path / "t.parquet")) as handle:
        assert handle.seekable()
        assert handle.seek(-4, io.SEEK_END) == (tmp_path / "t.parquet").stat().st_size - 4
        assert handle.read() == b"PAR1"
        assert pq.ParquetFile(handle).read()["n"].to_pylist() == list(range(5000))


def test_staging_publish_and_verify(tmp_path: Path, located: Located) -> None:
    storage, at = located
    out = at(tmp_path / "datasets" / "one")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / ".staging-one-1").mkdir()  # left by a killed build
    staging = dataset.staging_dir(out, storage)
    assert storage.name(staging).startswith(".staging-one-")
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == [storage.name(staging)]
    with storage.open_write(storage.child(staging, "part-00000.parquet")) as handle:
        handle.write(b"rows")
    shard = {"file": "part-00000.parquet", "rows": 1, "sha256": hashlib.sha256(b"rows").hexdigest()}
    manifest = {"shards": [shard], "files": {}}
    dataset.publish(staging, out, manifest, storage)
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["one"]
    assert (tmp_path / "datasets" / "one" / "manifest.json").is_file()
    assert dataset.verify(out, storage) == []
    (tmp_path / "datasets" / "one" / "part-00000.parquet").write_bytes(b"changed")
    # Hadoop's LocalFileSystem keeps a checksum beside each file it writes, and would
    # refuse to read the changed bytes; take it away to see the manifest catch the change.
    (tmp_path / "datasets" / "one" / ".part-00000.parquet.crc").unlink(missing_ok=True)
    assert dataset.verify(out, storage) == [
        "part-00000.parquet: sha256 does not match the manifest"
    ]
    with pytest.raises(OutputError, match="already exists"):
        dataset.staging_dir(out, storage)


@pytest.mark.slow
def test_hadoop_hashes_in_the_jvm_as_hashlib_does(tmp_path: Path, spark: Any) -> None:
    hadoop = HadoopStorage(spark._jvm, spark._jsc.hadoopConfiguration())
    assert type(spark._jvm.org.apache.commons.codec.digest.DigestUtils).__name__ == "JavaClass"
    for size in (0, 1, (1 << 22) + 3):  # empty, tiny, more than one streamed chunk
        data = bytes((n * 7 + size) % 251 for n in range(size))
        path = tmp_path / f"f{size}.bin"
        path.write_bytes(data)
        assert hadoop.sha256(f"file://{path}") == hashlib.sha256(data).hexdigest()
        # The streamed hash (the fallback) agrees.
        assert Storage.sha256(hadoop, f"file://{path}") == hashlib.sha256(data).hexdigest()
    with pytest.raises(FileNotFoundError):
        hadoop.sha256(f"file://{tmp_path / 'missing.bin'}")
