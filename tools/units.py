"""Canonical order units, their Dutch/English spellings, and conversion through a product's units.

Canonical names are the catalog's: mtr, rol, m2, plaat, stuks, vel, riem, doos, pallet.
Quantities are only comparable in base units: qty in base units = qty x per_base.
"""

from __future__ import annotations

import re

from mailorder.domain import Product

CANONICAL_UNITS = ("mtr", "rol", "m2", "plaat", "stuks", "vel", "riem", "doos", "pallet")

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "rol": ("rol", "rollen", "roll", "rolls", "rl", "rolletje", "rolletjes", "rolle", "rolle(n)", "rol(len)"),
    "mtr": (
        "mtr",
        "meter",
        "meters",
        "m",
        "m1",
        "mt",
        "strekkende meter",
        "strekkende meters",
        "str m",
        "lm",
        "metre",
        "metres",
    ),
    "stuks": (
        "stuks",
        "st",
        "st.",
        "stuk",
        "stk",
        "x",
        "ex",
        "pcs",
        "pc",
        "piece",
        "pieces",
        "exemplaren",
        "exemplaar",
        "flessen",
        "fles",
        "bottle",
        "bottles",
        "cartridge",
        "cartridges",
        "panelen",
        "paneel",
        "stück",
        "stueck",
        "losse",
        "los",
    ),
    "plaat": (
        "plaat",
        "platen",
        "plate",
        "plates",
        "board",
        "boards",
        "platte",
        "platten",
        "panel",
        "panels",
    ),
    "vel": ("vel", "vellen", "sheet", "sheets"),
    "doos": (
        "doos",
        "dozen",
        "doosje",
        "doosjes",
        "ds",
        "box",
        "boxes",
        "karton",
        "kartons",
        "omdoos",
        "schachtel",
        "schachteln",
        "carton",
        "cartons",
        "case",
        "cases",
    ),
    "riem": (
        "riem",
        "riemen",
        "pak",
        "pakken",
        "pakje",
        "ream",
        "reams",
        "packung",
        "packungen",
        "pack",
        "packs",
    ),
    "pallet": ("pallet", "pallets", "pal", "pallet(s)", "palette", "paletten"),
    "m2": ("m2", "m²", "vierkante meter", "vierkante meters", "sqm", "m^2"),
}
_LOOKUP = {spelling: unit for unit, spellings in _SYNONYMS.items() for spelling in spellings}
# every spelling, longest first, for regex alternations in extractors
UNIT_WORDS = sorted(_LOOKUP, key=len, reverse=True)
UNIT_PATTERN = "|".join(re.escape(w) for w in UNIT_WORDS)

# a word for a count of "whatever the product comes in" (2x, 8X, 3 stuks on a roll good)
COUNT_UNITS = {"stuks"}
# when a customer counts pieces of a product not sold per piece, these are what they mean
_PACKAGE_PREFERENCE = ("rol", "plaat", "stuks", "doos", "riem", "vel")


def canonical_unit(text: str | None) -> str | None:
    """The canonical unit for any spelling ('rollen' -> 'rol', 'm²' -> 'm2'), else None."""
    if not text:
        return None
    key = re.sub(r"\s+", " ", text.strip().lower()).rstrip(":,;")
    if key in _LOOKUP:
        return _LOOKUP[key]
    return _LOOKUP.get(key.rstrip("."))


