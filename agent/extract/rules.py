"""The deterministic extractor: order lines, reference and delivery date from the cleaned body.

Lines are found by shape and resolved through catalog_lookup, like a model would:

- each line is read for its quantity (before or after the product, `x 6`, `Menge: 6 Stk`, number
  words in NL/EN/DE, Dutch thousands `10.000`), a stated unit price (`@ 89.00 each`, `à € 9,50
  p/m`) and a pack (`a box of 12`, `2 ds à 5 riem`); what is left is product text, classified as
  identity (brand, series, code, product words) and attributes (colour, finish, dimensions);
- consecutive lines are assembled into items: a product with its width and quantity on the next
  lines, a code line with its quantity below, a family heading followed by variants (`- wit`,
  `C 2`, `A4 - 20 pakken`), a quantity followed by its description, and elliptical lines
  (`en 1 rol van 50 m`) that take the product of the line before with their own attributes;
- table rows under a header (HTML, tab or space aligned text) are read by their column names.

Thread context (quoted offers accepted in the new text, items held back) and "same as last
time" (the customer's order history) are applied in agent/extract/thread.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from mailorder.agent.extract.thread import CHANGE_RX, apply_thread_context
from mailorder.domain import Candidate, Extraction, LineRequest, ParsedEmail
from mailorder.mail import phrases
from mailorder.mail.clean import CleanBody, has_order_lines
from mailorder.tools.catalog import (
    COLOUR_WORDS,
    FINISH_WORDS,
    SKU_RX,
    CatalogIndex,
    colour_parts,
    fold,
)
from mailorder.tools.history import PastOrder
from mailorder.tools.units import UNIT_PATTERN, canonical_unit, convert_pack, pack_size, words_to_digits

METHOD = phrases.METHOD_RULES
MIN_SCORE = 45.0  # below this a catalog match is no match at all
CERTAIN = 0.9
UNSURE = 0.85  # a line read by inference (implied quantity, inherited product) is reviewed

_NUM = r"\d+(?:[.,]\d+)?"
_UNIT = rf"(?:{UNIT_PATTERN})(?![\w²])"
_BRACKETED_AMOUNT_RX = re.compile(rf"\(\s*\d+\s*(?P<u>{UNIT_PATTERN})(?![\w²])[^)]*\)", re.I)
_PACK_PHRASE_RX = re.compile(
    rf"(?:^|\s)(?:of|à|á|van|zu|je|met|mit)\s+\d+\s*(?:{UNIT_PATTERN})?(?![\w²])", re.I
)
_CELL_AMOUNT_RX = re.compile(rf"({_NUM})\s*({_UNIT})?\.?", re.I)  # a table cell holding an amount
_METRE_UNITS = {"mtr"}
_REFERENCE = re.compile(
    r"(?:uw |onze |order ?|project ?)?(?:referentie|ref|kenmerk|ordernummer|ordernr|order nr|"
    r"po(?:[- ]?(?:nummer|number|nr))?|inkoopnummer|inkoopordernummer|bestelnummer|bestelnr)"
    r"\.?\s*[:#]\s*(?P<ref>[A-Za-z0-9][\w\-/.]{1,40})",
    re.I,
)
_CONTEXT_LINE = re.compile(r"graag|volgende|bestel|order|voor (?:de|onze)|:\s*$|liefern", re.I)
_DELIVERY_WORDS = re.compile(r"lever|bezorg|aflever|delivery|deliver|nodig|graag op|uiterlijk|liefer", re.I)
_DATE = re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2,4}))?(?!\d)")
_WEEKDAYS = {
    "maandag": 0,
    "dinsdag": 1,
    "woensdag": 2,
    "donderdag": 3,
    "vrijdag": 4,
    "zaterdag": 5,
    "zondag": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "montag": 0,
    "dienstag": 1,
    "mittwoch": 2,
    "donnerstag": 3,
    "freitag": 4,
    "samstag": 5,
}

# --- table headers (HTML tables, tab or space aligned text) --------------------------------------
_HEADER_QTY = {
    "aantal",
    "qty",
    "quantity",
    "hoeveelheid",
    "hoeveel",
    "aant",
    "aantal stuks",
    "stuks",
    "meters",
    "meter",
    "mtr",
    "rollen",
    "rol",
    "m2",
    "platen",
    "dozen",
    "vellen",
    "menge",
    "anzahl",
    "amount",
    "qty.",
    "aant.",
}
_HEADER_UNIT = {
    "eenheid",
    "eenh",
    "eenh.",
    "unit",
    "units",
    "einheit",
    "me",
    "uom",
    "eh",
    "verpakking",
    "unit of measure",
}
_HEADER_POS = {
    "regel",
    "pos",
    "pos.",
    "positie",
    "nr",
    "nr.",
    "#",
    "line",
    "position",
    "zeile",
    "item",
    "no",
    "no.",
}
_HEADER_PRICE = {
    "prijs",
    "price",
    "preis",
    "stukprijs",
    "eenheidsprijs",
    "unit price",
    "einzelpreis",
    "prijs/st",
    "prijs per eenheid",
}
_HEADER_REF = {"referentie", "ref", "kenmerk", "project", "reference", "opmerking"}
_HEADER_SKIP = {
    "besteld door",
    "totaal",
    "total",
    "bedrag",
    "ordered by",
    "gesamt",
    "summe",
    "subtotal",
    "btw",
}
_HEADER_CODE = {
    "artikel",
    "artikelnr",
    "artikelnr.",
    "art.nr",
    "art.nr.",
    "art",
    "art.",
    "sku",
    "code",
    "uw artikelnr",
    "ons artikelnr",
    "article",
    "artikelnummer",
    "art.-nr.",
    "art.-nr",
    "item code",
    "article no",
    "product code",
}
_NOISE_LINE = re.compile(
    r"^(?:aantal|totaal|total|prijs|leverdatum|levering|afmeting|besteldatum|datum|date|"
    r"gewenste leverdatum|afleveradres|leverancier|factuuradres|telefoon|tel|fax|kvk|btw)\b",
    re.I,
)

# --- reading one line -----------------------------------------------------------------------------
_BULLET = re.compile(
    r"^\s*(?:[-–—•*·>▪◦]+\s*|(?P<pos>\d{1,2})\s*[.)]\s+(?=\S)|(?:pos\.?|item|nr\.?)\s*(?P<pos2>\d{1,2})\s*[:.)-]\s*)",
    re.I,
)
_AMOUNT = r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY = r"(?:€|eur\b|euro\b|eur\.)"
_PER = (
    r"(?:\s*(?:(?:/|per|pro|je|p/)\s*(?P<per>[a-zäöü²]+\.?)|(?P<pm>p/?m\b|/\s*m\b|/m\b|/lfm\b)"
    r"|(?P<each>each|ea\.?|apiece|per stuk|per piece|per stück|pro stück|/\s*st(?:uk|k|\.)?)))?"
)
_PRICE_RX = re.compile(
    rf"(?:(?:@|à|á|\baan\b|\bvoor\b|\bfor\b|\bat\b|\bzu\b|\bfür\b|\btegen\b)\s*)?"
    rf"(?:{_CURRENCY}\s*(?P<a1>{_AMOUNT})(?:\s*,-)?|(?P<a2>{_AMOUNT})\s*(?:{_CURRENCY}|,-))"
    rf"{_PER}(?:\s*(?:netto|excl\.?(?:\s*btw)?|ex\.?\s*vat|excl\.?\s*vat|zzgl\.?\s*mwst\.?|incl\.?))?",
    re.I,
)
_PRICE_BARE_RX = re.compile(
    rf"(?:@|à|á|\baan\b|\btegen\b|\bzu\b)\s*(?P<a1>\d+[.,]\d{{2}})(?![\d.,]){_PER}", re.I
)
_PRICE_PER_RX = re.compile(  # "15,20 p/m", "9,50 per meter", "79.00 each"
    rf"(?P<a2>\d+[.,]\d{{2}})(?=\s*(?:p/?m\b|/\s*[a-z]|per\s+[a-z]|each\b|ea\b)){_PER}", re.I
)
_LABELLED_QTY = re.compile(
    rf"\b(?:aantal|menge|anzahl|qty|quantity|hoeveelheid|st(?:ü|ue|u)ckzahl|aant|amount|anz)\b\.?\s*[:=]?\s*"
    rf"(?P<q>{_NUM})\s*(?P<u>{_UNIT})?\.?",
    re.I,
)
_EACH_QTY = re.compile(
    rf"\b(?:allebei|beide|beiden|both|each|je|jeweils|elk|ieder|telkens)\s*(?P<q>{_NUM})\s*(?P<u>{_UNIT})?\.?",
    re.I,
)
_MORE_QTY = re.compile(
    rf"(?<![\w.,])(?P<q>{_NUM})\s+(?:more|extra|additional|meer|weitere|mehr)\b(?:\s*(?P<u>{_UNIT}))?", re.I
)
_UNIT_QTY = re.compile(rf"(?<![\w.,])(?P<q>{_NUM})\s*(?P<u>{_UNIT})\.?", re.I)
_TIMES_QTY = re.compile(rf"(?<![\w.,])(?P<q>{_NUM})\s*(?P<x>[x×])(?![\w²])(?:\s*(?P<u>{_UNIT}))?\.?", re.I)
_DIM_NUMBER = re.compile(r"\s*\d+(?:[.,]\d+)?(?:\s*(?:mm|cm|m|mtr)(?![\w-])|(?![\w-]))", re.I)
_DIM_NUMBER_STRICT = re.compile(r"\s*\d+(?:[.,]\d+)?\s*(?:mm|cm|m|mtr|[x×*])(?![\w-])", re.I)
_CODE_LABEL = re.compile(
    r"\b(?:art(?:ikel)?(?:\.|-)?\s*(?:-?\s*nr|nummer|no)?\.?|artikelnr\.?|sku|code|item|#)\s*[:.]?", re.I
)
_X_QTY = re.compile(rf"(?<![\w.,])[x×]\s*(?P<q>\d+)(?![\d.,])(?:\s*(?P<u>{_UNIT}))?\.?", re.I)
_TRAILING_BARE = re.compile(r"(?:[:–—-]|\s)\s*(?P<q>\d{1,3})\s*\.?\s*$")
_LEADING_BARE = re.compile(
    r"^(?P<q>\d{1,2})\s+(?=[^\d\sx×*])(?!(?:mm|cm|m|mtr|µ|mu|my|micron|gr?|g/m2?|ml|l|liter|litre|%)(?![\w-]))",
    re.I,
)
_POSITION_LINE = re.compile(r"^(?:pos(?:ition|itie)?|regel|zeile|line|item)\.?\s*\d{1,3}\s*:?\s*$", re.I)
_UNIT_FIELD = re.compile(
    r"^(?:eenheid|eenh|einheit|unit|uom|me|verpakkingseenheid)\.?\s*[:=]\s*(?P<u>[^\W\d_]+)\.?\s*$", re.I
)
_FIELD_LABEL = re.compile(
    r"^(?:omschrijving|bezeichnung|artikelbezeichnung|description|product|produkt|materiaal|material|"
    r"artikel ?omschrijving|item)\s*:\s*",
    re.I,
)
_ENDS_IN_COUNT = re.compile(r"^\s*[-•*]?\s*[A-Za-z][^\d]{0,40}\s\d{1,3}\s*$")
_ALONE_BARE = re.compile(rf"^(?P<q>{_NUM})\s*\.?$")
_DIM_AFTER = re.compile(r"^\s*(?:[x×*]\s*\d|mm\b|cm\b|breed|brede|breit|wide|hoog|lang|dik)", re.I)
_DIM_BEFORE = re.compile(r"[x×*]\s*$", re.I)
_PACK_BEFORE = re.compile(r"(?:\bof|\bà|\bá|\bvan|\bzu|\bje|\ba|\bmet|\bmit|\()\s*$", re.I)
_PACK_AFTER = re.compile(rf"^\s*(?:per|pro|in|/)\s*(?:{UNIT_PATTERN})(?![\w²])", re.I)
_WIDTH_METRES = re.compile(r"^[0-3][.,]\d{2,3}$")
_SPLIT = re.compile(r"\s*(?:,|;|\+|\s&\s|\ben\b|\band\b|\bund\b|\bplus\b|\bsowie\b|\bas well as\b)\s*", re.I)
_LOOSE_SKU = re.compile(r"(?<![\d-])(?:\d{2}[-. ]?\d{4}[-. ]?\d{4}|\d{9})(?![\d-])")
_GLUED_TIMES = re.compile(r"(\d{2}[-. ]?\d{4}[-. ]?\d{4}|\d{9})[xX×](\d)")
_FILLER = {
    "graag",
    "ik",
    "wil",
    "wij",
    "we",
    "willen",
    "zouden",
    "hallo",
    "hoi",
    "hi",
    "hello",
    "ook",
    "nog",
    "plus",
    "en",
    "and",
    "also",
    "und",
    "auch",
    "noch",
    "dazu",
    "please",
    "pls",
    "bitte",
    "hiermit",
    "hierbij",
    "bestellen",
    "bestel",
    "order",
    "need",
    "needs",
    "brauchen",
    "wir",
    "i",
    "would",
    "like",
    "send",
    "us",
    "me",
    "could",
    "you",
    "add",
    "kunnen",
    "jullie",
    "leveren",
    "sturen",
    "kurzfristig",
    "daarnaast",
    "verder",
    "then",
    "dan",
    "maar",
    "the",
    "de",
    "het",
    "der",
    "die",
    "das",
    "of",
    "van",
    "nodig",
    "kun",
    "je",
    "kan",
    "u",
    "mij",
    "ons",
    "kindly",
    "can",
    "we'd",
    "id",
    "bestellung",
    "liefern",
    "senden",
    "sie",
    "uns",
    "bestellt",
    "bestelle",
    "hätten",
    "gerne",
    "gern",
    "möchten",
    "moechten",
    "brauche",
    "ich",
    "benötigen",
    "benoetigen",
    "extra",
    "nochmal",
    "again",
    "another",
    "more",
    "a",
    "an",
    "een",
    "ein",
    "eine",
    "einen",
    "voor",
    "for",
    "allebei",
    "beide",
    "beiden",
    "both",
    "each",
    "jeweils",
    "elk",
    "ieder",
    "telkens",
}
_STOP = re.compile(
    r"\s(?:voor de prijs|voor|for the|for|zum|für|tegen|to\b|bij\b|erbij|toevoegen|aan de|please|graag|"
    r"alstublieft|aub|a\.u\.b\.|bitte|asap|zodat|so that|because|want\b|which|die we|dat|als|wie|"
    r"leveren|liefern|sturen|schicken|senden|send|deliver)\b.*$",
    re.I,
)


class LookupTool(Protocol):
    def catalog_lookup(
        self, query: str, limit: int = 5, customer_id: str | None = None
    ) -> list[Candidate]: ...


@dataclass
class _Found:
    """One order line as found in the text, before it is resolved in the catalog."""

    query: str
    qty: float | None
    unit: str | None
    source: str
    reference: str | None = None
    context: str = ""  # the sentence introducing the list ("voor de Mimaki SS21 graag:")
    price: float | None = None
    price_unit: str | None = None
    pack: tuple[str, float, str | None] | None = None
    position: int | None = None  # the item number written in the email ("1.", "Pos 3")
    unsure: str = ""  # why the reading is an inference (implied quantity, inherited product)


@dataclass
class _Read:
    """One line (or a piece of one) read for quantity, price, pack and product text."""

    raw: str
    text: str  # product text: the line without bullet, quantity, price and pack
    qty: float | None = None
    unit: str | None = None
    loose: bool = False  # quantity read from a bare number
    price: float | None = None
    price_unit: str | None = None
    pack: tuple[str, float, str | None] | None = None
    position: int | None = None
    identity: bool = False  # names a product (brand, series, code, product word)
    attrs: bool = False  # colour, finish, dimensions
    variant: bool = False  # colour/finish/format/code letters: a variant of a heading
    code: bool = False  # an explicit article code
    code_only: bool = False  # the code (and a label like "Art.-Nr.") is all the product text
    unit_word: str | None = None  # a unit word without a number ("Oracal 751C rollen 1260mm")
    heading: bool = False  # "Laminate:" / "Papier:"
    each: bool = False  # "allebei 1": the quantity is for every piece
    bulleted: bool = False


class _Vocabulary:
    """What a piece of product text holds, from the catalog's own features (or plain words)."""

    def __init__(self, catalog: CatalogIndex | None) -> None:
        self.catalog = catalog

    def describe(self, text: str) -> tuple[bool, bool, bool, bool]:
        """(identity, attributes, variant attributes, explicit code)."""
        code = bool(SKU_RX.search(text)) or bool(self.catalog and self.catalog.codes_in(text))
        if self.catalog is None:
            return self._plain(text, code)
        identity = attrs = variant = False
        for group in self.catalog.parse_query(text):
            if group.negative:
                continue
            category = group.category
            if category == "w" and len(group.features[0]) <= 4:  # "w:lc", "w:ba": code letters
                attrs = variant = True
            elif category in ("s", "sx") and len(group.features[0].split(":", 1)[1]) <= 2:
                attrs = True  # "10", "30": a bare small number is no series to go by
            elif category in ("w", "a", "s", "sx", "fam"):
                identity = True
            elif category in ("c", "f", "cs"):
                attrs = variant = True
            else:
                attrs = True
        if re.search(r"(?<![\w-])a[2-5](?![\w-])", text, re.I):
            attrs = variant = True
        return identity or code, attrs, variant, code

    @staticmethod
    def _plain(text: str, code: bool) -> tuple[bool, bool, bool, bool]:
        identity = attrs = variant = False
        folded = fold(text)
        if re.search(r"\d\s*(?:mm|cm|m)\b|\d\s*[x×*]\s*\d|\bbreed|\ba[2-5]\b", folded):
            attrs = True
        for word in re.findall(r"[a-z][a-z0-9-]*", folded):
            if word in FINISH_WORDS or colour_parts(word) or word in COLOUR_WORDS:
                attrs = variant = True
            elif len(word) >= 3 and word not in _FILLER and not canonical_unit(word):
                identity = True
        return identity or code, attrs, variant, code

    def is_code_token(self, token: str) -> bool:
        """A glued number+letters token the catalog knows as a code ("3M", "073M"), not a quantity."""
        return bool(self.catalog and self.catalog.has(f"a:{fold(token).replace(' ', '')}"))

    def is_series(self, number: str) -> bool:
        return bool(self.catalog and self.catalog.has(f"s:{int(number)}"))

    def is_width(self, number: str) -> bool:
        value = int(number)
        if self.catalog is None:
            return value >= 100
        return (50 <= value <= 320 and self.catalog.has(f"wd:{value * 10}")) or self.catalog.has(
            f"wd:{value}"
        )


