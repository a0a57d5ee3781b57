"""Throughput of the signals scans: media files per second and WARC records per second.

Generates its own fixtures (cached under ``bench-data/signals-*``): images with and without
XMP and C2PA manifests, a content table pointing at them, and WARC files of several sites
with their robots.txt, ai.txt and tdmrep.json. Then times ``scan_media`` and ``scan_warcs``
for each worker count asked, end to end (pool start-up and Parquet output included).
Not a test: it asserts nothing, it reports.

    python benchmarks/signals.py                              # 2,000 files, 20,000 records
    python benchmarks/signals.py --media 10000 --records 100000 --workers 1 4 8

The fixture makers are also used by ``compare_datadiligence.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
VOCAB = "http://ns.useplus.org/ldf/vocab/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
SENTENCE = (
    "the quick brown fox jumps over a lazy dog while painters and photographers share "
    "their work with friends across the river under a pale northern sky"
)
WORDS = SENTENCE.split(" ")


# -- media -------------------------------------------------------------------------------


def xmp_mining(value: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description rdf:about="" xmlns:plus="{PLUS}" plus:DataMining="{VOCAB}{value}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def image(fmt: str, xmp: bytes | None = None, size: int = 256, seed: int = 0) -> bytes:
    """A noisy (so not trivially compressible) image of ``size`` pixels square."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    pixels = random.Random(seed).randbytes(size * size * 3)
    picture = Image.frombytes("RGB", (size, size), pixels)
    out = io.BytesIO()
    if fmt == "PNG":
        info = PngInfo()
        if xmp:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        picture.save(out, "PNG", pnginfo=info)
    else:
        extra: dict[str, Any] = {"xmp": xmp} if xmp else {}
        picture.save(out, fmt, quality=85, **extra)
    return out.getvalue()


@dataclass(frozen=True)
class Kit:
    chain: bytes
    key: bytes


def signing_kit() -> Kit:
    """A test CA and an ES256 leaf (e-mail protection EKU), as c2pa accepts for signing."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    usage: dict[str, bool] = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
         "encipher_only", "decipher_only"), False,
    )  # fmt: skip

    def name(common: str) -> Any:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "notrain bench"),
            ]
        )

    def build(subject: str, key: Any, issuer_key: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name("bench CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
            .add_extension(
                x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage),
                True,
            )
        )
        if ca:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca = build("bench CA", ca_key, ca_key, True)
    leaf = build("bench signer", key, ca_key, False)
    pem = serialization.Encoding.PEM
    return Kit(
        leaf.public_bytes(pem) + ca.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def sign(
    source: bytes,
    mime: str,
    kit: Kit,
    entries: dict[str, str],
    label: str = "c2pa.training-mining",
    remote_url: str | None = None,
) -> bytes:
    """``source`` with a C2PA manifest holding one training-mining assertion."""
    import c2pa

    prefix = label.split(".")[0]
    assertion = {
        "label": label,
        "data": {"entries": {f"{prefix}.{k}": {"use": v} for k, v in entries.items()}},
    }
    context = c2pa.Context.from_dict({"verify": {"verify_after_sign": False}})
    builder = c2pa.Builder(
        {"claim_generator_info": [{"name": "notrain-bench", "version": "1"}],
         "assertions": [assertion]},
        context=context,
    )  # fmt: skip
    if remote_url:
        builder.set_no_embed()
        builder.set_remote_url(remote_url)
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", kit.chain, kit.key, None))
    out = io.BytesIO()
    builder.sign(signer, mime, io.BytesIO(source), out)
    return out.getvalue()


def make_media(root: Path, files: int, seed: int = 7) -> Path:
    """``files`` media files under ``root/media`` and ``root/content.parquet`` naming them.

    A tenth carry a C2PA manifest, a quarter an XMP data-mining statement, the rest
    nothing, as on a platform where a minority of artists mark their work.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    content = root / "content.parquet"
    if content.exists():
        return content
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    kit = signing_kit()
    kinds = [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png"),
             ("WEBP", "webp", "image/webp")]  # fmt: skip
    # A pool of distinct files, copied round: generating 10,000 signed images takes longer
    # than scanning them, and the scan caches nothing across files.
    pool: list[tuple[str, bytes]] = []
    for i in range(min(files, 60)):
        fmt, ext, mime = kinds[i % 3]
        roll = rng.random()
        xmp = xmp_mining(rng.choice(["DMI-PROHIBITED-AIMLTRAINING", "DMI-ALLOWED"]))
        data = image(fmt, xmp if 0.1 <= roll < 0.35 else None, seed=i)
        if roll < 0.1:
            data = sign(data, mime, kit, {"ai_training": rng.choice(["notAllowed", "allowed"])})
        pool.append((ext, data))
    uris = []
    for i in range(files):
        ext, data = pool[i % len(pool)]
        uri = f"{i // 1000:03d}/{i}.{ext}"
        (media / uri).parent.mkdir(exist_ok=True)
        (media / uri).write_bytes(data)
        uris.append(uri)
    pq.write_table(
        pa.table({"content_id": pa.array(range(files), pa.int64()), "media_uri": uris}), content
    )
    return content