# number words that stand for a quantity when a unit follows ("twee dozen", "a box", "zwei Rollen")
NUMBER_WORDS: dict[str, float] = {
    # Dutch
    "een": 1,
    "één": 1,
    "eén": 1,
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "vijftien": 15,
    "twintig": 20,
    "halve": 0.5,
    "anderhalf": 1.5,
    "anderhalve": 1.5,
    # English
    "a": 1,
    "an": 1,
    "another": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "half": 0.5,
    "half a": 0.5,
    # German
    "ein": 1,
    "eine": 1,
    "einen": 1,
    "einer": 1,
    "eins": 1,
    "zwei": 2,
    "drei": 3,
    "fünf": 5,
    "fuenf": 5,
    "sechs": 6,
    "sieben": 7,
    "neun": 9,
    "zehn": 10,
    "zwölf": 12,
    "zwoelf": 12,
    "zwanzig": 20,
    "halbe": 0.5,
    "halben": 0.5,
    "anderthalb": 1.5,
}
NUMBER_WORD_PATTERN = "|".join(re.escape(w) for w in sorted(NUMBER_WORDS, key=len, reverse=True))
_NUMBER_WORD_RX = re.compile(
    rf"(?<![\w-])(?P<word>{NUMBER_WORD_PATTERN})\s+(?=(?:{UNIT_PATTERN})(?![\w²]))", re.I
)
# "1/2 pallet", "½ doos"
_FRACTIONS = {"1/2": 0.5, "½": 0.5, "1/4": 0.25, "¼": 0.25, "3/4": 0.75, "¾": 0.75}
_FRACTION_RX = re.compile(
    rf"(?<![\d/])(?P<f>1/2|½|1/4|¼|3/4|¾)(?![\d/])\s*(?=(?:{UNIT_PATTERN})(?![\w²]))", re.I
)
# 10.000 / 2.500 / 1.140 in Dutch and German: thousands separators, not decimals
_THOUSANDS_RX = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+)(?![\d.,]?\d)")
# "a box of 12", "(36 rol per doos)", "à 5 riem", "(5 pakken)", "doos à 6 st"
_PACK_OF_RX = re.compile(
    rf"(?P<outer>{UNIT_PATTERN})\s+(?:of|à|a|van|met|mit|zu|je|per)\s+(?P<n>\d+)\s*(?P<inner>{UNIT_PATTERN})?(?![\w²])",
    re.I,
)
_PACK_BRACKETED_RX = re.compile(  # "1 doos (5 pakken)"
    rf"(?P<outer>{UNIT_PATTERN})\s*\(\s*(?P<n>\d+)\s*(?P<inner>{UNIT_PATTERN})\s*\)", re.I
)
# what each pack pattern cannot match without (cheap to look for; the patterns try every unit
# name at every position of the text)
_MAY_PACK_OF = re.compile(r"\s(?:of|à|a|van|met|mit|zu|je|per)\s+\d", re.I)
_MAY_PACK_PER = re.compile(r"\s(?:per|pro|in|each|/)", re.I)
_MAY_BRACKET = re.compile(r"\(\s*\d")
_PACK_PER_RX = re.compile(
    rf"\(?\s*(?P<n>\d+)\s*(?P<inner>{UNIT_PATTERN})\s+(?:per|pro|in|each|in each|in een|in 1|/)\s*"
    rf"(?P<outer>{UNIT_PATTERN})(?![\w²])[^)]*\)?",
    re.I,
)


def number_word(text: str) -> float | None:
    """The quantity a number word stands for ('twee' -> 2, 'a' -> 1, 'halve' -> 0.5), else None."""
    return NUMBER_WORDS.get(text.strip().lower())


def words_to_digits(text: str) -> str:
    """Number words followed by a unit become digits: 'twee dozen' -> '2 dozen', 'a box of 6' ->
    '1 box of 6', 'zwei Rollen' -> '2 Rollen'; thousands separators go: '10.000 vel' -> '10000 vel'."""

    def digits(m: re.Match) -> str:
        value = NUMBER_WORDS[m.group("word").lower()]
        return f"{value:g} "

    text = _NUMBER_WORD_RX.sub(digits, text)
    text = _FRACTION_RX.sub(lambda m: f"{_FRACTIONS[m.group('f')]:g} ", text)
    return _THOUSANDS_RX.sub(lambda m: m.group(1).replace(".", ""), text)


