"""Scan one media file or document for embedded signals: XMP packets and C2PA/CAWG manifests.

The format is sniffed from the first bytes, never taken from the file name. JPEG, PNG,
WebP and ISO BMFF (MP4, MOV) are walked segment by segment, so only their metadata is read
and a broken structure is caught. Every other format the C2PA library reads — GIF, TIFF
(and the raw formats built on it), HEIF, AVIF, JPEG XL, SVG, WAV, AVI, MP3, FLAC, M4A, PDF
and the ZIP-based documents (Office, OpenDocument, EPUB) — is searched for XMP packets (in
any encoding the XMP specification allows) and always handed to the C2PA reader. Anything
else is not a format notrain can read signals from, and is reported as an error rather
than as "no signal".

Only metadata is checked, not pixels: a file whose image data is damaged but whose
metadata is intact is scanned normally (C2PA's hash check still notices the damage).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from notrain.signals import c2pa as c2pa_signals
from notrain.signals import xmp
from notrain.signals.decision import Decision, Finding, decide

XMP_JPEG_ID = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_JPEG_EXTENSION_ID = b"http://ns.adobe.com/xmp/extension/\x00"
XMP_PNG_KEYWORD = b"XML:com.adobe.xmp"
XMP_BMFF_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
WALKED = {"image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime"}
# Packets found by searching the bytes: no real packet is larger than this.
MAX_PACKET = 16 << 20
SEARCH_BLOCK = 1 << 20


class CorruptMedia(Exception):
    """The file is not a readable image or video container."""


@dataclass(frozen=True, slots=True)
class Packet:
    """An XMP packet, or (``c2pa=True``, no data) a box or segment that carries C2PA."""

    data: bytes
    where: str
    c2pa: bool = False


SNIFF_BYTES = 512


def sniff(head: bytes) -> str | None:
    """The MIME type of a file from its first bytes (up to :data:`SNIFF_BYTES`; 16 do for
    all but SVG), or None if notrain cannot read it."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if head[4:8] in (b"moov", b"wide", b"mdat", b"free"):  # QuickTime without ftyp
        return "video/quicktime"
    return _sniff_more(head)


def _sniff_more(head: bytes) -> str | None:
    """The formats beyond images and video that the C2PA library reads."""
    riff = {b"WAVE": "audio/wav", b"AVI ": "video/avi"}
    if head[:4] == b"RIFF" and head[8:12] in riff:
        return riff[head[8:12]]
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "audio/mpeg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):  # Office, OpenDocument and EPUB are ZIP files
        return "application/x-zip"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "image/jxl"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith((b"<?xml", b"<!--")) and b"<svg" in text):
        return "image/svg+xml"
    return None


class UnknownFormat(Exception):
    """The bytes are not a format notrain can read signals from."""


def scan_path(path: Path) -> Decision:
    """The decision for one media file; never raises for a bad file."""
    try:
        with path.open("rb") as handle:
            findings, error = read_signals(handle, sidecar=_sidecar(path))
    except UnknownFormat:
        return decide([], error="not a format notrain (or the C2PA library) reads signals from")
    except FileNotFoundError:
        return decide([], error="file not found")
    except IsADirectoryError:
        return decide([], error="is a directory, not a media file")
    except OSError as exc:
        return decide([], error=f"cannot be read ({exc.strerror or exc})")
    except Exception as exc:  # a file that breaks a reader is its own error, never the scan's
        return decide([], error=f"signals cannot be read ({type(exc).__name__}: {exc})")
    return decide(findings, error=error)


def read_signals(
    handle: BinaryIO, sidecar: bytes | None = None
) -> tuple[list[Finding], str | None]:
    """Findings of every embedded signal, and what made the file unreadable, if anything.

    Raises :class:`UnknownFormat` when the bytes are no format notrain knows.
    """
    head = handle.read(SNIFF_BYTES)
    handle.seek(0)
    mime = sniff(head)
    if mime is None:
        raise UnknownFormat
    findings: list[Finding] = []
    error: str | None = None
    # The C2PA reader streams the whole file, which costs more than everything else; in the
    # formats walked here it runs only when a carrier of a manifest, or an XMP reference to
    # a remote one (dcterms:provenance), was seen. Anything else always goes to it.
    carrier = mime not in WALKED or sidecar is not None
    try:
        for packet in packets(handle, mime):
            if packet.c2pa:
                carrier = True
                continue
            carrier = carrier or b"provenance" in packet.data
            findings.extend(xmp.read_packet(packet.data, packet.where))
    except (CorruptMedia, struct.error, zlib.error, EOFError, IndexError, ValueError) as exc:
        error = f"corrupt {mime.split('/')[1].upper()}: {exc}"
        carrier = True
    if carrier:
        handle.seek(0)
        findings.extend(c2pa_signals.read(handle, mime, sidecar))
    return findings, error


