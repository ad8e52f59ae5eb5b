"""Texts made outside the templates are shown in the rep's language: reasons, stock notes, method."""

from __future__ import annotations

import re

import pytest

from mailorder.mail import i18n, phrases

VALUES = {
    "customer": "COMP-101",
    "n": "3",
    "factor": "3",
    "total": "120.50",
    "limit": "2500.00",
    "available": "6 plaat",
    "ordered": "40 plaat",
    "lines": "1, 3",
    "in_unit": "2.4 rol",
    "sku": "06-0201-1234",
}


def filled(template: str) -> str:
    return template % {name: VALUES[name] for name in re.findall(r"%\((\w+)\)s", template)}


@pytest.mark.parametrize("lang", ["nl", "de"])
@pytest.mark.parametrize("template", phrases.TEMPLATES)
def test_every_phrase_is_shown_translated_with_its_values_kept(template, lang):
    gettext = i18n.translations(lang).gettext
    assert gettext(template) != template, f"no {lang} translation for {template!r}"
    shown = phrases.localise(filled(template), gettext)
    assert shown == gettext(template) % {n: VALUES[n] for n in re.findall(r"%\((\w+)\)s", template)}
    for name in re.findall(r"%\((\w+)\)s", template):
        assert VALUES[name] in shown


def test_english_and_unknown_texts_are_left_as_they_are():
    english = i18n.translations("en").gettext
    assert phrases.localise(filled(phrases.STOCK_SHORT), english) == filled(phrases.STOCK_SHORT)
    dutch = i18n.translations("nl").gettext
    other = "price 1.20 differs from the catalog's 1.10"
    assert phrases.localise(other, dutch) == other
    assert phrases.localise("only 6 plaat in stock but more text", dutch).startswith("only")


def test_the_most_specific_stock_note_wins():
    dutch = i18n.translations("nl").gettext
    both = filled(phrases.STOCK_SHORT_BOTH)  # "only 2.4 rol in stock (6 plaat; ordered 40 plaat)"
    assert phrases.localise(both, dutch) == "slechts 2.4 rol op voorraad (6 plaat; besteld 40 plaat)"
