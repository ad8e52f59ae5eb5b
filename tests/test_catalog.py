import time

from mailorder.domain import Product, UnitOption
from mailorder.tools.catalog import CatalogIndex, find_skus, name_features, normalise_alias


def _p(sku, name, base, units, price, family="", active=True) -> Product:
    return Product(
        sku=sku,
        name=name,
        base_unit=base,
        unit_price=price,
        family=family,
        active=active,
        units=[UnitOption(unit=u, per_base=p) for u, p in units],
    )


ROLL = [("mtr", 1), ("rol", 50), ("pallet", 1200)]
SHEET = [("plaat", 1), ("stuks", 1), ("pallet", 40)]
SMALL_PRODUCTS = [
    _p(
        "10-0001-0001",
        "ACMEFOL® 500 Cast 021 geel glanzend 1260 mm x 50 M 60 µ",
        "mtr",
        ROLL,
        5.0,
        "vinyl-cast",
    ),
    _p(
        "10-0001-0002",
        "ACMEFOL® 500 Cast 021 geel glanzend 1520 mm x 50 M 60 µ",
        "mtr",
        ROLL,
        6.0,
        "vinyl-cast",
    ),
    _p(
        "10-0001-0003", "ACMEFOL® 500 Cast 070M zwart mat 1260 mm x 50 M 60 µ", "mtr", ROLL, 5.0, "vinyl-cast"
    ),
    _p(
        "10-0001-0004",
        "ACMEFOL® 600 Cast 021 geel glanzend 1260 mm x 50 M 60 µ",
        "mtr",
        ROLL,
        4.0,
        "vinyl-cast",
    ),
    _p(
        "10-0001-0005",
        "ACMEFOL® 500 Cast 216 verkeersgeel glanzend 1260 mm x 50 M 60 µ",
        "mtr",
        ROLL,
        5.0,
        "vinyl-cast",
    ),
    _p("10-0002-0001", "PLAATX Classic wit 2050 mm x 3050 mm 10 mm", "plaat", SHEET, 90.0, "sheet"),
    _p("10-0002-0002", "PLAATX Classic wit 2050 mm x 3050 mm 5 mm", "plaat", SHEET, 50.0, "sheet"),
    _p("10-0002-0003", "PLAATX Classic zwart 2050 mm x 3050 mm 10 mm", "plaat", SHEET, 95.0, "sheet"),
    _p(
        "10-0003-0001", "Jetco JX-100 inkt Cyan 1L Bottle", "stuks", [("stuks", 1), ("doos", 6)], 100.0, "ink"
    ),
    _p(
        "10-0003-0002",
        "Jetco JX-100 inkt Light cyan 1L Bottle",
        "stuks",
        [("stuks", 1), ("doos", 6)],
        100.0,
        "ink",
    ),
    _p(
        "10-0003-0003",
        "Jetco JX-100 inkt Yellow 1L Bottle",
        "stuks",
        [("stuks", 1), ("doos", 6)],
        100.0,
        "ink",
    ),
    _p(
        "10-0003-0004", "Jetco JX-200 inkt Cyan 1L Bottle", "stuks", [("stuks", 1), ("doos", 6)], 120.0, "ink"
    ),
    _p(
        "10-0004-0001",
        "PaperCo 80 g/m² 210 x 297 mm",
        "vel",
        [("vel", 1), ("riem", 500), ("pallet", 100000)],
        0.01,
        "paper",
    ),
    _p(
        "10-0004-0002",
        "PaperCo 80 g/m² 297 x 420 mm",
        "vel",
        [("vel", 1), ("riem", 500), ("pallet", 50000)],
        0.02,
        "paper",
    ),
    _p(
        "10-0005-0001",
        "LAMIFOL® 210 transparant mat 1370 mm x 50 M 70 µ",
        "rol",
        [("rol", 1), ("mtr", 0.02)],
        150.0,
        "laminate",
    ),
    _p(
        "10-0005-0002",
        "LAMIFOL® 210 transparant glanzend 1370 mm x 50 M 70 µ",
        "rol",
        [("rol", 1), ("mtr", 0.02)],
        150.0,
        "laminate",
    ),
    _p("10-0005-0003", "Tapeco papier 1370 mm x 100 M 100 µ", "rol", [("rol", 1)], 80.0, "tape"),
    _p("10-0005-0004", "Tapeco papier high tack 1370 mm x 100 M 100 µ", "rol", [("rol", 1)], 90.0, "tape"),
    _p("10-0009-0001", "Oud product 999 wit 1000 mm x 50 M", "mtr", ROLL, 1.0, "old", active=False),
]