def _sidecar(path: Path) -> bytes | None:
    # A C2PA manifest may travel beside the asset as <name>.c2pa.
    try:
        return path.with_suffix(".c2pa").read_bytes()
    except OSError:
        return None


def packets(handle: BinaryIO, mime: str) -> Iterator[Packet]:
    """Every XMP packet in the file, in file order; raises :class:`CorruptMedia` where the
    structure breaks, after yielding the packets before that point."""
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    if mime == "image/jpeg":
        return _jpeg(handle, size)
    if mime == "image/png":
        return _png(handle, size)
    if mime == "image/webp":
        return _webp(handle, size)
    if mime in ("video/mp4", "video/quicktime"):
        return _bmff(handle, size)
    return _search(handle)


def _read(handle: BinaryIO, n: int, what: str) -> bytes:
    data = handle.read(n)
    if len(data) != n:
        raise CorruptMedia(f"truncated in {what}")
    return data


def _jpeg(handle: BinaryIO, size: int) -> Iterator[Packet]:
    extended: dict[bytes, tuple[int, dict[int, bytes]]] = {}
    _read(handle, 2, "the start marker")
    while True:
        marker = _read(handle, 2, "a segment marker")
        while marker[1] == 0xFF:  # fill bytes before a marker
            marker = marker[1:] + _read(handle, 1, "a segment marker")
        if marker[0] != 0xFF:
            raise CorruptMedia(f"expected a marker at offset {handle.tell() - 2}")
        code = marker[1]
        if code == 0xD9:  # EOI before any scan
            break
        if code == 0x01 or 0xD0 <= code <= 0xD7:  # markers without a length
            continue
        (length,) = struct.unpack(">H", _read(handle, 2, "a segment length"))
        if length < 2 or handle.tell() + length - 2 > size:
            raise CorruptMedia(f"segment 0x{code:02X} at offset {handle.tell() - 4} overruns")
        if code == 0xDA:  # start of scan: the metadata segments are behind us
            break
        if code == 0xEB:  # APP11: JUMBF, where C2PA keeps its manifest store
            yield Packet(b"", f"JPEG APP11 at offset {handle.tell() - 4}", c2pa=True)
        if code != 0xE1:
            handle.seek(length - 2, io.SEEK_CUR)
            continue
        offset = handle.tell() - 4
        body = _read(handle, length - 2, "an APP1 segment")
        if body.startswith(XMP_JPEG_ID):
            yield Packet(body[len(XMP_JPEG_ID) :], f"JPEG APP1 at offset {offset}")
        elif body.startswith(XMP_JPEG_EXTENSION_ID):
            rest = body[len(XMP_JPEG_EXTENSION_ID) :]
            guid, total, at = rest[:32], *struct.unpack(">II", rest[32:40])
            parts = extended.setdefault(guid, (total, {}))[1]
            parts[at] = rest[40:]
    for guid, (total, parts) in extended.items():
        data = b"".join(parts[at] for at in sorted(parts))
        where = f"JPEG extended XMP {guid.decode('ascii', 'replace')}"
        if len(data) != total:
            raise CorruptMedia(f"{where} is incomplete ({len(data)} of {total} bytes)")
        yield Packet(data, where)


def _png(handle: BinaryIO, size: int) -> Iterator[Packet]:
    handle.seek(8)
    while True:
        offset = handle.tell()
        length, kind = struct.unpack(">I4s", _read(handle, 8, "a chunk header"))
        if offset + 12 + length > size:
            raise CorruptMedia(f"chunk {kind!r} at offset {offset} overruns the file")
        if kind == b"IEND":
            return
        if kind == b"caBX":
            yield Packet(b"", f"PNG caBX chunk at offset {offset}", c2pa=True)
        if kind not in (b"iTXt", b"tEXt", b"zTXt"):
            handle.seek(length + 4, io.SEEK_CUR)
            continue
        body = _read(handle, length, "a text chunk")
        handle.seek(4, io.SEEK_CUR)  # CRC
        keyword, _, rest = body.partition(b"\x00")
        if keyword != XMP_PNG_KEYWORD:
            continue
        where = f"PNG {kind.decode()} chunk at offset {offset}"
        if kind == b"iTXt":
            compressed, _method = rest[0], rest[1]
            _language, _, rest = rest[2:].partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
            yield Packet(zlib.decompress(text) if compressed else text, where)
        elif kind == b"zTXt":
            yield Packet(zlib.decompress(rest[1:]), where)
        else:
            yield Packet(rest, where)


