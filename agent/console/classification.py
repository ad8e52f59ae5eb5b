"""Triage as an API: one email in (mailbox, sender, subject, body), a label out, with the production
triage (agent.workflow.pipeline.triage_email) underneath. Pure, apart from reading the label sets.

Per-mailbox contact reasons. An inbox may have its own label set, defined in the TOML file named
by MAILORDER_CONSOLE_LABEL_SETS; every other mailbox gets the triage labels (order, quote_request,
order_status, complaint, marketing, auto_reply, other):

    [mailbox."packaging@example.com"]
    labels = ["order", "artwork", "sample_request", "complaint", "other"]
    order_labels = ["order"]          # labels that count as orders (default: "order" when listed)
    default = "other"                 # when nothing else decides (default: the last label)
    min_similarity = 0.3              # for the labelled examples (default 0.3)

    [mailbox."packaging@example.com".keywords]   # keyword rules: words or phrases, any case
    artwork = ["artwork", "drukproef", "proof"]
    sample_request = ["sample", "samples", "monster"]

    [[mailbox."packaging@example.com".examples]]  # labelled examples
    label = "sample_request"
    text = "Kunnen jullie ons een paar dozen als proef sturen?"

For such a mailbox the first of these that applies decides:
1. a keyword rule: the first label (in the order of `labels`) with a keyword in the subject or the
   body (confidence 0.9);
2. a labelled example: the example sharing the most words with the email (Jaccard similarity of
   their word sets) when it reaches `min_similarity` (confidence 0.5 + similarity / 2);
3. the triage label, when the set has that label (triage's confidence);
4. `default` (confidence 0.5).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from mailorder.agent.workflow.pipeline import triage_email
from mailorder.domain import ParsedEmail, TriageLabel
from mailorder.mail.html import html_to_text

MAX_BODY = 1_000_000  # characters of body (and of HTML) the API reads
_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)


class ClassifyRequest(BaseModel):
    mailbox: str = Field("", max_length=320, description="the inbox that received the email")
    sender: str = Field("", max_length=998)
    subject: str = Field("", max_length=10_000)
    body: str = Field("", max_length=MAX_BODY, description="the plain-text body")
    html: str = Field("", max_length=MAX_BODY, description="optional: the HTML body, read beside the text")


class ClassifyResponse(BaseModel):
    label: str
    is_order: bool
    confidence: float
    reasons: list[str]


class LabelSetError(ValueError):
    """The label-set file cannot be used (the message says why)."""


@dataclass(frozen=True)
class Example:
    label: str
    text: str
    words: frozenset[str]


@dataclass(frozen=True)
class LabelSet:
    mailbox: str
    labels: tuple[str, ...]
    order_labels: frozenset[str]
    default: str
    keywords: dict[str, re.Pattern[str]] = field(default_factory=dict)  # label -> any of its keywords
    examples: tuple[Example, ...] = ()
    min_similarity: float = 0.3


@dataclass(frozen=True)
class LabelSets:
    by_mailbox: dict[str, LabelSet] = field(default_factory=dict)

    def for_mailbox(self, mailbox: str) -> LabelSet | None:
        return self.by_mailbox.get(mailbox.strip().lower())


def words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


def load_label_sets(path: Path | None) -> LabelSets:
    """The label sets of a TOML file (none without a file); LabelSetError names what is wrong."""
    if path is None:
        return LabelSets()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabelSetError(f"label sets {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LabelSetError(f"label sets {path}: not valid TOML ({exc})") from None
    unknown = set(raw) - {"mailbox"}
    if unknown:
        raise LabelSetError(f'label sets {path}: unknown table(s) {sorted(unknown)} (use [mailbox."…"])')
    sets = {}
    for mailbox, spec in (raw.get("mailbox") or {}).items():
        label_set = _label_set(str(mailbox), spec, path)
        sets[label_set.mailbox] = label_set
    return LabelSets(sets)


def _label_set(mailbox: str, spec: Any, path: Path) -> LabelSet:
    where = f"label sets {path}, mailbox {mailbox}"
    if not isinstance(spec, dict):
        raise LabelSetError(f"{where}: expected a table")
    unknown = set(spec) - {"labels", "order_labels", "default", "min_similarity", "keywords", "examples"}
    if unknown:
        raise LabelSetError(f"{where}: unknown key(s) {sorted(unknown)}")
    labels = tuple(str(label) for label in spec.get("labels") or [])
    if not labels:
        raise LabelSetError(f"{where}: `labels` is empty")
    known = set(labels)
    default_order = ["order"] if "order" in known else []
    order_labels = frozenset(str(label) for label in spec.get("order_labels", default_order))
    default = str(spec.get("default", labels[-1]))
    for label in [*order_labels, default]:
        if label not in known:
            raise LabelSetError(f"{where}: {label!r} is not one of its labels")
    keywords: dict[str, re.Pattern[str]] = {}
    for label, listed in (spec.get("keywords") or {}).items():
        if label not in known:
            raise LabelSetError(f"{where}: keywords for {label!r}, which is not one of its labels")
        phrases = [str(p).strip() for p in listed if str(p).strip()]
        if phrases:
            alternatives = "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases)
            keywords[label] = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    examples = []
    for n, example in enumerate(spec.get("examples") or [], 1):
        label, text = str(example.get("label", "")), str(example.get("text", ""))
        if label not in known or not text.strip():
            raise LabelSetError(f"{where}: example {n} needs one of its labels and a text")
        examples.append(Example(label, text, words(text)))
    try:
        min_similarity = float(spec.get("min_similarity", 0.3))
    except (TypeError, ValueError):
        raise LabelSetError(f"{where}: min_similarity must be a number") from None
    return LabelSet(
        mailbox=mailbox.strip().lower(),
        labels=labels,
        order_labels=order_labels,
        default=default,
        keywords={label: keywords[label] for label in labels if label in keywords},
        examples=tuple(examples),
        min_similarity=min_similarity,
    )


def parsed_email(request: ClassifyRequest) -> ParsedEmail:
    """The request as the email the triage reads (no headers: the API has none)."""
    html = request.html or ""
    return ParsedEmail(
        message_id="<classify@api.mailorder>",
        subject=request.subject,
        sender=request.sender.strip().lower(),
        to=[request.mailbox.strip().lower()] if request.mailbox.strip() else [],
        text=request.body,
        html=html,
        html_text=html_to_text(html) if html else "",
    )


def classify(request: ClassifyRequest, label_sets: LabelSets) -> ClassifyResponse:
    """The production triage, then the mailbox's own label set when it has one."""
    triage, _body = triage_email(parsed_email(request))
    label_set = label_sets.for_mailbox(request.mailbox)
    if label_set is None:
        return ClassifyResponse(
            label=str(triage.label),
            is_order=triage.label == TriageLabel.ORDER,
            confidence=round(triage.confidence, 3),
            reasons=[triage.reason] if triage.reason else [],
        )
    text = f"{request.subject}\n{request.body}\n{html_to_text(request.html) if request.html else ''}"
    label, confidence, reasons = _by_label_set(label_set, text, str(triage.label), triage.confidence)
    if triage.reason:
        reasons.append(f"triage: {triage.label} ({triage.reason})")
    return ClassifyResponse(
        label=label,
        is_order=label in label_set.order_labels,
        confidence=round(confidence, 3),
        reasons=reasons,
    )


def _by_label_set(
    label_set: LabelSet, text: str, triage_label: str, triage_confidence: float
) -> tuple[str, float, list[str]]:
    for label, pattern in label_set.keywords.items():
        found = pattern.search(text)
        if found:
            return label, 0.9, [f"keyword {found.group(0)!r} of {label}"]
    if label_set.examples:
        mine = words(text)
        best, similarity = None, 0.0
        for example in label_set.examples:
            union = len(mine | example.words)
            score = len(mine & example.words) / union if union else 0.0
            if score > similarity:
                best, similarity = example, score
        if best is not None and similarity >= label_set.min_similarity:
            return best.label, 0.5 + similarity / 2, [f"like the example {best.text[:60]!r} of {best.label}"]
    if triage_label in label_set.labels:
        return triage_label, triage_confidence, []
    return label_set.default, 0.5, [f"no rule of {label_set.mailbox} matched"]
