"""A captured web page: its meta tags and its text, from the HTML.

The parser is the standard library's, which never raises on bad markup. Meta tags are
collected wherever they appear (a page's ``<head>`` is often malformed). The text is what a
reader sees: scripts, styles and templates are dropped, block elements break lines, runs of
whitespace collapse.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

SKIPPED = {"script", "style", "noscript", "template", "svg", "math"}
BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "title",
    "tr", "ul",
}  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass
class Page:
    """The parts of an HTML page that signals and datasets need."""

    metas: list[tuple[str, str]] = field(default_factory=list)  # (name lower-cased, content)
    text: str = ""

    def meta(self, name: str) -> list[str]:
        return [content for key, content in self.metas if key == name]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            if "name" in values and "content" in values:
                self.page.metas.append((values["name"].strip().lower(), values["content"]))
            return
        if tag == "title":
            self.in_title = True
        elif tag in SKIPPED:
            self.skipping.append(tag)
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self.handle_starttag(tag, attrs)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping or self.in_title:
            self.parts.append(data)


def parse_html(body: bytes, content_type: str | None) -> Page:
    """Meta tags and text of an HTML page, decoded by its declared charset."""
    parser = _Parser()
    parser.feed(decode(body, content_type, sniff_meta=True))
    parser.close()
    page = parser.page
    page.text = tidy("".join(parser.parts))
    return page


def decode(body: bytes, content_type: str | None, *, sniff_meta: bool = False) -> str:
    """Bytes to text by the Content-Type charset, else a ``<meta charset>``, else UTF-8."""
    charset = _charset(content_type)
    if charset is None and sniff_meta:
        found = _META_CHARSET.search(body[:4096])
        charset = found[1].decode("ascii") if found else None
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = None
    return body.decode(charset or "utf-8", "replace")


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def tidy(text: str) -> str:
    """Collapse whitespace within lines and drop empty lines."""
    lines = (line.strip() for line in _SPACES.sub(" ", text).split("\n"))
    return "\n".join(line for line in lines if line)
