"""Machine-readable "do not train" signals, read offline from media files and web crawls.

One module per signal family, each applying that signal's own rules:

- :mod:`~notrain.signals.xmp` — IPTC ``plus:DataMining`` and TDMRep in XMP
- :mod:`~notrain.signals.c2pa` — C2PA and CAWG ``training-mining`` assertions
- :mod:`~notrain.signals.robots` — robots.txt (RFC 9309), ``X-Robots-Tag``, meta robots
- :mod:`~notrain.signals.tdmrep` — TDMRep: tdmrep.json, header, HTML meta, layered
- :mod:`~notrain.signals.aitxt` — Spawning's ai.txt
- :mod:`~notrain.signals.aipref` — IETF AIPREF ``Content-Usage``
- :mod:`~notrain.signals.content_signal` — Cloudflare ``Content-Signal``

and the parts that put them to work: :mod:`~notrain.signals.media` (one image or video),
:mod:`~notrain.signals.page` and :mod:`~notrain.signals.site` (a captured page and its
site's files), :mod:`~notrain.signals.warc` (a crawl), :mod:`~notrain.signals.decision`
(combining: any reservation excludes), :mod:`~notrain.signals.scan` (files in parallel)
and :mod:`~notrain.signals.output` (the Parquet contract).

The scans need the ``signals`` extra (``pip install 'notrain[signals]'``):
c2pa-python, warcio, defusedxml and http-sf.
"""

from __future__ import annotations

from notrain.errors import ExtraNotInstalled

EXTRA_MODULES = {"c2pa": "c2pa-python", "warcio": "warcio", "defusedxml": "defusedxml",
                 "http_sf": "http-sf"}  # fmt: skip


def require_extra() -> None:
    """Fail with an install hint when a package of the ``signals`` extra is missing."""
    from importlib.util import find_spec

    missing = [package for module, package in EXTRA_MODULES.items() if find_spec(module) is None]
    if missing:
        raise ExtraNotInstalled("signals", missing)
