"""HTML → plain text that keeps the structure order emails rely on.

Table rows become lines (cells joined by " | "), paragraphs/divs/br become newlines,
style/script/head/comments (incl. Outlook conditional comments) and hidden elements are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from bs4 import BeautifulSoup
from bs4.builder._htmlparser import BeautifulSoupHTMLParser, HTMLParserTreeBuilder
from bs4.element import (
    CData,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
    Tag,
)

CELL_SEPARATOR = " | "

_DROP_TAGS = {
    "style",
    "script",
    "head",
    "title",
    "meta",
    "link",
    "noscript",
    "template",
    "img",
    "object",
    "iframe",
    "svg",
    "xml",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "nav",
    "center",
    "address",
    "blockquote",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "form",
    "fieldset",
    "figure",
    "figcaption",
    "body",
    "html",
    "caption",
}
_SKIP_STRINGS = (Comment, Declaration, Doctype, CData, ProcessingInstruction)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f"), None)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all", re.I)
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"[ \t\r\f\v\u2000-\u200a\u202f\u205f\u3000]+")
BLOCK = "\x01"  # soft break around block elements; runs of them collapse to one newline
HARD = "\x02"  # <br>: always a line break


def html_to_text(html: str) -> str:
    """Render an HTML body to readable text; never raises on odd markup."""
    if not html or not html.strip():
        return ""
    return render_node(parse_html(html))


def parse_html(html: str) -> BeautifulSoup:
    """BeautifulSoup over the standard library's html.parser, in time linear in the markup."""
    return BeautifulSoup(html, builder=_LinearBuilder())


class _VoidTags(Counter[str]):
    """bs4 remembers each void tag written without "/>" (<br>, <img>) in a list, to skip a stray
    </br> later, and looks every end tag up in that list: quadratic in the number of void tags
    (40,000 <img> took minutes). The same bookkeeping as a multiset."""

    def append(self, tag: str) -> None:
        self[tag] += 1

    def remove(self, tag: str) -> None:
        self[tag] -= 1
        if self[tag] <= 0:
            del self[tag]


class _LinearParser(BeautifulSoupHTMLParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.already_closed_empty_element = _VoidTags()  # type: ignore[assignment]


class _LinearBuilder(HTMLParserTreeBuilder):
    def feed(self, markup: object, _parser_class: type[BeautifulSoupHTMLParser] = _LinearParser) -> None:
        super().feed(markup, _parser_class)  # type: ignore[arg-type]


def render_node(node: Tag) -> str:
    """Render one parsed element (e.g. a cut-down soup) to normalised text."""
    return _render(node, 0)


MAX_TABLE_DEPTH = 16  # tables nested deeper than this are read as plain blocks (cells as lines)


class _Emit(str):
    """Text to append when the walk reaches it (e.g. the block break after an element's children);
    never a NavigableString, so the walk tells the two apart."""


def _render(node: Tag, tables: int) -> str:
    out: list[str] = []
    _render_children(node, out, tables)
    return _normalise("".join(out))


def _render_children(node: Tag, out: list[str], tables: int) -> None:
    """Depth-first over the subtree with an explicit stack: any nesting depth renders (a quoted
    thread of 5,000 blockquotes), the Python stack never grows with the HTML."""
    stack: list[PageElement | _Emit] = list(reversed(node.contents))
    while stack:
        item = stack.pop()
        if isinstance(item, _Emit):
            out.append(str(item))
        elif isinstance(item, NavigableString):
            if not isinstance(item, _SKIP_STRINGS):
                out.append(str(item))
        elif isinstance(item, Tag):
            _render_tag(item, out, stack, tables)


def _render_tag(tag: Tag, out: list[str], stack: list[PageElement | _Emit], tables: int) -> None:
    """Write what comes before the tag's children; push what comes after them, then the children."""
    name = (tag.name or "").lower()
    if name in _DROP_TAGS or _is_hidden(tag):
        return
    if name == "br":
        out.append(HARD)
        return
    if name == "hr":
        out.append(BLOCK + HARD + BLOCK)
        return
    if name == "table" and tables < MAX_TABLE_DEPTH:
        out.append(BLOCK)
        _render_table(tag, out, tables + 1)
        out.append(BLOCK)
        return
    if name == "pre":
        out.append(BLOCK + tag.get_text().replace(" ", "\u0000").replace("\n", HARD) + BLOCK)
        return
    if name == "li":
        out.append(BLOCK + "- ")
        stack.append(_Emit(BLOCK))
    elif name in ("table", "tr", "td", "th", "tbody", "thead", "tfoot") or name in _BLOCK_TAGS:
        # (stray table parts outside a <table>, and tables nested too deep, are treated as blocks)
        out.append(BLOCK)
        stack.append(_Emit(BLOCK))
    stack.extend(reversed(tag.contents))


def _render_table(table: Tag, out: list[str], tables: int) -> None:
    for row in _rows(table):
        cells = [c for c in row.find_all(["td", "th"], recursive=False) if not _is_hidden(c)]
        texts = [_render(c, tables) for c in cells]
        is_layout = any("\n" in t for t in texts) or any(c.find("table") for c in cells)
        if is_layout:
            out.extend(BLOCK + t.replace("\n", HARD) + BLOCK for t in texts if t)
            continue
        while texts and not texts[-1]:
            texts.pop()
        while texts and not texts[0]:
            texts.pop(0)
        if texts:
            out.append(BLOCK + CELL_SEPARATOR.join(texts) + BLOCK)


def _rows(table: Tag) -> list[Tag]:
    rows: list[Tag] = []
    for child in table.find_all(recursive=False):
        if not isinstance(child, Tag) or _is_hidden(child):
            continue
        if child.name == "tr":
            rows.append(child)
        elif child.name in ("tbody", "thead", "tfoot"):
            rows.extend(r for r in child.find_all("tr", recursive=False) if not _is_hidden(r))
    return rows


def _is_hidden(tag: Tag) -> bool:
    style = tag.get("style") if tag.attrs else None
    if isinstance(style, str) and _HIDDEN_STYLE.search(style):
        return True
    return tag.attrs is not None and "hidden" in tag.attrs and tag.name != "input"


def _normalise(text: str) -> str:
    """Blocks → lines (empty blocks vanish unless they hold a <br> or &nbsp;), whitespace
    collapsed per line, at most one blank line in a row, no blank edges."""
    text = text.translate(_INVISIBLE).replace("\r", "")
    lines: list[str] = []
    for segment in text.split(BLOCK):
        segment = _SPACES.sub(lambda m: "\u00a0" if "\u00a0" in m.group() else " ", segment)
        if segment.endswith(HARD) and segment.strip(" " + HARD):
            segment = segment[:-1]  # a trailing <br> in a block adds no line
        if not segment.strip(" "):
            continue
        for line in segment.split(HARD):
            lines.append(_SPACES.sub(" ", line).strip().replace("\u0000", " "))
    result: list[str] = []
    for line in lines:
        if line or (result and result[-1]):
            result.append(line)
    while result and not result[-1]:
        result.pop()
    return "\n".join(result)
