"""Order tables in any format: header rows and column roles (NL/EN/DE), item rows, totals, numbers.

Owns the words that make a header ("Art.nr", "Omschrijving", "Qty", "Bezeichnung", ...), the
role each column plays, which rows are items and which are totals/VAT/shipping, and number
parsing with decimal comma and thousands dot. GridTables turns rows of cells from any reader
(spreadsheet, CSV, Word table, ruled PDF table) into Tables; other rows become text lines.
"""

from __future__ import annotations

import re

from .models import Collector, Table

# --- header words -----------------------------------------------------------------------------------
_AMOUNT = re.compile(r"bedrag|betrag|amount|totaal|total|gesamt|summe|regelwaarde|line value|extended")
_PRICE = re.compile(r"prijs|price|preis|tarief|\brate\b|kosten per|€")
_DESCRIPTION = re.compile(
    r"omschrijving|beschrijving|description|bezeichnung|beschreibung|benaming|"
    r"benennung|productnaam|produktname|artikeltekst|artikeltext|\bdesc\b|\bomschr\b|\bbeschr\b|\bbez\b"
)
_DESCRIPTION_WORDS = {
    "product",
    "produkt",
    "naam",
    "name",
    "tekst",
    "text",
    "artikelnaam",
    "goods",
    "materiaal",
}
_SKU_WORDS = {
    "artikelnummer",
    "artikelnr",
    "artikelcode",
    "artnr",
    "sku",
    "productcode",
    "produktnummer",
    "produktcode",
    "artikelnum",
    "materialnummer",
    "materiaalnummer",
    "matnr",
    "itemcode",
    "itemnumber",
    "partnumber",
    "partno",
    "bestelnummer",
    "bestelcode",
    "bestelnr",
    "code",
    "artikel",
    "art",
    "item",
    "material",
    "refnr",
    "typenummer",
}
_SKU_STEMS = {
    "art",
    "artikel",
    "item",
    "product",
    "produkt",
    "part",
    "material",
    "materiaal",
    "bestel",
    "lev",
    "leverancier",
    "supplier",
    "vendor",
    "lieferant",
    "uw",
    "your",
    "ihre",
    "ihr",
}
_SKU_SUFFIX = {"nr", "no", "number", "nummer", "num", "code", "id", "#", "ref"}
_QTY = re.compile(
    r"aantal|hoeveelheid|quantity|\bqty\b|menge|anzahl|\baant\b|\bstuks\b|\bstk\b|\bpcs\b|"
    r"\bqt\b|\bquant\b|\bhoev\b|\bbesteld\b|\bordered\b"
)
_UNIT = re.compile(
    r"eenheid|einheit|\bunit\b|\buom\b|\beh\b|\beenh\b|\bme\b|\bve\b|verpakking|verpackung|"
    r"\bunits? of measure\b"
)
_POSITION = {
    "pos",
    "positie",
    "position",
    "nr",
    "no",
    "regel",
    "line",
    "lijn",
    "lfd",
    "#",
    "posnr",
    "regelnr",
    "lineno",
    "zeile",
}
_MAX_HEADER_WORDS = 4


def normalize(text: str) -> str:
    return " ".join(text.lower().replace("\n", " ").split()).strip(" :.")


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^\w#€]+", text) if t]


def header_role(cell: str) -> str | None:
    """The role a header cell names, or None: amount/price first ('Unit price' is a price,
    'Gesamtpreis' an amount), then article codes, descriptions, units, quantities, positions."""
    text = normalize(cell)
    if not text or len(text) > 32 or len(text.split()) > _MAX_HEADER_WORDS or re.search(r"\d{2,}", text):
        return None
    tokens = _tokens(text)
    joined = "".join(tokens)
    if _AMOUNT.search(text):
        return "amount"
    if _PRICE.search(text):
        return "price"
    if joined in _SKU_WORDS or any(
        t in _SKU_SUFFIX and i > 0 and tokens[i - 1] in _SKU_STEMS for i, t in enumerate(tokens)
    ):
        return "sku"
    if _DESCRIPTION.search(text) or any(t in _DESCRIPTION_WORDS for t in tokens):
        return "description"
    if _UNIT.search(text) and not re.match(r"aantal|quantity|qty|menge\b|anzahl", text):
        return "unit"
    if _QTY.search(text):
        return "qty"
    if any(t in _SKU_WORDS for t in tokens):
        return "sku"
    if joined in _POSITION or (tokens and tokens[0] in _POSITION and len(tokens) <= 2):
        return "position"
    return None