def index() -> CatalogIndex:
    return CatalogIndex.build(SMALL_PRODUCTS, version="v1")


def top(idx: CatalogIndex, query: str) -> str:
    return idx.lookup(query, limit=3)[0].sku


def test_name_features_parse_series_code_colour_width_and_sheet_size():
    f = name_features("ACMEFOL® 500 Cast 070M zwart mat 1260 mm x 50 M 60 µ").items
    assert {"s:500", "k:070", "f:mat", "c:zwart", "wd:1260", "ln:50", "mu:60"} <= f
    sheet = name_features("PLAATX Classic wit 2050 mm x 3050 mm 10 mm").items
    assert {"sz:2050x3050", "th:10", "c:wit"} <= sheet
    assert "c:verkeers" in name_features("X 500 Cast 216 verkeersgeel").items


def test_sku_with_or_without_dashes_or_embedded_in_text():
    idx = index()
    for query in ("10-0003-0003", "1000030003", "graag 2x 10-0003-0003 geel", "10.0003.0003"):
        result = idx.lookup(query)
        assert result[0].sku == "10-0003-0003" and result[0].score == 100
    assert find_skus("a 10-0001-0001 b 10 0002 0001") == ["10-0001-0001", "10-0002-0001"]
    assert idx.get("10-0001-0001").name.startswith("ACMEFOL")
    assert idx.get("99-9999-9999") is None


def test_customer_shorthand_series_colour_and_width():
    idx = index()
    assert top(idx, "500-021 yellow 126") == "10-0001-0001"
    assert top(idx, "500-021 152 cm") == "10-0001-0002"
    assert top(idx, "600-021") == "10-0001-0004"
    assert top(idx, "500M-070 zwart") == "10-0001-0003"
    assert top(idx, "500-216 traffic yellow 1260mm") == "10-0001-0005"


def test_alphanumeric_codes_and_english_colours():
    idx = index()
    assert top(idx, "jx100 kleur cyaan") == "10-0003-0001"
    assert top(idx, "JX-100 yellow") == "10-0003-0003"
    assert top(idx, "jx200 cyan") == "10-0003-0004"


def test_sheets_by_thickness_size_and_colour():
    idx = index()
    assert top(idx, "plaatx wit 10mm") == "10-0002-0001"
    assert top(idx, "plaatx wit 5 mm 2050 x 3050") == "10-0002-0002"
    assert top(idx, "plaatx black 10 mm") == "10-0002-0003"


def test_words_typos_finish_and_paper_formats():
    idx = index()
    assert top(idx, "Lamifol laminaat 210 mat op 1370 mm. breed") == "10-0005-0001"
    assert top(idx, "lamiffol 210 gloss 1370 mm") == "10-0005-0002"
    assert top(idx, "Tapeco papieren op 1370 mm breed") == "10-0005-0003"  # fewer extras wins
    assert top(idx, "PaperCo A3") == "10-0004-0002"
    assert top(idx, "A4 papier 80 grams") == "10-0004-0001"


def test_candidates_carry_reasons_units_and_scores():
    result = index().lookup("500-021 yellow 126", limit=2)
    assert 0 <= result[1].score < result[0].score <= 100
    assert any("series 500" in r for r in result[0].reasons)
    assert result[0].units == ["mtr", "rol", "pallet"] and result[0].base_unit == "mtr"


def test_aliases_are_consulted_first():
    idx = index()
    aliases = {normalise_alias("Onze gele folie"): "10-0001-0002"}
    result = idx.lookup("onze  gele folie", aliases=aliases)
    assert result[0].sku == "10-0001-0002" and "learned alias" in result[0].reasons


