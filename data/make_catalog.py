"""Generate the sample catalog `data/products.json` (deterministic; seed fixed).

A sign-materials and paper distributor's range in the interchange format of the eval README:
SKUs `NN-NNNN-NNNN` per family range, Dutch colour/finish words in the names, the base unit
first in `units`, synthetic prices. Near-identical distractors (other colours, widths, roll
lengths, finishes, thicknesses, sheet sizes) are intended, and similar products do not
always share a base unit (e.g. ORAJET 3551 is kept per roll, ORAJET 3551RA per metre).

    python data/make_catalog.py            # rewrites data/products.json next to this file
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

SEED = 20250901

# ORACAL-style colour codes with their Dutch names (the catalog speaks Dutch).
COLOURS: dict[str, str] = {
    "010": "wit",
    "070": "zwart",
    "019": "signaalwit",
    "020": "goudgeel",
    "021": "geel",
    "022": "lichtgeel",
    "025": "zwavelgeel",
    "216": "verkeersgeel",
    "030": "donkerrood",
    "031": "rood",
    "032": "lichtrood",
    "034": "oranje",
    "035": "pastelloranje",
    "312": "wijnrood",
    "040": "violet",
    "043": "lila",
    "045": "zachtroze",
    "041": "roze",
    "049": "koningsblauw",
    "050": "donkerblauw",
    "051": "gentiaanblauw",
    "052": "azuurblauw",
    "053": "lichtblauw",
    "056": "ijsblauw",
    "057": "verkeersblauw",
    "060": "donkergroen",
    "061": "groen",
    "062": "lichtgroen",
    "063": "limegroen",
    "068": "mintgroen",
    "613": "zeegroen",
    "073": "donkergrijs",
    "074": "middelgrijs",
    "076": "telegrijs",
    "080": "bruin",
    "081": "lichtbruin",
    "082": "beige",
    "090": "zilvergrijs",
    "091": "goud",
}


def _units_roll_per_metre(width_mm: int, length_m: int, rolls_per_pallet: int = 24) -> list[dict]:
    """Film kept in running metres: 1 rol = length, 1 m2 = 1/width metres."""
    return [
        {"unit": "mtr", "per_base": 1},
        {"unit": "rol", "per_base": length_m},
        {"unit": "m2", "per_base": round(1000 / width_mm, 10)},
        {"unit": "pallet", "per_base": length_m * rolls_per_pallet},
    ]


def _units_roll_per_roll(width_mm: int, length_m: int, rolls_per_pallet: int = 24) -> list[dict]:
    """Film kept per roll: 1 mtr = 1/length roll."""
    return [
        {"unit": "rol", "per_base": 1},
        {"unit": "mtr", "per_base": round(1 / length_m, 10)},
        {"unit": "m2", "per_base": round(1 / (length_m * width_mm / 1000), 10)},
        {"unit": "pallet", "per_base": rolls_per_pallet},
    ]


def _units_plate(w_mm: int, h_mm: int, thickness_mm: float) -> list[dict]:
    per_pallet = max(8, round(300 / max(thickness_mm, 0.5) / 5.0) * 5)
    return [
        {"unit": "plaat", "per_base": 1},
        {"unit": "stuks", "per_base": 1},
        {"unit": "pallet", "per_base": per_pallet},
        {"unit": "m2", "per_base": round(1 / (w_mm * h_mm / 1_000_000), 10)},
    ]


def _units_paper(sheets_per_ream: int, reams_per_box: int, sheets_per_pallet: int) -> list[dict]:
    return [
        {"unit": "vel", "per_base": 1},
        {"unit": "riem", "per_base": sheets_per_ream},
        {"unit": "doos", "per_base": sheets_per_ream * reams_per_box},
        {"unit": "pallet", "per_base": sheets_per_pallet},
    ]


def _fmt_mm(value: float) -> str:
    """Dutch decimal comma, no trailing zeros: 0.75 -> '0,75', 3.0 -> '3'."""
    text = f"{value:g}"
    return text.replace(".", ",")


def _product(prefix: str, family: str, name: str, units: list[dict], price: float) -> dict:
    return {
        "prefix": prefix,
        "family": family,
        "name": name,
        "base_unit": units[0]["unit"],
        "units": units,
        "unit_price": round(max(price, 0.01), 2),
    }


# ---------------------------------------------------------------- families
def vinyl_cast(rng: random.Random) -> Iterator[dict]:
    c751 = [
        "010",
        "070",
        "019",
        "021",
        "022",
        "025",
        "031",
        "032",
        "034",
        "030",
        "312",
        "041",
        "040",
        "049",
        "050",
        "051",
        "052",
        "053",
        "056",
        "060",
        "061",
        "063",
        "068",
        "613",
        "073",
        "074",
        "080",
        "082",
        "090",
        "091",
    ]
    for code in c751:
        for width in (1000, 1260):
            name = f"ORACAL® 751C High Performance Cast {code} {COLOURS[code]} {width} mm x 50 M 60 µ"
            yield _product(
                "06-0104",
                "vinyl-cast",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(7.6, 8.6),
            )
    c951 = ["010", "070", "021", "031", "034", "049", "050", "052", "061", "063", "074", "090"]
    for code in c951:
        for width in (1260, 1520):
            name = f"ORACAL® 951 Premium Cast {code} {COLOURS[code]} glanzend {width} mm x 50 M 50 µ"
            yield _product(
                "06-0104",
                "vinyl-cast",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(9.0, 10.2),
            )
    for code in ("010", "070"):
        name = f"ORACAL® 951 Premium Cast {code}M {COLOURS[code]} mat 1260 mm x 50 M 50 µ"
        yield _product(
            "06-0104", "vinyl-cast", name, _units_roll_per_metre(1260, 50), rng.uniform(11.5, 12.8)
        )
    c970 = ["010", "070", "031", "034", "050", "052", "061", "063", "073", "090", "312", "091"]
    for code in c970:
        for suffix, finish in (("G", "glanzend"), ("M", "mat")):
            name = (
                f"ORACAL® 970RA Premium Wrapping Cast {code}{suffix} {COLOURS[code]} {finish} "
                f"1520 mm x 25 M 110 µ"
            )
            yield _product(
                "06-0113", "vinyl-cast", name, _units_roll_per_metre(1520, 25), rng.uniform(16.5, 19.5)
            )
    for colour, finishes in (
        ("zwart", ("glanzend", "mat", "satijn")),
        ("wit", ("glanzend", "mat")),
        ("antraciet", ("mat",)),
        ("zilvergrijs", ("glanzend",)),
    ):
        for finish in finishes:
            name = f"3M™ Wrap Film 2080 {colour} {finish} 1524 mm x 25 M 90 µ"
            yield _product(
                "06-0113", "vinyl-cast", name, _units_roll_per_metre(1524, 25), rng.uniform(19.0, 23.0)
            )


def vinyl_calendered(rng: random.Random) -> Iterator[dict]:
    c651 = [
        "010",
        "070",
        "020",
        "021",
        "025",
        "031",
        "032",
        "034",
        "030",
        "040",
        "045",
        "049",
        "050",
        "051",
        "052",
        "056",
        "060",
        "061",
        "063",
        "073",
        "074",
        "080",
        "090",
        "091",
    ]
    for code in c651:
        for width in (630, 1000, 1260):
            name = f"ORACAL® 651 Intermediate Cal {code} {COLOURS[code]} glanzend {width} mm x 50 M 70 µ"
            yield _product(
                "06-0102",
                "vinyl-calendered",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(3.3, 3.9),
            )
    for code in ("010", "070", "073"):
        for width in (1000, 1260):
            name = f"ORACAL® 651 Intermediate Cal {code} {COLOURS[code]} mat {width} mm x 50 M 70 µ"
            yield _product(
                "06-0102",
                "vinyl-calendered",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(3.5, 4.1),
            )
    c641 = ["010", "070", "021", "031", "050", "061", "074"]
    for code in c641:
        for width in (1000, 1260):
            name = f"ORACAL® 641 Economy Cal {code} {COLOURS[code]} glanzend {width} mm x 50 M 75 µ"
            yield _product(
                "06-0101",
                "vinyl-calendered",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(2.2, 2.7),
            )
    for code in ("010", "070"):
        name = f"ORACAL® 641 Economy Cal {code}M {COLOURS[code]} mat 1260 mm x 50 M 75 µ"
        yield _product(
            "06-0101", "vinyl-calendered", name, _units_roll_per_metre(1260, 50), rng.uniform(2.9, 3.4)
        )
    c8300 = ["020", "025", "216", "031", "034", "030", "049", "050", "053", "061", "063", "312"]
    for code in c8300:
        for width in (630, 1260):
            name = f"ORACAL® 8300 Transparent Cal {code} {COLOURS[code]} {width} mm x 50 M 80 µ"
            yield _product(
                "06-0100",
                "vinyl-calendered",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(5.6, 6.4),
            )


def vinyl_print(rng: random.Random) -> Iterator[dict]:
    for finish in ("glanzend", "mat"):
        for slit in ("", " met slit"):
            for width in (1050, 1260, 1370, 1520, 1600):
                name = f"ORACAL® 1640 Print Vinyl wit {finish}{slit} {width} mm x 50 M 100 µ"
                yield _product(
                    "06-0000",
                    "vinyl-print",
                    name,
                    [{"unit": "rol", "per_base": 1}, {"unit": "pallet", "per_base": 18}],
                    width / 1000 * rng.uniform(118, 126),
                )
        for size in ("500 mm x 700 mm", "700 mm x 1000 mm"):
            name = f"ORACAL® 1640 Print Vinyl wit {finish} {size} 100 µ"
            per_sheet = 0.35 if size.startswith("500") else 0.7
            yield _product(
                "06-0000",
                "vinyl-print",
                name,
                [
                    {"unit": "vel", "per_base": 1},
                    {"unit": "riem", "per_base": 100},
                    {"unit": "pallet", "per_base": 2000},
                ],
                per_sheet * rng.uniform(2.2, 2.5),
            )


def inkjet_media(rng: random.Random) -> Iterator[dict]:
    widths = (1050, 1260, 1370, 1520, 1600)
    for finish in ("glanzend", "mat"):  # kept per roll
        for width in widths:
            name = f"ORAJET® 3551 wit {finish} {width} mm x 50 M 70 µ"
            yield _product(
                "06-0305",
                "inkjet-media",
                name,
                _units_roll_per_roll(width, 50),
                width / 1000 * 50 * rng.uniform(2.3, 2.6),
            )
    for finish in ("glanzend", "mat"):  # the RA neighbour is kept per metre
        for width in (1260, 1370, 1520):
            name = f"ORAJET® 3551RA wit {finish} {width} mm x 50 M 70 µ"
            yield _product(
                "06-0305",
                "inkjet-media",
                name,
                _units_roll_per_metre(width, 50),
                width / 1000 * rng.uniform(2.8, 3.1),
            )
    for finish in ("glanzend", "mat"):
        for width in (1050, 1260, 1370, 1520):
            name = f"ORAJET® 3164 transparant {finish} {width} mm x 50 M 70 µ"
            yield _product(
                "06-0305",
                "inkjet-media",
                name,
                _units_roll_per_roll(width, 50),
                width / 1000 * 50 * rng.uniform(2.4, 2.7),
            )
    for width in (1050, 1370, 1600):
        name = f"ORAJET® 3640 wit glanzend {width} mm x 50 M 80 µ"
        yield _product(
            "06-0305",
            "inkjet-media",
            name,
            _units_roll_per_roll(width, 50),
            width / 1000 * 50 * rng.uniform(2.0, 2.3),
        )
    for width in (1370, 1520):
        name = f"ORAJET® 3951RA wit glanzend {width} mm x 50 M 50 µ"
        yield _product(
            "06-0305",
            "inkjet-media",
            name,
            _units_roll_per_metre(width, 50),
            width / 1000 * rng.uniform(8.0, 8.8),
        )
    for width in (1370, 1524):
        name = f"3M™ IJ180Cv3-10 wit glanzend {width} mm x 50 M 50 µ"
        yield _product(
            "06-0305",
            "inkjet-media",
            name,
            _units_roll_per_metre(width, 50),
            width / 1000 * rng.uniform(11.0, 12.0),
        )
    for width in (1370, 1600):
        name = f"ORAJET® 3106HT Caravan Film wit mat {width} mm x 50 M 100 µ"
        yield _product(
            "06-0305",
            "inkjet-media",
            name,
            _units_roll_per_metre(width, 50),
            width / 1000 * rng.uniform(3.2, 3.6),
        )


def laminate(rng: random.Random) -> Iterator[dict]:
    series = (("ORAGUARD® 210", 50, 75, 2.6), ("ORAGUARD® 215", 50, 50, 4.3), ("ORAGUARD® 290", 50, 50, 5.4))
    for brand, length, micron, m2_price in series:
        for finish in ("glanzend", "mat"):
            for width in (1050, 1260, 1370, 1520):
                name = f"{brand} transparant {finish} {width} mm x {length} M {micron} µ"
                yield _product(
                    "06-0303",
                    "laminate",
                    name,
                    _units_roll_per_roll(width, length),
                    width / 1000 * length * m2_price * rng.uniform(0.95, 1.05),
                )
    for width in (1260, 1370):
        name = f"ORAGUARD® 210 transparant glanzend {width} mm x 25 M 75 µ"
        yield _product(
            "06-0303",
            "laminate",
            name,
            _units_roll_per_roll(width, 25),
            width / 1000 * 25 * 2.9 * rng.uniform(0.95, 1.05),
        )
    for code, finish in (("8518", "glanzend"), ("8520", "mat")):
        for width in (1370, 1524):
            name = f"3M™ Scotchcal {code} transparant {finish} {width} mm x 50 M 25 µ"
            yield _product(
                "06-0303",
                "laminate",
                name,
                _units_roll_per_roll(width, 50),
                width / 1000 * 50 * 6.1 * rng.uniform(0.95, 1.05),
            )


def application_tape(rng: random.Random) -> Iterator[dict]:
    widths = (610, 1000, 1220, 1260, 1370, 1520)
    for name_part, micron, m2_price in (
        ("ORATAPE® MT72 papier", 110, 1.1),
        ("ORATAPE® MT95 folie transparant", 80, 1.35),
        ("R-Tape® AT75 papier", 105, 1.0),
    ):
        for width in widths:
            name = f"{name_part} {width} mm x 100 M {micron} µ"
            yield _product(
                "06-0105",
                "application-tape",
                name,
                _units_roll_per_roll(width, 100),
                width / 1000 * 100 * m2_price * rng.uniform(0.95, 1.05),
            )
    for width in (1000, 1260, 1370, 1520):  # sold off the roll: kept per metre
        name = f"Mastertape papier {width} mm x 50 M 100 µ"
        yield _product(
            "06-0106",
            "application-tape",
            name,
            _units_roll_per_metre(width, 50),
            width / 1000 * rng.uniform(0.9, 1.1),
        )


def sheet_pvc_foam(rng: random.Random) -> Iterator[dict]:
    for colour, thicknesses in (
        ("wit", (1, 2, 3, 4, 5, 6, 8, 10, 19)),
        ("zwart", (3, 5, 10)),
        ("grijs", (3, 5)),
        ("rood", (3,)),
        ("blauw", (3,)),
        ("geel", (3,)),
    ):
        for w, h in ((1560, 3050), (2030, 3050)):
            for t in thicknesses:
                name = f"FOREX® Classic {colour} {w} mm x {h} mm {_fmt_mm(t)} mm"
                yield _product(
                    "06-0201",
                    "sheet-pvc-foam",
                    name,
                    _units_plate(w, h, t),
                    w * h / 1e6 * t * rng.uniform(1.6, 1.9),
                )
    for t in (3, 5, 10):
        name = f"FOREX® print wit 1560 mm x 3050 mm {_fmt_mm(t)} mm"
        yield _product(
            "06-0201",
            "sheet-pvc-foam",
            name,
            _units_plate(1560, 3050, t),
            1.56 * 3.05 * t * rng.uniform(1.9, 2.1),
        )


def sheet_acm(rng: random.Random) -> Iterator[dict]:
    variants = (
        ("DIBOND® wit glanzend", (2, 3, 4)),
        ("DIBOND® wit mat", (3,)),
        ("DIBOND® digital wit mat", (3,)),
        ("DIBOND® zwart mat", (3,)),
        ("DIBOND® geborsteld aluminium", (3,)),
        ("Alupanel® wit glanzend", (2, 3)),
    )
    for label, thicknesses in variants:
        for w, h in ((1500, 3050), (2000, 3050), (1250, 2500)):
            for t in thicknesses:
                name = f"{label} {w} mm x {h} mm {_fmt_mm(t)} mm"
                factor = 0.8 if label.startswith("Alupanel") else 1.0
                yield _product(
                    "06-0204" if label.startswith("DIBOND") else "06-0202",
                    "sheet-acm",
                    name,
                    _units_plate(w, h, t),
                    w * h / 1e6 * (10 + 4 * t) * factor * rng.uniform(0.95, 1.05),
                )


def sheet_acrylic(rng: random.Random) -> Iterator[dict]:
    for label, thicknesses in (
        ("PLEXIGLAS® GS helder", (2, 3, 4, 5, 6, 8, 10)),
        ("PLEXIGLAS® XT helder", (2, 3, 4, 5)),
        ("PLEXIGLAS® GS opaal wit", (3, 5)),
    ):
        for w, h in ((2030, 3050), (1250, 2050)):
            for t in thicknesses:
                name = f"{label} {w} mm x {h} mm {_fmt_mm(t)} mm"
                yield _product(
                    "06-0203",
                    "sheet-acrylic",
                    name,
                    _units_plate(w, h, t),
                    w * h / 1e6 * t * rng.uniform(4.2, 4.8),
                )


def sheet_petg(rng: random.Random) -> Iterator[dict]:
    for w, h in ((1250, 2050), (2050, 3050)):
        for t in (0.5, 0.75, 1, 1.5, 2, 3, 4, 6):
            name = f"VIVAK® PETG helder {w} mm x {h} mm {_fmt_mm(t)} mm"
            yield _product(
                "06-0206", "sheet-petg", name, _units_plate(w, h, t), w * h / 1e6 * t * rng.uniform(3.4, 3.8)
            )


def ink(rng: random.Random) -> Iterator[dict]:
    colours = {
        "Cyan": "C",
        "Magenta": "M",
        "Yellow": "Y",
        "Black": "K",
        "Light Cyan": "LC",
        "Light Magenta": "LM",
    }
    for colour, code in colours.items():
        name = f"Mimaki SS21 inkt {colour} 440ml cartridge (SS21-{code}-BA)"
        yield _product(
            "06-0403",
            "ink",
            name,
            [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 12}],
            rng.uniform(88, 96),
        )
        name = f"Mimaki SS21 inkt {colour} 2L pack (SS21-{code}-2L)"
        yield _product(
            "06-0403",
            "ink",
            name,
            [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 4}],
            rng.uniform(310, 340),
        )
    for colour, code in [*list(colours.items())[:4], ("White", "W")]:
        name = f"Mimaki LUS-150 inkt {colour} 1L bottle (LUS150-{code}-BA)"
        yield _product(
            "06-0403",
            "ink",
            name,
            [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 12}],
            rng.uniform(150, 175),
        )
    for colour, code in [*list(colours.items())[:4], ("White", "W")]:
        name = f"Mimaki LUS-150 inkt {colour} 600ml pack (LUS150-{code}-BD)"
        yield _product(
            "06-0403",
            "ink",
            name,
            [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 10}],
            rng.uniform(105, 120),
        )
    roland = {
        "Cyan": "CY",
        "Magenta": "MG",
        "Yellow": "YE",
        "Black": "BK",
        "Light Cyan": "LC",
        "Light Magenta": "LM",
        "Light Black": "LK",
    }
    for colour, code in roland.items():
        name = f"Roland ECO-SOL MAX 3 inkt {colour} 440ml (ESL5-4{code})"
        yield _product(
            "06-0401",
            "ink",
            name,
            [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 6}],
            rng.uniform(95, 105),
        )
    name = "Roland ECO-SOL MAX 3 Metallic Silver 440ml (ESL5-MT)"
    yield _product(
        "06-0401", "ink", name, [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 6}], 139.5
    )
    name = "Roland reinigingsvloeistof 1L (SL-CL)"
    yield _product(
        "06-0401", "ink", name, [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 6}], 61.2
    )
    for colour in ("black", "cyan", "magenta", "yellow"):
        name = f"HP 831 Latex inkt {colour} 775ml"
        yield _product(
            "06-0401",
            "ink",
            name,
            [{"unit": "stuks", "per_base": 1}, {"unit": "doos", "per_base": 6}],
            rng.uniform(118, 128),
        )


def office_paper(rng: random.Random) -> Iterator[dict]:
    sizes = {"A4": ("210 x 297 mm", 2), "A3": ("297 x 420 mm", 1), "A5": ("148 x 210 mm", 4)}
    lines = (
        ("Navigator Universal", (80,)),
        ("Navigator Office Card", (160,)),
        ("Navigator Colour Documents", (100, 120)),
        ("Double A Premium", (80,)),
        ("HP Office Paper", (80,)),
        ("Canon Black Label Zero", (75, 80)),
    )
    for label, weights in lines:
        for size_name, (size, _per_a3) in sizes.items():
            if size_name == "A5" and label not in ("Navigator Universal", "Double A Premium"):
                continue
            for gsm in weights:
                ream = 250 if gsm >= 120 else 500
                pallet = {"A4": 120000, "A3": 60000, "A5": 240000}[size_name] // (2 if gsm >= 120 else 1)
                name = f"{label} {gsm} g/m² {size} ({size_name})"
                price = gsm / 80 * rng.uniform(0.0085, 0.0105) * (2 if size_name == "A3" else 1)
                yield _product(
                    "02-0001" if label.startswith("Navigator") else "02-0003",
                    "office-paper",
                    name,
                    _units_paper(ream, 5, pallet),
                    price,
                )


def packaging_tape(rng: random.Random) -> Iterator[dict]:
    for kind, colours in (
        ("PP tape", ("transparant", "bruin")),
        ("PP tape low noise", ("transparant", "bruin")),
        ("PVC tape", ("bruin", "wit")),
    ):
        for width, per_box in ((48, 36), (75, 24)):
            for colour in colours:
                name = f"{kind} {width} mm x 66 mtr {colour}"
                yield _product(
                    "05-0400",
                    "packaging-tape",
                    name,
                    [{"unit": "rol", "per_base": 1}, {"unit": "doos", "per_base": per_box}],
                    width / 48 * rng.uniform(1.1, 1.6),
                )
    name = "Papiertape 50 mm x 50 mtr bruin"
    yield _product(
        "05-0400",
        "packaging-tape",
        name,
        [{"unit": "rol", "per_base": 1}, {"unit": "doos", "per_base": 24}],
        2.15,
    )


def stretch_film(rng: random.Random) -> Iterator[dict]:
    for width in (450, 500):
        for micron, length in ((17, 300), (20, 300), (23, 300), (23, 250), (30, 250)):
            for colour in ("transparant",) + (("zwart",) if micron == 23 and length == 300 else ()):
                name = f"Handstretchfolie {width} mm {micron} µ x {length} mtr {colour}"
                yield _product(
                    "05-0500",
                    "stretch-film",
                    name,
                    [
                        {"unit": "rol", "per_base": 1},
                        {"unit": "doos", "per_base": 6},
                        {"unit": "pallet", "per_base": 180},
                    ],
                    width / 500 * micron / 20 * length / 300 * rng.uniform(6.2, 7.0),
                )
    for micron in (17, 23):
        name = f"Machinestretchfolie 500 mm {micron} µ x 1500 mtr transparant"
        yield _product(
            "05-0500",
            "stretch-film",
            name,
            [{"unit": "rol", "per_base": 1}, {"unit": "pallet", "per_base": 40}],
            micron / 20 * rng.uniform(27, 31),
        )


def foam_profile(rng: random.Random) -> Iterator[dict]:
    for a, b in ((15, 20), (20, 25), (30, 50)):
        for length in (1, 2):
            name = f"PE-schuim U-profiel {a}/{b} mm x {length} mtr"
            yield _product(
                "05-0301",
                "foam-profile",
                name,
                [{"unit": "doos", "per_base": 1}],
                length * b / 20 * rng.uniform(14, 18),
            )
    for side in (35, 50):
        name = f"PE-schuim hoekprofiel L {side} x {side} mm x 2 mtr"
        yield _product(
            "05-0301",
            "foam-profile",
            name,
            [{"unit": "doos", "per_base": 1}],
            side / 35 * rng.uniform(22, 26),
        )


def cutting_tools(rng: random.Random) -> Iterator[dict]:
    items = (
        "Olfa afbreekmesjes AB-10 9 mm, koker 10 st.",
        "Olfa afbreekmesjes AB-50 9 mm, koker 50 st.",
        "Olfa afbreekmesjes LB-10 18 mm, koker 10 st.",
        "Olfa afbreekmesjes LB-50 18 mm, koker 50 st.",
        "Olfa afbreekmesjes HB-5 25 mm, koker 5 st.",
        "Olfa afbreekmesjes ABB-10 9 mm 30° zwart, koker 10 st.",
        "Olfa cutter L-1 18 mm",
        "Olfa cutter A-1 9 mm",
        "NT Cutter A-300GR 9 mm",
        "NT Cutter afbreekmesjes BA-170 9 mm, koker 10 st.",
        "Stanley trapeziummesjes 1992, dispenser 10 st.",
        "Snijmat groen 600 x 900 mm",
        "Snijmat groen 900 x 1200 mm",
        "Rakel vilt 100 mm",
        "Rakel teflon 100 mm",
    )
    for name in items:
        yield _product(
            "06-0500", "cutting-tools", name, [{"unit": "stuks", "per_base": 1}], rng.uniform(3.5, 45)
        )


FAMILY_BUILDERS = (
    vinyl_cast,
    vinyl_calendered,
    vinyl_print,
    inkjet_media,
    laminate,
    application_tape,
    sheet_pvc_foam,
    sheet_acm,
    sheet_acrylic,
    sheet_petg,
    ink,
    office_paper,
    packaging_tape,
    stretch_film,
    foam_profile,
    cutting_tools,
)


# discontinued articles: still in the catalog (customers still ask for them), no longer orderable
DISCONTINUED = {
    "ORACAL® 641 Economy Cal 070M zwart mat 1260 mm x 50 M 75 µ",
    "ORACAL® 651 Intermediate Cal 031 rood glanzend 1260 mm x 50 M 70 µ",
    "ORACAL® 951 Premium Cast 049 koningsblauw glanzend 1520 mm x 50 M 50 µ",
    "ORAJET® 3640 wit glanzend 1050 mm x 50 M 80 µ",
    "ORAJET® 3551 wit mat 1260 mm x 50 M 70 µ",
    "PLEXIGLAS® GS helder 1250 mm x 2050 mm 5 mm",
    "Mimaki LUS-150 inkt White 600ml pack (LUS150-W-BD)",
}


def build_catalog(seed: int = SEED) -> list[dict]:
    """All products, SKUs drawn per range from a seeded generator; discontinued ones inactive."""
    rng = random.Random(seed)
    drafts = [p for builder in FAMILY_BUILDERS for p in builder(rng)]
    used: dict[str, set[str]] = {}
    products = []
    for draft in drafts:
        prefix = draft["prefix"]
        taken = used.setdefault(prefix, set())
        suffix = f"{rng.randrange(1000, 10000):04d}"
        while suffix in taken:
            suffix = f"{rng.randrange(1000, 10000):04d}"
        taken.add(suffix)
        products.append(
            {
                "sku": f"{prefix}-{suffix}",
                "name": draft["name"],
                "base_unit": draft["base_unit"],
                "units": draft["units"],
                "unit_price": draft["unit_price"],
                "family": draft["family"],
                "active": draft["name"] not in DISCONTINUED,
            }
        )
    products.sort(key=lambda p: p["sku"])
    return products


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("products.json"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    products = build_catalog(args.seed)
    args.out.write_text(json.dumps(products, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(products)} products to {args.out}")


if __name__ == "__main__":
    main()