def detect_header(cells: list[str]) -> dict[str, int] | None:
    """Column roles when these cells are a header row: two or more roles, most cells named,
    and a quantity column or both an article code and a description; else None."""
    filled = [c for c in cells if c.strip()]
    if len(filled) < 2 or any(parse_number(c) is not None for c in filled):
        return None
    roles: dict[str, int] = {}
    named = 0
    for index, cell in enumerate(cells):
        role = header_role(cell)
        if role is None:
            continue
        named += 1
        if role not in roles or (role == "sku" and _prefer_sku(cell, cells[roles[role]])):
            roles[role] = index
    if len(roles) < 2 or named * 2 < len(filled):
        return None
    if "qty" not in roles and not ("sku" in roles and "description" in roles):
        return None
    return roles


def _prefer_sku(candidate: str, current: str) -> bool:
    """Two article-code columns: the supplier's code (ours) wins over the customer's own."""
    ours = re.compile(r"lev|supplier|vendor|lieferant", re.IGNORECASE)
    return bool(ours.search(candidate)) and not ours.search(current)


# --- numbers ----------------------------------------------------------------------------------------
_CURRENCY = re.compile(r"(?i)€|eur\b|euro\b|\$|£|usd\b|gbp\b|chf\b")


def parse_number(text: str) -> float | None:
    """'1.234,56' -> 1234.56, '1,234.56' -> 1234.56, '12,5' -> 12.5, '1.000' -> 1000 (a Dutch
    thousands dot), '0.500' -> 0.5, '€ 12,-' -> 12; None when the text is not one number."""
    s = _CURRENCY.sub("", text).replace("\u00a0", "").replace(" ", "").replace("'", "")
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        s, negative = s[1:-1], True
    if s.endswith((",-", ".-")):
        s = s[:-2]
    if s.startswith(("-", "\u2212")):
        s, negative = s[1:], True
    elif s.endswith("-") and len(s) > 1:
        s, negative = s[:-1], True
    elif s.startswith("+"):
        s = s[1:]
    if not re.fullmatch(r"\d[\d.,]*", s) or s.endswith((".", ",")):
        return None
    if "." in s and "," in s:
        decimal = "." if s.rfind(".") > s.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        whole, _, frac = s.rpartition(decimal)
        if not _grouped(whole, thousands):
            return None
        value = float(whole.replace(thousands, "") + "." + frac)
    elif "," in s:
        if s.count(",") > 1:
            if not _grouped(s, ","):
                return None
            value = float(s.replace(",", ""))
        else:
            value = float(s.replace(",", "."))
    elif "." in s:
        whole, _, frac = s.rpartition(".")
        if s.count(".") > 1:
            if not _grouped(s, "."):
                return None
            value = float(s.replace(".", ""))
        elif len(frac) == 3 and whole != "0" and len(whole) <= 3:
            value = float(whole + frac)  # 1.000 or 12.500: a Dutch thousands dot
        else:
            value = float(s)
    else:
        value = float(s)
    return -value if negative else value


def _grouped(text: str, separator: str) -> bool:
    groups = text.split(separator)
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


_QTY_CELL = re.compile(r"^\s*(?P<num>[-+]?\d[\d.,]*)\s*(?P<rest>(?:[^\W\d_]|×).*)?$")


def split_quantity(text: str) -> tuple[float | None, str]:
    """'5' -> (5, ''), '12,5 mtr' -> (12.5, 'mtr'), '3x' -> (3, 'x'); (None, text) otherwise."""
    m = _QTY_CELL.match(text)
    if not m:
        return None, text.strip()
    value = parse_number(m.group("num"))
    if value is None:
        return None, text.strip()
    return value, (m.group("rest") or "").strip()