def extract_rules(
    email: ParsedEmail,
    body: CleanBody,
    toolbox_or_catalog,
    *,
    received: datetime,
    customer_id: str | None = None,
    history: Sequence[PastOrder] = (),
) -> Extraction:
    """Read lines, reference and delivery date; the richer of both body versions wins.

    `customer_id` lets the lookup use that customer's learned aliases first; `history` (the
    customer's earlier orders, newest first) resolves "same as last time"."""
    catalog = _catalog_of(toolbox_or_catalog)
    vocabulary = _Vocabulary(catalog)
    resolver = _Resolver(_lookup_function(toolbox_or_catalog, customer_id), catalog, vocabulary)
    best, best_text = _lines_from(body.text, resolver), body.text
    if body.alt_text:
        alternative = _lines_from(body.alt_text, resolver)
        if _identified(alternative) > _identified(best):
            best, best_text = alternative, body.alt_text
    text_for_fields = "\n".join([email.subject or "", body.text, body.alt_text])
    extraction = Extraction(
        lines=best,
        reference=find_reference(text_for_fields),
        delivery_date=find_delivery_date(body.text + "\n" + body.alt_text, received.date()),
        method=METHOD,
    )
    apply_thread_context(extraction, body, catalog, lambda text: read_line(text, vocabulary), history)
    unread = unread_order_text(_own_part(best_text, body), extraction.lines, vocabulary)
    if unread:
        extraction.notes.append(f"review: order-like text not turned into a line: {unread[0]!r}")
    return extraction


