"""Every format the C2PA library reads, XMP in every encoding, sidecars of remote manifests,
and files the C2PA library refuses."""

from __future__ import annotations

import io
import struct
import wave
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from notrain.signals.decision import Verdict
from notrain.signals.media import read_signals, scan_path, sniff
from notrain.signals.warc import scan_warcs
from tests.signals import make
from tests.signals.make import Capture, Manifest, SigningKit, sign, training_mining

NOT_ALLOWED = Manifest([training_mining({"ai_training": "notAllowed"}, "cawg.training-mining")])


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(bytes(1600))
    return out.getvalue()


def epub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("chapter.xhtml", "<p>Once upon a time.</p>")
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect width="1"/></svg>'
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\nxref\n0 3\n0000000000 65535 f \n"
    b"0000000009 00000 n \n0000000052 00000 n \ntrailer<</Size 3/Root 1 0 R>>\n"
    b"startxref\n101\n%%EOF\n"
)


def svg() -> bytes:
    return SVG


def pdf() -> bytes:
    return PDF


FORMATS: dict[str, Callable[[], bytes]] = {
    "audio/wav": wav,
    "application/x-zip": epub,
    "image/svg+xml": svg,
    "application/pdf": pdf,
}


@pytest.mark.parametrize("mime", FORMATS)
def test_formats_beyond_images_and_video_are_read(
    kit: SigningKit, tmp_path: Path, mime: str
) -> None:
    signed = sign(FORMATS[mime](), mime, NOT_ALLOWED, kit).asset
    assert sniff(signed[:512]) == mime
    decision = scan_path(_write(tmp_path / "item", signed))
    assert (decision.decision, decision.signal) == (Verdict.RESERVED, "cawg_training_mining")


def test_a_wav_with_a_reserving_manifest_in_a_crawl_is_reserved(
    kit: SigningKit, tmp_path: Path
) -> None:
    url = "https://a.example/song.wav"
    signed = sign(wav(), "audio/wav", NOT_ALLOWED, kit).asset
    path = make.write_warc(
        tmp_path / "c.warc.gz",
        [Capture(url, signed, content_type="application/octet-stream")],
    )
    scan_warcs([path], tmp_path / "out.parquet", workers=0)
    [row] = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert (row["decision"], row["signal"]) == ("reserved", "cawg_training_mining")


def test_sniffing_the_formats_of_the_c2pa_library() -> None:
    assert sniff(b"ID3\x04\x00") == "audio/mpeg"
    assert sniff(b"fLaC\x00\x00\x00\x22") == "audio/flac"
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") == "video/avi"
    assert sniff(b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00") == "audio/mp4"
    assert sniff(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') == (
        "image/svg+xml"
    )
    assert sniff(b"<html><body>") is None
    assert sniff(b'{"json": true}') is None


# -- XMP in every encoding ----------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-16", "utf-32-le", "utf-32-be", "utf-32"]
)
def test_xmp_packet_in_any_encoding(encoding: str) -> None:
    text = make.mining("DMI-PROHIBITED").decode("utf-8")
    packet = text.encode(encoding) + b"\x00" * 8  # some writers pad with zeros
    for name, data in (
        ("jpeg", make.jpeg(packet)),
        # A GIF is searched for its packet, which must be found in this encoding too.
        ("gif", b"GIF89a" + bytes(32) + packet + bytes(32)),
    ):
        findings, error = read_signals(io.BytesIO(data))
        assert error is None, (name, error)
        assert [f.verdict for f in findings] == [Verdict.RESERVED], (name, findings)


def test_a_broken_utf16_packet_is_an_error_not_silence() -> None:
    packet = make.mining("DMI-PROHIBITED").decode().encode("utf-16-le")[:-40]
    findings, _ = read_signals(io.BytesIO(make.jpeg(packet)))
    assert [f.verdict for f in findings] == [Verdict.ERROR]


# -- remote manifests, sidecars, refused files -------------------------------------------


def test_a_sidecar_that_holds_the_remote_manifest_decides(kit: SigningKit, tmp_path: Path) -> None:
    manifest = Manifest(
        [training_mining({"ai_training": "allowed"})], remote_url="http://127.0.0.1:9/p.c2pa"
    )
    signed = sign(make.jpeg(), "image/jpeg", manifest, kit)
    (tmp_path / "photo.jpg").write_bytes(signed.asset)
    assert scan_path(tmp_path / "photo.jpg").decision is Verdict.UNKNOWN  # no sidecar yet
    (tmp_path / "photo.c2pa").write_bytes(signed.manifest)
    decision = scan_path(tmp_path / "photo.jpg")
    assert (decision.decision, decision.signal) == (Verdict.ALLOWED, "c2pa_training_mining")
    assert "sidecar .c2pa manifest" in (decision.evidence or "")
    assert all(f.verdict is not Verdict.UNKNOWN for f in decision.findings)


def hostile_tiff(subfiles: int, tail: bytes = b"") -> bytes:
    """A TIFF whose first IFD lists thousands of sub-IFDs, which the C2PA library refuses."""
    at = 8 + 2 + 2 * 12 + 4
    first = at + 4 * subfiles
    ifd = struct.pack("<H", 2) + struct.pack("<HHII", 256, 4, 1, 1)
    ifd += struct.pack("<HHII", 330, 13, subfiles, at) + struct.pack("<I", 0)
    subs = [first + i * 18 for i in range(subfiles)]
    body = b"".join(struct.pack("<I", offset) for offset in subs)
    for i in range(subfiles):
        following = subs[i + 1] if i + 1 < subfiles else 0
        body += struct.pack("<H", 1) + struct.pack("<HHII", 256, 4, 1, 1)
        body += struct.pack("<I", following)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + body + tail


def test_a_file_the_c2pa_library_refuses_without_c2pa_data_is_judged_by_its_other_signals(
    tmp_path: Path,
) -> None:
    plain = scan_path(_write(tmp_path / "plain.tif", hostile_tiff(5000)))
    assert (plain.decision, plain.error) == (Verdict.ALLOWED, None)
    marked = hostile_tiff(5000, make.mining("DMI-PROHIBITED"))
    reserved = scan_path(_write(tmp_path / "marked.tif", marked))
    assert (reserved.decision, reserved.signal) == (Verdict.RESERVED, "iptc_data_mining")
    # The same file with a manifest store in it the library will not read: an error.
    with_store = hostile_tiff(5000, b"jumb" + b"\x00\x00\x00\x1ejumd" + _store_uuid())
    assert scan_path(_write(tmp_path / "store.tif", with_store)).decision is Verdict.ERROR


def test_an_mp4_and_a_tiff_without_c2pa_data_get_the_same_answer(tmp_path: Path) -> None:
    tiff = scan_path(_write(tmp_path / "a.tif", hostile_tiff(5000)))
    mp4 = scan_path(_write(tmp_path / "a.mp4", make.mp4()))
    assert tiff.decision is mp4.decision is Verdict.ALLOWED


def _store_uuid() -> bytes:
    from notrain.signals.c2pa import STORE_UUID

    return STORE_UUID


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
