"""Catalog index: attribute parsing of product names and customer text, and ranked lookup.

Build once with `CatalogIndex.build(products)`; `lookup(query)` returns ranked Candidates.
Both sides are reduced to comparable features (strings with a category prefix):
  s:751  series          k:063  colour code       a:lus120  alphanumeric code
  c:groen colour part    f:mat  finish            wd:1260   roll width (mm)
  ln:50  roll length (m) th:10  thickness (mm)    sz:2030x3050 sheet size (mm)
  g:80   grammage        mu:60  micron            w:forex   plain word
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any

from rapidfuzz import fuzz, process

from mailorder.domain import Candidate, Product

log = logging.getLogger(__name__)

# Dutch colour parts (compounds like "limegroen" or "verkeersgeel" split into these)
COLOUR_PARTS = (
    "transparant",
    "ultramarijn",
    "antraciet",
    "bordeaux",
    "turkoois",
    "magenta",
    "metallic",
    "verkeers",
    "signaal",
    "konings",
    "enziaan",
    "amethist",
    "brilliant",
    "zilver",
    "oranje",
    "violet",
    "donker",
    "middel",
    "pastel",
    "petrol",
    "kobalt",
    "zwart",
    "groen",
    "grijs",
    "bruin",
    "paars",
    "cyaan",
    "beige",
    "creme",
    "ivoor",
    "hemel",
    "alpha",
    "licht",
    "helder",
    "opaal",
    "koper",
    "brons",
    "fluor",
    "khaki",
    "azuur",
    "olijf",
    "blauw",
    "geel",
    "rood",
    "goud",
    "roze",
    "lime",
    "mint",
    "zand",
    "lila",
    "wijn",
    "zee",
    "wit",
)
# English (and inflected Dutch) colour words -> Dutch colour part
COLOUR_WORDS = {
    "white": "wit",
    "witte": "wit",
    "black": "zwart",
    "zwarte": "zwart",
    "yellow": "geel",
    "gele": "geel",
    "red": "rood",
    "rode": "rood",
    "blue": "blauw",
    "blauwe": "blauw",
    "green": "groen",
    "groene": "groen",
    "grey": "grijs",
    "gray": "grijs",
    "grijze": "grijs",
    "silver": "zilver",
    "gold": "goud",
    "golden": "goud",
    "orange": "oranje",
    "brown": "bruin",
    "bruine": "bruin",
    "purple": "paars",
    "pink": "roze",
    "transparent": "transparant",
    "clear": "transparant",
    "helder": "transparant",
    "cyan": "cyaan",
    "light": "licht",
    "lichte": "licht",
    "dark": "donker",
    "donkere": "donker",
    "traffic": "verkeers",
    "signal": "signaal",
    "sky": "hemel",
    "royal": "konings",
    "sea": "zee",
    "sand": "zand",
    "copper": "koper",
    "bronze": "brons",
    "anthracite": "antraciet",
    "lilac": "lila",
    "turquoise": "turkoois",
    "olive": "olijf",
    "cream": "creme",
    "ivory": "ivoor",
    "wine": "wijn",
    "azure": "azuur",
    "gentian": "enziaan",
    "ultramarine": "ultramarijn",
    "kleurloos": "transparant",
    "crème": "creme",
    "glasklar": "transparant",
    "glashelder": "transparant",
    # German (folded: weiß -> weiss, grün -> grun)
    "weiss": "wit",
    "weisse": "wit",
    "weissen": "wit",
    "weisser": "wit",
    "weisses": "wit",
    "schwarz": "zwart",
    "schwarze": "zwart",
    "schwarzen": "zwart",
    "schwarzer": "zwart",
    "schwarzes": "zwart",
    "rot": "rood",
    "rote": "rood",
    "roten": "rood",
    "blau": "blauw",
    "blaue": "blauw",
    "blauen": "blauw",
    "grun": "groen",
    "grune": "groen",
    "gelb": "geel",
    "gelbe": "geel",
    "grau": "grijs",
    "graue": "grijs",
    "silber": "zilver",
    "braun": "bruin",
    "klar": "transparant",
    "durchsichtig": "transparant",
    "dunkel": "donker",
    "hell": "licht",
    "lila": "lila",
}
# parts of compound colour words in other languages ("dunkelgrau", "weinrot", "lightblue")
COLOUR_PART_WORDS = {
    "dunkel": "donker",
    "hell": "licht",
    "licht": "licht",
    "dark": "donker",
    "light": "licht",
    "grau": "grijs",
    "grey": "grijs",
    "gray": "grijs",
    "blau": "blauw",
    "blue": "blauw",
    "grun": "groen",
    "green": "groen",
    "rot": "rood",
    "red": "rood",
    "gelb": "geel",
    "yellow": "geel",
    "schwarz": "zwart",
    "black": "zwart",
    "weiss": "wit",
    "white": "wit",
    "wein": "wijn",
    "silber": "zilver",
    "silver": "zilver",
    "braun": "bruin",
    "brown": "bruin",
    "verkehrs": "verkeers",
    "himmel": "hemel",
    "konigs": "konings",
}
FINISH_WORDS = {
    "glanzend": "glanzend",
    "glans": "glanzend",
    "gloss": "glanzend",
    "glossy": "glanzend",
    "hoogglans": "glanzend",
    "hoogglanzend": "glanzend",
    "mat": "mat",
    "matt": "mat",
    "matte": "mat",
    "matt.": "mat",
    "zijdeglans": "zijdeglans",
    "zijdeglanzend": "zijdeglans",
    "satin": "zijdeglans",
    "satijn": "zijdeglans",
    "semigloss": "zijdeglans",
    "glanz": "glanzend",
    "glanzende": "glanzend",
    "hochglanz": "glanzend",
    "hochglanzend": "glanzend",
    "matter": "mat",
    "mattes": "mat",
    "matten": "mat",
    "satijnmat": "zijdeglans",
    "seidenmatt": "zijdeglans",
    "seidenglanz": "zijdeglans",
    "seidenglanzend": "zijdeglans",
    "satiniert": "zijdeglans",
}
FINISH_LETTERS = {"g": "glanzend", "m": "mat"}
# manufacturer finish letters in colour codes ("2080-M12", "S12", "G10"): S is satin everywhere;
# the catalog's own codes ("070M ... mat") add to / confirm these at index time
FINISH_CODE_LETTERS = {"g": "glanzend", "m": "mat", "s": "zijdeglans"}
# generic product nouns (NL, EN, DE) -> catalog families: "laminaat", "Laminierfolie", "application tape"
FAMILY_WORDS: dict[str, tuple[str, ...]] = {
    "laminaat": ("laminate",),
    "laminate": ("laminate",),
    "laminat": ("laminate",),
    "laminierfolie": ("laminate",),
    "laminiertfolie": ("laminate",),
    "lamineerfolie": ("laminate",),
    "overlaminaat": ("laminate",),
    "overlaminate": ("laminate",),
    "schutzfolie": ("laminate",),
    "applicatietape": ("application-tape",),
    "applicatiefolie": ("application-tape",),
    "transfertape": ("application-tape",),
    "transferfolie": ("application-tape",),
    "applikationstape": ("application-tape",),
    "applikationsfolie": ("application-tape",),
    "ubertragungsfolie": ("application-tape",),
    "ubertragungstape": ("application-tape",),
    "montagefolie": ("application-tape",),
    "premask": ("application-tape",),
    "druckfolie": ("inkjet-media", "vinyl-print"),
    "digitaldruckfolie": ("inkjet-media", "vinyl-print"),
    "printfolie": ("inkjet-media", "vinyl-print"),
    "printmedia": ("inkjet-media", "vinyl-print"),
    "printvinyl": ("vinyl-print", "inkjet-media"),
    "plotterfolie": ("vinyl-calendered", "vinyl-cast"),
    "plottfolie": ("vinyl-calendered", "vinyl-cast"),
    "plotfolie": ("vinyl-calendered", "vinyl-cast"),
    "snijfolie": ("vinyl-calendered", "vinyl-cast"),
    "wrapfolie": ("vinyl-cast",),
    "wrapfilm": ("vinyl-cast",),
    "inkt": ("ink",),
    "ink": ("ink",),
    "inks": ("ink",),
    "tinte": ("ink",),
    "kopieerpapier": ("office-paper",),
    "printpapier": ("office-paper",),
    "kopierpapier": ("office-paper",),
    "paper": ("office-paper",),
    "papier": ("office-paper",),
    "stretchfolie": ("stretch-film",),
    "wikkelfolie": ("stretch-film",),
    "verpakkingstape": ("packaging-tape",),
    "packband": ("packaging-tape",),
    "klebeband": ("packaging-tape",),
    "paketband": ("packaging-tape",),
    "afbreekmesjes": ("cutting-tools",),
    "abbrechklingen": ("cutting-tools",),
    "klingen": ("cutting-tools",),
    "blades": ("cutting-tools",),
    "mesjes": ("cutting-tools",),
    "acrylglas": ("sheet-acrylic",),
    "acryl": ("sheet-acrylic",),
    "acrylic": ("sheet-acrylic",),
    "perspex": ("sheet-acrylic",),
    "plexi": ("sheet-acrylic",),
    "acm": ("sheet-acm",),
    "verbundplatte": ("sheet-acm",),
    "aluverbund": ("sheet-acm",),
    "hartschaum": ("sheet-pvc-foam",),
    "hartschaumplatte": ("sheet-pvc-foam",),
    "schuimplaat": ("sheet-pvc-foam",),
    "foamboard": ("sheet-pvc-foam",),
}
# multi-word product nouns, folded, joined before tokenising ("application tape" -> "applicationtape")
FAMILY_PHRASES = {
    "application tape": "applicatietape",
    "transfer tape": "transfertape",
    "app tape": "applicatietape",
    "packing tape": "verpakkingstape",
    "packaging tape": "verpakkingstape",
    "parcel tape": "verpakkingstape",
    "stretch film": "stretchfolie",
    "stretch wrap": "stretchfolie",
    "print media": "printmedia",
    "print film": "printfolie",
    "copy paper": "kopieerpapier",
    "cutting vinyl": "plotterfolie",
    "snap-off blades": "afbreekmesjes",
    "snap off blades": "afbreekmesjes",
    "pvc foam": "hartschaum",
    "pvc schuim": "hartschaum",
}
# English / German product words -> the catalog's (Dutch) word, used when the word itself is unknown
WORD_SYNONYMS = {
    "cleaning": "reinigingsvloeistof",
    "cleaner": "reinigingsvloeistof",
    "reiniger": "reinigingsvloeistof",
    "reinigung": "reinigingsvloeistof",
    "reinigungsflussigkeit": "reinigingsvloeistof",
    "reinigingsmiddel": "reinigingsvloeistof",
    "brushed": "geborsteld",
    "geburstet": "geborsteld",
    "geburstete": "geborsteld",
    "geburstetes": "geborsteld",
    "foam": "schuim",
    "schaum": "schuim",
    "blades": "afbreekmesjes",
    "klingen": "afbreekmesjes",
    "abbrechklingen": "afbreekmesjes",
    "squeegee": "rakel",
    "film": "folie",
    "corner": "hoekprofiel",
    "paper": "papier",
}
PAPER_FORMATS = {"a3": "297x420", "a4": "210x297", "a5": "148x210", "a2": "420x594"}
STOP_WORDS = {
    "mm",
    "m",
    "x",
    "en",
    "de",
    "het",
    "op",
    "met",
    "van",
    "voor",
    "t",
    "b",
    "v",
    "tbv",
    "cm",
    "the",
    "and",
    "for",
    "with",
    "of",
    "in",
    "een",
    "graag",
    "kleur",
    "color",
    "colour",
    "per",
    "te",
    "aan",
    "om",
    "ve",
    "l",
    "mtr",
    "g",
    "breed",
    "breedte",
    "ex",
    "stuks",
    "rol",
    "rollen",
}

_NUM = r"\d+(?:[.,]\d+)?"
_SIZE_RX = re.compile(rf"({_NUM})\s*(mm|cm)?\s*[x×\*]\s*({_NUM})\s*(mm|cm|mtr|m)?\b", re.I)
_THICK_RX = re.compile(rf"(?<![\w.,])({_NUM})\s*mm\b", re.I)
_MICRON_RX = re.compile(r"(\d+)\s*(?:µ|μ|mu|my|micron|mic)(?![a-z])", re.I)
_LENGTH_AFTER_X_RX = re.compile(r"[x×*]\s*(\d{1,4})\s*(?:m|mtr|meter|metres?|lfm)\b", re.I)
# grammage: "80 g", "80g/m²", "120 gr"; a glued "070G" or "312G" is a colour code with its finish
_GRAM_RX = re.compile(
    r"(?<![\d.,])(?!0)(\d{2,3})(?:\s*(?:g/m2|g/m²|gr/m2|grams?|gr\b)|\s+g\b|(?<![3-9]\d\d)g\b)", re.I
)
_TOKEN_RX = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SERIES_RX = re.compile(r"^(\d{2,5})([a-z]{0,3})$")
_CODE_RX = re.compile(r"^(\d{3})([a-z]?)$")
_CODE_HEAD_RX = re.compile(r"^([a-z]{1,4}\d{2,4})(?=[a-z])")
_FINISH_CODE_RX = re.compile(r"(?<![\w-])(\d{3,5})([gm])(?![\w-])")
_NEGATION_RX = re.compile(
    r"\b(?:zonder|without|ohne|geen|no|not|niet|nicht|kein|keine|keinen)\s+(?:de\s+|het\s+|the\s+|die\s+|der\s+)?"
    r"([a-z]{3,}(?:\s+[a-z]{3,})?)"
)
_MFR_FINISH_RX = re.compile(r"(?<![\w-])(\d{3,4})[a-z]{0,3}[-\s/]([gms])(\d{1,3})(?![\w-])")
_SHORTHAND_RX = re.compile(r"(?<![\w-])(\d{3,4})([a-z]{0,3})[-/](\d{3})([a-z]?)(?![\w-])")


def fold(text: str) -> str:
    """Lower case, accents and trademark signs removed, m² -> m2."""
    text = text.replace("²", "2").replace("®", " ").replace("™", " ").replace("©", " ").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or ch == "\u0301")
    return text.lower().replace("\u0301", "")


def to_number(text: str) -> float:
    return float(text.replace(",", "."))


def fmt(value: float) -> str:
    return f"{value:g}"


_ALL_PARTS = sorted({*COLOUR_PARTS, *COLOUR_PART_WORDS}, key=len, reverse=True)


@lru_cache(maxsize=50_000)
def colour_parts(word: str) -> list[str]:
    """Split a (compound) colour word into Dutch colour parts; [] when it is not a colour.

    Dutch, English and German: "limegroen", "dunkelgrau", "weinrot", "lightblue"."""
    word = COLOUR_WORDS.get(word, word)
    if word in COLOUR_PARTS:
        return [word]
    parts: list[str] = []
    rest = word
    while rest:
        head = next((p for p in _ALL_PARTS if rest.startswith(p)), None)
        if head is None:
            return []
        parts.append(COLOUR_PART_WORDS.get(head, head))
        rest = rest[len(head) :]
    return parts


@dataclass
class Features:
    """Features of one name or query; `categories` maps a category to its values."""

    items: set[str] = field(default_factory=set)

    def add(self, feature: str) -> None:
        self.items.add(feature)

    def values(self, category: str) -> set[str]:
        prefix = category + ":"
        return {f[len(prefix) :] for f in self.items if f.startswith(prefix)}


def dimensions(text: str) -> tuple[dict[str, set[str]], str]:
    """Widths, lengths, sizes, thickness, micron and grammage; returns them and the rest text."""
    found: dict[str, set[str]] = {k: set() for k in ("wd", "ln", "sz", "th", "mu", "g")}
    rest = text

    def take_size(m: re.Match) -> str:
        a, first, b, unit = (
            to_number(m.group(1)),
            (m.group(2) or "").lower(),
            to_number(m.group(3)),
            (m.group(4) or "").lower(),
        )
        if unit in ("m", "mtr") and b < 5000:
            found["wd"].add(fmt(a * 10 if first == "cm" else a))  # "126 cm x 50 m"
            found["ln"].add(fmt(b))
        else:
            scale = 10 if unit == "cm" else 1
            lo, hi = sorted((a * scale, b * scale))
            found["sz"].add(f"{fmt(lo)}x{fmt(hi)}")
        return " "

    rest = _SIZE_RX.sub(take_size, rest)
    for m in _MICRON_RX.finditer(rest):
        found["mu"].add(m.group(1))
    for m in _GRAM_RX.finditer(rest):
        found["g"].add(m.group(1))
    rest = _MICRON_RX.sub(" ", _GRAM_RX.sub(" ", rest))
    for m in _LENGTH_AFTER_X_RX.finditer(rest):
        found["ln"].add(m.group(1))
    rest = _LENGTH_AFTER_X_RX.sub(" ", rest)
    for m in _THICK_RX.finditer(rest):
        value = to_number(m.group(1))
        if value <= 50:
            found["th"].add(fmt(value))
        else:
            found["wd"].add(fmt(value))
    rest = _THICK_RX.sub(" ", rest)
    return found, rest


def name_features(name: str) -> Features:
    """Features of a catalog product name."""
    feats = Features()
    text = fold(name)
    dims, rest = dimensions(text)
    for cat, vals in dims.items():
        for v in vals:
            feats.add(f"{cat}:{v}")
    for size in dims["sz"]:
        for fmt_name, fmt_size in PAPER_FORMATS.items():
            if size == fmt_size:
                feats.add(f"w:{fmt_name}")
    seen_series = False
    for token in _TOKEN_RX.findall(rest):
        _token_features(token, feats, catalog=True, seen_series=seen_series)
        joined = token.replace("-", "")
        if not seen_series and _SERIES_RX.match(joined):
            seen_series = True
            feats.add(f"sx:{joined}")  # the series as written: 3551 vs 3551RA
        for segment in _code_segments(token):
            feats.add(f"cs:{segment}")
    return feats


def _code_segments(token: str) -> list[str]:
    """Letter groups of a manufacturer code: SS21-K-BA -> k, ba; ESL5-4LC -> lc; LUS150-C-BD -> c, bd."""
    parts = token.split("-")
    if len(parts) < 2 or not any(ch.isdigit() for ch in parts[0]):
        return []
    segments = []
    for part in parts[1:]:
        letters = part.lstrip("0123456789")
        if letters and letters.isalpha() and len(letters) <= 3:
            segments.append(letters)
    return segments


def _token_features(token: str, feats: Features, *, catalog: bool, seen_series: bool) -> None:
    joined = token.replace("-", "")
    if any(ch.isdigit() for ch in joined) and any(ch.isalpha() for ch in joined):
        feats.add(f"a:{joined}")
        head = _CODE_HEAD_RX.match(joined)
        if head and head.group(1) != joined:
            feats.add(f"a:{head.group(1)}")  # IJ180Cv3 is asked for as "ij180"
    series = _SERIES_RX.match(joined)
    code = _CODE_RX.match(joined)
    if catalog and seen_series and code:
        feats.add(f"k:{code.group(1)}")
        if code.group(2) in FINISH_LETTERS:
            feats.add(f"f:{FINISH_LETTERS[code.group(2)]}")
    elif series and not (catalog and seen_series):
        feats.add(f"s:{series.group(1)}")
    for part in token.split("-"):
        if part in FINISH_WORDS:
            feats.add(f"f:{FINISH_WORDS[part]}")
            continue
        colours = colour_parts(part)
        if colours:
            for c in colours:
                feats.add(f"c:{c}")
            continue
        if part.isalpha() and len(part) > 1 and part not in STOP_WORDS:
            feats.add(f"w:{part}")


# ---------------------------------------------------------------- queries

SKU_RX = re.compile(r"(?<![\d-])(\d{2})[-. ]?(\d{4})[-. ]?(\d{4})(?![\d-])")
_CM_RX = re.compile(r"(?<![\w.,])(?<![x×*]\s)(?<![x×*])(\d{2,3}(?:[.,]\d)?)\s*cm\b(?!\s*[x×*]\s*\d)", re.I)
_LENGTH_RX = re.compile(
    r"(?<![\w.,])(?<![x×*]\s)(?<![x×*])(\d{1,4})\s*(?:m|mtr|meter|meters|metre|metres|mtrs|lfm)\b"
    r"(?!\s*[x×*²2]|\s*breed)",
    re.I,
)
_LOOSE_CODE_RX = re.compile(r"(?<![\d-])(\d{9})(?![\d-])")
_METRE_WIDTH_RX = re.compile(r"(?<![\w.,])([0-3][.,]\d{1,3})\s*(?:m|mtr|meter)\b(?!\s*x)", re.I)
_FORMAT_RX = re.compile(r"\b(a[2-5])\b")

WEIGHTS = {
    "s": 30.0,
    "k": 30.0,
    "a": 30.0,
    "c": 12.0,
    "f": 10.0,
    "wd": 20.0,
    "th": 15.0,
    "sz": 20.0,
    "g": 10.0,
    "mu": 5.0,
    "ln": 8.0,
    "sx": 6.0,
    "cs": 20.0,
    "fam": 12.0,
}
CATEGORY_LABEL = {
    "s": "series",
    "k": "colour code",
    "a": "code",
    "c": "colour",
    "f": "finish",
    "wd": "width mm",
    "th": "thickness mm",
    "sz": "size mm",
    "g": "g/m2",
    "mu": "micron",
    "ln": "length m",
    "w": "word",
    "sx": "series",
    "cs": "code",
    "fam": "family",
}


# short words of NL/EN/DE text that are never a code segment ("je" of "LUS190-W-BA-1-JE")
SHORT_WORDS = frozenset(
    [
        "je",
        "de",
        "en",
        "an",
        "in",
        "op",
        "of",
        "to",
        "at",
        "um",
        "zu",
        "im",
        "am",
        "er",
        "es",
        "we",
        "ik",
        "my",
        "me",
        "is",
        "as",
        "by",
        "so",
        "no",
        "ok",
        "ja",
        "nu",
        "al",
        "of",
        "om",
        "te",
        "ob",
        "da",
        "wo",
        "du",
        "sie",
        "ich",
        "wir",
        "uns",
        "und",
        "der",
        "die",
        "das",
        "den",
        "dem",
        "ein",
        "mit",
        "von",
        "vor",
        "bij",
        "als",
        "dan",
        "wat",
        "wie",
        "hoe",
        "the",
        "and",
        "for",
        "you",
        "are",
        "not",
        "but",
        "can",
        "all",
        "our",
        "has",
        "its",
        "per",
        "via",
        "van",
        "het",
        "een",
        "aan",
        "met",
    ]
)
_DIFFERENCE_LABELS = (
    ("wd", "", " mm"),
    ("sz", "", " mm"),
    ("th", "", " mm thick"),
    ("ln", "", " m long"),
    ("c", "colour ", ""),
    ("f", "", ""),
    ("k", "colour code ", ""),
    ("mu", "", " µ"),
    ("g", "", " g/m²"),
)


@dataclass
class Group:
    """One thing the query says; alternatives are readings of one ambiguous token."""

    features: list[str]
    weight: float
    explicit: bool = True  # explicit groups penalise products with a different value
    negative: bool = False  # the customer said "without" this
    category: str = field(init=False)

    def __post_init__(self) -> None:
        self.category = self.features[0].split(":", 1)[0]


class _Query:
    """What scoring needs of a parsed query, computed once per lookup instead of per product."""

    def __init__(self, groups: list[Group], text: str) -> None:
        self.groups, self.text = groups, text
        wanted = [g for g in groups if not g.negative]
        self.total = sum(g.weight for g in wanted)
        self.features = {f for g in wanted for f in g.features}
        self.asks_colour = any(g.category == "c" for g in groups)


def find_skus(text: str) -> list[str]:
    """Every SKU-shaped code in the text, normalised to NN-NNNN-NNNN."""
    return [f"{a}-{b}-{c}" for a, b, c in SKU_RX.findall(text)]


def normalise_alias(text: str) -> str:
    """The key under which learned aliases are stored."""
    return re.sub(r"\s+", " ", fold(text)).strip(" .,;:-")


_QTY_WORDS = re.compile(
    r"^\s*-?\d+(?:[.,]\d+)?\s*(?:x|st|stuks?|rol(?:len)?|mtr|m|platen|plaat|vel(?:len)?|"
    r"doos|dozen|riem|pak|pallets?)?\b\.?\s*",
    re.IGNORECASE,
)


def _near_alias(query: str, aliases: Mapping[str, Any]) -> Any:
    """A learned alias whose text is the query with quantity or filler around it.

    The extractor looks up the product part of a line ("Navigator A5 80 g"), while the alias
    was stored under the whole source line ("2x Navigator A5 80 g zoals altijd"). Match when
    the query's words are (nearly) all in the alias text and make up most of it."""
    wanted = normalise_alias(_QTY_WORDS.sub("", query))
    words = wanted.split()
    if len(words) < 2:
        return None
    best, best_score = None, 0.0
    for key, value in aliases.items():
        stripped = normalise_alias(_QTY_WORDS.sub("", key))
        coverage = len(words) / max(1, len(stripped.split()))
        score = fuzz.token_set_ratio(wanted, stripped)
        if score >= 95 and coverage >= 0.6 and score > best_score:
            best, best_score = value, score
    return best


