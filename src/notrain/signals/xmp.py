"""Reservations in XMP: IPTC ``plus:DataMining`` and TDMRep's ``tdm:reservation``.

IPTC Photo Metadata (2023.1) carries the PLUS "Data Mining" property, a URI from a closed
vocabulary. Every ``DMI-PROHIBITED*`` value reserves the item — including the three that
point elsewhere for the details (``…-SEECONSTRAINT``, ``…-SEEEMBEDDEDRIGHTSEXPR``,
``…-SEELINKEDRIGHTSEXPR``): they still say "prohibited". ``DMI-ALLOWED`` and
``DMI-UNSPECIFIED`` do not reserve (only the first is a statement that allows); any other
value is ignored as unset.

RDF lets a writer put a simple property in three shapes, and real files use all three::

    <rdf:Description plus:DataMining="…"/>                 attribute
    <plus:DataMining>…</plus:DataMining>                   element
    <plus:DataMining rdf:resource="…"/>                    resource

The TDMRep XMP properties (``tdm:reservation`` 0 or 1, ``tdm:policy``) are read the same
way. A packet may be in UTF-8, UTF-16 or UTF-32, big- or little-endian (XMP Part 1,
§7.3.2); the encoding is told by the byte-order mark, else by the zero bytes around the
first ``<`` (XML 1.0 Appendix F), and the packet is decoded before it is parsed. Packets are
parsed with defusedxml: a packet that declares a DTD or entities is not read, and is
reported as an error rather than trusted or ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from notrain.signals.decision import Finding, Signal, Verdict

PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
TDMREP_NS = "http://www.w3.org/ns/tdmrep/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

DATA_MINING = f"{{{PLUS_NS}}}DataMining"
TDM_RESERVATION = f"{{{TDMREP_NS}}}reservation"
RDF_RESOURCE = f"{{{RDF_NS}}}resource"
RDF_LI = f"{{{RDF_NS}}}li"
RDF_VALUE = f"{{{RDF_NS}}}value"


def read_packet(packet: bytes, where: str) -> list[Finding]:
    """Every data-mining and TDMRep statement in one XMP packet; ``where`` names its place."""
    try:
        root = fromstring(_decoded(packet), forbid_dtd=True)
    except DefusedXmlException as exc:
        problem = f"declares a DTD or entities ({type(exc).__name__}); not read"
        return [Finding(Signal.IPTC_DATA_MINING, Verdict.ERROR, f"XMP ({where}) {problem}")]
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding
        problem = f"is not well-formed XML ({exc})"
        return [Finding(Signal.IPTC_DATA_MINING, Verdict.ERROR, f"XMP ({where}) {problem}")]
    findings: list[Finding] = []
    for value in _values(root, DATA_MINING):
        findings.extend(_data_mining(value, where))
    for value in _values(root, TDM_RESERVATION):
        findings.extend(_tdm_reservation(value, where))
    return findings


_WIDE = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
)  # fmt: skip


def _decoded(packet: bytes) -> bytes | str:
    """A UTF-16 or UTF-32 packet as text; UTF-8 as bytes, so that an encoding declaration
    of its own still counts. Padding zeros are dropped in both."""
    for bom, encoding in _WIDE:
        if packet.startswith(bom):
            return _decode(packet[len(bom) :], encoding)
    # The first character is ASCII ("<" or white space): its zero bytes tell the encoding.
    head = packet[:4].ljust(4, b"\x01")
    if head[:3] == b"\x00\x00\x00":
        return _decode(packet, "utf-32-be")
    if head[1:] == b"\x00\x00\x00":
        return _decode(packet, "utf-32-le")
    if head[0] == 0 and head[1] != 0:
        return _decode(packet, "utf-16-be")
    if head[0] != 0 and head[1] == 0:
        return _decode(packet, "utf-16-le")
    return packet.strip(b"\x00 \t\r\n")


def _decode(data: bytes, encoding: str) -> str:
    unit = 4 if "32" in encoding else 2
    # Raises UnicodeDecodeError (a ValueError: not well-formed) on a broken packet.
    return data[: len(data) - len(data) % unit].decode(encoding).strip("\x00 \t\r\n\ufeff")


def _values(root: Element, name: str) -> Iterator[str]:
    """The values of property ``name`` anywhere in the tree, in attribute or element form."""
    for element in root.iter():
        if name in element.attrib:
            yield element.attrib[name]
        if element.tag != name:
            continue
        if RDF_RESOURCE in element.attrib:
            yield element.attrib[RDF_RESOURCE]
        nested = [e for e in element.iter() if e.tag in (RDF_LI, RDF_VALUE)]
        for item in nested:
            yield item.attrib.get(RDF_RESOURCE, item.text or "")
        if not nested and RDF_RESOURCE not in element.attrib:
            yield element.text or ""


def _data_mining(value: str, where: str) -> list[Finding]:
    value = value.strip()
    # The vocabulary is URIs; some writers store the bare code. Compare the code.
    code = value.rstrip("/").rsplit("/", 1)[-1].upper()
    evidence = f"XMP ({where}) plus:DataMining = {value}"
    if code.startswith("DMI-PROHIBITED"):
        return [Finding(Signal.IPTC_DATA_MINING, Verdict.RESERVED, evidence)]
    if code == "DMI-ALLOWED":
        return [Finding(Signal.IPTC_DATA_MINING, Verdict.ALLOWED, evidence)]
    return []  # DMI-UNSPECIFIED says nothing; an unknown code is unset


def _tdm_reservation(value: str, where: str) -> list[Finding]:
    value = value.strip()
    evidence = f"XMP ({where}) tdm:reservation = {value}"
    if value == "1":
        return [Finding(Signal.TDMREP, Verdict.RESERVED, evidence)]
    if value == "0":
        return [Finding(Signal.TDMREP, Verdict.ALLOWED, evidence)]
    return []  # TDMRep: any other value is unset
