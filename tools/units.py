"""Canonical order units, their Dutch/English spellings, and conversion through a product's units.

Canonical names are the catalog's: mtr, rol, m2, plaat, stuks, vel, riem, doos, pallet.
Quantities are only comparable in base units: qty in base units = qty x per_base.
"""

from __future__ import annotations

import re

from mailorder.domain import Product

CANONICAL_UNITS = ("mtr", "rol", "m2", "plaat", "stuks", "vel", "riem", "doos", "pallet")

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "rol": ("rol", "rollen", "roll", "rolls", "rl", "rolletje", "rolletjes", "rolle"),
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
    "plaat": ("plaat", "platen", "plate", "plates", "board", "boards", "platte", "platten"),
    "vel": ("vel", "vellen", "sheet", "sheets"),
    "doos": ("doos", "dozen", "ds", "box", "boxes", "karton", "kartons", "omdoos", "schachtel"),
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
    "pallet": ("pallet", "pallets", "pal", "pallet(s)"),
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