def _webp(handle: BinaryIO, size: int) -> Iterator[Packet]:
    (riff_size,) = struct.unpack("<I", _read(handle, 12, "the RIFF header")[4:8])
    end = riff_size + 8
    if end > size:
        raise CorruptMedia(f"RIFF says {end} bytes, the file has {size}")
    while handle.tell() + 8 <= end:
        offset = handle.tell()
        kind, length = struct.unpack("<4sI", _read(handle, 8, "a chunk header"))
        if offset + 8 + length > end:
            raise CorruptMedia(f"chunk {kind!r} at offset {offset} overruns the file")
        if kind == b"C2PA":
            yield Packet(b"", f"WebP C2PA chunk at {offset}", c2pa=True)
        if kind == b"XMP ":
            yield Packet(_read(handle, length, "the XMP chunk"), f"WebP XMP chunk at {offset}")
            handle.seek(length & 1, io.SEEK_CUR)
        else:
            handle.seek(length + (length & 1), io.SEEK_CUR)


def _bmff(handle: BinaryIO, size: int) -> Iterator[Packet]:
    return _boxes(handle, 0, size, depth=0)


def _boxes(handle: BinaryIO, start: int, end: int, depth: int) -> Iterator[Packet]:
    at = start
    while at + 8 <= end:
        handle.seek(at)
        box_size, kind = struct.unpack(">I4s", _read(handle, 8, "a box header"))
        header = 8
        if box_size == 1:
            (box_size,) = struct.unpack(">Q", _read(handle, 8, "a box size"))
            header = 16
        elif box_size == 0:
            box_size = end - at
        if box_size < header or at + box_size > end:
            raise CorruptMedia(f"box {kind!r} at offset {at} overruns its container")
        body_at, body_end = at + header, at + box_size
        uuid = _read(handle, 16, "a box uuid") if kind == b"uuid" else None
        if uuid == XMP_BMFF_UUID:
            yield Packet(_read(handle, body_end - body_at - 16, "XMP"), f"uuid box at {at}")
        elif uuid is not None:  # C2PA's own uuid box, or one we do not know: let c2pa look
            yield Packet(b"", f"uuid box {uuid.hex()} at {at}", c2pa=True)
        elif kind == b"XMP_":
            yield Packet(_read(handle, body_end - body_at, "XMP"), f"XMP_ box at {at}")
        elif kind in (b"moov", b"udta", b"trak") and depth < 4:
            yield from _boxes(handle, body_at, body_end, depth + 1)
        at = body_end


# XMP packets are found by their wrapper, in each encoding XMP allows.
_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_OPENS = [(tag.encode(enc), enc) for enc in _ENCODINGS for tag in ("<x:xmpmeta", "<x:xapmeta")]
_CLOSES = {enc: [tag.encode(enc) for tag in ("</x:xmpmeta>", "</x:xapmeta>")] for enc in _ENCODINGS}
_TAIL = max(len(needle) for needle, _ in _OPENS)


def _search(handle: BinaryIO) -> Iterator[Packet]:
    """XMP packets found by their wrapper anywhere in the bytes, read block by block."""
    buffer = b""
    offset = 0
    while block := handle.read(SEARCH_BLOCK):
        buffer += block
        while True:
            start, encoding = _first_open(buffer)
            if start < 0:
                # Keep a tail that may hold the start of a wrapper split across blocks.
                offset += max(len(buffer) - _TAIL, 0)
                buffer = buffer[-_TAIL:]
                break
            end, close = _first_close(buffer, encoding, start)
            if end < 0:
                if len(buffer) - start > MAX_PACKET:
                    buffer = buffer[start + 1 :]
                    offset += start + 1
                    continue
                offset += start
                buffer = buffer[start:]
                break
            end += len(close)
            yield Packet(buffer[start:end], f"XMP packet at offset {offset + start}")
            offset += end
            buffer = buffer[end:]


def _first_open(data: bytes) -> tuple[int, str]:
    hits = [(i, enc) for i, enc in ((data.find(n), enc) for n, enc in _OPENS) if i >= 0]
    if not hits:
        return -1, ""
    return min(hits)


def _first_close(data: bytes, encoding: str, start: int) -> tuple[int, bytes]:
    hits = [(i, n) for i, n in ((data.find(n, start), n) for n in _CLOSES[encoding]) if i >= 0]
    return min(hits) if hits else (-1, b"")
