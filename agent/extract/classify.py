"""Is this email an order? Headers first (auto replies, bulk mail), then the customer's new text. Pure."""

from __future__ import annotations

import re

from mailorder.domain import ParsedEmail, Triage, TriageLabel
from mailorder.mail.clean import CleanBody, has_order_lines

_AUTO_SUBJECT = re.compile(
    r"automatisch(?:e)? (?:antwoord|reply)|out of (?:the )?office|afwezig|autoreply|auto-reply|"
    r"automatic reply|abwesenheit|undeliver|delivery status notification|mail delivery failed|"
    r"returned mail|niet bezorgd|onbestelbaar|delivery has failed|read:|gelezen:",
    re.I,
)
_AUTO_BODY = re.compile(
    r"ik ben (?:momenteel |tot en met |t/m )?(?:afwezig|niet aanwezig|op vakantie)|"
    r"i am (?:currently )?out of (?:the )?office|ben ik niet bereikbaar|"
    r"this is an automatically generated|dit is een automatisch",
    re.I,
)
_AUTO_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|no-?reply|noreply|bounce)", re.I)
_MARKETING = re.compile(
    r"nieuwsbrief|newsletter|uitschrijven|afmelden voor|unsubscribe|webinar|"
    r"bekijk deze e-mail in (?:je|uw) browser|view (?:this email )?in (?:your )?browser|"
    r"aanbieding|actie geldig|promotie|kortingscode",
    re.I,
)
_COMPLAINT = re.compile(
    r"klacht|beschadigd|kapot|defect|ontbre(?:ekt|ken)|\bmist\b|missen|niet (?:goed )?ontvangen|"
    r"maar \d+ .{0,30}(?:ontvangen|binnen)|verkeerd(?:e)? (?:geleverd|artikel|product)|"
    r"retour|terugsturen|creditering|credit ?nota|damaged|missing|complaint|wrong item",
    re.I,
)
_STATUS = re.compile(
    r"track\s*(?:&|and|en)?\s*trace|waar blijft|status van (?:mijn|onze|de) (?:bestelling|order)|"
    r"wanneer (?:wordt|komt|kunnen we|kan ik).{0,40}(?:geleverd|verwachten|bezorgd)|"
    r"(?:is|zijn) .{0,30}al verzonden|(?:nog )?(?:steeds )?niet (?:geleverd|binnen)|where is my order|"
    r"order status|leverstatus",
    re.I,
)
_NEW_ORDER = re.compile(
    r"graag (?:bestellen|leveren|ontvangen)|wil(?:len)? .{0,25}bestellen|hierbij bestel|"
    r"bestellen\s*[:;]|volgende bestellen|nieuwe bestelling|please (?:send|supply)|bitte liefern",
    re.I,
)
_CHANGE = re.compile(
    r"annuler|annulering|schrappen|cancel|stornier|niet meer nodig|no longer need|"
    r"(?:bestelling|order) (?:intrekken|wijzigen|aanpassen)",
    re.I,
)
_QUOTE = re.compile(
    r"prijsaanvraag|offerte|prijsopgave|prijsindicatie|wat (?:kost|kosten)|wat is de prijs|"
    r"prijs van|prijzen van|quotation|request for quote|price request|\bquote\b",
    re.I,
)
_ORDER = re.compile(
    r"bestel|bestelling|order\b|opdracht|graag (?:leveren|ontvangen|afleveren|bezorgen)|"
    r"(?:kunnen|kun|kan) (?:jullie|je|u) .{0,60}(?:leveren|afleveren|sturen|verwerken|bezorgen)|"
    r"wil(?:len)? (?:ik|wij|we) graag|zou(?:den)? (?:ik|wij|we) graag|please (?:send|supply|deliver)|"
    r"we (?:would like|need) to order|purchase order|inkooporder|afroep|"
    r"graag (?:de|het) volgende|(?:de|het) volgende (?:artikelen|producten|bestellen)|"
    r"bitte liefern|bestellen|bestellung",
    re.I,
)
_NOT_ORDERING = re.compile(
    r"(?:nog )?niet (?:te )?bestellen|not (?:yet )?(?:to )?order|"
    r"nicht bestellen",
    re.I,
)


def _is_invitation(email: ParsedEmail) -> bool:
    """A meeting request/response: a text/calendar part or Outlook's calendar content class."""
    return (
        any(a.content_type == "text/calendar" for a in email.attachments)
        or email.headers.get("content-type", "").lower().startswith("text/calendar")
        or "calendarmessage" in email.headers.get("content-class", "").lower()
    )


def triage(email: ParsedEmail, body: CleanBody) -> Triage:
    """Label the email; general cues only (headers, subject, the new text)."""
    headers = {k.lower(): v for k, v in email.headers.items()}
    subject = email.subject or ""
    new_text = body.new_text or body.text
    auto = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    lines = has_order_lines(body.text)
    ordering = bool(_ORDER.search(new_text) or _ORDER.search(subject))
    if auto == "auto-generated" and lines and ordering and not _AUTO_SUBJECT.search(subject):
        # RFC 3834 auto-generated, not auto-replied: how purchasing systems send their orders
        return Triage(label=TriageLabel.ORDER, reason="order from a purchasing system (auto-generated)")
    if (
        (auto and auto != "no")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or headers.get("precedence", "").lower() == "auto_reply"
        or _AUTO_SENDER.match(email.sender)
        or _AUTO_SUBJECT.search(subject)
        or _AUTO_BODY.search(new_text)
    ):
        return Triage(label=TriageLabel.AUTO_REPLY, reason="automatic reply or delivery notice")
    if (
        "list-unsubscribe" in headers
        or headers.get("precedence", "").lower() in ("bulk", "list")
        or "list-id" in headers
        or len(_MARKETING.findall(new_text)) >= 2
    ):
        return Triage(label=TriageLabel.MARKETING, reason="bulk or newsletter mail")
    if not lines and _is_invitation(email):
        return Triage(label=TriageLabel.OTHER, reason="calendar invitation")
    asks_price = _QUOTE.search(new_text) or _QUOTE.search(subject)
    if asks_price and (_NOT_ORDERING.search(new_text) or not _ORDER.search(_QUOTE.sub(" ", new_text))):
        return Triage(label=TriageLabel.QUOTE_REQUEST, reason="asks for a price or quote")
    if _CHANGE.search(new_text) or _CHANGE.search(subject):
        return Triage(label=TriageLabel.OTHER, reason="cancels or changes an existing order")
    if _COMPLAINT.search(new_text) and not (lines and _ORDER.search(new_text)):
        return Triage(label=TriageLabel.COMPLAINT, reason="reports a problem with a delivery")
    if _STATUS.search(new_text) and not (lines and _NEW_ORDER.search(new_text)):
        return Triage(label=TriageLabel.ORDER_STATUS, reason="asks about an existing order")
    if lines and ordering:
        return Triage(label=TriageLabel.ORDER, reason="order wording and order lines")
    if lines:
        return Triage(label=TriageLabel.ORDER, reason="order lines", confidence=0.7)
    if ordering and re.search(r"\d", body.text):
        return Triage(label=TriageLabel.ORDER, reason="order wording", confidence=0.6)
    return Triage(label=TriageLabel.OTHER, reason="no order cues", confidence=0.6)
