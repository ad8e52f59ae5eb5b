from mailorder.domain import ParsedEmail
from mailorder.mail.clean import clean_order_body, has_order_lines, split_quoted, strip_signature


def email(text: str = "", html_text: str = "") -> ParsedEmail:
    return ParsedEmail(message_id="<t@x>", text=text, html_text=html_text)


REPLY_WITH_OLD_ORDER = """Hallo,

Graag nog een keer leveren:
3x 10-0001-0001

Met vriendelijke groet,
Jan Jansen
Tel 012-3456789

Van: Verkoop <verkoop@leverancier.nl>
Verzonden: maandag 3 maart 2025 10:00
Aan: Jan <jan@klant.nl>
Onderwerp: RE: bestelling

Hallo,
5x 10-0002-0002
"""

FORWARD_POINTING_BELOW = """Kunnen jullie onderstaande bestelling verwerken?

Groet,
Piet

________________________________
From: Inkoop <inkoop@klant.nl>
Sent: Monday, June 2, 2025 09:01
To: shop <shop@leverancier.nl>
Subject: Bestelling 17

Graag 2 rollen 10-0005-0001.

Met vriendelijke groet,
Inkoop
"""


def test_reply_keeps_only_the_new_order():
    body = clean_order_body(email(REPLY_WITH_OLD_ORDER))
    assert "3x 10-0001-0001" in body.text
    assert "10-0002-0002" not in body.text and "10-0002-0002" in body.quoted
    assert "Jan Jansen" in body.signature and not body.includes_quote


def test_forward_that_points_below_takes_the_quoted_order_along():
    body = clean_order_body(email(FORWARD_POINTING_BELOW))
    assert body.includes_quote
    assert "Graag 2 rollen 10-0005-0001." in body.text
    assert "From:" not in body.text and "Inkoop\n" not in body.text


def test_complaint_forward_without_pointer_keeps_history_out():
    text = (
        "Ik mis nog een fles van de vorige levering.\n\n"
        "Van: X\nDatum: maandag\nAan: Y\nOnderwerp: Z\n\n2x cyaan"
    )
    body = clean_order_body(email(text))
    assert "2x cyaan" not in body.text and not body.includes_quote


def test_html_table_wins_over_a_flattened_text_part():
    text = "Graag:\n\nfolie A\n\n2\n\nfolie B\n\n3\n"
    html_text = "Graag:\nProduct | Aantal\nfolie A | 2\nfolie B | 3"
    body = clean_order_body(email(text, html_text))
    assert body.source == "html" and "folie A | 2" in body.text
    assert "folie B" in body.alt_text


def test_disclaimers_and_signatures_are_removed():
    text = (
        "Graag 2x 10-0001-0001\n\nDit bericht is vertrouwelijk en uitsluitend bestemd voor de "
        "geadresseerde. Indien u dit bericht ten onrechte ontvangt, verwijder het dan.\n"
    )
    assert "vertrouwelijk" not in clean_order_body(email(text)).text
    assert strip_signature("2x a\nMvg,\nPiet") == ("2x a", "Mvg,\nPiet")
    assert split_quoted("nieuw\n> oud") == ("nieuw", "> oud")


def test_order_line_shapes():
    assert has_order_lines("2x lus120 cyaan")
    assert has_order_lines("halve pallet A4")
    assert has_order_lines("zie 10-0001-0001")
    assert not has_order_lines("Hoe gaat het? Groeten")


def test_reply_adding_a_line_does_not_reorder_the_quoted_order():
    text = (
        "Kun je hier nog 2 rollen tape 1260 aan toevoegen? De rest hieronder blijft hetzelfde.\n\n"
        "Van: Inkoop <i@klant.nl>\nVerzonden: maandag\nAan: orders@x.nl\nOnderwerp: Bestelling\n\n"
        "8x 10-0001-0001\n"
    )
    body = clean_order_body(ParsedEmail(message_id="<r@x>", subject="RE: Bestelling", text=text))
    assert "8x 10-0001-0001" not in body.text and not body.includes_quote


def test_forward_adding_to_the_order_below_takes_both():
    text = (
        "Voeg hier nog 2 rollen tape 1260 aan toe, bij onderstaande bestelling.\n\n"
        "Van: Inkoop <i@klant.nl>\nVerzonden: maandag\nAan: orders@x.nl\nOnderwerp: Bestelling\n\n"
        "8x 10-0001-0001\n"
    )
    body = clean_order_body(ParsedEmail(message_id="<f@x>", subject="FW: Bestelling", text=text))
    assert "2 rollen tape" in body.text and "8x 10-0001-0001" in body.text
    assert body.quoted_taken.startswith("8x")


def test_forward_of_an_already_delivered_order_stays_out():
    text = (
        "Graag 6 dozen papier A4.\nDe bestelling hieronder is al geleverd, niet nog een keer sturen.\n\n"
        "Van: Inkoop <i@klant.nl>\nVerzonden: maandag\nAan: orders@x.nl\nOnderwerp: Bestelling\n\n"
        "12 dozen papier A4\n"
    )
    body = clean_order_body(ParsedEmail(message_id="<g@x>", subject="FW: papier", text=text))
    assert "12 dozen" not in body.text


def test_plain_text_tables_become_cells_under_their_header():
    text = (
        "Graag:\n\nRegel  Artikel       Omschrijving            Aantal\n"
        "1      10-0001-0001  Geel glanzend 1260      2\n"
        "2                    Lamifol 210 mat 1370    1\n\n"
        "Aantal\tMateriaal\tDikte\n6\tPlaatx wit\t5mm\n"
    )
    cleaned = clean_order_body(email(text)).text
    assert "Regel | Artikel | Omschrijving | Aantal" in cleaned
    assert "2 | | Lamifol 210 mat 1370 | 1" in cleaned  # the empty code cell stays empty
    assert "6 | Plaatx wit | 5mm" in cleaned


def test_a_reply_accepting_the_quoted_offer_takes_it_along_but_old_orders_stay_behind():
    quoted = (
        "\n\nVan: Verkoop <v@leverancier.nl>\nVerzonden: maandag 3 maart 2025 10:00\n"
        "Aan: Jan <jan@klant.nl>\nOnderwerp: Offerte 12\n\nOfferte:\n1. 5x 10-0002-0002\n"
    )
    accepted = clean_order_body(email("Akkoord, graag leveren." + quoted))
    assert accepted.includes_quote and "10-0002-0002" in accepted.quoted_taken
    changed = clean_order_body(email("Nogmaals hetzelfde als hieronder, alleen 6 stuks i.p.v. 5." + quoted))
    assert changed.includes_quote  # a change to the quoted order is not an order line of its own
    old = clean_order_body(
        email("Dank, die van hieronder zijn al geleverd. Nu graag 2x 10-0001-0001." + quoted)
    )
    assert not old.includes_quote
