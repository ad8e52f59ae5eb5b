"""Thread context for the deterministic extractor: what the customer's new words do to the order
lines found in the quoted history or in their earlier ERP orders. Pure (no I/O).

- accepting an offer or an earlier order below ("akkoord met onderstaande offerte", "go ahead with
  items 1 and 3", "bitte so liefern wie unten angeboten", "graag nogmaals hetzelfde als hieronder"):
  the quoted lines are the order, only the accepted items;
- holding something back ("de Dibond laten we nog even liggen", "not the PETG for now", "zonder de
  transfertape", "die Applikationstape brauchen wir nicht"): that line is left out;
- changing a quantity ("alleen de zwarte mat 3 rollen ipv 2", "diesmal 4 Rollen");
- "same as last time" ("zelfde bestelling als vorige keer", "same again as our last order", "wie
  beim letzten Mal"): the products of the customer's most recent ERP order, or only the ones a
  line names ("Laminierfolie wie beim letzten Mal").

Every such decision is written in the extraction notes, and the lines it touches are reviewed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mailorder.domain import Extraction, LineRequest
from mailorder.mail.clean import CleanBody
from mailorder.tools.catalog import (
    COLOUR_WORDS,
    FAMILY_PHRASES,
    FAMILY_WORDS,
    FINISH_WORDS,
    CatalogIndex,
    colour_parts,
    fold,
)
from mailorder.tools.history import HISTORY_RX, PastOrder
from mailorder.tools.units import canonical_unit, words_to_digits


class ReadLine(Protocol):
    """What the extractor reads from one line: product text and quantity."""

    text: str
    qty: float | None
    unit: str | None


LineReader = Callable[[str], ReadLine]

FROM_HISTORY = 0.85  # lines taken from an earlier order are always shown to a rep
FROM_QUOTE = 0.85

ACCEPT_RX = _ACCEPT = re.compile(
    r"\bakkoord\b|\baccoord\b|\bakkord\b|\bagreed?\b|\baccept(?:ed|ing)?\b|\bgo ahead\b|\bproceed\b|"
    r"\beinverstanden\b|\bpasst\b|so liefern|wie (?:unten )?angeboten|"
    r"\bbestätigt\b|nogmaals hetzelfde|opnieuw hetzelfde|nog een keer hetzelfde|hetzelfde als hieronder|"
    r"same as below|as (?:quoted|offered) below|zoals (?:hieronder|onderstaand) (?:aangeboden|vermeld)|"
    r"(?:graag|bitte|please) (?:leveren|liefern|deliver|send)|\bgraag\b.{0,30}\b(?:bestellen|leveren)\b|"
    r"\bbestellen wir\b|\bwe(?:'ll| will) take\b|\bok(?:é|e|ay)?\b.{0,20}\b(?:offerte|quote|angebot)\b|"
    r"\b(?:prima|ok(?:é|e|ay)?|fine|gut|in orde)\b[^.?!\n]{0,40}"
    r"\b(?:graag|leveren|bestellen|deliver|send|order|"
    r"liefern)\b|\b(?:posities|positie|items?|positionen|pos\.)\s*\d",
    re.I,
)
_ITEMS = re.compile(
    r"\b(?:items?|posities|positie|pos\.?|regels?|punten|punt|nrs?\.?|nummers?|lines?|positionen|"
    r"position|zeilen?|artikel(?:en)?|numbers?)\s+(?P<list>\d{1,2}(?:\s*(?:,|and|en|und|&|\+|/|-|to|t/m|tm|bis)\s*\d{1,2})*)",
    re.I,
)
_ARTICLE = r"(?:de|het|die|den|das|dem|der|the|onze|our|unsere)"
_PHRASE = (
    r"(?P<x>[\w-]+(?:\s+(?!laten|houden|hoeven|hebben|moeten|brauchen|bitte|for|voor|nog|noch)[\w-]+){0,2}?)"
)
_EXCLUDE = [
    re.compile(
        rf"\b{_ARTICLE}\s+{_PHRASE}\s+(?:laten|houden|hoeven|hebben|moeten)\s+(?:we|wij)\s+"
        r"(?:(?:nog|even|diesmal|deze keer|nu|voorlopig)\s+)*(?:liggen|niet|geen)\b",
        re.I,
    ),
    re.compile(rf"\b{_ARTICLE}\s+{_PHRASE}\s+brauchen\s+wir\s+(?:\w+\s+)?(?:nicht|keine?n?)\b", re.I),
    re.compile(
        rf"\b(?:zonder|without|ohne|behalve|except(?: for)?|außer|ausser)\s+{_ARTICLE}\s+{_PHRASE}"
        r"(?=[\s.,;?!]|$)",
        re.I,
    ),
    re.compile(
        rf"\bnot\s+{_ARTICLE}\s+{_PHRASE}(?=\s+(?:for now|yet|this time|please|thanks)|[.,;!?]|$)", re.I
    ),
    re.compile(
        rf"\b(?:don'?t|do not|no need to)\s+(?:send|ship|deliver|need|include)\s+{_ARTICLE}?\s*{_PHRASE}"
        r"(?=\s+again|[.,;!?]|$)",
        re.I,
    ),
    re.compile(rf"\b(?:leave out|skip|hold off on|hold back)\s+{_ARTICLE}\s+{_PHRASE}(?=[\s.,;?!]|$)", re.I),
    re.compile(rf"\bnicht\s+{_ARTICLE}\s+{_PHRASE}(?=[\s.,;?!]|$)", re.I),
    re.compile(rf"\b{_ARTICLE}\s+{_PHRASE}\s+(?:(?:nog|noch|bitte)\s+)?(?:niet|nicht)\b", re.I),
]
CHANGE_RX = _CHANGE = re.compile(
    r"\bi\.?p\.?v\.?\b|\bin plaats van\b|\binstead of\b|\b(?:an)?statt\b|\brather than\b", re.I
)
_CHANGE_QTY = re.compile(r"(?P<q>\d+(?:[.,]\d+)?)\s*(?P<u>[^\W\d_]+)?", re.I)
# words that point back rather than name a product ("dezelfde als in onderstaande bestelling")
_ANAPHOR = re.compile(
    r"^(?:dezelfde|hetzelfde|zelfde|same|onderstaande?|hieronder|below|bestelling|order|bestellung|"
    r"als|as|in|wie|unten|maar|but|aber|mal|keer|time|vorige|last|letzten?)[,.]?$",
    re.I,
)
_FILLER = {
    "alleen",
    "maar",
    "only",
    "nur",
    "just",
    "de",
    "het",
    "die",
    "den",
    "das",
    "the",
    "en",
    "and",
    "und",
    "dan",
    "then",
    "graag",
    "please",
    "bitte",
    "wel",
    "nu",
    "now",
    "this",
    "time",
    "diesmal",
    "keer",
    "deze",
    "een",
    "a",
    "ook",
    "also",
    "auch",
    "we",
    "wij",
    "wir",
    "van",
    "of",
    "von",
    "mal",
    "bij",
}


@dataclass
class Change:
    """ "alleen de zwarte mat 3 rollen ipv 2": words naming the line, the new and the old quantity."""

    words: str
    qty: float
    unit: str | None
    old: float | None = None


@dataclass
class Directives:
    """What the new text says about earlier lines."""

    accept: bool = False
    items: set[int] = field(default_factory=set)
    exclude: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def read_directives(text: str) -> Directives:
    """Acceptance, item numbers, exclusions and quantity changes in the customer's new words."""
    found = Directives(accept=bool(_ACCEPT.search(text)))
    for m in _ITEMS.finditer(text):
        found.items |= _numbers(m.group("list"))
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])|\n", text):  # not after "i.p.v."
        for pattern in _EXCLUDE:
            for m in pattern.finditer(sentence):
                phrase = m.group("x").strip()
                if _meaningful(phrase):
                    found.exclude.append(phrase)
        for clause in re.split(r",|;|\ben\b(?=\s+de\b)|\band\b(?=\s+the\b)", sentence):
            change = _change(clause)
            if change:
                found.changes.append(change)
    return found