# ---------------------------------------------------------------- index


class CatalogIndex:
    """An inverted index over parsed product attributes with rapidfuzz re-ranking."""

    def __init__(self, products: list[Product], version: str = "") -> None:
        self.version = version
        self.products = products
        self.by_sku = {p.sku: p for p in products}
        self._position = {p.sku: i for i, p in enumerate(products)}
        self._feats: list[frozenset[str]] = []
        self._folded: list[str] = []
        postings: dict[str, list[int]] = {}
        for i, product in enumerate(products):
            feats = frozenset(name_features(product.name).items | {f"fam:{product.family}"})
            self._feats.append(feats)
            self._folded.append(fold(product.name))
            for f in feats:
                postings.setdefault(f, []).append(i)
        self._postings = {f: frozenset(ids) for f, ids in postings.items()}
        n = max(len(products), 1)
        self._idf = {f: math.log(1 + n / len(ids)) for f, ids in self._postings.items()}
        self._words = sorted(f[2:] for f in self._postings if f.startswith("w:"))
        self._profiles: dict[int, dict[str, tuple[str, ...]]] = {}
        self._lookup_word = lru_cache(maxsize=20000)(self._closest_word)
        self.finish_letters = self._derive_finish_letters()
        self._parsed: dict[str, list[Group]] = {}

    def _derive_finish_letters(self) -> dict[str, str]:
        """Finish letters of colour codes as this catalog uses them ("070M ... mat" -> m: mat),
        over the manufacturers' usual letters."""
        votes: dict[str, dict[str, int]] = {}
        for feats in self._feats:
            finishes = [f[2:] for f in feats if f.startswith("f:")]
            if len(finishes) != 1:
                continue
            for f in feats:
                m = re.fullmatch(r"a:\d{3}([a-z])", f)
                if m:
                    counts = votes.setdefault(m.group(1), {})
                    counts[finishes[0]] = counts.get(finishes[0], 0) + 1
        letters = dict(FINISH_CODE_LETTERS)
        for letter, counts in votes.items():
            letters[letter] = max(counts, key=counts.__getitem__)
        return letters

    def codes_in(self, text: str) -> list[tuple[str, str | None]]:
        """Article codes written in the text: (as written, catalog SKU or None). Besides NN-NNNN-NNNN
        (any separators) a nine-digit code whose group lost a leading zero resolves when exactly
        one reading is a catalog SKU ("063054181" -> 06-0305-4181)."""
        found: list[tuple[str, str | None]] = []
        for m in SKU_RX.finditer(text):
            sku = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
            found.append((m.group(0), sku if sku in self.by_sku else None))
        for m in _LOOSE_CODE_RX.finditer(text):
            d = m.group(1)
            readings = {
                f"{d[:2]}-0{d[2:5]}-{d[5:]}",
                f"{d[:2]}-{d[2:6]}-0{d[6:]}",
                f"0{d[0]}-{d[1:5]}-{d[5:]}",
            }
            known = [r for r in readings if r in self.by_sku]
            found.append((d, known[0] if len(known) == 1 else None))
        return found

    @classmethod
    def build(cls, products: Iterable[Product], version: str = "") -> CatalogIndex:
        index = cls(list(products), version)
        log.info(
            "catalog index built: %d products, %d features, version %s",
            len(index.products),
            len(index._postings),
            version or "-",
        )
        return index

    def __len__(self) -> int:
        return len(self.products)

    def get(self, sku: str | None) -> Product | None:
        if not sku:
            return None
        found = self.by_sku.get(sku.strip())
        if found is None:
            skus = find_skus(sku)
            found = self.by_sku.get(skus[0]) if skus else None
        return found

    def has(self, feature: str) -> bool:
        return feature in self._postings

    def features_of(self, sku: str) -> frozenset[str]:
        i = self._position.get(sku)
        return self._feats[i] if i is not None else frozenset()

    def difference(self, chosen: str, other: str) -> str:
        """How `other` differs from `chosen`, for a rep picking between them:
        "same series, 1560x3050 instead of 2030x3050 mm"."""
        a, b = self.features_of(chosen), self.features_of(other)

        def values(feats: frozenset[str], category: str) -> set[str]:
            prefix = category + ":"
            return {f[len(prefix) :] for f in feats if f.startswith(prefix)}

        parts: list[str] = []
        series_a, series_b = values(a, "s") | values(a, "a"), values(b, "s") | values(b, "a")
        if series_a & series_b:
            parts.append("same series")
        elif values(a, "fam") == values(b, "fam"):
            parts.append("other series")
        else:
            parts.append("other product family")
        for category, label, unit in _DIFFERENCE_LABELS:
            mine, theirs = values(a, category), values(b, category)
            if theirs and mine != theirs:
                was = "/".join(sorted(mine)) or "none"
                parts.append(f"{label}{'/'.join(sorted(theirs))} instead of {was}{unit}")
        if not self.by_sku[other].active:
            parts.append("inactive")
        return ", ".join(parts)

    # ------------------------------------------------------------ lookup

    def lookup(
        self,
        query: str,
        limit: int = 5,
        customer_id: str | None = None,
        aliases: Mapping[str, Any] | None = None,
    ) -> list[Candidate]:
        """Ranked candidates for free text: SKUs, shorthand codes, names with attributes.

        `aliases` (normalised source text -> sku) are consulted first. `customer_id` is
        accepted for customer-specific ranking (not used by the index itself yet).
        """
        results: list[Candidate] = []
        if aliases:  # flat {text: sku} or learned {text: (sku, unit, reason)} for this customer
            hit = aliases.get(normalise_alias(query)) or _near_alias(query, aliases)
            sku, reason = (
                (hit, "learned alias") if isinstance(hit, str) else (hit[0], hit[2]) if hit else (None, "")
            )
            if sku and sku in self.by_sku:
                candidate = self._candidate(
                    self.by_sku[sku], 100.0, [reason if isinstance(hit, str) else f"alias {reason}"]
                )
                candidate.learned_unit = None if isinstance(hit, str) else hit[1]
                results.append(candidate)
        for written, sku in self.codes_in(query):
            product = self.by_sku.get(sku) if sku else None
            if product and all(c.sku != product.sku for c in results):
                results.append(self._candidate(product, 100.0, [f"SKU {written} in text"]))
        if results:
            return results[:limit]
        groups = self.parse_query(query)
        if not groups:
            return []
        ids = self._shortlist(groups)
        parsed = _Query(groups, fold(query))
        scored = [(self._score(i, parsed, None), i) for i in ids]  # reasons for the winners only
        scored.sort(key=lambda item: (-item[0], self.products[item[1]].sku))
        candidates = []
        for score, i in scored[:limit]:
            reasons: list[str] = []
            self._score(i, parsed, reasons)
            candidates.append(self._candidate(self.products[i], score, reasons))
        return candidates

    def parse_query(self, query: str) -> list[Group]:
        """Turn customer text into weighted feature groups, keeping only what the catalog knows.

        The extractor reads a line's features and then looks the same text up: the groups of
        recent queries are kept (read-only; callers do not change them)."""
        groups = self._parsed.get(query)
        if groups is None:
            if len(self._parsed) > 4096:
                self._parsed.clear()
            groups = self._parsed[query] = self._parse_query(query)
        return groups

    def _parse_query(self, query: str) -> list[Group]:
        text = fold(SKU_RX.sub(" ", query))
        text = _LOOSE_CODE_RX.sub(" ", text)
        for phrase, word in FAMILY_PHRASES.items():
            if phrase in text:
                text = text.replace(phrase, word)
        groups: list[Group] = []

        def add(features: list[str], explicit: bool = True) -> None:
            known = [f for f in features if f in self._postings]
            category = features[0].split(":", 1)[0] if features else ""
            features = features[:1] if not known else features
            if known:
                weight = max(self._weight(f) for f in known)
                groups.append(Group(known, weight, explicit))
            elif explicit and category in ("sz", "wd", "th"):
                # a dimension the catalog does not stock (cut size): lowers every score alike
                groups.append(Group(features, WEIGHTS[category] / 2, False))

        for m in _MFR_FINISH_RX.finditer(text):  # "2080-M12": series 2080, matte (colour 12 unknown)
            series, letter, colour = m.groups()
            add([f"s:{series}"])
            if f"k:{int(colour):03d}" in self._postings:
                add([f"k:{int(colour):03d}"], explicit=False)
            add([f"f:{self.finish_letters[letter]}"])
        text = _MFR_FINISH_RX.sub(" ", text)
        for m in _SHORTHAND_RX.finditer(text):
            series, letters, code, suffix = m.groups()
            add([f"s:{series}"])
            add([f"k:{code}"])
            for letter in (letters[-1:] if letters else "", suffix):
                if letter in FINISH_LETTERS:
                    add([f"f:{FINISH_LETTERS[letter]}"])
        text = _SHORTHAND_RX.sub(" ", text)
        text = _CM_RX.sub(lambda m: f" {fmt(to_number(m.group(1)) * 10)} mm ", text)
        text = _METRE_WIDTH_RX.sub(lambda m: f" {fmt(to_number(m.group(1)) * 1000)} mm ", text)

        def length(m: re.Match) -> str:  # "25 meter", "50m": a roll length (but "970M" is a series, matte)
            value = int(m.group(1))
            glued_m = m.group(0)[-1:] in "mM" and m.group(0)[-2:-1].isdigit()
            if glued_m and value >= 100 and f"s:{value}" in self._postings:
                return m.group(0)
            add([f"ln:{value}"])
            return " "

        text = _LENGTH_RX.sub(length, text)
        for m in _FINISH_CODE_RX.finditer(text):  # "3164G" = series 3164, glossy
            number, letter = m.groups()
            if letter == "g" and len(number) == 3 and number[0] != "0" and int(number) <= 300:
                continue  # "160g": a grammage
            add([f"f:{FINISH_LETTERS[letter]}"])
        for m in _NEGATION_RX.finditer(text):  # "zonder slit", "not low noise": such products rank lower
            for word in m.group(1).split():
                for group in self._token_groups(word):
                    groups.append(Group(group.features[:1], group.weight, explicit=False, negative=True))
        text = _NEGATION_RX.sub(" ", text)
        for m in _FORMAT_RX.finditer(text):
            add([f"sz:{PAPER_FORMATS[m.group(1)]}"])
        text = _FORMAT_RX.sub(" ", text)
        dims, rest = dimensions(text)
        for category, values in dims.items():
            for value in values:
                if category in ("wd", "th"):  # "48mm" is a tape width or a sheet thickness
                    add([f"{category}:{value}", f"{'th' if category == 'wd' else 'wd'}:{value}"])
                elif category == "sz" and f"sz:{value}" not in self._postings:
                    lo, hi = (to_number(v) for v in value.split("x"))  # "156x305": centimetres
                    add([f"sz:{fmt(lo * 10)}x{fmt(hi * 10)}"] if lo < 400 else [f"sz:{value}"])
                else:
                    add([f"{category}:{value}"])
        seen: set[str] = {f for g in groups for f in g.features}
        for token, after_number in self._query_tokens(rest):
            for group in self._token_groups(token, code_segment=not after_number):
                if not set(group.features) & seen:
                    groups.append(group)
                    seen.update(group.features)
        return groups

    def _query_tokens(self, rest: str) -> list[tuple[str, bool]]:
        """Tokens of the rest text, adjacent words joined when the catalog knows the compound
        ("hand stretchfolie" -> "handstretchfolie"); the flag says a number came just before."""
        found = [(m.group(), rest[: m.start()].rstrip()[-1:].isdigit()) for m in _TOKEN_RX.finditer(rest)]
        tokens: list[tuple[str, bool]] = []
        i = 0
        while i < len(found):
            for width in (3, 2):
                parts = found[i : i + width]
                if len(parts) == width and all(p[0].isalpha() for p in parts):
                    joined = "".join(p[0] for p in parts)
                    if f"w:{joined}" in self._postings or joined in FAMILY_WORDS:
                        tokens.append((joined, parts[0][1]))
                        i += width
                        break
            else:
                tokens.append(found[i])
                i += 1
        return tokens

    def _token_groups(self, token: str, code_segment: bool = False) -> list[Group]:
        if token.isdigit():
            return self._number_group(token)
        feats = Features()
        _token_features(token, feats, catalog=False, seen_series=False)
        groups: list[Group] = []
        if (
            code_segment
            and token.isalpha()
            and len(token) <= 3
            and token not in SHORT_WORDS
            and f"cs:{token}" in self._postings
        ):
            groups.append(Group([f"cs:{token}"], WEIGHTS["cs"], explicit=False))  # "K" of SS21-K-BA
        for f in sorted(feats.items):
            if f.startswith("w:") and f not in self._postings:
                word = f[2:]
                families = [f"fam:{x}" for x in FAMILY_WORDS.get(word, ()) if f"fam:{x}" in self._postings]
                if families:  # "Laminierfolie", "transfertape": the product family
                    groups.append(Group(families, WEIGHTS["fam"], explicit=False))
                    continue
                synonym = WORD_SYNONYMS.get(word)
                close = synonym if synonym and f"w:{synonym}" in self._postings else self._lookup_word(word)
                if close is None:
                    continue
                f = f"w:{close}"
            if f.startswith("s:"):
                exact = f"sx:{token.replace('-', '')}"
                if exact in self._postings:
                    groups.append(Group([exact], WEIGHTS["sx"], explicit=False))
            if f in self._postings:
                groups.append(Group([f], self._weight(f), f.split(":")[0] in ("f", "c", "s")))
        return groups

    def _number_group(self, token: str) -> list[Group]:
        """A bare number: a series, a colour code or a width (cm or mm), whichever exists."""
        value = int(token)
        options = [f"s:{value}", f"k:{token}"] if len(token) >= 2 else []
        if 50 <= value <= 320:
            options.append(f"wd:{value * 10}")
        if 300 <= value <= 3200:
            options.append(f"wd:{value}")
        known = [f for f in options if f in self._postings]
        if not known:
            return []
        groups = [Group(known, max(self._weight(f) for f in known), explicit=False)]
        if f"s:{value}" in known and f"sx:{token}" in self._postings:
            groups.append(Group([f"sx:{token}"], WEIGHTS["sx"], explicit=False))  # 3551, not 3551RA
        return groups

    def _closest_word(self, word: str) -> str | None:
        if len(word) < 4 or word in STOP_WORDS:
            return None
        for length in range(len(word) - 1, 3, -1):  # papieren -> papier
            if f"w:{word[:length]}" in self._postings and length >= len(word) - 3:
                return word[:length]
        for start in range(1, len(word) - 3):  # breekslit -> slit (Dutch compounds)
            if f"w:{word[start:]}" in self._postings:
                return word[start:]
        match = process.extractOne(word, self._words, scorer=fuzz.ratio, score_cutoff=84)
        return match[0] if match else None

    def _weight(self, feature: str) -> float:
        category = feature.split(":", 1)[0]
        if category == "w":
            return min(14.0, max(3.0, 3.0 * self._idf.get(feature, 1.0)))
        return WEIGHTS.get(category, 5.0)

    def _shortlist(self, groups: list[Group], cap: int = 60) -> set[int]:
        """Candidates by greedy intersection (strongest first, rarest first) plus top partial scores."""
        posting = {id(g): self._group_postings(g) for g in groups}
        live = [g for g in groups if posting[id(g)] and not g.negative]
        if not live:
            return set()
        picked: set[int] = set()
        for order in (
            sorted(live, key=lambda g: (-g.weight, len(posting[id(g)]))),
            sorted(live, key=lambda g: len(posting[id(g)])),
        ):
            current = posting[id(order[0])]
            for g in order[1:]:
                if len(current) <= cap // 2:
                    break
                narrowed = current & posting[id(g)]
                if narrowed:
                    current = narrowed
            picked.update(islice(current, cap))
        acc: dict[int, float] = {}
        budget = 6000
        for g in sorted(live, key=lambda g: len(posting[id(g)])):
            ids = posting[id(g)]
            if len(ids) > budget:
                break
            budget -= len(ids)
            weight = g.weight
            for i in ids:
                acc[i] = acc.get(i, 0.0) + weight
        picked.update(heapq.nlargest(cap, acc, key=acc.__getitem__))
        return picked

    def _group_postings(self, group: Group) -> frozenset[int]:
        lists = [self._postings[f] for f in group.features if f in self._postings]
        if len(lists) == 1:
            return lists[0]
        return frozenset().union(*lists) if lists else frozenset()

    def _profile(self, i: int) -> dict[str, tuple[str, ...]]:
        """Features of product i by category (cached for products that get scored)."""
        profile = self._profiles.get(i)
        if profile is None:
            grouped: dict[str, list[str]] = {}
            for f in self._feats[i]:
                grouped.setdefault(f.split(":", 1)[0], []).append(f)
            profile = {k: tuple(v) for k, v in grouped.items()}
            if len(self._profiles) > 50_000:
                self._profiles.clear()
            self._profiles[i] = profile
        return profile

    def _score(self, i: int, query: _Query, reasons: list[str] | None) -> float:
        """Score of product i for the query; explains it into `reasons` when given a list."""
        feats = self._feats[i]
        profile = self._profile(i)
        product = self.products[i]
        matched = 0.0
        for g in query.groups:
            if g.negative:
                if g.features[0] in feats:
                    matched -= g.weight
                    if reasons is not None:
                        reasons.append(f"has {g.features[0][2:]} (not wanted)")
                continue
            for hit in g.features:
                if hit in feats:
                    break
            else:
                hit = None
            if hit:
                matched += g.weight
                if reasons is not None and g.category != "w":
                    reasons.append(f"{CATEGORY_LABEL.get(g.category, g.category)} {hit.split(':', 1)[1]}")
            elif g.explicit and g.category != "w":
                own = profile.get(g.category)
                if own:
                    matched -= g.weight / 2
                    if reasons is not None:
                        values = ", ".join(sorted(x.split(":", 1)[1] for x in own))
                        reasons.append(f"{CATEGORY_LABEL.get(g.category, g.category)} differs ({values})")
        coverage = max(0.0, matched) / query.total if query.total else 0.0
        extra_words = sum(1 for f in profile.get("w", ()) if f not in query.features)
        extra_colours = (
            sum(1 for f in profile.get("c", ()) if f not in query.features) if query.asks_colour else 0
        )
        penalty = min(6.0, 0.7 * extra_words) + 4.0 * extra_colours
        similarity = fuzz.token_set_ratio(query.text, self._folded[i])
        score = 88.0 * coverage + 12.0 * similarity / 100.0 - penalty
        if not product.active:
            score -= 10.0
            if reasons is not None:
                reasons.append("inactive")
        return round(max(0.0, min(100.0, score)), 1)

    @staticmethod
    def _candidate(product: Product, score: float, reasons: list[str]) -> Candidate:
        return Candidate(
            sku=product.sku,
            name=product.name,
            score=score,
            reasons=reasons,
            base_unit=product.base_unit,
            units=[u.unit for u in product.units],
        )