def test_inactive_products_rank_lower_and_unknown_text_finds_nothing():
    idx = index()
    assert idx.lookup("hartelijk dank en tot ziens") == []
    old = [c for c in idx.lookup("oud product 999 wit", limit=5) if c.sku == "10-0009-0001"]
    assert old and "inactive" in old[0].reasons


def test_lookup_is_fast_on_a_scaled_catalog():
    products = []
    for n in range(3000):
        base = SMALL_PRODUCTS[n % len(SMALL_PRODUCTS)]
        products.append(
            base.model_copy(
                update={
                    "sku": f"20-{n // 1000:04d}-{n % 10000:04d}",
                    "name": base.name.replace("500", str(100 + n % 800)).replace("021", f"{n % 999:03d}"),
                }
            )
        )
    idx = CatalogIndex.build(products)
    started = time.perf_counter()
    for _ in range(50):
        idx.lookup("500-021 yellow 126")
    assert (time.perf_counter() - started) / 50 < 0.02


def test_german_and_english_colour_and_finish_words():
    from mailorder.tools.catalog import colour_parts

    assert colour_parts("weiss") == ["wit"] and colour_parts("schwarz") == ["zwart"]
    assert colour_parts("dunkelgrau") == ["donker", "grijs"] and colour_parts("weinrot") == ["wijn", "rood"]
    assert colour_parts("lightblue") == ["licht", "blauw"] and colour_parts("rotterdam") == []
    found = index().lookup("ACMEFOL 500 gelb glänzend 126 cm")
    assert found[0].sku == "10-0001-0001"


def test_sizes_in_centimetres_lengths_and_loose_codes():
    ix = index()
    assert ix.lookup("Plaatx weiß 10mm 205 x 305 cm")[0].sku == "10-0002-0001"
    assert ix.lookup("Plaatx wit 5 mm 305*205")[0].sku == "10-0002-0002"
    assert [sku for _, sku in ix.codes_in("art 100020003 graag")] == ["10-0002-0003"]  # a zero lost
    assert [sku for _, sku in ix.codes_in("code 10-9999-9999")] == [None]  # not in the catalog


def test_manufacturer_code_letters_and_exact_series_come_from_the_catalog_names():
    from mailorder.tools.catalog import CatalogIndex

    products = [
        _p("20-0001-0001", "Inkjet SX5 ink Cyan 1L bottle (SX5-C-BT)", "stuks", [("stuks", 1)], 50.0, "ink"),
        _p("20-0001-0002", "Inkjet SX5 ink Black 1L bottle (SX5-K-BT)", "stuks", [("stuks", 1)], 50.0, "ink"),
        _p("20-0002-0001", "PRINTJET 3500 wit glanzend 1370 mm x 50 M", "rol", [("rol", 1)], 90.0, "inkjet"),
        _p(
            "20-0002-0002", "PRINTJET 3500RA wit glanzend 1370 mm x 50 M", "rol", [("rol", 1)], 95.0, "inkjet"
        ),
        _p("20-0003-0001", "WRAP 7000 Cast 070M zwart mat 1520 mm x 25 M", "mtr", [("mtr", 1)], 9.0, "vinyl"),
        _p(
            "20-0003-0002",
            "WRAP 7000 Cast 070G zwart glanzend 1520 mm x 25 M",
            "mtr",
            [("mtr", 1)],
            9.0,
            "vinyl",
        ),
    ]
    ix = CatalogIndex.build(products)
    assert ix.lookup("Inkjet SX5 1L K")[0].sku == "20-0001-0002"  # "K" is the code letter of black
    assert ix.lookup("printjet 3500 glanzend 1370")[0].sku == "20-0002-0001"  # 3500, not 3500RA
    assert ix.lookup("printjet 3500RA glanzend 1370")[0].sku == "20-0002-0002"
    assert ix.lookup("7000-M70 1520")[0].sku == "20-0003-0001"  # M = mat, as the catalog's 070M says
    assert "same series" in ix.difference("20-0003-0001", "20-0003-0002")
    assert "glanzend instead of mat" in ix.difference("20-0003-0001", "20-0003-0002")


def test_product_family_words_in_three_languages():
    ix = index()
    assert ix.lookup("Laminierfolie 210 mat 1370")[0].sku == "10-0005-0001"