def _numbers(text: str) -> set[int]:
    numbers: set[int] = set()
    for m in re.finditer(r"(\d{1,2})\s*(?:-|to|t/m|tm|bis)\s*(\d{1,2})|(\d{1,2})", text):
        if m.group(3):
            numbers.add(int(m.group(3)))
        else:
            numbers.update(range(int(m.group(1)), int(m.group(2)) + 1))
    return numbers


def _meaningful(phrase: str) -> bool:
    words = [w for w in fold(phrase).split() if w not in _FILLER]
    return bool(words) and not all(
        w in ("we", "wij", "ons", "us", "it", "es", "dat", "this", "that") for w in words
    )


def _change(clause: str) -> Change | None:
    """ "alleen de zwarte mat 3 rollen ipv 2" -> Change("zwarte mat", 3, "rol", old=2)."""
    m = _CHANGE.search(clause)
    if not m:
        return None
    after = re.match(r"[\s.:]*(\d+(?:[.,]\d+)?)", words_to_digits(clause[m.end() :]))
    old = float(after.group(1).replace(",", ".")) if after else None
    before = words_to_digits(clause[: m.start()])
    numbers = list(_CHANGE_QTY.finditer(before))
    if not numbers:
        return None
    last = numbers[-1]
    unit = canonical_unit(last.group("u")) if last.group("u") else None
    words = (before[: last.start()] + " " + (before[last.end() :] if unit else "")).strip()
    if last.group("u") and not unit:
        words = f"{words} {last.group('u')}"
    words = " ".join(w for w in words.split() if fold(w) not in _FILLER and not _ANAPHOR.search(w))
    return Change(words, float(last.group("q").replace(",", ".")), unit, old)