def _own_part(text: str, body: CleanBody) -> str:
    if body.includes_quote and body.quoted_taken and body.quoted_taken in text:
        return text.replace(body.quoted_taken, "")
    return text


def unread_order_text(
    text: str, lines: list[LineRequest], vocabulary: _Vocabulary | None = None
) -> list[str]:
    """Lines no extracted line came from that look like order lines (qty + unit, Nx, SKU), or
    that name a product between the lines that were read (a list item whose quantity was missed)."""
    used_lines = {part.strip() for ln in lines for part in ln.source_text.split("\n") if part.strip()}
    used = "\n".join(ln.source_text for ln in lines)
    unread = []
    for block in re.split(r"\n\s*\n", text):
        rows = [row.strip() for row in block.split("\n") if row.strip()]
        in_list = any(row in used_lines or row in used for row in rows)
        for line in rows:
            if line in used or CHANGE_RX.search(line):
                continue
            if has_order_lines(line) or (
                in_list and vocabulary is not None and _names_a_product(line, vocabulary)
            ):
                unread.append(line)
    return unread


def _names_a_product(line: str, vocabulary: _Vocabulary) -> bool:
    """A short list line (not a sentence, heading or greeting) that names a product."""
    if re.search(r"[:?!]\s*$", line) or len(line.split()) > 10 or _NOISE_LINE.match(line):
        return False
    if " | " in line and not re.search(r"\d", line):
        return False  # a table's header row
    return vocabulary.describe(line)[0]