# -- WARC --------------------------------------------------------------------------------


@dataclass
class Response:
    url: str
    body: bytes
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "text/html; charset=utf-8"
    date: str = "2025-03-01T12:00:00Z"


def page_html(rng: random.Random, words: int, head: str = "") -> bytes:
    paragraphs = []
    while words > 0:
        n = min(words, rng.randint(40, 120))
        paragraphs.append("<p>" + " ".join(rng.choice(WORDS) for _ in range(n)) + ".</p>")
        words -= n
    body = "".join(paragraphs)
    return (
        f"<!doctype html><html><head><title>Page</title>{head}"
        f"<script>var tracking = {{id: 1}};</script><style>p {{ margin: 0 }}</style></head>"
        f"<body><nav><a href='/'>Home</a></nav><article>{body}</article></body></html>"
    ).encode()


def write_warc(path: Path, responses: list[Response]) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for response in responses:
            fields = [("Content-Type", response.content_type), *response.headers]
            http = StatusAndHeaders(f"{response.status} X", fields, protocol="HTTP/1.1")
            record = writer.create_warc_record(
                response.url,
                "response",
                payload=io.BytesIO(response.body),
                length=len(response.body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": response.date},
            )
            writer.write_record(record)
    return path


def site_files(origin: str, robots: str, ai_txt: str | None, tdm: Any | None) -> list[Response]:
    """robots.txt, ai.txt and tdmrep.json of a site; None is a 404."""
    found = [Response(origin + "/robots.txt", robots.encode(), content_type="text/plain")]
    for path, body in (("/ai.txt", ai_txt), ("/.well-known/tdmrep.json", tdm)):
        if body is None:
            found.append(Response(origin + path, b"not found", status=404))
        else:
            text = body if isinstance(body, str) else json.dumps(body)
            found.append(Response(origin + path, text.encode(), content_type="text/plain"))
    return found


def make_warcs(root: Path, records: int, files: int = 8, seed: int = 7) -> list[Path]:
    """About ``records`` records over ``files`` WARC files: 50 sites, each with its site
    files, pages of 300-1,500 words, some carrying headers or meta tags, and images."""
    paths = [root / f"crawl-{i:02d}.warc.gz" for i in range(files)]
    if all(p.exists() for p in paths):
        return paths
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sites = [f"https://site{i:02d}.example" for i in range(50)]
    robots_variants = [
        "User-agent: *\nAllow: /\n",
        "User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
        "User-agent: *\nDisallow: /private/\nContent-Usage: / train-ai=n\n",
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
    ]
    photo = image("JPEG", xmp_mining("DMI-PROHIBITED"), size=128)
    batches: list[list[Response]] = [[] for _ in range(files)]
    for i, origin in enumerate(sites):
        tdm = [{"location": "/news/*", "tdm-reservation": 1}] if i % 5 == 0 else None
        ai_txt = "User-Agent: *\nDisallow: *.jpg\n" if i % 7 == 0 else None
        batches[i % files].extend(site_files(origin, robots_variants[i % 4], ai_txt, tdm))
    for n in range(max(records - 150, 0)):
        origin = rng.choice(sites)
        roll = rng.random()
        headers: list[tuple[str, str]] = []
        head = ""
        if roll < 0.05:
            headers.append(("X-Robots-Tag", "noai"))
        elif roll < 0.08:
            head = '<meta name="robots" content="noai, noimageai">'
        elif roll < 0.10:
            headers.append(("tdm-reservation", "1"))
        if rng.random() < 0.1:
            response = Response(f"{origin}/img/{n}.jpg", photo, content_type="image/jpeg")
        else:
            section = rng.choice(["news", "blog", "private", "about"])
            body = page_html(rng, rng.randint(300, 1500), head)
            response = Response(f"{origin}/{section}/{n}", body, headers=headers)
        batches[n % files].append(response)
    return [write_warc(path, batch) for path, batch in zip(paths, batches, strict=True)]


# -- timing ------------------------------------------------------------------------------


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def bench_media(data: Path, files: int, workers: list[int]) -> list[dict[str, Any]]:
    from notrain.signals.scan import scan_media

    content = make_media(data / f"signals-media-{files}", files)
    media = content.parent / "media"
    total_bytes = sum(p.stat().st_size for p in media.rglob("*") if p.is_file())
    results = []
    for count in workers:
        out = content.parent / f"out-{count}.parquet"
        start, cpu = time.perf_counter(), time.process_time()
        summary = scan_media(str(content), media, out, workers=count, overwrite=True)
        seconds = time.perf_counter() - start
        results.append(
            {"scan": "media", "workers": count, "items": summary.rows, "seconds": seconds,
             "cpu_seconds": time.process_time() - cpu,
             "per_second": summary.rows / seconds, "mb_per_second": total_bytes / seconds / 1e6,
             "decisions": summary.by_decision}
        )  # fmt: skip
    return results


def count_records(paths: list[Path]) -> int:
    from warcio.archiveiterator import ArchiveIterator

    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(1 for _ in ArchiveIterator(handle))
    return total


def bench_warc(data: Path, records: int, workers: list[int]) -> list[dict[str, Any]]:
    from notrain.signals.warc import scan_warcs

    warcs = make_warcs(data / f"signals-warc-{records}", records)
    in_files = count_records(warcs)
    size = _size(warcs)
    results = []
    for count in workers:
        out = warcs[0].parent / f"out-{count}.parquet"
        start, cpu = time.perf_counter(), time.process_time()
        summary = scan_warcs(warcs, out, workers=count, overwrite=True)
        seconds = time.perf_counter() - start
        results.append(
            {"scan": "warc", "workers": count, "items": in_files, "documents": summary.rows,
             "seconds": seconds, "cpu_seconds": time.process_time() - cpu,
             "per_second": in_files / seconds, "mb_per_second": size / seconds / 1e6,
             "decisions": summary.by_decision}
        )  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--media", type=int, default=2000, help="media files to scan")
    parser.add_argument("--records", type=int, default=20_000, help="WARC records to scan")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1],
        help="worker process counts to time",
    )  # fmt: skip
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    args = parser.parse_args()
    import pyarrow as pa

    pa.array([0])  # pyarrow's one-time pandas probe (a dev-only package) is not the scan's cost
    results = bench_media(args.data, args.media, args.workers)
    results += bench_warc(args.data, args.records, args.workers)
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(f"cpus: {os.cpu_count()}")
    print(
        f"{'scan':6} {'workers':>7} {'items':>8} {'seconds':>8} {'items/s':>9} {'MB/s':>7}"
        f" {'cpu s':>7}"
    )
    for r in results:
        # CPU seconds are this process's own: with workers 0, the whole scan's cost, which a
        # loaded machine changes less than the wall time.
        print(
            f"{r['scan']:6} {r['workers']:>7} {r['items']:>8,} {r['seconds']:>8.2f} "
            f"{r['per_second']:>9,.0f} {r['mb_per_second']:>7.1f} {r['cpu_seconds']:>7.2f}"
        )
    for r in results:
        print(f"{r['scan']} decisions ({r['workers']} workers): {r['decisions']}")


if __name__ == "__main__":
    main()