def format_number(value: float) -> str:
    """12.0 -> '12', 2.5 -> '2,5' (decimal comma, no thousands separator)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".").replace(".", ",")


def format_quantity(text: str) -> str:
    """A quantity cell in one plain notation ('1.000' -> '1000', '12,50 mtr' -> '12,5 mtr')."""
    value, rest = split_quantity(text)
    if value is None:
        return text.strip()
    return f"{format_number(value)} {rest}".strip()


# --- rows -------------------------------------------------------------------------------------------
_TOTALS = re.compile(
    r"^(?:sub\s*-?\s*tota(?:a)?l|subtotal|totaal|total|grand total|eindtotaal|gesamt\w*|summe|zwischensumme|"
    r"endsumme|netto\s*(?:bedrag|betrag|totaal|total)?|nettobetrag|bruto\w*|brutto\w*|b\.?t\.?w\.?|vat|mwst|"
    r"ust|u\.st|tax|sales tax|omzetbelasting|mehrwertsteuer|verzend\w*|vracht\w*|transportkosten|shipping|"
    r"freight|delivery charge|carriage|postage|versand\w*|fracht\w*|porto|korting|rabatt|discount|"
    r"te betalen|amount due|balance due|orderkosten|handling|toeslag|surcharge|excl\.?|incl\.?|"
    r"exclusief|inclusief|zuschlag)\b",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-/_ ]{1,30}")


def is_totals_text(text: str) -> bool:
    return bool(_TOTALS.match(text.strip().lstrip("*").strip()))


def looks_like_code(text: str) -> bool:
    text = text.strip()
    return bool(_CODE.fullmatch(text)) and bool(re.search(r"\d", text)) and len(text.split()) <= 3


def is_totals_row(cells: list[str], columns: dict[str, int]) -> bool:
    """A subtotal/total/VAT/shipping/discount row: a cell starts with such a word and the row
    carries no article code."""
    sku_index = columns.get("sku")
    if sku_index is not None and sku_index < len(cells) and looks_like_code(cells[sku_index]):
        return False
    return any(is_totals_text(c) for c in cells if c and parse_number(c) is None)


def is_item_row(cells: list[str], columns: dict[str, int]) -> bool:
    """An order line: a quantity that is a number (when the table has a quantity column) and
    an article code or a description; without a quantity column, an article code."""

    def get(role: str) -> str:
        index = columns.get(role)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    sku, description = get("sku"), get("description")
    if "qty" in columns:
        if split_quantity(get("qty"))[0] is None:
            return False
        if sku or description:
            return True
        known = set(columns.values())
        return any(re.search(r"[^\W\d_]{2}", c) for i, c in enumerate(cells) if i not in known)
    return looks_like_code(sku)


_UNIT_WORDS = (
    r"x|×|st|st\.|stk|stuks|stuk|pcs|pieces|pc|rol|rollen|rolls?|plaat|platen|plates?|vel|vellen|"
    r"sheets?|doos|dozen|box|boxes|ds|riem|riemen|pak|pakken|ream|reams|pallet|pallets|mtr|meter|"
    r"meters|m1|lm|m2|m²|stück|rolle|rollen|karton|kartons|fles|flessen|bottles?"
)
_ORDER_LINE = re.compile(rf"(?<![\w.,])\d+(?:[.,]\d+)?\s*(?:{_UNIT_WORDS})(?![\w²])", re.IGNORECASE)
_CATALOG_SKU = re.compile(r"(?<![\d-])\d{2}[-. ]?\d{4}[-. ]?\d{4}(?![\d-])")
_NOT_ORDER = re.compile(
    r"^(?:datum|date|tel|telefoon|phone|fax|e-?mail|www|kvk|iban|bic|btw|vat|ust|"
    r"bank|pagina|page|seite|postbus)\b",
    re.IGNORECASE,
)


def looks_like_order_line(text: str) -> bool:
    """A text line that may be an order line: it names a catalog-style article code, or has a
    quantity with a unit next to a word (not an address, bank or page-number line)."""
    if _NOT_ORDER.match(text.strip()):
        return False
    if _CATALOG_SKU.search(text):
        return True
    m = _ORDER_LINE.search(text)
    if m is None:
        return False
    return bool(re.search(r"[^\W\d_]{3}", text[: m.start()] + text[m.end() :]))


def clean_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    text = re.sub(r"-\n(?=[a-zà-ÿ])", "", text)  # a word hyphenated over two lines of one cell
    return " ".join(text.split())


def _trimmed(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


# --- rows of cells into tables ----------------------------------------------------------------------
class GridTables:
    """Rows of cells in reading order -> tables under header rows. A row repeating the open
    table's header continues that table; a totals row closes it; rows that are neither items
    nor headers become text lines (cells joined by two spaces)."""

    def __init__(self, out: Collector) -> None:
        self.out = out
        self.current: Table | None = None

    def close(self) -> None:
        self.current = None

    def continues(self, cells: list[str]) -> bool:
        """A headerless block (a ruled table on the next page) that fits the open table."""
        return self.current is not None and len(_trimmed(cells)) <= len(self.current.header) + 1

    def feed(self, raw: list[object], scope: str = "", row_no: int | None = None) -> None:
        cells = _trimmed([clean_cell(c) for c in raw])
        if not cells or not self.out.room():
            return
        roles = detect_header(cells)
        if roles is not None:
            if self.current is not None and same_header(self.current.header, cells):
                return  # the header repeated on the next page
            source = self.out.source(scope, f"r{row_no}" if row_no is not None else "header")
            self.current = Table(header=cells, columns=roles, source=source)
            return
        table = self.current
        if table is None:
            self.out.add_text("  ".join(c for c in cells if c), scope, row_no)
            return
        if is_totals_row(cells, table.columns):
            self.out.add_text("  ".join(c for c in cells if c), scope, row_no)
            self.close()
            return
        if is_item_row(cells, table.columns):
            width = max(len(table.header), len(cells))
            self.out.add_row(table, cells + [""] * (width - len(cells)), scope, row_no)
            return
        self.out.add_text("  ".join(c for c in cells if c), scope, row_no)


def same_header(header: list[str], cells: list[str]) -> bool:
    return [normalize(c) for c in _trimmed(header)] == [normalize(c) for c in _trimmed(cells)]