def _catalog_of(tool) -> CatalogIndex | None:
    if isinstance(tool, CatalogIndex):
        return tool
    catalog = getattr(tool, "catalog", None)
    return catalog if isinstance(catalog, CatalogIndex) else None


def _lookup_function(tool, customer_id: str | None = None) -> Callable[[str], list[Candidate]]:
    if isinstance(tool, CatalogIndex):
        return lambda q: tool.lookup(q, limit=5)
    return lambda q: tool.catalog_lookup(q, limit=5, customer_id=customer_id)


def _identified(lines: list[LineRequest]) -> int:
    return sum(1 for ln in lines if ln.sku)


def _lines_from(text: str, resolver: _Resolver) -> list[LineRequest]:
    found = find_line_texts(text, resolver.catalog)
    return [line for item in found if (line := resolver.resolve(item))]


# ---------------------------------------------------------------- finding lines


def find_line_texts(text: str, catalog: CatalogIndex | None = None) -> list[_Found]:
    """Candidate order lines by shape: table rows, single lines with a quantity, and items spread
    over several lines (see the module docstring)."""
    return _Assembler(_Vocabulary(catalog)).run(text)


class _Assembler:
    def __init__(self, vocabulary: _Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.found: list[_Found] = []
        self.context = ""
        self.cur: _Item | None = None
        self.heading: _Item | None = None  # a product line whose variants follow
        self.last: _Found | None = None  # the previous complete item (for elliptical lines)

    def run(self, text: str) -> list[_Found]:
        header: list[str] | None = None
        lines = text.split("\n")
        for index, raw in enumerate([*lines, ""]):
            line = raw.strip()
            if not line:
                self.flush()
                self.heading = None
                continue
            if " | " in line:
                cells = [c.strip() for c in line.split(" | ")]
                if _is_header(cells):
                    self.flush()
                    header = [c.lower().strip(" :") for c in cells]
                    continue
                row = _table_row(cells, header, self.vocabulary)
                if row:
                    self.flush()
                    row.context = self.context
                    self.found.append(row)
                    self.last = row
                    continue
                line = " ".join(c for c in cells if c)
            else:
                header = None
            if CHANGE_RX.search(line):  # "3 rollen wit i.p.v. 2": a change to an earlier order
                self.flush()
                continue
            siblings = _neighbours_have_quantities(lines, index)
            self.take(line, siblings)
        return self.found

    # -- one line
    def take(self, line: str, in_list: bool) -> None:
        if _POSITION_LINE.match(line):
            return  # "Pos. 10" above a block of "Artikelnummer: / Menge:" fields
        unit = _UNIT_FIELD.match(line)
        if unit:  # "Einheit: Rolle" under "Menge: 2"
            self.unit_field(canonical_unit(unit.group("u")))
            return
        if _NOISE_LINE.match(line) and not SKU_RX.search(line) and not _LABELLED_QTY.search(line):
            self.flush()
            return
        # "Bezeichnung: Oracal 651 ..." is read as "Oracal 651 ..."; the source keeps the label
        pieces = read_pieces(_FIELD_LABEL.sub("", line), self.vocabulary, in_list)
        if len(pieces) > 1:
            head = self.heading or (self.cur if self.cur is not None and self.cur.identity else None)
            if head is not None and head.qty is None and all(p.variant and not p.identity for p in pieces):
                self.heading, self.cur = head, None
                for piece in pieces:  # "Lc en Lm allebei 1" under "Mimaki SS21 440ml"
                    self.variant(head, piece, line)
                return
            self.flush()
            for piece in pieces:
                self.item_piece(piece, line)
            return
        r = pieces[0]
        has_qty = r.qty is not None
        if r.heading:  # "Laminate:", "Voor onze Roland graag de volgende cartridges:"
            self.flush()
            self.heading = None
            self.context = line
            if r.identity and not has_qty and len(r.text.split()) <= 6:
                self.cur = _Item(r, line)
            return
        cur = self.cur
        if has_qty and not r.identity and not r.attrs and not r.code:
            # a quantity on its own line: for the product above, or for the description below
            if cur is not None and cur.qty is None and (cur.identity or cur.attrs):
                cur.set_qty(r, line)
                self.flush()
            else:
                self.flush()
                self.cur = _Item(r, line)
            return
        if cur is not None and cur.qty is not None and not cur.identity and not has_qty:
            cur.add(r, line)  # "6" then "Dibond wit glans" then "3050x1500"
            return
        listed = r.bulleted or has_qty or self.heading is not None  # "- wit", "C 2": not "wit mat"
        if (
            r.variant
            and not r.identity
            and listed
            and (self.heading is not None or (cur is not None and cur.identity))
        ):
            head = self.heading or cur
            assert head is not None
            if cur is head and cur is not None and cur.qty is None:
                self.heading, self.cur = cur, None
            self.variant(head, r, line)
            return
        if not r.identity and not r.code and (r.attrs or has_qty):
            if cur is not None and not has_qty and (cur.identity or cur.attrs):
                cur.add(r, line)  # "137 breed", "1260 mm" under the product
                return
            if has_qty and self.last is not None and cur is None:
                self.elliptical(r, line)  # "en 1 rol van 50 m"
                return
            if has_qty and cur is not None and cur.qty is None and (cur.identity or cur.attrs):
                cur.add(r, line)
                cur.set_qty(r, line)
                self.flush()
                return
            self.flush()
            self.cur = _Item(r, line)
            if has_qty:
                self.flush()
            return
        if not r.identity and not r.code:
            self.flush()  # prose
            if _CONTEXT_LINE.search(line):
                self.context = line
            return
        # a line that names a product
        if cur is not None and cur.code_only and cur.qty is None and not r.code:
            cur.add(r, line)  # "Art.-Nr. 06-0403-1639" + "SS21 Magenta 2L, 1 Stück"
            if has_qty:
                cur.set_qty(r, line)
                self.flush()
            return
        if cur is not None and cur.qty is not None and not cur.identity:
            cur.add(r, line)  # the description below a quantity ("6" / "Dibond wit glans")
            return
        self.flush()
        self.heading = None
        self.cur = _Item(r, line)
        if has_qty:
            self.flush()
        if _CONTEXT_LINE.search(line) and not r.code and not has_qty:
            self.context = line

    def unit_field(self, unit: str | None) -> None:
        if unit is None:
            return
        if self.cur is not None and self.cur.qty is not None:
            self.cur.unit = unit
        elif self.cur is None and self.found and self.found[-1].qty is not None:
            self.found[-1].unit = unit

    def item_piece(self, piece: _Read, line: str) -> None:
        """One of several items written on one line ("ESL5-4LC x 3, ESL5-4LM x 3")."""
        if piece.identity or piece.code:
            self.cur = _Item(piece, line)
            self.flush()
        elif self.last is not None and piece.qty is not None:
            self.elliptical(piece, line)

    def variant(self, head: _Item, r: _Read, line: str) -> None:
        qty, unit, unsure = r.qty, r.unit, ""
        if qty is None:  # "- wit" under "Oracal 751C rollen 1260mm": one of each
            qty = head.qty or 1.0
            unit = head.unit or head.unit_word
            unsure = "quantity implied by the heading" if head.qty else "quantity implied (1 per variant)"
        elif unit is None:
            unit = head.unit_word
        found = _Found(
            query=f"{head.text} {r.text}".strip(),
            qty=qty,
            unit=unit,
            source=f"{head.source}\n{line}",
            context=self.context,
            price=r.price or head.price,
            price_unit=r.price_unit or head.price_unit,
            pack=r.pack,
            position=r.position,
            unsure=unsure,
        )
        head.used = True
        self.found.append(found)

    def elliptical(self, r: _Read, line: str) -> None:
        assert self.last is not None
        found = _Found(
            query=_override(self.last.query, r.text),
            qty=r.qty,
            unit=r.unit,
            source=line,
            context=self.context,
            price=r.price,
            price_unit=r.price_unit,
            pack=r.pack,
            position=r.position,
            unsure="product taken from the line before",
        )
        self.found.append(found)

    def flush(self) -> None:
        cur, self.cur = self.cur, None
        if cur is None or cur.used:
            return
        if (cur.identity or cur.attrs) and (cur.qty is not None or cur.code):
            found = cur.found(self.context)
            self.found.append(found)
            if cur.identity:
                self.last = found


@dataclass
class _Item:
    """An item being assembled from one or more lines."""

    first: _Read
    source: str
    text: str = ""
    qty: float | None = None
    unit: str | None = None
    unit_word: str | None = None
    identity: bool = False
    attrs: bool = False
    code: bool = False
    code_only: bool = False
    loose: bool = False
    price: float | None = None
    price_unit: str | None = None
    pack: tuple[str, float, str | None] | None = None
    position: int | None = None
    used: bool = False

    def __post_init__(self) -> None:
        r = self.first
        self.text = r.text
        self.qty, self.unit, self.loose = r.qty, r.unit, r.loose
        self.unit_word = r.unit_word
        self.identity, self.attrs, self.code = r.identity, r.attrs, r.code
        self.code_only = r.code_only
        self.price, self.price_unit, self.pack, self.position = r.price, r.price_unit, r.pack, r.position

    def add(self, r: _Read, line: str) -> None:
        self.text = f"{self.text} {r.text}".strip()
        self.source = f"{self.source}\n{line}"
        self.identity = self.identity or r.identity
        self.attrs = self.attrs or r.attrs
        self.code = self.code or r.code
        self.unit_word = self.unit_word or r.unit_word
        self.price = self.price or r.price
        self.price_unit = self.price_unit or r.price_unit
        self.pack = self.pack or r.pack

    def set_qty(self, r: _Read, line: str) -> None:
        if line not in self.source.split("\n"):
            self.source = f"{self.source}\n{line}"
        self.qty, self.unit, self.loose = r.qty, r.unit or self.unit_word, r.loose
        self.pack = self.pack or r.pack
        self.price = self.price or r.price
        self.price_unit = self.price_unit or r.price_unit

    def found(self, context: str) -> _Found:
        unit = self.unit or (self.unit_word if self.qty is not None else None)
        return _Found(
            query=self.text,
            qty=self.qty,
            unit=unit,
            source=self.source,
            context=context,
            price=self.price,
            price_unit=self.price_unit,
            pack=self.pack,
            position=self.position,
            unsure="quantity read from a bare number" if self.loose else "",
        )


def _neighbours_have_quantities(lines: list[str], index: int) -> bool:
    """Whether the lines around this one (same block) carry explicit quantities: a list."""
    count = counts = 0
    for step in (-1, 1):
        i = index + step
        while 0 <= i < len(lines) and lines[i].strip():
            if has_order_lines(lines[i]):
                count += 1
            elif _ENDS_IN_COUNT.match(lines[i]):
                counts += 1  # "C 2", "M 2", "K 3"
            i += step
    return count >= 1 or counts >= 2


def _override(previous: str, own: str) -> str:
    """The previous item's product text with this line's attributes instead of its own ones:
    "oracal 751 rood 100cm" + "wit ook 100 cm" -> "oracal 751 wit 100cm"."""
    own_words = _attr_words(own)
    kinds = {_attr_kind(w) for w in own_words} - {""}
    kept = [w for w in _attr_words(previous) if not _attr_kind(w) or _attr_kind(w) not in kinds]
    filler = {"van", "of", "von", "ook", "also", "auch", "in", "op", "ebenfalls", "eveneens", "dezelfde"}
    extra = [w for w in own_words if w.lower() not in filler]
    return " ".join(kept + extra)


def _attr_words(text: str) -> list[str]:
    """Words, a number and its unit joined ("100 cm" -> "100cm", "25 meter" -> "25meter")."""
    joined = re.sub(r"(\d)\s+(mm|cm|mtr|meters?|m|µ|mu|my)\b", r"\1\2", text, flags=re.I)
    return joined.split()


def _attr_kind(word: str) -> str:
    """What an attribute word says, so a line can replace it: colour, finish, size, width,
    thickness, length or micron ("" for anything else, which is kept)."""
    folded = fold(word).strip(".,;:()")
    if folded in FINISH_WORDS:
        return "finish"
    if colour_parts(folded) or folded in COLOUR_WORDS:
        return "colour"
    if re.fullmatch(r"\d+(?:[.,]\d+)?\s*(?:mm|cm)?\s*[x×*]\s*\d+.*", folded):
        return "size"
    measure = re.fullmatch(r"(\d+(?:[.,]\d+)?)(mm|cm|m|mtr|meters?|µ|mu|my)", folded)
    if not measure:
        return ""
    value, unit = float(measure.group(1).replace(",", ".")), measure.group(2)
    if unit in ("µ", "mu", "my"):
        return "micron"
    if unit in ("m", "mtr", "meter", "meters"):
        return "length"
    millimetres = value * 10 if unit == "cm" else value
    return "thickness" if millimetres <= 50 else "width"


# ---------------------------------------------------------------- reading a line


def read_pieces(line: str, vocabulary: _Vocabulary, in_list: bool = False) -> list[_Read]:
    """The line read as one item, or as several when it holds several quantities with products."""
    whole = read_line(line, vocabulary, in_list)
    if whole.qty is None:
        return [whole]
    parts = [p for p in _SPLIT.split(_strip_prices(line)[0]) if p.strip()]
    if len(parts) < 2:
        return [whole]
    reads = [read_line(p, vocabulary, False, bullet=False) for p in parts]
    with_qty = [r for r in reads if r.qty is not None]
    if len(with_qty) < 2 and not any(r.each for r in reads):
        return [whole]
    # pieces without a quantity belong to the piece before them ("Clear PETG 1mm, 2050 x 3050")
    merged: list[_Read] = []
    for r in reads:
        if merged and r.qty is None and not (r.variant and not r.identity):
            last = merged[-1]
            merged[-1] = replace(
                last,
                text=f"{last.text} {r.text}".strip(),
                identity=last.identity or r.identity,
                attrs=last.attrs or r.attrs,
                code=last.code or r.code,
            )
        else:
            merged.append(r)
    each = next((r for r in merged if r.each), None)
    if each is not None:  # "Lc en Lm allebei 1": the quantity for every piece
        merged = [replace(r, qty=each.qty, unit=each.unit) if r.qty is None else r for r in merged]
    if any(r.qty is None for r in merged) or len(merged) < 2:
        return [whole]
    if not all(r.identity or r.code or r.attrs for r in merged):
        return [whole]
    return merged


def read_line(line: str, vocabulary: _Vocabulary, in_list: bool = False, bullet: bool = True) -> _Read:
    raw = line
    position = None
    bulleted = False
    if bullet:
        m = _BULLET.match(line)
        if m:
            position = int(m.group("pos") or m.group("pos2")) if (m.group("pos") or m.group("pos2")) else None
            bulleted = True
            line = line[m.end() :]
    line = _GLUED_TIMES.sub(r"\1 x\2", line)
    line, price, price_unit = _strip_prices(line)
    line = words_to_digits(line)
    pack = pack_size(line)
    heading = line.rstrip().endswith(":")  # introduces a list: context, not an item
    qty, unit, span, loose, each = _find_quantity(line, vocabulary, in_list)
    text = line
    if span is not None:
        before, after = line[: span[0]], line[span[1] :]
        text = _product_phrase(before, after, vocabulary)
    text = _tidy(_strip_packs(text))
    unit_word = None
    for word in re.findall(r"[^\W\d_]+", text):
        canonical = canonical_unit(word)
        if canonical and canonical not in ("stuks", "mtr") and len(word) > 2:
            unit_word = canonical
            break
    identity, attrs, variant, code = vocabulary.describe(text) if text else (False, False, False, False)
    code_only = code and not _CODE_LABEL.sub(" ", _LOOSE_SKU.sub(" ", text)).strip(" -–:,;#[]()")
    if qty is not None and not identity and _unknown_words(text):
        identity = True  # "3 platen onbekendmerk": a product the catalog may not know (or an alias)
    return _Read(
        raw=raw,
        text=text,
        qty=qty,
        unit=unit,
        loose=loose,
        price=price,
        price_unit=price_unit,
        pack=pack,
        position=position,
        identity=identity,
        attrs=attrs,
        variant=variant,
        code=code,
        code_only=bool(code_only),
        unit_word=unit_word,
        heading=heading,
        each=each,
        bulleted=bulleted,
    )


def _tidy(text: str) -> str:
    """Separators off both ends; brackets only when they are unbalanced."""
    text = text.strip(" -–—:,;.*\t")
    while text and (
        (text.endswith(")") and text.count("(") < text.count(")"))
        or (text.startswith("(") and text.count("(") > text.count(")"))
        or (text.endswith("(") or text.startswith(")"))
    ):
        text = text.strip("()").strip(" -–—:,;.*\t")
    if text.count("(") > text.count(")"):
        text = text + ")"
    return text


def _strip_prices(line: str) -> tuple[str, float | None, str | None]:
    """The line without its stated price, the price and the unit it is per."""
    price: float | None = None
    per: str | None = None

    def take(m: re.Match) -> str:
        nonlocal price, per
        amount = m.groupdict().get("a1") or m.groupdict().get("a2")
        if amount is None:
            return m.group(0)
        value = _amount(amount)
        if price is None:
            price = value
            if m.groupdict().get("pm"):
                per = "mtr"
            elif m.groupdict().get("each"):
                per = "each"
            elif m.groupdict().get("per"):
                per = canonical_unit(m.group("per").rstrip(".")) or (
                    "mtr" if m.group("per").lower() in ("m", "lfm") else None
                )
        return " "

    line = _PRICE_RX.sub(take, line)
    line = _PRICE_BARE_RX.sub(take, line)
    line = _PRICE_PER_RX.sub(take, line)
    if price is not None:
        line = re.sub(r"\(\s*\)", " ", line)
    return line, price, per


def _amount(text: str) -> float:
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        text = text.replace(".", "")
    return float(text)


def _strip_packs(text: str) -> str:
    """Pack descriptions are not product text: "(36 rol per doos toch?)", "of 12", "à 5 riem";
    a length in brackets ("(300 mtr)") is."""

    def pack(m: re.Match) -> str:
        unit = canonical_unit(m.group("u"))
        return m.group(0) if unit in ("mtr", "m2") and pack_size(m.group(0)) is None else " "

    text = _BRACKETED_AMOUNT_RX.sub(pack, text)
    text = _PACK_PHRASE_RX.sub(" ", text)
    return re.sub(r"\s+", " ", text)


def _find_quantity(
    line: str, vocabulary: _Vocabulary, in_list: bool
) -> tuple[float | None, str | None, tuple[int, int] | None, bool, bool]:
    """(qty, unit, span of the quantity in the line, read from a bare number, applies to each)."""
    candidates: list[tuple[int, int, float, str | None, tuple[int, int], bool]] = []
    # (priority, start, qty, unit, span, loose); lower priority wins
    m = _LABELLED_QTY.search(line)
    if m:
        return _num(m.group("q")), _unit(m.group("u")), m.span(), False, False
    m = _EACH_QTY.search(line)
    if m:
        return _num(m.group("q")), _unit(m.group("u")), m.span(), False, True
    m = _MORE_QTY.search(line)
    if m:  # "3 more of the ESL5-4BK", "nog 2 extra"
        return _num(m.group("q")), _unit(m.group("u")), m.span(), False, False
    lead = len(line) - len(line.lstrip(" -–•*·>"))
    for m in _UNIT_QTY.finditer(line):
        unit = canonical_unit(m.group("u"))
        written = m.group("u").lower()
        if unit is None or (written in ("x", "ex") and not m.group("q")):
            continue
        before, after = line[: m.start()], line[m.end() :]
        if written in ("x", "×"):
            continue  # handled by _TIMES_QTY
        if _DIM_BEFORE.search(before) or _PACK_BEFORE.search(before) or _PACK_AFTER.match(after):
            continue
        if re.match(r"\s*[x×*]\s*\d", after):
            continue
        token = m.group(0).replace(" ", "").rstrip(".")
        if " " not in m.group(0).strip() and vocabulary.is_code_token(token):
            continue  # "3M", "073M": a code
        if re.search(r"\w-$", before):
            continue  # "2080-M12", "641-070", "JX-100 flessen"
        start = m.start()
        at_end = not after.strip(" .,;:!?)")
        priority = 1 if start <= lead else 2 if at_end else 3  # "koker 10 st: 5 st." -> 5
        if unit in _METRE_UNITS:
            if _WIDTH_METRES.match(m.group("q")) or re.match(r"\s*(?:breed|brede|breit|wide)", after, re.I):
                continue
            priority = 1 if start <= lead else 2 if at_end else 4
        candidates.append((priority, start, _num(m.group("q")), unit, m.span(), False))
    for m in _TIMES_QTY.finditer(line):
        before, after = line[: m.start()], line[m.end("x") :]
        glued_x = m.group(0)[len(m.group("q")) : m.start("x") - m.start()] == "" and _num(m.group("q")) < 100
        size = (_DIM_NUMBER_STRICT if glued_x else _DIM_NUMBER).match(after)
        if size or _DIM_BEFORE.search(before) or re.search(r"\d\s*$", before):
            continue
        start = m.start()
        candidates.append(
            (
                1 if start <= lead else 2,
                start,
                _num(m.group("q")),
                _unit(m.group("u"), times=True),
                m.span(),
                False,
            )
        )
    for m in _X_QTY.finditer(line):
        before, after = line[: m.start()], line[m.end() :]
        if _DIM_AFTER.match(after) or re.match(r"\s*(?:m|mtr|meter)\b", after, re.I):
            continue
        previous = before.rstrip().split()[-1:] if before.strip() else []
        dimension = bool(previous) and (
            re.fullmatch(r"\d+(?:[.,]\d+)?(?:mm|cm|m)?", previous[0], re.I) is not None
            or previous[0].lower() in ("mm", "cm")
        )
        if dimension and not SKU_RX.fullmatch(previous[0]) and not re.fullmatch(r"\d{9}", previous[0]):
            continue  # "1370mm x 50m", "2050 x 3050": a size, not a count
        candidates.append(
            (2, m.start(), _num(m.group("q")), _unit(m.group("u"), times=True), m.span(), False)
        )
    if candidates:
        candidates.sort(key=lambda c: (c[0], c[1]))
        priority, _, qty, unit, span, loose = candidates[0]
        # a count beats a metre figure that may be a roll length ("IJ180 137 50m (1 rol)")
        return qty, unit, span, loose, False
    stripped = line.strip(" -–•*·>")
    m = _ALONE_BARE.match(stripped)
    if m:
        offset = line.find(stripped)
        number = m.group("q")
        if "." not in number and "," not in number and len(number) >= 3 and vocabulary.is_width(number):
            return None, None, None, False, False  # "1220", "137": a width, not 1220 rolls
        return _num(number), None, (offset + m.start("q"), offset + m.end("q")), False, False
    m = _TRAILING_BARE.search(line)
    if m and (in_list or re.search(r"[:–—-]\s*\d{1,3}\s*\.?\s*$", line)):
        number = m.group("q")
        small = int(number) < 100 and not vocabulary.is_width(number)
        if not number.startswith("0") and not vocabulary.is_series(number) and small:
            return _num(number), None, m.span("q"), True, False
    m = _LEADING_BARE.match(stripped)
    if m and in_list:
        number = m.group("q")
        if not vocabulary.is_series(number):
            offset = line.find(stripped)
            return _num(number), None, (offset + m.start("q"), offset + m.end("q")), True, False
    return None, None, None, False, False


def _product_phrase(before: str, after: str, vocabulary: _Vocabulary) -> str:
    """The product text around a quantity: after it when that names something, else before it;
    prose around it is cut off ("graag 1 rol IJ180 in 1370 voor de prijs die ...")."""
    after_clause = re.split(r"[.;!?](?:\s|$)", after, maxsplit=1)[0]
    after_clause = _STOP.sub("", " " + after_clause).strip()
    head, comma, tail = after_clause.partition(", ")
    if comma and not any(vocabulary.describe(tail)):
        after_clause = head  # "3 platen Dibond, kun je er voor zorgen dat ..."
    before_clause = re.split(r"[.;!?](?:\s|$)", before)[-1]
    before_clause = _drop_filler(before_clause)
    after_clause = _drop_filler(after_clause)
    if not before_clause.strip(" -–—:,;"):
        return after_clause
    if not after_clause.strip(" -–—:,;()"):
        return before_clause
    identity_after, attrs_after, _, code_after = vocabulary.describe(after_clause)
    identity_before, _, _, code_before = vocabulary.describe(before_clause)
    if (identity_after or code_after) and not (identity_before or code_before):
        return after_clause
    if (identity_before or code_before) and not (identity_after or code_after):
        return f"{before_clause} {after_clause}" if attrs_after else before_clause
    return f"{before_clause} {after_clause}"


def _unknown_words(text: str) -> bool:
    """Words that are not filler, colour, finish or unit: possibly a product name."""
    for word in re.findall(r"[^\W\d_]{3,}", fold(text)):
        if word in _FILLER or word in FINISH_WORDS or word in COLOUR_WORDS or colour_parts(word):
            continue
        if canonical_unit(word) or word in (
            "breed",
            "brede",
            "breit",
            "wide",
            "ook",
            "allebei",
            "beide",
            "both",
        ):
            continue
        return True
    return False


def _drop_filler(text: str) -> str:
    words = text.split()
    while words and words[0].lower().strip(",.:;!?") in _FILLER:
        words.pop(0)
    while words and words[-1].lower().strip(",.:;!?") in _FILLER:
        words.pop()
    return " ".join(words)


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def _unit(unit: str | None, times: bool = False) -> str | None:
    if unit and unit.lower() not in ("x", "ex", "×"):
        return canonical_unit(unit)
    if unit or times:
        return "stuks"  # a count: draft_order maps it to the product's package unit
    return None


# ---------------------------------------------------------------- tables


def _is_header(cells: list[str]) -> bool:
    lowered = [c.lower().strip(" :") for c in cells]
    known = _HEADER_QTY | _HEADER_REF | _HEADER_CODE | _HEADER_UNIT | _HEADER_PRICE
    return not any(re.search(r"\d", c) for c in cells) and any(c in known for c in lowered)


def _table_row(cells: list[str], header: list[str] | None, vocabulary: _Vocabulary) -> _Found | None:
    qty = unit = reference = price = None
    position: int | None = None
    described: list[str] = []
    for i, cell in enumerate(cells):
        name = header[i] if header and i < len(header) else ""
        if not cell:
            continue
        if name in _HEADER_SKIP:
            continue
        if name in _HEADER_REF:
            reference = cell or None
            continue
        if name in _HEADER_POS and re.fullmatch(r"\d{1,3}\.?", cell):
            position = int(cell.rstrip("."))
            continue
        if name in _HEADER_PRICE:
            _, stated, _ = _strip_prices(cell)
            if stated is None and re.fullmatch(r"\s*\d{1,3}(?:\.\d{3})*(?:,\d{1,2})?\s*", cell):
                stated = _amount(cell.strip())
            price = stated
            continue
        if name in _HEADER_UNIT and canonical_unit(cell):
            unit = canonical_unit(cell)
            continue
        if name in _HEADER_CODE:
            described.append(cell)  # the code is looked up with the description
            continue
        cell = words_to_digits(cell)
        number = _CELL_AMOUNT_RX.fullmatch(cell)
        if number and not name and len(number.group(1)) > 6:
            number = None  # "063054181": an article code, not a quantity
        if number and qty is None and (name in _HEADER_QTY or not name):
            qty = _num(number.group(1))
            unit = canonical_unit(number.group(2)) or unit or canonical_unit(name)
            continue
        if qty is None and name in _HEADER_QTY:
            read = read_line(cell, vocabulary)
            if read.qty is not None:
                qty, unit = read.qty, read.unit or unit
                continue
        if not name and position is None and i == 0 and re.fullmatch(r"\d{1,2}", cell) and len(cells) > 2:
            position = int(cell)
            continue
        described.append(cell)
    if not described:
        return None
    query = " ".join(described)
    if qty is None:
        read = read_line(query, vocabulary)
        if read.qty is None:
            return None
        qty, unit, query = read.qty, read.unit or unit, read.text
        price = price or read.price
    query, stated, per = _strip_prices(query)
    return _Found(
        query=query.strip(),
        qty=qty,
        unit=unit,
        source=" | ".join(cells),
        reference=reference,
        price=price if price is not None else stated,
        price_unit=per,
        position=position,
    )


# ---------------------------------------------------------------- resolving lines


class _Resolver:
    """A found line -> a LineRequest through catalog_lookup (and the catalog for codes and packs)."""

    def __init__(self, lookup, catalog: CatalogIndex | None, vocabulary: _Vocabulary) -> None:
        self.lookup = lookup
        self.catalog = catalog
        self.vocabulary = vocabulary

    def resolve(self, found: _Found) -> LineRequest | None:
        candidates = self.lookup(found.query)
        confidence = _confidence(candidates)
        notes: list[str] = []
        unknown = self._unknown_codes(found.query)
        if unknown and (not candidates or candidates[0].score < 100):
            rest = self._without_codes(found.query)
            candidates = self.lookup(rest) if rest.strip() else []
            confidence = min(_confidence(candidates), 0.6)
        elif found.context and confidence < CERTAIN and not SKU_RX.search(found.query):
            with_context = self.lookup(found.context + " " + found.query)
            if with_context and (
                _confidence(with_context) > confidence or _refines(with_context[0], candidates)
            ):
                candidates, confidence = with_context, max(_confidence(with_context), confidence)
        if found.unsure:
            confidence = min(confidence, UNSURE)
            notes.append(found.unsure)
        if not candidates or candidates[0].score < MIN_SCORE:
            if found.qty is not None and (
                self.vocabulary.describe(found.query)[0] or found.unit not in (None, "stuks") or unknown
            ):
                return LineRequest(
                    sku=None,
                    qty=found.qty,
                    unit=found.unit,
                    source_text=found.source,
                    reference=found.reference,
                    confidence=0.0,
                    candidates=candidates[:3],
                    stated_price=found.price,
                    stated_price_unit=found.price_unit,
                    note="; ".join(notes) or None,
                    position=found.position,
                    unknown_code=unknown[0] if unknown else None,
                )
            return None
        top = candidates[0]
        qty, unit = found.qty, _taught_unit(found, top)
        product = self.catalog.get(top.sku) if self.catalog else None
        if product is not None and qty is not None and found.pack is not None:
            qty, unit, consistent = convert_pack(product, qty, unit, found.pack)
            if not consistent:
                confidence = min(confidence, UNSURE)
                notes.append("stated pack size differs from the catalog's")
        return LineRequest(
            sku=top.sku,
            qty=qty,
            unit=unit,
            source_text=found.source,
            reference=found.reference,
            confidence=confidence,
            candidates=candidates[:4] if confidence < CERTAIN else [],
            stated_price=found.price,
            stated_price_unit=found.price_unit,
            note="; ".join(notes) or None,
            position=found.position,
            unknown_code=unknown[0] if unknown else None,
        )

    def _unknown_codes(self, text: str) -> list[str]:
        if self.catalog is None:
            return []
        codes = self.catalog.codes_in(text)
        if any(sku for _, sku in codes):
            return []
        return [written for written, sku in codes if sku is None and SKU_RX.fullmatch(written)]

    @staticmethod
    def _without_codes(text: str) -> str:
        return re.sub(r"\s+", " ", SKU_RX.sub(" ", text)).strip(" -–:,;#[]()")


def _taught_unit(found: _Found, top: Candidate) -> str | None:
    """The written unit; when the line names none (a bare count or "x"), the unit a rep taught
    for this customer's wording."""
    if top.learned_unit and found.unit in (None, "stuks"):
        return top.learned_unit
    return found.unit


def _refines(better: Candidate, candidates: list[Candidate]) -> bool:
    """The context match keeps everything the line itself matched (and adds to it)."""
    if not candidates or better.score < MIN_SCORE:
        return False
    own = {r for r in candidates[0].reasons if "differs" not in r}
    return own <= set(better.reasons) and len(better.reasons) > len(own)


def _confidence(candidates: list[Candidate]) -> float:
    if not candidates or candidates[0].score < MIN_SCORE:
        return 0.0
    top = candidates[0]
    runner_up = next((c for c in candidates[1:] if c.sku != top.sku), None)
    return line_confidence(top.score, top.score - runner_up.score if runner_up else 100.0)


def line_confidence(score: float, margin: float) -> float:
    """Calibrated on purpose to be strict: only exact codes and clear winners pass 0.9."""
    if score >= 99.5 and margin >= 99:
        return 1.0  # a SKU or learned alias
    if score >= 85 and margin >= 12:
        return 0.92
    if score >= 70 and margin >= 8:
        return 0.75
    return 0.5


# ---------------------------------------------------------------- reference, delivery date


def find_reference(text: str) -> str | None:
    m = _REFERENCE.search(text)
    return m.group("ref").rstrip(".") if m else None


def find_delivery_date(text: str, received: date) -> date | None:
    """A date on a line about delivery: dd-mm-yyyy, or morgen/overmorgen/weekday names."""
    for line in text.split("\n"):
        if not _DELIVERY_WORDS.search(line):
            continue
        m = _DATE.search(line)
        if m:
            resolved = _date_from(m, received)
            if resolved:
                return resolved
        lowered = line.lower()
        if "overmorgen" in lowered:
            return received + timedelta(days=2)
        if "morgen" in lowered and "goedemorgen" not in lowered and "guten morgen" not in lowered:
            return received + timedelta(days=1)
        for name, weekday in _WEEKDAYS.items():
            if re.search(rf"\b{name}\b", lowered):
                ahead = (weekday - received.weekday()) % 7 or 7
                return received + timedelta(days=ahead)
    return None


def _date_from(m: re.Match, received: date) -> date | None:
    day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
    y = received.year if not year else (int(year) + 2000 if len(year) == 2 else int(year))
    try:
        found = date(y, month, day)
    except ValueError:
        return None
    if not year and found < received:
        found = date(y + 1, month, day)
    return found


__all__ = [
    "METHOD",
    "MIN_SCORE",
    "extract_rules",
    "find_delivery_date",
    "find_line_texts",
    "find_reference",
    "line_confidence",
    "read_line",
    "unread_order_text",
]
