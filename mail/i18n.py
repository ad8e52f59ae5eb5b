"""Languages of the mail we send: gettext catalogs (mail/locale/<lang>/LC_MESSAGES/mailorder.po,
compiled in memory when first used) and money, number and date formats per locale (Babel).

Reps read summaries, notices, reminders and digests in their own language (MAILORDER_REPS
rep@example.com:nl); customers get confirmations in the language they wrote in (nl, en, de).
Update the catalogs after changing a template: `make messages`, then translate the new entries.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Literal

from babel.core import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

Language = Literal["en", "nl", "de"]
LANGUAGES: tuple[Language, ...] = ("en", "nl", "de")
LOCALES: dict[str, str] = {"en": "en_GB", "nl": "nl_NL", "de": "de_DE"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "mailorder"


def language(value: str | None, default: Language = "en") -> Language:
    """A supported language from a setting or header value ("nl", "NL-be", "de_DE"), else the default."""
    code = (value or "").strip().lower()[:2]
    for supported in LANGUAGES:
        if code == supported:
            return supported
    return default


@cache
def translations(lang: str) -> NullTranslations:
    """The catalog of one language (English is the source text: no catalog)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=LOCALES.get(lang, lang), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


@cache
def _locale(lang: str) -> Locale:
    """The Babel locale of a language, parsed once (formatting with a name parses it every call)."""
    return Locale.parse(LOCALES.get(lang, "en_GB"))


def money(amount: float | None, lang: str) -> str:
    """€ 1.234,50 (nl), €1,234.50 (en), 1.234,50 € (de)."""
    return str(format_currency(amount or 0.0, "EUR", locale=_locale(lang)))


def number(value: float | None, lang: str) -> str:
    """A quantity as a person reads it: 3, 2,5 (nl/de) or 2.5 (en); "?" when unknown."""
    if value is None:
        return "?"
    return str(format_decimal(round(value, 4), locale=_locale(lang), group_separator=False))


def day(value: date | datetime | None, lang: str) -> str:
    """3 jun 2025 / 3 Jun 2025 / 03.06.2025; with the time for a moment."""
    if value is None:
        return "—"
    locale = _locale(lang)
    if isinstance(value, datetime):
        return str(format_datetime(value, format="medium", locale=locale))
    return str(format_date(value, format="medium", locale=locale))


def moment(value: datetime, lang: str, tz: str) -> str:
    """A moment in the reader's time zone: "di 3 jun 10:45" / "Tue 3 Jun 10:45"."""
    from zoneinfo import ZoneInfo

    return str(format_datetime(value, format="EEE d MMM HH:mm", tzinfo=ZoneInfo(tz), locale=_locale(lang)))


_DUTCH = {"de", "het", "een", "en", "van", "graag", "bestelling", "bestellen", "met", "vriendelijke",
          "groet", "groeten", "wij", "ons", "willen", "voor", "levering", "alvast", "bedankt", "dank",
          "stuks", "rollen", "zijn", "ik", "je", "u", "op", "te", "niet", "wil", "hierbij",
          "goedemorgen", "goedemiddag", "beste"}  # fmt: skip
_ENGLISH = {"the", "and", "please", "order", "of", "we", "would", "like", "for", "to", "regards",
            "thanks", "thank", "you", "kind", "best", "our", "with", "is", "dear", "hello"}  # fmt: skip
_GERMAN = {"der", "die", "das", "und", "bitte", "bestellung", "bestellen", "wir", "ich", "für", "mit",
           "grüßen", "freundlichen", "vielen", "dank", "sehr", "geehrte", "hallo", "ihr", "ihre",
           "liefern", "stück", "rollen", "anbei", "folgende"}  # fmt: skip


def guess_language(text: str, default: Language = "en") -> Language:
    """The language an email reads in (stop-word count); the default when nothing stands out."""
    words = re.findall(r"[a-zà-ÿß]+", text[:5000].lower())
    counts = {
        "nl": sum(w in _DUTCH for w in words),
        "en": sum(w in _ENGLISH for w in words),
        "de": sum(w in _GERMAN for w in words),
    }
    best = max(counts, key=lambda k: counts[k])
    return language(best) if counts[best] > 0 and list(counts.values()).count(counts[best]) == 1 else default