# ---------------------------------------------------------------- matching words to lines


def _phrase_features(phrase: str) -> tuple[set[str], set[str], set[str], set[str]]:
    """(colours, finishes, families, other words) a phrase names ("zwarte mat", "Laminierfolie")."""
    text = fold(phrase)
    for multi, word in FAMILY_PHRASES.items():
        text = text.replace(multi, word)
    colours: set[str] = set()
    finishes: set[str] = set()
    families: set[str] = set()
    words: set[str] = set()
    for word in re.findall(r"[a-z0-9][a-z0-9-]*", text):
        if word in _FILLER or canonical_unit(word):
            continue
        if word in FINISH_WORDS:
            finishes.add(FINISH_WORDS[word])
        elif COLOUR_WORDS.get(word) or colour_parts(word):
            colours.update(colour_parts(COLOUR_WORDS.get(word, word)))
        elif word in FAMILY_WORDS:
            families.update(FAMILY_WORDS[word])
        elif len(word) >= 3:
            words.add(word.rstrip("s") if len(word) > 4 else word)
    return colours, finishes, families, words


def _line_matches(phrase: str, name: str, family: str, source: str, known=None) -> bool:
    """Whether the words of a phrase ("de zwarte mat", "Laminierfolie", "the PETG") describe this
    line's product; `known` limits plain words to product words (others are ignored)."""
    colours, finishes, families, words = _phrase_features(phrase)
    if known is not None:
        words = {w for w in words if known(w)}
    if not (colours or finishes or families or words):
        return False
    text = fold(f"{name} {source}")
    own_colours = {c for w in re.findall(r"[a-z]+", text) for c in colour_parts(COLOUR_WORDS.get(w, w))}
    own_finishes = {FINISH_WORDS[w] for w in re.findall(r"[a-z]+", text) if w in FINISH_WORDS}
    if colours and not colours <= own_colours:
        return False
    if finishes and not finishes <= own_finishes:
        return False
    if families and family not in families:
        return False
    tokens = re.findall(r"[a-z0-9]+", text)
    for word in words:  # a whole word or the start of one ("dibond", "tape" but not "oratape")
        if not any(
            t == word or (len(word) >= 4 and t.startswith(word[: max(4, len(word) - 2)])) for t in tokens
        ):
            return False
    return True


# ---------------------------------------------------------------- applying


def apply_thread_context(
    extraction: Extraction,
    body: CleanBody,
    catalog: CatalogIndex | None,
    read: LineReader,
    history: Sequence[PastOrder] = (),
) -> None:
    """Apply the new text's directives to quoted lines and resolve references to earlier orders.

    `read` reads one line of the customer's words (quantity and product text) the way the
    extractor does; `history` is the customer's earlier orders, newest first."""
    own = body.new_text or ""
    directives = read_directives(own)
    quoted = body.quoted_taken if body.includes_quote else ""

    def describe(line: LineRequest) -> tuple[str, str]:
        product = catalog.get(line.sku) if catalog and line.sku else None
        return (product.name if product else ""), (product.family if product else "")

    if quoted and any(ln.source_text and _from(ln.source_text, quoted) for ln in extraction.lines):
        kept: list[LineRequest] = []
        for line in extraction.lines:
            if not (line.source_text and _from(line.source_text, quoted)):
                kept.append(line)
                continue
            name, family = describe(line)
            if directives.items and line.position is not None and line.position not in directives.items:
                extraction.notes.append(f"left out item {line.position} of the quoted message: not accepted")
                continue
            held = next(
                (p for p in directives.exclude if _line_matches(p, name, family, line.source_text)), None
            )
            if held is not None:
                extraction.notes.append(
                    f"left out {name or line.source_text!r}: the new text holds back {held!r}"
                )
                continue
            _apply_change(line, directives, name, family, extraction, line.source_text)
            line.confidence = min(line.confidence, FROM_QUOTE)
            kept.append(line)
        accepted = (
            f"items {', '.join(str(i) for i in sorted(directives.items))} of " if directives.items else ""
        )
        if directives.items and all(ln.position is None for ln in kept if _from(ln.source_text, quoted)):
            extraction.notes.append("review: the new text names item numbers the quoted lines do not carry")
        extraction.lines = kept
        extraction.notes.append(
            f"review: lines taken from {accepted}the quoted message below the new text"
            + (" (the new text accepts it)" if directives.accept else "")
        )
    if history and HISTORY_RX.search(own):
        _from_history(extraction, own, history[0], directives, catalog, read)