def pack_size(text: str) -> tuple[str, float, str | None] | None:
    """A pack described in the text: (outer unit, how many inner units it holds, inner unit).

    'a box of 12' -> ('doos', 12, None); '(36 rol per doos)' -> ('doos', 36, 'rol');
    '2 ds à 5 riem' -> ('doos', 5, 'riem'); '1 doos (5 pakken)' -> ('doos', 5, 'riem')."""
    m = _PACK_OF_RX.search(text) if _MAY_PACK_OF.search(text) else None
    if m:
        outer = canonical_unit(m.group("outer"))
        if outer and outer not in ("mtr", "m2"):
            return outer, float(m.group("n")), canonical_unit(m.group("inner"))
    m = _PACK_PER_RX.search(text) if _MAY_PACK_PER.search(text) else None
    if m:
        outer, inner = canonical_unit(m.group("outer")), canonical_unit(m.group("inner"))
        if outer and inner and outer != inner:
            return outer, float(m.group("n")), inner
    m = _PACK_BRACKETED_RX.search(text) if _MAY_BRACKET.search(text) else None
    if m:
        outer, inner = canonical_unit(m.group("outer")), canonical_unit(m.group("inner"))
        if outer and inner and outer != inner:
            return outer, float(m.group("n")), inner
    return None


def convert_pack(product: Product, qty: float, unit: str | None, pack: tuple[str, float, str | None] | None):
    """Qty and unit for a product, through a stated pack when the product is not sold in the
    written unit ('2 ds à 5 riem' of paper sold per riem only -> 10 riem). Returns (qty, unit,
    consistent): consistent is False when the stated pack contradicts the catalog."""
    if pack is None or unit is None:
        return qty, unit, True
    outer, count, inner = pack
    written = canonical_unit(unit)
    if written != outer:
        return qty, unit, True
    outer_option = product.unit_option(outer)
    inner_option = product.unit_option(inner) if inner else None
    if outer_option is not None:
        if inner_option is not None and inner_option.per_base > 0:
            stated = count * inner_option.per_base
            return qty, unit, abs(stated - outer_option.per_base) <= 1e-6 * max(1.0, stated)
        if inner is None:  # "a box of 12": the box holds 12 of the base/natural unit
            base = product.unit_option(natural_unit(product)) or product.unit_option(None)
            per = base.per_base if base else 1.0
            return qty, unit, abs(count * per - outer_option.per_base) <= 1e-6 * max(1.0, count * per)
        return qty, unit, True
    if inner_option is not None:
        return qty * count, inner, True
    return qty, unit, True


def half_word(text: str) -> bool:
    """'halve pallet', 'half pallet', 'halve doos' -> quantity 0.5."""
    return bool(re.match(r"\s*(halve|half|halbe)\b", text, re.I))


def to_base(product: Product, qty: float, unit: str | None) -> float | None:
    """Quantity in the product's base unit, or None when the product is not sold in that unit."""
    option = product.unit_option(canonical_unit(unit) if unit else None)
    return None if option is None else qty * option.per_base


def natural_unit(product: Product) -> str:
    """The unit a bare count ('2x', '4 stuks') of this product most likely means.

    A count of a roll good means rolls, of a sheet good plates, else the base unit.
    """
    names = [u.unit for u in product.units]
    for unit in _PACKAGE_PREFERENCE:
        if unit in names:
            return unit
    return product.base_unit


def resolve_unit(product: Product, written: str | None) -> tuple[str, bool]:
    """Map the customer's unit word to one of the product's units.

    Returns (unit, guessed): guessed is True when the word was missing or the product is not
    sold in it and a substitute was chosen (a piece count of a roll good becomes rolls).
    """
    names = {u.unit for u in product.units}
    unit = canonical_unit(written) if written else None
    if unit in names:
        return unit, False
    if unit is None:
        return natural_unit(product), True
    if unit == "stuks":
        # "3x" / "3 stuks" of plates or rolls counts packages; of paper it is a guess
        return natural_unit(product), not ("plaat" in names or "rol" in names)
    if len(names) == 1:
        return product.base_unit, True  # sold one way only: the customer's word was loose
    if unit == "plaat" and "stuks" in names:
        return "stuks", False
    if unit == "vel" and "plaat" in names:
        return "plaat", False
    return unit, True  # not sold in this unit: draft_order flags UNIT_NOT_SOLD
