"""Real files for the signals tests, written by real writers.

XMP goes in with Pillow (JPEG, WebP, and PNG's iTXt chunk) or with exiftool where Pillow
cannot (TIFF, GIF, MP4; skipped when exiftool is absent). C2PA manifests are signed by
c2pa-python's Builder with a certificate chain made here with ``cryptography``: a CA and
an ES256 leaf with the e-mail-protection EKU, which c2pa accepts for signing. WARC files
are written with warcio.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
VOCAB = "http://ns.useplus.org/ldf/vocab/"
TDM = "http://www.w3.org/ns/tdmrep/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

PROHIBITED = [
    "DMI-PROHIBITED",
    "DMI-PROHIBITED-AIMLTRAINING",
    "DMI-PROHIBITED-GENAIMLTRAINING",
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
    "DMI-PROHIBITED-SEECONSTRAINT",
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR",
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR",
]


# -- XMP ---------------------------------------------------------------------------------


def packet(description: str) -> bytes:
    """A complete XMP packet around one or more rdf:Description elements."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF}">{description}</rdf:RDF>'
        '</x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def mining(value: str, form: str = "attribute") -> bytes:
    """An XMP packet stating plus:DataMining in one of RDF's three forms."""
    uri = value if value.startswith("http") or form == "bare" else VOCAB + value
    if form == "attribute":
        body = f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}" plus:DataMining="{uri}"/>'
    elif form == "element":
        body = (
            f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}">'
            f"<plus:DataMining>{uri}</plus:DataMining></rdf:Description>"
        )
    elif form == "resource":
        body = (
            f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}">'
            f'<plus:DataMining rdf:resource="{uri}"/></rdf:Description>'
        )
    elif form == "bare":
        body = f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}" plus:DataMining="{value}"/>'
    else:
        raise ValueError(form)
    return packet(body)


def tdm_xmp(value: str) -> bytes:
    return packet(f'<rdf:Description rdf:about="" xmlns:tdm="{TDM}" tdm:reservation="{value}"/>')


def jpeg(xmp: bytes | None = None, color: str = "red") -> bytes:
    out = io.BytesIO()
    extra: dict[str, Any] = {"xmp": xmp} if xmp else {}
    Image.new("RGB", (24, 16), color).save(out, "JPEG", **extra)
    return out.getvalue()


def webp(xmp: bytes | None = None) -> bytes:
    out = io.BytesIO()
    extra: dict[str, Any] = {"xmp": xmp} if xmp else {}
    Image.new("RGB", (24, 16), "green").save(out, "WEBP", **extra)
    return out.getvalue()


def png(xmp: bytes | None = None, *, compressed: bool = False) -> bytes:
    """PNG with XMP in an iTXt chunk keyed XML:com.adobe.xmp, as the XMP spec puts it."""
    out = io.BytesIO()
    info = PngInfo()
    if xmp:
        info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=compressed)
    Image.new("RGB", (24, 16), "blue").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def mp4() -> bytes:
    """The smallest ISO BMFF movie exiftool will write into: ftyp, moov/mvhd, mdat."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = box(
        b"mvhd",
        b"\x00" * 4 + struct.pack(">IIII", 0, 0, 1000, 0) + struct.pack(">IH", 0x10000, 0x100)
        + b"\x00" * 10 + matrix + b"\x00" * 24 + struct.pack(">I", 2),
    )  # fmt: skip
    return (
        box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + box(b"moov", mvhd) + box(b"mdat", b"")
    )


def exiftool() -> str | None:
    return shutil.which("exiftool")


def exiftool_xmp(path: Path, xmp: bytes) -> None:
    """Write ``xmp`` into ``path`` with exiftool (``-xmp<=file``), in place."""
    tool = exiftool()
    assert tool is not None
    source = path.with_suffix(".xmp")
    source.write_bytes(xmp)
    subprocess.run(
        [tool, "-q", "-overwrite_original", f"-xmp<={source}", str(path)],
        check=True,
        capture_output=True,
    )
    source.unlink()


# -- C2PA --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKit:
    chain: bytes  # leaf then CA, PEM
    key: bytes  # PKCS#8 PEM


def signing_kit() -> SigningKit:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "notrain test CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "notrain tests"),
        ]
    )
    usage = {
        "content_commitment": False, "key_encipherment": False, "data_encipherment": False,
        "key_agreement": False, "encipher_only": False, "decipher_only": False,
    }  # fmt: skip
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "notrain test signer"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "notrain tests"),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return SigningKit(
        chain=leaf.public_bytes(pem) + ca.public_bytes(pem),
        key=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def training_mining(entries: dict[str, str], label: str = "c2pa.training-mining") -> dict[str, Any]:
    """An assertion ``label`` with ``{entry key: use}``."""
    prefix = label.split(".")[0]
    data = {key if "." in key else f"{prefix}.{key}": {"use": use} for key, use in entries.items()}
    return {"label": label, "data": {"entries": data}}


@dataclass
class Signed:
    asset: bytes
    manifest: bytes  # the manifest store, for a sidecar


@dataclass
class Manifest:
    assertions: list[dict[str, Any]]
    ingredients: list[tuple[bytes, str]] = field(default_factory=list)
    remote_url: str | None = None


def sign(source: bytes, mime: str, manifest: Manifest, kit: SigningKit) -> Signed:
    """Sign ``source`` with a manifest holding ``assertions`` (and ingredients)."""
    definition = {
        "claim_generator_info": [{"name": "notrain-tests", "version": "1"}],
        "title": "fixture",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType":
                         "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]},
            },
            *manifest.assertions,
        ],
    }  # fmt: skip
    context = c2pa.Context.from_dict(
        {"verify": {"verify_after_sign": False, "remote_manifest_fetch": False}}
    )
    builder = c2pa.Builder(definition, context=context)
    for data, ingredient_mime in manifest.ingredients:
        builder.add_ingredient({"title": "ingredient"}, ingredient_mime, io.BytesIO(data))
    if manifest.remote_url:
        builder.set_no_embed()
        builder.set_remote_url(manifest.remote_url)
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", kit.chain, kit.key, None))
    out = io.BytesIO()
    store = builder.sign(signer, mime, io.BytesIO(source), out)
    return Signed(out.getvalue(), bytes(store))


# -- WARC --------------------------------------------------------------------------------


@dataclass
class Capture:
    url: str
    body: bytes = b""
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    date: str = "2025-03-01T12:00:00Z"
    content_type: str | None = "text/html; charset=utf-8"


def html(body: str = "<p>Hello world.</p>", head: str = "") -> bytes:
    page = f"<!doctype html><html><head><title>T</title>{head}</head><body>{body}</body></html>"
    return page.encode()


def robots(text: str, url: str, **extra: Any) -> Capture:
    return Capture(url, text.encode(), content_type="text/plain", **extra)


def write_warc(path: Path, captures: list[Capture], *, gzip: bool = True) -> Path:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        for capture in captures:
            fields = list(capture.headers)
            if capture.content_type:
                fields.insert(0, ("Content-Type", capture.content_type))
            reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}.get(
                capture.status, "X"
            )
            http = StatusAndHeaders(f"{capture.status} {reason}", fields, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                capture.url,
                "response",
                payload=io.BytesIO(capture.body),
                length=len(capture.body),  # a known length: warcio needs no temporary file
                http_headers=http,
                warc_headers_dict={"WARC-Date": capture.date},
            )
            writer.write_record(record)
    return path
