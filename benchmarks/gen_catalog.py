"""Scale a catalog to benchmark size by generating realistic variants of its products.

    python benchmarks/gen_catalog.py --n 50000 --out /tmp/catalog_50k.json [--base data/products.json]

Each new product copies a random base product and changes one or two of its dimensions in the
name (colour, finish, width, roll length, sheet size, thickness, grammage, ink colour, pack
size); units (`m2`, `rol`, `mtr`, `pallet`) and the price are recomputed to stay consistent.
SKUs stay in the family's SKU ranges (`NN-NNNN-NNNN`); names and SKUs are unique.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

DUTCH_COLOURS = [
    "wit",
    "zwart",
    "signaalwit",
    "goudgeel",
    "geel",
    "lichtgeel",
    "zwavelgeel",
    "verkeersgeel",
    "donkerrood",
    "rood",
    "lichtrood",
    "oranje",
    "pastelloranje",
    "wijnrood",
    "violet",
    "lila",
    "zachtroze",
    "roze",
    "koningsblauw",
    "donkerblauw",
    "gentiaanblauw",
    "azuurblauw",
    "lichtblauw",
    "ijsblauw",
    "verkeersblauw",
    "donkergroen",
    "groen",
    "lichtgroen",
    "limegroen",
    "mintgroen",
    "zeegroen",
    "donkergrijs",
    "middelgrijs",
    "telegrijs",
    "bruin",
    "lichtbruin",
    "beige",
    "zilvergrijs",
    "goud",
    "antraciet",
    "koraal",
    "turquoise",
    "olijfgroen",
    "pastelblauw",
    "zandgeel",
    "bordeauxrood",
    "brons",
    "koper",
    "oker",
    "paars",
    "grijs",
    "blauw",
    "crème",
    "petrol",
    "aubergine",
    "mosgroen",
    "staalblauw",
    "kiezelgrijs",
]
INK_COLOURS = [
    "Cyan",
    "Magenta",
    "Yellow",
    "Black",
    "Light Cyan",
    "Light Magenta",
    "Light Black",
    "White",
    "Orange",
    "Green",
    "Red",
    "Clear",
    "Silver",
]
FINISHES = ["glanzend", "mat", "satijn"]
ROLL_WIDTHS = [500, 610, 630, 762, 1000, 1050, 1220, 1260, 1370, 1400, 1520, 1524, 1600, 2000, 2050, 3200]
ROLL_LENGTHS = [5, 10, 25, 30, 45, 50, 100]
SHEET_SIZES = [
    (1000, 2000),
    (1220, 2440),
    (1250, 2050),
    (1250, 2500),
    (1500, 3050),
    (1560, 3050),
    (2000, 3050),
    (2030, 3050),
    (2050, 3050),
]
THICKNESSES = {  # plausible sheet thicknesses (mm) per family
    "sheet-acm": [2, 3, 4, 6],
    "sheet-petg": [0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8],
    "sheet-acrylic": [1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20],
    "sheet-pvc-foam": [1, 2, 3, 4, 5, 6, 8, 10, 13, 15, 19],
}
_SHEET_MARKS = {
    "sheet-acm": ("DIBOND", "Alupanel", "Bond"),
    "sheet-petg": ("PETG",),
    "sheet-acrylic": ("PLEXIGLAS", "ACRYL", "PMMA"),
}
GRAMMAGES = [70, 75, 80, 90, 100, 120, 160, 200, 250]
PACK_SIZES = ["220ml", "440ml", "500ml", "600ml", "700ml", "775ml", "1L", "2L", "5L"]

_COLOUR_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, DUTCH_COLOURS), key=len, reverse=True)) + r")\b"
)
_CODE_COLOUR_RE = re.compile(r"\b(\d{3})([GM]?) (" + _COLOUR_RE.pattern[2:-2] + r")\b")
_FINISH_RE = re.compile(r"\b(glanzend|mat|satijn)\b")
_FINISH_CODE_RE = re.compile(r"\b(\d{3})[GMS](?= )")
_ROLL_RE = re.compile(r"(?<![\d,])(\d{3,4})( mm x | x )(\d{1,4}) (M|m|mtr)\b")
_SHEET_RE = re.compile(r"\b(\d{3,4}) mm x (\d{3,4}) mm (\d+(?:,\d+)?) mm$")
_GSM_RE = re.compile(r"\b(\d{2,3}) g/m²")
_INK_RE = re.compile(r"\b(" + "|".join(sorted(INK_COLOURS, key=len, reverse=True)) + r")\b")
_PACK_RE = re.compile(r"\b(\d+(?:,\d+)?(?:ml|L))\b")

Ratios = dict[str, float]  # "width", "length", "area", "thickness": new / old
Mutation = Callable[[str, random.Random], tuple[str, Ratios] | None]


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def _fmt(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _other(rng: random.Random, options: list, current) -> object:
    choices = [o for o in options if o != current]
    return rng.choice(choices)


def mutate_colour(name: str, rng: random.Random) -> tuple[str, Ratios] | None:
    m = _CODE_COLOUR_RE.search(name)
    if m:  # "063 limegroen" -> "417 koraal": a new colour gets a new colour code
        colour = _other(rng, DUTCH_COLOURS, m.group(3))
        code = f"{rng.randrange(100, 1000):03d}"
        return name[: m.start()] + f"{code}{m.group(2)} {colour}" + name[m.end() :], {}
    m = _COLOUR_RE.search(name)
    if m:
        return name[: m.start()] + str(_other(rng, DUTCH_COLOURS, m.group(1))) + name[m.end() :], {}
    return None


def mutate_finish(name: str, rng: random.Random) -> tuple[str, Ratios] | None:
    m = _FINISH_RE.search(name)
    if not m:
        return None
    finish = str(_other(rng, FINISHES, m.group(1)))
    name = name[: m.start()] + finish + name[m.end() :]
    # keep colour-code finish letters in step: "070G zwart glanzend" -> "070M zwart mat"
    name = _FINISH_CODE_RE.sub(lambda c: c.group(1) + finish[0].upper(), name, count=1)
    return name, {}


def mutate_roll(name: str, rng: random.Random) -> tuple[str, Ratios] | None:
    m = _ROLL_RE.search(name)
    if not m:
        return None
    width, length = int(m.group(1)), int(m.group(3))
    if rng.random() < 0.6:
        new_width, new_length = int(_other(rng, ROLL_WIDTHS, width)), length
    else:
        new_width, new_length = width, int(_other(rng, ROLL_LENGTHS, length))
    text = f"{new_width}{m.group(2)}{new_length} {m.group(4)}"
    return name[: m.start()] + text + name[m.end() :], {
        "width": new_width / width,
        "length": new_length / length,
    }


def mutate_sheet(name: str, rng: random.Random) -> tuple[str, Ratios] | None:
    m = _SHEET_RE.search(name)
    if not m:
        return None
    w, h, t = int(m.group(1)), int(m.group(2)), _num(m.group(3))
    if rng.random() < 0.5:
        nw, nh = _other(rng, SHEET_SIZES, (w, h))
        nt = t
    else:
        family = next(
            (f for f, marks in _SHEET_MARKS.items() if any(k in name for k in marks)), "sheet-pvc-foam"
        )
        nw, nh, nt = w, h, float(_other(rng, THICKNESSES[family], t))
    ratios = {"area": nw * nh / (w * h), "thickness": nt / t}
    return name[: m.start()] + f"{nw} mm x {nh} mm {_fmt(nt)} mm", ratios


def mutate_grammage(name: str, rng: random.Random) -> tuple[str, Ratios] | None:
    m = _GSM_RE.search(name)
    if not m:
        return None
    gsm = int(m.group(1))
    new = int(_other(rng, GRAMMAGES, gsm))
    return name[: m.start()] + f"{new} g/m²" + name[m.end() :], {"thickness": new / gsm}


def mutate_ink(name: str, rng: random.Random) -> tuple[str, Ratios] | None:
    m = _INK_RE.search(name) if rng.random() < 0.6 else None
    if m:
        return name[: m.start()] + str(_other(rng, INK_COLOURS, m.group(1))) + name[m.end() :], {}
    m = _PACK_RE.search(name)
    if not m:
        return None
    old = m.group(1)
    new = str(_other(rng, PACK_SIZES, old))
    return name[: m.start()] + new + name[m.end() :], {"thickness": _litres(new) / max(_litres(old), 0.01)}


def _litres(pack: str) -> float:
    return _num(pack[:-2]) / 1000 if pack.endswith("ml") else _num(pack[:-1])


MUTATIONS: list[Mutation] = [
    mutate_colour,
    mutate_finish,
    mutate_roll,
    mutate_sheet,
    mutate_grammage,
    mutate_ink,
]


def _rescale(product: dict, name: str, ratios: Ratios) -> dict:
    """A copy of `product` named `name` with units and price adjusted to the changed dimensions."""
    width, length = ratios.get("width", 1.0), ratios.get("length", 1.0)
    area, thickness = ratios.get("area", 1.0), ratios.get("thickness", 1.0)
    base = product["base_unit"]
    units = []
    for u in product["units"]:
        unit, per = u["unit"], float(u["per_base"])
        if unit == base:
            per = 1
        elif unit == "m2":  # base units per m2
            per = round(per / width / area / (length if base == "rol" else 1.0), 8)
        elif unit == "rol" and base == "mtr":
            per = per * length
        elif unit == "mtr" and base == "rol":
            per = per / length
        elif unit == "pallet":
            per = max(
                1, round(per * (length if base == "mtr" else 1.0) / (thickness if base == "plaat" else 1.0))
            )
        per = round(per, 10)
        units.append({"unit": unit, "per_base": int(per) if float(per).is_integer() else per})
    size = width * area * thickness * (length if base == "rol" else 1.0)
    price = round(max(0.01, product["unit_price"] * size), 2)
    return {**product, "name": name, "units": units, "unit_price": price}


class _SkuAllocator:
    """Unique SKUs per family, drawn from the family's ranges; opens a new range when one is full."""

    def __init__(self, base: list[dict], rng: random.Random):
        self._rng = rng
        self._taken = {p["sku"] for p in base}
        self._ranges: dict[str, list[str]] = {}
        for p in base:
            prefix = p["sku"][:7]
            ranges = self._ranges.setdefault(p.get("family", ""), [])
            if prefix not in ranges:
                ranges.append(prefix)
        self._all_prefixes = {p for ranges in self._ranges.values() for p in ranges}
        self._used = {
            prefix: sum(1 for s in self._taken if s.startswith(prefix)) for prefix in self._all_prefixes
        }

    def next(self, family: str, preferred: str) -> str:
        """A new SKU in `preferred` range (the template's), else another range of the family."""
        ranges = self._ranges[family]
        open_ranges = [r for r in ranges if self._used[r] < 9000]  # leave room so random draws stay cheap
        if not open_ranges:
            open_ranges = [self._open_range(ranges[-1])]
            ranges.append(open_ranges[0])
        prefix = preferred if preferred in open_ranges else self._rng.choice(open_ranges)
        while True:
            sku = f"{prefix}-{self._rng.randrange(10, 10000):04d}"
            if sku not in self._taken:
                self._taken.add(sku)
                self._used[prefix] += 1
                return sku

    def _open_range(self, last: str) -> str:
        head, block = last[:2], int(last[3:7])
        while True:
            block = (block + 1) % 10000
            prefix = f"{head}-{block:04d}"
            if prefix not in self._all_prefixes:
                self._all_prefixes.add(prefix)
                self._used[prefix] = 0
                return prefix


