"""The decision in a rep's reply: a small grammar over the rep's own words. Pure, no I/O.

decide(new_text, subject) reads the text reply_new_text() kept (quotes and mobile footers gone):

  reply      := salutation* courtesy* decision-line rest
  decision   := leader* FORM tail            (FORM from FORMS, longest match; leader = courtesy/affirmation)
  approve    := FORM with only courtesy, affirmation, our tag "[MO-12 v1]" and . ! , : - around it,
                then only courtesy lines, edit commands, a closing ("Groet, Anna") and a signature
  reject     := FORM reason?                 (the reason runs on the next lines up to a closing/signature)
  hold       := FORM reason?                 (do not post, keep waiting)
  status     := FORM anything

Only an unconditional approval posts. A negation, deferral, condition or question (QUALIFIERS, or
"?") on the approval line or in the lines after it, or any other free text, makes the reply
"unknown" with a `refusal` naming the offending words. Outlook voting subjects ("Approve: [MO-12
v1] …", "Reject: …") decide when the body has no decision line; the body may then hold only what
may follow an approval (Approve vote) or the reason (Reject vote).

Choices: "ok", "yes", "ja", "prima", "👍" never approve on their own (they may surround an approval
word); "approve but …" is unknown even when an edit command follows, because conditions must be
explicit commands; an edit command is recognised only when its first word is a command keyword
(parse_command alone also accepts "Postpone …" as "po" + "stpone …").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from mailorder.domain import ParsedEmail
from mailorder.mail.commands import parse_command, parse_picks
from mailorder.mail.reply_text import reply_new_text

DecisionKind = Literal["approve", "reject", "status", "hold", "unknown"]
FormKind = Literal["approve", "reject", "status", "hold"]
Qualifier = Literal["negation", "deferral", "condition", "question"]
Language = Literal["en", "nl", "de"]


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str | None = None  # REJECT's (and HOLD's) reason
    text: str = ""  # the new text not consumed by the decision (edit commands live here)
    source: str = "body"  # "body" | "subject" | "none"
    refusal: str | None = None  # why a decision word present in the reply was not taken as a decision


# ---- tables ------------------------------------------------------------------------------------
# Entries are written as a rep would type them; they are tokenised like the reply, so "m.v.g."
# matches "m.v.g.", "mvg" does not (it has its own entry). Matching is case-insensitive.

FORMS: Final[dict[FormKind, dict[Language, tuple[str, ...]]]] = {
    "approve": {
        "en": ("approve", "approved", "i approve"),
        "nl": ("akkoord", "goedgekeurd", "goedkeuren", "ik ga akkoord"),
        "de": ("genehmigt", "genehmigen", "freigegeben", "freigeben", "einverstanden"),
    },
    "reject": {
        "en": ("reject", "rejected"),
        "nl": ("afgewezen", "afwijzen", "afkeuren", "afgekeurd"),
        "de": ("abgelehnt", "ablehnen"),
    },
    "status": {
        "en": ("status",),
        "nl": ("status",),
        "de": ("status",),
    },
    "hold": {
        "en": ("hold", "on hold", "wait"),
        "nl": ("wacht", "parkeer", "parkeren", "aanhouden"),
        "de": ("warten", "zurückstellen", "parken"),
    },
}

QUALIFIERS: Final[dict[Qualifier, dict[Language, tuple[str, ...]]]] = {
    "negation": {
        "en": ("not", "no", "nope", "never", "don't", "dont", "cannot"),  # and every "…n't"
        "nl": ("niet", "nee", "neen", "geen", "nooit"),
        "de": ("nicht", "nein", "kein", "keine", "nie"),
    },
    "deferral": {
        "en": (
            "later",
            "yet",
            "first",
            "wait",
            "waiting",
            "hold",
            "tomorrow",
            "tonight",
            "pending",
            "postpone",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ),
        "nl": (
            "later",
            "eerst",
            "straks",
            "wacht",
            "wachten",
            "morgen",
            "vanmiddag",
            "vanavond",
            "pas",
            "nog",
            "aanhouden",
            "maandag",
            "dinsdag",
            "woensdag",
            "donderdag",
            "vrijdag",
            "zaterdag",
            "zondag",
        ),
        "de": (
            "später",
            "erst",
            "zuerst",
            "warten",
            "morgen",
            "noch",
            "montag",
            "dienstag",
            "mittwoch",
            "donnerstag",
            "freitag",
            "samstag",
            "sonntag",
        ),
    },
    "condition": {
        "en": (
            "but",
            "unless",
            "if",
            "after",
            "when",
            "once",
            "except",
            "only",
            "provided",
            "until",
            "before",
        ),
        "nl": (
            "maar",
            "tenzij",
            "als",
            "indien",
            "na",
            "nadat",
            "wanneer",
            "zodra",
            "behalve",
            "alleen",
            "mits",
            "totdat",
            "voordat",
            "vóór",
        ),
        "de": ("aber", "wenn", "falls", "sofern", "nachdem", "außer", "nur", "sobald", "bevor"),
    },
    "question": {"en": ("?",), "nl": ("?",), "de": ("?",)},
}

COURTESY: Final[tuple[str, ...]] = (
    "please",
    "pls",
    "plz",
    "thanks",
    "thank you",
    "thanks a lot",
    "many thanks",
    "thank you very much",
    "thx",
    "ty",
    "sorry",
    "have a nice day",
    "have a good weekend",
    "have a nice weekend",
    "graag",
    "bedankt",
    "dank",
    "dank je",
    "dank je wel",
    "dankjewel",
    "dank u",
    "dank u wel",
    "dankuwel",
    "alvast bedankt",
    "alsjeblieft",
    "a.u.b.",
    "fijne dag",
    "fijn weekend",
    "bitte",
    "danke",
    "danke schön",
    "vielen dank",
    "besten dank",
    "schönes wochenende",
)
AFFIRMATIONS: Final[tuple[str, ...]] = (
    "yes",
    "yep",
    "ok",
    "okay",
    "sure",
    "fine",
    "good",
    "great",
    "perfect",
    "looks good",
    "all good",
    "sounds good",
    "ja",
    "oké",
    "oke",
    "prima",
    "top",
    "goed",
    "klopt",
    "ziet er goed uit",
    "gut",
    "perfekt",
    "passt",
    "alles klar",
)
CLOSINGS: Final[tuple[str, ...]] = (
    "kind regards",
    "best regards",
    "warm regards",
    "regards",
    "best",
    "cheers",
    "br",
    "kr",
    "rgds",
    "best wishes",
    "all the best",
    "sincerely",
    "yours sincerely",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "vriendelijke groet",
    "vriendelijke groeten",
    "hartelijke groet",
    "hartelijke groeten",
    "beste groet",
    "beste groeten",
    "groet",
    "groeten",
    "groetjes",
    "gr.",
    "mvg",
    "m.v.g.",
    "vr.gr.",
    "vrgr",
    "vriendelijke gr.",
    "mit freundlichen grüßen",
    "freundliche grüße",
    "viele grüße",
    "beste grüße",
    "liebe grüße",
    "schöne grüße",
    "grüße",
    "gruß",
    "mfg",
    "lg",
    "vg",
)
SALUTATIONS: Final[tuple[str, ...]] = (
    "hi",
    "hello",
    "hey",
    "dear",
    "good morning",
    "good afternoon",
    "good evening",
    "morning",
    "hoi",
    "hallo",
    "beste",
    "goedemorgen",
    "goedemiddag",
    "goedenavond",
    "dag",
    "guten morgen",
    "guten tag",
    "lieber",
    "liebe",
    "sehr geehrte",
    "sehr geehrter",
    "moin",
    "servus",
)
ADDRESSEES: Final[tuple[str, ...]] = (
    "all",
    "team",
    "everyone",
    "there",
    "allemaal",
    "allen",
    "iedereen",
    "zusammen",
)
MOBILE_FOOTERS: Final[tuple[str, ...]] = (
    "sent from",
    "sent with",
    "get outlook for",
    "download outlook for",
    "verzonden vanaf",
    "verzonden met",
    "verzonden via",
    "verstuurd vanaf",
    "verstuurd met",
    "verstuurd via",
    "von meinem",
    "gesendet von",
    "gesendet mit",
)
POSTSCRIPTS: Final[tuple[str, ...]] = ("ps", "p.s.", "pps", "nb", "n.b.")
REASON_LABELS: Final[tuple[str, ...]] = ("reason", "reden", "grund", "begründung")
REPLY_PREFIXES: Final[tuple[str, ...]] = ("re", "aw", "antw", "sv", "fw", "fwd", "wg", "doorst", "tr")
NAME_PARTICLES: Final[tuple[str, ...]] = (
    "de",
    "van",
    "der",
    "den",
    "ten",
    "ter",
    "te",
    "'t",
    "von",
    "zu",
    "la",
    "le",
    "du",
    "da",
    "di",
    "del",
)
# words that start an instruction, never a name: "Bel Piet" after APPROVE is not a signature
INSTRUCTION_VERBS: Final[tuple[str, ...]] = (
    "call",
    "ring",
    "phone",
    "check",
    "verify",
    "confirm",
    "ask",
    "send",
    "mail",
    "email",
    "change",
    "let",
    "see",
    "contact",
    "stop",
    "cancel",
    "ship",
    "deliver",
    "book",
    "post",
    "use",
    "update",
    "fix",
    "make",
    "bel",
    "bellen",
    "check",
    "checken",
    "controleer",
    "controleren",
    "bevestig",
    "vraag",
    "stuur",
    "wijzig",
    "zie",
    "annuleer",
    "lever",
    "leveren",
    "boek",
    "boeken",
    "gebruik",
    "maak",
    "anrufen",
    "ruf",
    "prüfen",
    "prüf",
    "schicken",
    "senden",
    "ändern",
    "frag",
    "fragen",
)
# first words of the edit commands mail.commands.parse_command understands
COMMAND_WORDS: Final[tuple[str, ...]] = (
    "line",
    "regel",
    "r",
    "l",
    "unit",
    "eenheid",
    "sku",
    "artikel",
    "remove",
    "delete",
    "verwijder",
    "verwijderen",
    "schrap",
    "add",
    "toevoegen",
    "voeg",
    "customer",
    "klant",
    "ref",
    "reference",
    "referentie",
    "po",
    "delivery",
    "levering",
    "leverdatum",
    "bezorgen",
    "note",
    "opmerking",
    "comment",
)

_SEPARATOR_LINES: Final = frozenset({"--", "-- ", "__", "—"})
_CONTACT = re.compile(
    r"\+?\d[\d ()./-]{7,}\d|@|\bwww\.|https?://|^\s*(tel|mob|mobiel|phone|fax|t|m|e)\s*[:.|]", re.IGNORECASE
)
_NOT_UNDERSTOOD: Final = "not taken as an approval; reply APPROVE alone to post"
_OTHER_TEXT: Final = "reply APPROVE alone, or use edit commands"


# ---- tokens ------------------------------------------------------------------------------------

TokenKind = Literal["word", "number", "tag", "punct", "symbol"]


@dataclass(frozen=True)
class Token:
    text: str
    norm: str
    kind: TokenKind
    start: int
    end: int


_TOKEN = re.compile(r"\[MO-\d+\s+v\d+\]|[^\W\d_]+(?:'[^\W\d_]+)*|\d+(?:[.,:/-]\d+)*|[^\w\s]", re.IGNORECASE)
_PUNCT: Final = frozenset(".,;:!?-–—()[]{}/\\&+|#=<…")
_DECORATION: Final = frozenset("*>\"'`~")


def tokenize(line: str) -> list[Token]:
    """Words, numbers, our subject tag, punctuation and symbols (emoji); decoration (* > " `) dropped."""
    line = line.replace("’", "'").replace("‘", "'")
    tokens: list[Token] = []
    for match in _TOKEN.finditer(line):
        text = match.group()
        if text in _DECORATION:
            continue
        if text.startswith("[") and len(text) > 1:
            kind: TokenKind = "tag"
            norm = " ".join(text.casefold().split())
        elif text[0].isalpha():
            kind, norm = "word", text.casefold()
        elif text[0].isdigit():
            kind, norm = "number", text
        else:
            kind, norm = ("punct" if text in _PUNCT else "symbol"), text
        tokens.append(Token(text, norm, kind, match.start(), match.end()))
    return tokens


Phrase = tuple[str, ...]


def _phrases(entries: Iterable[str]) -> frozenset[Phrase]:
    """Table entries as token tuples: their words (and '&'), without dots, so "m.v.g." is (m, v, g)."""
    return frozenset(
        tuple(t.norm for t in tokenize(entry) if t.kind == "word" or t.norm in ("&", "?"))
        for entry in entries
    )


def _words(entries: Iterable[str]) -> frozenset[str]:
    return frozenset(word for phrase in _phrases(entries) for word in phrase)


_FORM_PHRASES: Final[dict[FormKind, frozenset[Phrase]]] = {
    kind: _phrases(form for forms in by_language.values() for form in forms)
    for kind, by_language in FORMS.items()
}
_QUALIFIER_WORDS: Final[dict[Qualifier, frozenset[str]]] = {
    kind: _words(word for words in by_language.values() for word in words)
    for kind, by_language in QUALIFIERS.items()
}
_COURTESY: Final = _phrases(COURTESY)
_HARMLESS: Final = _phrases(COURTESY + AFFIRMATIONS)
_CLOSINGS: Final = _phrases(CLOSINGS)
_SALUTATIONS: Final = _phrases(SALUTATIONS)
_MOBILE_FOOTERS: Final = _phrases(MOBILE_FOOTERS)
_POSTSCRIPTS: Final = _phrases(POSTSCRIPTS)
_CONNECTORS: Final = _phrases(("and", "en", "und", "&"))
_ADDRESSEES: Final = _words(ADDRESSEES)
_PARTICLES: Final = _words(NAME_PARTICLES)
_COMMAND_WORDS: Final = _words(COMMAND_WORDS)
_REASON_LABELS: Final = _words(REASON_LABELS)
_REPLY_PREFIXES: Final = _words(REPLY_PREFIXES)
_INSTRUCTION_VERBS: Final = _words(INSTRUCTION_VERBS)
# words that are never part of a name (a signature's "Jan de Vries", an addressee's "Beste Anna")
_LEXICON: Final[frozenset[str]] = frozenset(
    word
    for words in (
        *(_words(w for ws in by_lang.values() for w in ws) for by_lang in FORMS.values()),
        *_QUALIFIER_WORDS.values(),
        _words(COURTESY + AFFIRMATIONS + CLOSINGS),
        _INSTRUCTION_VERBS,
        _COMMAND_WORDS,
    )
    for word in words
)


def _match(tokens: Sequence[Token], i: int, phrases: frozenset[Phrase]) -> int:
    """Index after the longest phrase starting at tokens[i] (punctuation between its words is
    skipped, never a '?'); i when no phrase starts there."""
    best = i
    for phrase in phrases:
        j = i
        for n, word in enumerate(phrase):
            while n and j < len(tokens) and tokens[j].kind == "punct" and tokens[j].norm not in ("?", word):
                j += 1
            if j >= len(tokens) or tokens[j].norm != word or tokens[j].kind not in ("word", "punct"):
                break
            j += 1
        else:
            best = max(best, j)
    return best


def _uncovered(tokens: Sequence[Token], phrases: frozenset[Phrase]) -> list[Token]:
    """Tokens no phrase, tag, symbol or (non-'?') punctuation accounts for."""
    left: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        end = _match(tokens, i, phrases) if token.kind == "word" else i
        if end > i:
            i = end
            continue
        if token.kind in ("word", "number") or token.norm == "?":
            left.append(token)
        i += 1
    return left


def _qualifiers(tokens: Sequence[Token]) -> list[tuple[Token, Qualifier]]:
    found: list[tuple[Token, Qualifier]] = []
    for token in tokens:
        if token.norm == "?":
            found.append((token, "question"))
        elif token.kind == "word":
            kind = _qualifier(token.norm)
            if kind is not None:
                found.append((token, kind))
    return found


def _qualifier(word: str) -> Qualifier | None:
    if word.endswith("n't"):
        return "negation"
    for kind, words in _QUALIFIER_WORDS.items():
        if word in words:
            return kind
    return None


# ---- line shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    kind: FormKind
    start: int
    end: int


def _form_at(tokens: Sequence[Token], i: int) -> _Hit | None:
    if i >= len(tokens) or tokens[i].kind != "word":
        return None
    best: _Hit | None = None
    for kind, phrases in _FORM_PHRASES.items():
        end = _match(tokens, i, phrases)
        if end > i and (best is None or end > best.end):
            best = _Hit(kind, i, end)
    return best


def _skip_leaders(tokens: Sequence[Token]) -> int:
    """Index of the first token that is not courtesy/affirmation, a tag, a symbol or punctuation."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        end = _match(tokens, i, _HARMLESS) if token.kind == "word" else i
        if end > i:
            i = end
        elif token.kind in ("tag", "symbol") or (token.kind == "punct" and token.norm != "?"):
            i += 1
        else:
            break
    return i


def _after_salutation(tokens: Sequence[Token]) -> int | None:
    """Index after "Hi," / "Beste Anna," / "Hallo team:" at the start of a line; None if none."""
    j = _match(tokens, 0, _SALUTATIONS) if tokens else 0
    if j == 0:
        return None
    names = 0
    while (
        j < len(tokens)
        and names < 3
        and tokens[j].kind == "word"
        and (_is_name_word(tokens[j]) or tokens[j].norm in _ADDRESSEES)
    ):
        j, names = j + 1, names + 1
    if j == len(tokens):
        return j
    if tokens[j].norm in (",", "!", ":", "-", "–", "."):
        return j + 1
    return None


def _is_name_word(token: Token) -> bool:
    if token.kind != "word":
        return False
    if token.norm in _PARTICLES:
        return True
    return token.text[0].isupper() and token.norm not in _LEXICON


def _is_name_line(tokens: Sequence[Token]) -> bool:
    """ "Jan", "Jan de Vries", "J. de Vries", "Anna-Lena Smit": a signature's first line."""
    words = [t for t in tokens if t.kind == "word"]
    if not 1 <= len(words) <= 4 or not words[0].text[0].isupper():
        return False
    if any(t.kind != "word" and t.norm not in (".", "-", ",", "|") for t in tokens):
        return False
    return all(_is_name_word(w) or len(w.text) == 1 for w in words)


def _is_harmless_line(tokens: Sequence[Token], extra: frozenset[Phrase] = frozenset()) -> bool:
    """Only courtesy/affirmation (plus `extra` phrases), tags, symbols and punctuation other than '?'."""
    return bool(tokens) and not _uncovered(tokens, _HARMLESS | extra)


def _names_after_courtesy(tokens: Sequence[Token], left: Sequence[Token]) -> bool:
    """ "… thanks Jan": the uncovered words are ≤ 3 name words at the end, after a courtesy/closing word."""
    first = tokens.index(left[0])
    tail = [t for t in tokens[first:] if t.kind in ("word", "number")]
    return (
        len(left) <= 3
        and tail == list(left)
        and all(_is_name_word(t) for t in left)
        and any(t.kind == "word" for t in tokens[:first])
    )


def _is_courtesy_only(tokens: Sequence[Token]) -> bool:
    return bool(tokens) and not _uncovered(tokens, _COURTESY)


def _is_closing(tokens: Sequence[Token]) -> bool:
    """ "Kind regards," / "Groet, Anna" / "Thanks & regards, Jan" / "Thanks, Jan" (thanks + a name)."""
    if not tokens or tokens[0].kind != "word":
        return False
    end = _match(tokens, 0, _CLOSINGS)
    thanks_only = end == 0
    if thanks_only and _match(tokens, 0, _COURTESY) == 0:
        return False
    left = _uncovered(tokens, _CLOSINGS | _COURTESY | _CONNECTORS)
    if not all(_is_name_word(t) for t in left) or len(left) > 4:
        return False
    return bool(left) or not thanks_only


def _is_signature_start(raw: str, tokens: Sequence[Token]) -> bool:
    """A "-- " delimiter, a mobile footer, or contact details (phone, e-mail, web)."""
    if raw.strip() in _SEPARATOR_LINES:
        return True
    if tokens and tokens[0].kind == "word" and _match(tokens, 0, _MOBILE_FOOTERS) > 0:
        return True
    return bool(_CONTACT.search(raw))


def _is_postscript(tokens: Sequence[Token]) -> bool:
    return bool(tokens) and tokens[0].kind == "word" and _match(tokens, 0, _POSTSCRIPTS) > 0


def _command_line(raw: str, tokens: Sequence[Token]) -> bool:
    """An edit command: parse_command understands it and it starts with a command keyword or a number."""
    if not tokens:
        return False
    first = tokens[0]
    if not (
        first.kind == "number" or first.norm == "#" or (first.kind == "word" and first.norm in _COMMAND_WORDS)
    ):
        return False
    return bool(parse_picks(raw)) or parse_command(raw) is not None


# ---- refusals ----------------------------------------------------------------------------------


def _quote(token: Token, kind: Qualifier) -> str:
    return f"'{token.text}' ({kind})"


def _listing(found: Sequence[tuple[Token, Qualifier]]) -> str:
    items = [_quote(token, kind) for token, kind in found[:4]]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _qualified(
    label: str,
    before: Sequence[tuple[Token, Qualifier]],
    after: Sequence[tuple[Token, Qualifier]],
    where: str = "",
) -> str:
    parts = []
    if before:
        parts.append(f"preceded by {_listing(before)}")
    if after:
        parts.append(f"followed{where} by {_listing(after)}")
    return f"{label} is {' and '.join(parts)}: {_NOT_UNDERSTOOD}"


def _other_text(label: str, snippet: str) -> str:
    snippet = " ".join(snippet.split())
    if len(snippet) > 60:
        snippet = snippet[:57] + "..."
    return f"{label} plus other instructions ('{snippet}'): {_OTHER_TEXT}"


def _line_refusal(label: str, raw: str, tokens: Sequence[Token]) -> str:
    """A line after an approval that is neither courtesy, a command, a closing nor a signature."""
    found = _qualifiers(tokens)
    if found:
        return _qualified(label, [], found, " on the next lines")
    return _other_text(label, raw)


# ---- decisions ---------------------------------------------------------------------------------


def decide(new_text: str, subject: str = "") -> Decision:
    """APPROVE / REJECT <reason> / STATUS / HOLD from the rep's new text, else an Outlook voting subject."""
    lines = _tidy(new_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).split("\n")
    vote = _vote(subject)
    found = _decision_line(lines)
    if found is not None:
        index, tokens = found
        decision = _decide_line(lines, index, tokens, _subject_tag(subject), new_text)
        if decision is not None:
            if decision.kind == "approve" and vote == "reject":
                return Decision(
                    "unknown",
                    None,
                    new_text,
                    "body",
                    "the reply says 'approve' but its subject is a Reject vote: " + _NOT_UNDERSTOOD,
                )
            return decision
    start = found[0] if found is not None else len(lines)
    if vote == "approve":
        commands, refusal = _approval_rest(lines[start:], "the Approve vote in the subject")
        if refusal is not None:
            return Decision("unknown", None, new_text, "subject", refusal)
        return Decision("approve", None, "\n".join(commands), "subject")
    if vote == "reject":
        reason, rest = _reason(lines[start:])
        return Decision("reject", reason, rest, "subject")
    return Decision("unknown", None, new_text, "none", _late_decision(lines, start))


def _decision_line(lines: Sequence[str]) -> tuple[int, list[Token]] | None:
    """The first meaningful line (after salutations and courtesy) and its tokens after a salutation."""
    for index, raw in enumerate(lines):
        tokens = tokenize(raw)
        start = _after_salutation(tokens)
        if start is not None:
            tokens = tokens[start:]
        if (
            not tokens
            or _is_harmless_line(tokens)
            or (_is_closing(tokens) and _match(tokens, 0, _COURTESY) > 0)
        ):
            continue  # "Thanks!", "👍", "Thanks Anna," before the decision
        return index, tokens
    return None


def _decide_line(
    lines: Sequence[str], index: int, tokens: list[Token], subject_tag: str | None, new_text: str
) -> Decision | None:
    lead = _skip_leaders(tokens)
    hit = _form_at(tokens, lead)
    if hit is None:
        refusal = _buried(lines[index], tokens)
        return Decision("unknown", None, new_text, "body", refusal) if refusal else None
    raw = lines[index]
    after = lines[index + 1 :]
    rest_of_line = raw[tokens[hit.end - 1].end :]
    if hit.kind == "approve":
        refusal = _approval_line(raw, tokens, hit, subject_tag)
        if refusal is None:
            commands, refusal = _approval_rest(after, _label(tokens, hit))
            if refusal is None:
                return Decision("approve", None, "\n".join(commands), "body")
        return Decision("unknown", None, new_text, "body", refusal)
    if hit.kind == "status":  # "Status?", "Status please" leave nothing on their line
        said = [t for t in _uncovered(tokens[hit.end :], _HARMLESS) if t.norm != "?"]
        return Decision(
            "status", None, _tidy([_clean_start(rest_of_line) if said else "", *list(after)]), "body"
        )
    if _is_question(tokens, hit):
        return Decision(
            "unknown", None, new_text, "body", f"{_label(tokens, hit)} is a question: nothing was decided"
        )
    reason, rest = _reason([rest_of_line, *after])
    return Decision(hit.kind, reason, rest, "body")


def _label(tokens: Sequence[Token], hit: _Hit) -> str:
    return "'" + " ".join(t.text for t in tokens[hit.start : hit.end] if t.kind == "word") + "'"


def _approval_line(raw: str, tokens: Sequence[Token], hit: _Hit, subject_tag: str | None) -> str | None:
    """Why the approval line is not an unconditional approval; None when it is."""
    label = _label(tokens, hit)
    before, after = tokens[: hit.start], tokens[hit.end :]
    if _qualifiers(before) or _qualifiers(after):
        return _qualified(label, _qualifiers(before), _qualifiers(after))
    left = _uncovered(after, _HARMLESS | _CLOSINGS)  # "Akkoord, groet Piet" on a phone
    if left and not _names_after_courtesy(after, left):
        return _other_text(label, raw[left[0].start :])
    for token in tokens:
        if token.kind == "tag" and subject_tag is not None and token.norm != tokenize(subject_tag)[0].norm:
            return f"{label} names {token.text} but this reply is about {subject_tag}: {_NOT_UNDERSTOOD}"
    return None


def _approval_rest(lines: Sequence[str], label: str) -> tuple[list[str], str | None]:
    """The edit commands after an approval, or why the lines after it qualify it.

    Allowed: blank lines, courtesy, edit commands, a closing, and a signature. After a closing, a
    "-- " or a mobile footer everything is signature except a P.S. or an edit command (refused: it
    would be easy to miss). After a bare name line ("Jan") short lines are still read: a qualifier
    or an instruction there refuses.
    """
    commands: list[str] = []
    signature: Literal["none", "weak", "strong"] = "none"
    for raw in lines:
        tokens = tokenize(raw)
        if not tokens:
            continue
        if _is_postscript(tokens):
            return commands, _line_refusal(label, raw, tokens)
        if _command_line(raw, tokens):
            if signature != "none":
                return commands, f"an edit command ('{raw.strip()}') follows the signature: {_OTHER_TEXT}"
            op = parse_command(raw)
            found = _qualifiers(tokenize(op.value or "")) if op is not None else []
            if found:
                return commands, (
                    f"{label} is followed by an edit command ('{raw.strip()}') with "
                    f"{_listing(found)}: {_NOT_UNDERSTOOD}"
                )
            commands.append(raw.strip())
            continue
        if signature == "strong":
            continue
        if _is_closing(tokens) or _is_signature_start(raw, tokens):
            signature = "strong"
            continue
        if signature == "weak":
            words = [t for t in tokens if t.kind == "word"]
            if len(words) <= 8 and (_qualifiers(tokens) or (words and words[0].norm in _INSTRUCTION_VERBS)):
                return commands, _line_refusal(label, raw, tokens)
            continue
        if _is_harmless_line(tokens, _FORM_PHRASES["approve"]):
            continue
        if _is_name_line(tokens):
            signature = "weak"
            continue
        return commands, _line_refusal(label, raw, tokens)
    return commands, None


def _buried(raw: str, tokens: Sequence[Token]) -> str | None:
    """A refusal when the line holds an approval word not at its start, or a negated reject."""
    for i in range(len(tokens)):
        hit = _form_at(tokens, i)
        if hit is None:
            continue
        before = _qualifiers(tokens[:i])
        if hit.kind == "approve":
            label = _label(tokens, hit)
            after = _qualifiers(tokens[hit.end :])
            if before or after:
                return _qualified(label, before, after)
            return _other_text(label, raw[: tokens[i].start]) + " (the approval word must come first)"
        previous = next((t for t in reversed(tokens[:i]) if t.kind == "word"), None)
        if hit.kind == "reject" and previous is not None and _qualifier(previous.norm) == "negation":
            return f"{_label(tokens, hit)} is negated by '{previous.text}': nothing was decided"
    return None


def _is_question(tokens: Sequence[Token], hit: _Hit) -> bool:
    """'Reject?', 'Afwijzen dan?', 'Hold this?': a '?' right after the word, or a short line ending in one."""
    after = [t for t in tokens[hit.end :] if t.kind != "tag"]
    if after and after[0].norm == "?":
        return True
    words = [t for t in after if t.kind in ("word", "number")]
    return bool(after) and after[-1].norm == "?" and len(words) <= 2


def _late_decision(lines: Sequence[str], start: int) -> str | None:
    """Why an approval word further down did not count (the reply must start with it)."""
    for raw in lines[start + 1 :]:
        tokens = tokenize(raw)
        for i in range(len(tokens)):
            hit = _form_at(tokens, i)
            if hit is not None and hit.kind == "approve":
                return (
                    f"{_label(tokens, hit)} is not on the first line (it follows other text): "
                    f"{_NOT_UNDERSTOOD}"
                )
    return None


def _vote(subject: str) -> FormKind | None:
    """Outlook voting-button subjects: "Approve: [MO-12 v1] …", "RE: Goedkeuren: …", "REJECT [MO-12 v1]"."""
    tokens = tokenize(subject or "")
    i = 0
    while i + 1 < len(tokens) and tokens[i].norm in _REPLY_PREFIXES and tokens[i + 1].norm == ":":
        i += 2
    hit = _form_at(tokens, i)
    if hit is None or hit.kind not in ("approve", "reject") or hit.end >= len(tokens):
        return None
    following = tokens[hit.end]
    return hit.kind if following.norm == ":" or following.kind == "tag" else None


def _subject_tag(subject: str) -> str | None:
    """Our tag in the subject ("[MO-12 v1]") as written there."""
    return next((t.text for t in tokenize(subject or "") if t.kind == "tag"), None)


# ---- reasons -----------------------------------------------------------------------------------


def _reason(lines: Sequence[str]) -> tuple[str | None, str]:
    """The reason (first line and the lines after it up to a closing or signature), and the rest."""
    end = len(lines)
    for index in range(1, len(lines)):
        raw = lines[index]
        tokens = tokenize(raw)
        if raw.strip() in _SEPARATOR_LINES or (
            tokens
            and (_is_closing(tokens) or _is_courtesy_only(tokens) or _match(tokens, 0, _MOBILE_FOOTERS) > 0)
        ):
            end = index
            break
        if not raw.strip() and _looks_like_signature(_paragraph(lines, index + 1)):
            end = index
            break
    reason = _clean_start(_tidy(lines[:end]))
    return reason or None, _tidy(lines[end:])


def _paragraph(lines: Sequence[str], start: int) -> list[str]:
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return list(lines[start:end])


def _looks_like_signature(paragraph: Sequence[str]) -> bool:
    if not paragraph:
        return False
    return _is_name_line(tokenize(paragraph[0])) or any(_CONTACT.search(line) for line in paragraph)


def _clean_start(text: str) -> str:
    """Text without leading punctuation, decoration, our tag or a "Reason:" label."""
    tokens = tokenize(text)
    i = 0
    while i < len(tokens) and (
        tokens[i].kind == "tag" or (tokens[i].kind == "punct" and tokens[i].norm in ".:,;!-–—=|")
    ):
        i += 1
    if (
        i + 1 < len(tokens)
        and tokens[i].norm in _REASON_LABELS
        and tokens[i + 1].norm in (":", "=", "-", "–")
    ):
        i += 2
    if i >= len(tokens):
        return ""
    return text[tokens[i].start :].strip().rstrip("*_").strip()


def _tidy(lines: Iterable[str]) -> str:
    result: list[str] = []
    for line in (line.rstrip() for line in lines):
        if line or (result and result[-1]):
            result.append(line)
    while result and not result[-1]:
        result.pop()
    return "\n".join(result)


def read_decision(email: ParsedEmail) -> Decision:
    """The decision of a reply: the rep's own words (quotes and signatures cut), then its subject."""
    return decide(reply_new_text(email), email.subject)
