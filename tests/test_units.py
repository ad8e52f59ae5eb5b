import itertools
import json
import random
from pathlib import Path

from mailorder.domain import Product, UnitOption
from mailorder.tools import units as unit_rules
from mailorder.tools.units import canonical_unit, natural_unit, resolve_unit, to_base


def product(base: str, *units: tuple[str, float]) -> Product:
    return Product(
        sku="10-0000-0001",
        name="x",
        base_unit=base,
        unit_price=1.0,
        units=[UnitOption(unit=u, per_base=p) for u, p in ((base, 1.0), *units)],
    )


def test_synonyms_dutch_and_english():
    cases = {
        "rollen": "rol",
        "Roll": "rol",
        "rl": "rol",
        "meter": "mtr",
        "m1": "mtr",
        "strekkende meter": "mtr",
        "st.": "stuks",
        "stk": "stuks",
        "pcs": "stuks",
        "ex": "stuks",
        "platen": "plaat",
        "vellen": "vel",
        "sheet": "vel",
        "dozen": "doos",
        "ds": "doos",
        "pak": "riem",
        "ream": "riem",
        "pal": "pallet",
        "m²": "m2",
        "vierkante meter": "m2",
    }
    for written, unit in cases.items():
        assert canonical_unit(written) == unit, written
    assert canonical_unit("banaan") is None
    assert canonical_unit(None) is None


def test_to_base_converts_through_the_products_units():
    vinyl = product("mtr", ("rol", 50.0))
    laminate = product("rol", ("mtr", 0.02))
    paper = product("vel", ("riem", 500.0), ("pallet", 100000.0))
    assert to_base(vinyl, 4, "rollen") == 200
    assert to_base(laminate, 2, "mtr") == 0.04
    assert to_base(paper, 0.5, "pallet") == 50000
    assert to_base(paper, 3, None) == 3
    assert to_base(vinyl, 1, "plaat") is None


def test_resolve_unit_maps_counts_to_the_package_unit():
    vinyl = product("mtr", ("rol", 50.0))
    assert resolve_unit(vinyl, "stuks") == ("rol", False)  # "4x" of a roll good = 4 rolls
    assert resolve_unit(vinyl, "meters") == ("mtr", False)
    assert resolve_unit(vinyl, None) == ("rol", True)
    ink = product("stuks", ("doos", 6.0))
    assert resolve_unit(ink, "x") == ("stuks", False)
    paper = product("vel", ("riem", 500.0))
    assert resolve_unit(paper, "stuks") == ("riem", True)
    assert resolve_unit(paper, "pallet") == ("pallet", True)  # not sold: flagged by draft_order
    assert natural_unit(product("plaat", ("stuks", 1.0))) == "plaat"


def test_number_words_fractions_and_thousands_become_digits():
    from mailorder.tools.units import words_to_digits

    cases = {
        "twee dozen A4": "2 dozen A4",
        "a box of 6": "1 box of 6",
        "zwei Rollen Oracal": "2 Rollen Oracal",
        "eine Rolle MT95": "1 Rolle MT95",
        "one pallet of film": "1 pallet of film",
        "10.000 vel": "10000 vel",
        "1/2 pallet": "0.5 pallet",
        "Forex 3 mm 20/25 profiel": "Forex 3 mm 20/25 profiel",  # not a fraction before a unit
        "een mooie dag": "een mooie dag",  # a number word only counts before a unit
    }
    for written, expected in cases.items():
        assert words_to_digits(written) == expected, written


def test_pack_descriptions_and_conversion_through_the_catalog_units():
    from mailorder.tools.units import convert_pack, pack_size

    assert pack_size("1 box of 12 bottles") == ("doos", 12.0, "stuks")
    assert pack_size("a box of 6") == ("doos", 6.0, None)
    assert pack_size("3 dozen PP tape (36 rol per doos)") == ("doos", 36.0, "rol")
    assert pack_size("2 ds à 5 riem HP Office") == ("doos", 5.0, "riem")
    assert pack_size("1 doos (5 pakken) Canon") == ("doos", 5.0, "riem")
    assert pack_size("3 rollen Oracal 651") is None
    paper = product("vel", ("riem", 500.0), ("doos", 2500.0))
    assert convert_pack(paper, 2, "doos", ("doos", 5.0, "riem")) == (2, "doos", True)
    assert convert_pack(paper, 2, "doos", ("doos", 4.0, "riem"))[2] is False  # contradicts the catalog
    only_reams = product("vel", ("riem", 500.0))
    assert convert_pack(only_reams, 2, "doos", ("doos", 5.0, "riem")) == (10.0, "riem", True)


def test_the_cheap_pack_checks_never_hide_a_pack():
    """pack_size looks for a pack only where its cheap check finds the pattern's fixed part: on
    generated pack phrases (and the sample emails' lines) every match of a pack pattern passes its check."""
    rng = random.Random(5)
    names = [
        "rol",
        "rollen",
        "doos",
        "dozen",
        "ds",
        "pak",
        "pakken",
        "riem",
        "vel",
        "pallet",
        "stuks",
        "box",
        "Rolle",
    ]
    shapes = [
        "{n} {a} per {b}", "1 {a} ({n} {b})", "{a} à {n} {b}", "{a} of {n}", "a {a} of {n} {b}",
        "({n} {a} in een {b})", "{n} {a} / {b}", "{a}  ( {n}{b} )", "{a}\t{n} {b}", "{a} je {n}{b}",
        "{n}{a} each {b}", "{a} mit {n} {b} drin",
    ]  # fmt: skip
    lines = [
        shape.format(n=rng.randint(1, 120), a=rng.choice(names), b=rng.choice(names))
        for shape, _ in itertools.product(shapes, range(150))
    ]
    for emails in Path(__file__).parent.parent.joinpath("data").rglob("emails.json"):
        lines += [
            ln
            for e in json.loads(emails.read_text(encoding="utf-8"))
            for ln in str(e.get("body_text") or "").splitlines()
        ]
    checks = [
        (unit_rules._PACK_OF_RX, unit_rules._MAY_PACK_OF),
        (unit_rules._PACK_PER_RX, unit_rules._MAY_PACK_PER),
        (unit_rules._PACK_BRACKETED_RX, unit_rules._MAY_BRACKET),
    ]
    found = 0
    for line in lines:
        for pattern, check in checks:
            if pattern.search(line):
                found += 1
                assert check.search(line), (line, pattern.pattern[:40])
    assert found > 1000  # the corpus does hold packs of every shape