def generate_catalog(base: list[dict], n: int, seed: int = 0) -> list[dict]:
    """`base` plus generated variants, `n` products in all (or the first n of `base` if smaller)."""
    if n <= len(base):
        return [dict(p) for p in base[:n]]
    rng = random.Random(seed)
    skus = _SkuAllocator(base, rng)
    names = {p["name"] for p in base}
    out = [dict(p) for p in base]
    while len(out) < n:
        template = rng.choice(base)
        name, ratios = template["name"], {}
        for mutation in rng.sample(MUTATIONS, len(MUTATIONS)):
            changed = mutation(name, rng)
            if changed is None:
                continue
            name, new_ratios = changed
            for key, value in new_ratios.items():
                ratios[key] = ratios.get(key, 1.0) * value
            if name not in names and rng.random() < 0.6:
                break
        if name in names:
            continue  # a template without free variants left; another draw will do
        names.add(name)
        product = _rescale(template, name, ratios)
        product["sku"] = skus.next(template.get("family", ""), template["sku"][:7])
        product["active"] = rng.random() >= 0.02
        out.append(product)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Scale a catalog to n products for benchmarks.")
    parser.add_argument(
        "--base", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "products.json"
    )
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    base = json.loads(args.base.read_text(encoding="utf-8"))
    products = generate_catalog(base, args.n, args.seed)
    args.out.write_text(json.dumps(products, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(products)} products to {args.out}")


if __name__ == "__main__":
    main()
