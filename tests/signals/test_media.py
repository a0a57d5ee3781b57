"""Embedded XMP in real JPEG, PNG, WebP (Pillow), TIFF, GIF and MP4 (exiftool) files, and
files that are not what they claim."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from notrain.signals.decision import Verdict
from notrain.signals.media import packets, read_signals, scan_path, sniff
from tests.signals import make

needs_exiftool = pytest.mark.skipif(
    make.exiftool() is None,
    reason="exiftool not installed (Debian: libimage-exiftool-perl)",
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


WRITERS = {
    "jpg": lambda xmp: make.jpeg(xmp),
    "png": lambda xmp: make.png(xmp),
    "png-compressed": lambda xmp: make.png(xmp, compressed=True),
    "webp": lambda xmp: make.webp(xmp),
}


@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("form", ["attribute", "element", "resource"])
def test_pillow_written_xmp_is_found(tmp_path: Path, kind: str, form: str) -> None:
    path = write(tmp_path, f"a.{kind[:4]}", WRITERS[kind](make.mining("DMI-PROHIBITED", form)))
    decision = scan_path(path)
    assert decision.decision is Verdict.RESERVED
    assert decision.signal == "iptc_data_mining"
    assert decision.error is None


@pytest.mark.parametrize("kind", list(WRITERS))
def test_allowed_and_unspecified(tmp_path: Path, kind: str) -> None:
    allowed = scan_path(write(tmp_path, "a", WRITERS[kind](make.mining("DMI-ALLOWED"))))
    assert (allowed.decision, allowed.signal) == (Verdict.ALLOWED, "iptc_data_mining")
    silent = scan_path(write(tmp_path, "b", WRITERS[kind](make.mining("DMI-UNSPECIFIED"))))
    assert (silent.decision, silent.signal) == (Verdict.ALLOWED, None)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_no_metadata_is_allowed_without_a_signal(tmp_path: Path, kind: str) -> None:
    decision = scan_path(write(tmp_path, "plain", WRITERS[kind](None)))
    assert (decision.decision, decision.signal, decision.findings) == (Verdict.ALLOWED, None, ())


def test_the_format_is_sniffed_not_taken_from_the_name(tmp_path: Path) -> None:
    path = write(tmp_path, "really-a-png.jpg", make.png(make.mining("DMI-PROHIBITED")))
    decision = scan_path(path)
    assert decision.decision is Verdict.RESERVED
    assert "PNG iTXt" in (decision.evidence or "")


def test_tdmrep_xmp_in_a_jpeg(tmp_path: Path) -> None:
    decision = scan_path(write(tmp_path, "t.jpg", make.jpeg(make.tdm_xmp("1"))))
    assert (decision.decision, decision.signal) == (Verdict.RESERVED, "tdmrep")


@needs_exiftool
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.tif", lambda: _pillow("TIFF")),
        ("a.gif", lambda: _pillow("GIF")),
        ("a.png", lambda: make.png()),
        ("a.webp", lambda: make.webp()),
        ("a.jpg", lambda: make.jpeg()),
        ("a.mp4", make.mp4),
    ],
)
def test_exiftool_written_xmp_is_found(tmp_path: Path, name: str, data: object) -> None:
    assert callable(data)
    path = write(tmp_path, name, data())
    make.exiftool_xmp(path, make.mining("DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", "resource"))
    decision = scan_path(path)
    assert decision.decision is Verdict.RESERVED, decision
    assert decision.error is None


@needs_exiftool
def test_exiftool_extended_xmp_is_reassembled(tmp_path: Path) -> None:
    # A 70 kB description does not fit one APP1 segment: exiftool writes extended XMP.
    path = write(tmp_path, "big.jpg", make.jpeg())
    make.exiftool_xmp(path, make.mining("DMI-PROHIBITED"))
    (tmp_path / "desc.txt").write_text("x" * 70_000)
    tool = make.exiftool()
    assert tool is not None
    subprocess.run(
        [tool, "-q", "-overwrite_original", f"-XMP-dc:Description<={tmp_path / 'desc.txt'}",
         str(path)],
        check=True,
    )  # fmt: skip
    with path.open("rb") as handle:
        found = list(packets(handle, "image/jpeg"))
    assert [p.where.startswith("JPEG extended XMP") for p in found] == [False, True]
    assert b"x" * 70_000 in found[1].data
    assert scan_path(path).decision is Verdict.RESERVED


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def test_a_reservation_only_in_extended_xmp_is_found(tmp_path: Path) -> None:
    # Built by hand after XMP part 3, 1.1.3.1: GUID, full length and offset per segment.
    extended = make.mining("DMI-PROHIBITED-AIMLTRAINING")
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    main = make.packet(
        '<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
        f'xmpNote:HasExtendedXMP="{guid.decode()}"/>'
    )
    half = len(extended) // 2
    segments = _app1(b"http://ns.adobe.com/xap/1.0/\x00" + main)
    for at, part in ((half, extended[half:]), (0, extended[:half])):  # out of order
        header = b"http://ns.adobe.com/xmp/extension/\x00" + guid
        segments += _app1(header + struct.pack(">II", len(extended), at) + part)
    data = make.jpeg()
    decision = scan_path(write(tmp_path, "ext.jpg", data[:2] + segments + data[2:]))
    assert decision.decision is Verdict.RESERVED
    assert "JPEG extended XMP 0123456789ABCDEF" in (decision.evidence or "")

    incomplete = data[:2] + segments[: -len(extended[:half]) - 4] + data[2:]
    assert scan_path(write(tmp_path, "inc.jpg", incomplete)).decision is Verdict.ERROR


def _pillow(fmt: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, fmt)
    return out.getvalue()


# -- what is not a readable file is an error, never "no signal" ------------------------------


def test_random_bytes_are_an_error(tmp_path: Path) -> None:
    decision = scan_path(write(tmp_path, "x.jpg", bytes(range(256)) * 4))
    assert decision.decision is Verdict.ERROR
    assert decision.error == "not a format notrain (or the C2PA library) reads signals from"


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    assert scan_path(write(tmp_path, "e.png", b"")).decision is Verdict.ERROR


def test_a_missing_file_and_a_directory_are_errors(tmp_path: Path) -> None:
    assert scan_path(tmp_path / "nope.jpg").error == "file not found"
    assert scan_path(tmp_path).error == "is a directory, not a media file"


def test_a_jpeg_whose_segment_overruns_is_corrupt(tmp_path: Path) -> None:
    data = make.jpeg(make.mining("DMI-ALLOWED"))
    broken = data[:4] + b"\xff\xf0" + data[6:]  # the APP0 length now runs past the end
    decision = scan_path(write(tmp_path, "c.jpg", broken))
    assert decision.decision is Verdict.ERROR
    assert "corrupt JPEG" in (decision.error or "")


def test_a_truncated_png_is_corrupt(tmp_path: Path) -> None:
    data = make.png(make.mining("DMI-ALLOWED"))
    decision = scan_path(write(tmp_path, "c.png", data[:60]))
    assert decision.decision is Verdict.ERROR
    assert "corrupt PNG" in (decision.error or "")


def test_a_webp_shorter_than_its_riff_header_says_is_corrupt(tmp_path: Path) -> None:
    data = make.webp(make.mining("DMI-ALLOWED"))
    assert scan_path(write(tmp_path, "c.webp", data[:-10])).decision is Verdict.ERROR


def test_a_bad_zlib_stream_in_a_compressed_itxt_is_corrupt(tmp_path: Path) -> None:
    body = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + b"not zlib at all"
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body))
    data = make.png()
    at = data.index(b"IDAT") - 4
    decision = scan_path(write(tmp_path, "z.png", data[:at] + chunk + data[at:]))
    assert decision.decision is Verdict.ERROR


def test_a_reservation_before_the_damage_still_reserves(tmp_path: Path) -> None:
    data = make.png(make.mining("DMI-PROHIBITED"))
    iend = data.index(b"IEND") - 4
    decision = scan_path(write(tmp_path, "r.png", data[:iend] + b"\x00\x00\xff\xffJUNK"))
    assert decision.decision is Verdict.RESERVED
    assert "corrupt PNG" in (decision.error or "")


def test_a_malformed_xmp_packet_is_an_error(tmp_path: Path) -> None:
    decision = scan_path(write(tmp_path, "m.jpg", make.jpeg(make.mining("DMI-PROHIBITED")[:-30])))
    assert decision.decision is Verdict.ERROR
    assert "not well-formed" in (decision.error or "")


def test_sniffing() -> None:
    assert sniff(make.jpeg()[:16]) == "image/jpeg"
    assert sniff(make.png()[:16]) == "image/png"
    assert sniff(make.webp()[:16]) == "image/webp"
    assert sniff(make.mp4()[:16]) == "video/mp4"
    assert sniff(b"<svg xmlns=...") == "image/svg+xml"
    assert sniff(b"<html>") is None


def test_read_signals_works_on_bytes_in_memory() -> None:
    findings, error = read_signals(io.BytesIO(make.webp(make.mining("DMI-PROHIBITED"))))
    assert error is None
    assert [f.verdict for f in findings] == [Verdict.RESERVED]