def _from(source: str, quoted: str) -> bool:
    return all(part.strip() in quoted for part in source.split("\n") if part.strip())


def _apply_change(
    line: LineRequest, directives: Directives, name: str, family: str, extraction: Extraction, source: str
) -> bool:
    """A quantity change of the new text ("alleen de zwarte 3 rollen ipv 2") on the line it names;
    `source` is the line's own text besides its product name (quoted line; "" for history)."""
    for change in directives.changes:
        named = bool(change.words) and _line_matches(change.words, name, family, source)
        by_old_qty = not change.words and change.old is not None and line.qty == change.old
        if named or by_old_qty:
            before = f"{line.qty:g} {line.unit or ''}".strip() if line.qty is not None else "?"
            line.qty, line.unit = change.qty, change.unit or line.unit
            extraction.notes.append(
                f"{name or line.source_text!r}: {before} changed to {change.qty:g} {line.unit or ''}"
            )
            return True
    return False


def _from_history(
    extraction: Extraction,
    own: str,
    order: PastOrder,
    directives: Directives,
    catalog: CatalogIndex | None,
    read: LineReader,
) -> None:
    """Lines of the customer's last order for "same as last time", whole or per named product."""
    products = {ln.sku: catalog.get(ln.sku) if catalog else None for ln in order.lines}
    families = {sku: product.family if product else "" for sku, product in products.items()}
    taken: list[LineRequest] = []
    replaced_sources: list[str] = []
    whole_order = False
    for raw in own.split("\n"):
        sentence = raw.strip()
        if not sentence or not HISTORY_RX.search(sentence):
            continue
        named = HISTORY_RX.sub(" ", sentence)
        for pattern in _EXCLUDE:  # "maar dan zonder de transfertape": held back, not named
            named = pattern.sub(" ", named)
        named = re.sub(rf"[^,;.]*(?:{_CHANGE.pattern})[^,;.]*", " ", named, flags=re.I)  # changes
        named = re.sub(
            r"\b(?:bestelling|bestellung|order|bestellen|bestelle|mag ik|kunnen we|could we|have|please)\b",
            " ",
            named,
            flags=re.I,
        )
        named_line = read(named)
        colours, _, fams, words = _phrase_features(named_line.text)
        product_words = {w for w in words if _known_word(catalog, w)}
        if not (fams or product_words or colours):
            whole_order = True
            continue
        for past in order.lines:
            family = families.get(past.sku, "")
            if _line_matches(
                named_line.text, past.product_name, family, "", lambda w: _known_word(catalog, w)
            ):
                qty = named_line.qty if named_line.qty is not None else past.qty
                unit = (named_line.unit or past.unit) if named_line.qty is not None else past.unit
                taken.append(_history_line(past.sku, qty, unit, sentence, order))
                replaced_sources.append(sentence)
                break
    if whole_order:
        for past in order.lines:
            name, family = past.product_name, families.get(past.sku, "")
            held = next((p for p in directives.exclude if _line_matches(p, name, family, "")), None)
            if held is not None:
                extraction.notes.append(
                    f"left out {name!r} of the earlier order: the new text holds back {held!r}"
                )
                continue
            if any(t.sku == past.sku for t in taken):
                continue
            line = _history_line(past.sku, past.qty, past.unit, _history_source(own), order)
            _apply_change(line, directives, name, family, extraction, "")
            taken.append(line)
    if not taken:
        extraction.notes.append("review: the email refers to an earlier order, but no earlier order matched")
        return
    skus = {t.sku for t in taken}
    extraction.lines = [
        ln
        for ln in extraction.lines
        if ln.sku not in skus and not any(s and s in ln.source_text for s in replaced_sources)
    ] + taken
    extraction.notes.append(
        f"review: {len(taken)} line(s) taken from the customer's {order.label} (same as last time)"
    )


def _known_word(catalog: CatalogIndex | None, word: str) -> bool:
    """A word the catalog's names use (a product word, code or series), not filler."""
    if catalog is None or not word:
        return catalog is None
    return catalog.has(f"w:{word}") or catalog.has(f"a:{word}") or catalog.has(f"s:{word}")


def _history_source(own: str) -> str:
    for raw in own.split("\n"):
        if HISTORY_RX.search(raw):
            return raw.strip()
    return own.strip()[:120]


def _history_line(sku: str, qty: float, unit: str | None, source: str, order: PastOrder) -> LineRequest:
    return LineRequest(
        sku=sku,
        qty=qty,
        unit=unit,
        source_text=source,
        confidence=FROM_HISTORY,
        note=f"as in the customer's {order.label} (same as last time)",
    )
