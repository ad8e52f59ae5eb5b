"""Is this email an order? Headers first (auto replies, bulk mail), then the customer's new text. Pure.

An email that talks about products and quantities is not yet an order: complaints, invoice
questions, status questions and quote requests list them too. An order needs the customer to
ask for delivery now, or to accept an offer or earlier order below the new text ("akkoord met
onderstaande offerte", "go ahead with items 1 and 3"), or to repeat an earlier order ("same as
last time"), or to be a plain list of order lines. An email whose order is an attached file (a purchasing
system's PDF, an Excel or CSV export: "see attached PO", "zie bijlage", "Anbei unsere Bestellung")
is an order when its words say so, or when the file's text holds order lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailorder.agent.extract.thread import ACCEPT_RX
from mailorder.domain import ParsedEmail, Triage, TriageLabel
from mailorder.mail.clean import CleanBody, has_order_lines
from mailorder.tools.history import refers_to_history

_AUTO_SUBJECT = re.compile(
    r"automatisch(?:e)? (?:antwoord|reply)|out of (?:the )?office|afwezig|autoreply|auto-reply|"
    r"automatic reply|abwesenheit|automatische antwort|undeliver|delivery status notification|"
    r"mail delivery failed|returned mail|niet bezorgd|onbestelbaar|delivery has failed|read:|gelezen:",
    re.I,
)
_AUTO_BODY = re.compile(
    r"ik ben (?:momenteel |tot en met |t/m )?(?:afwezig|niet aanwezig|op vakantie)|"
    r"i am (?:currently )?out of (?:the )?office|ben ik niet bereikbaar|"
    r"ich bin (?:bis .{0,30})?(?:nicht im büro|abwesend|im urlaub)|"
    r"this is an automatically generated|dit is een automatisch",
    re.I,
)
# purchasing systems send orders that say they are automatic: they are orders all the same
_GENERATED = re.compile(
    r"automatisch (?:gegenereerd|verzonden|aangemaakt)|automatically (?:generated|sent|created)|"
    r"automatisch (?:erstellt|generiert|versandt)",
    re.I,
)
_PURCHASE_ORDER = re.compile(
    r"inkooporder|purchase order|bestelbon|bestelformulier|\bPO\b|bestellung|order\s*(?:nr|no|number|#)|"
    r"inkoopnummer|bestelnummer",
    re.I,
)
_AUTO_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|no-?reply|noreply|bounce)", re.I)
_MARKETING = re.compile(
    r"nieuwsbrief|newsletter|uitschrijven|afmelden voor|unsubscribe|abbestellen|abmelden|webinar|"
    r"bekijk deze e-mail in (?:je|uw) browser|view (?:this email )?in (?:your )?browser|"
    r"im browser (?:anzeigen|ansehen|öffnen)|nicht richtig angezeigt|wordt deze e-mail niet goed weergegeven|"
    r"opmaak niet goed|voorkeuren wijzigen|manage (?:your )?preferences|update your preferences|"
    r"je ontvangt deze e-mail omdat|u ontvangt deze e-mail omdat|"
    r"you are receiving this (?:e-?mail|newsletter)|"
    r"sie erhalten diese[nr]? (?:e-mail|newsletter)|aanbieding|actie geldig|promotie|kortingscode|"
    r"\d+\s*% (?:korting|off|rabatt)|shop now|jetzt (?:bestellen|kaufen|shoppen)|bestel nu|order now|"
    r"zolang de voorraad strekt|op=op|while stocks? last|solange der vorrat reicht|limited time|"
    r"special offer|sonderangebot|actieprijs|introductieprijs|launch (?:price|discount)|"
    r"gratis verzending|free shipping|versandkostenfrei|nur (?:bis|noch)|\d+\s*\+\s*\d+\s*gratis|"
    r"\d+ (?:rollen|rolls|rollen) = \d+ gratis|get (?:the|one|1) .{0,20}free",
    re.I,
)
_UNSUBSCRIBE = re.compile(
    r"uitschrijven|afmelden|unsubscribe|abbestellen|abmelden|opt[- ]out|uit deze lijst|from this list", re.I
)
_COMPLAINT = re.compile(
    r"klacht|beschadigd|kapot|defect|ontbre(?:ekt|ken)|\bmist\b|missen|niet (?:goed )?ontvangen|"
    r"maar \d+ .{0,30}(?:ontvangen|binnen)|verkeerd(?:e)? (?:geleverd|artikel|product)|"
    r"retour|terugsturen|creditering|credit ?nota|damaged|missing|complaint|wrong item|broken|"
    r"beschädigt|reklamation|defekt|falsch geliefert|gutschrift|geplooid|deuk|krassen|scratched|dented",
    re.I,
)
_DAMAGE = re.compile(
    r"beschadigd|kapot|defect|damaged|broken|beschädigt|defekt|geplooid|deuk|krassen|scratched|dented|"
    r"verkeerd(?:e)? (?:geleverd|artikel|product)|wrong item|falsch geliefert|ontbre(?:ekt|ken)|missing",
    re.I,
)
# the quoted message is our confirmation of an order already booked (not an offer to accept)
_CONFIRMATION = re.compile(
    r"orderbevestiging|opdrachtbevestiging|bevestiging van (?:uw|je) (?:bestelling|order)|order confirmation|"
    r"confirmation of your order|auftragsbestätigung|bestellbestätigung|"
    r"(?:wij|we) hebben .{0,40}(?:geboekt|ingeboekt|verwerkt|in behandeling)|"
    r"we have (?:booked|processed|received)|"
    r"thank you for your order|bedankt voor (?:uw|je) (?:bestelling|order)|vielen dank für ihre bestellung",
    re.I,
)
_OFFER = re.compile(r"offerte|quote|quotation|angebot|aanbieding|prijsopgave|offer\b", re.I)
_INVOICE = re.compile(r"factuur|invoice|rechnung|facturatie|billing", re.I)
_INVOICE_QUESTION = re.compile(
    r"klopt niet|kloppen niet|vraag|question|query|onjuist|incorrect|wrong|stimmt nicht|falsch|"
    r"credit|korrigier|corrig|te veel|too many|zu viel|dubbel|double|twice|niet besteld|not ordered",
    re.I,
)
_STATUS = re.compile(
    r"track\s*(?:&|and|en)?\s*trace|waar blijft|status van (?:mijn|onze|de) (?:bestelling|order)|"
    r"wanneer (?:wordt|komt|kunnen we|kan ik).{0,40}(?:geleverd|verwachten|bezorgd)|"
    r"(?:is|zijn) .{0,30}al verzonden|(?:nog )?(?:steeds )?niet (?:geleverd|binnen)|where is my order|"
    r"order status|leverstatus|checking (?:on|in on) (?:our|my|the) order|"
    r"(?:let (?:me|us) know|confirm|what is|when is) the (?:expected )?delivery date|any update on|"
    r"when (?:will|can we expect) (?:it|our order|the order|them|delivery)|"
    r"has (?:it|our order) (?:been )?shipped|"
    r"wann (?:kommt|wird|können wir)|lieferstatus|sendungsverfolgung|wo bleibt",
    re.I,
)
_NEW_ORDER = re.compile(
    r"graag (?:bestellen|leveren|ontvangen)|wil(?:len)? .{0,25}bestellen|hierbij bestel|"
    r"bestellen\s*[:;]|volgende bestellen|nieuwe bestelling|please (?:send|supply|deliver)|bitte liefern|"
    r"hiermit bestellen|wir bestellen|bestellen wir|(?:could|can) you (?:please )?(?:send|supply|add)|"
    r"graag (?:het volgende|de volgende|onderstaande)",
    re.I,
)
_CHANGE = re.compile(
    r"annuler|annulering|schrappen|cancel|stornier|niet meer nodig|no longer need|"
    r"(?:bestelling|order|levering|delivery|lieferung) "
    r"(?:intrekken|wijzigen|aanpassen|verschuiven|verplaatsen|"
    r"uitstellen|postpone|reschedule|verschieben)|(?:verschuiven|verplaatsen|uitstellen|postpone|reschedule|"
    r"verschieben) (?:van )?(?:de|die|the|our|onze)? ?(?:bestelling|order|levering|delivery|lieferung)",
    re.I,
)
_QUOTE = re.compile(
    r"prijsaanvraag|offerte|prijsopgave|prijsindicatie|wat (?:kost|kosten)|wat is de prijs|"
    r"prijs van|prijzen van|prijs (?:geven|voor)|quotation|request for quote|price request|\bquote\b|"
    r"angebot (?:über|fur|für)|ein angebot|preisanfrage|staffelpreise?|was kostet|preis für|"
    r"price (?:for|of)|pricing|how much (?:is|are|would)|"
    r"prijs (?:doorgeven|laten weten|sturen|opgeven|mailen)|"
    r"(?:uw|jullie|your|ihre?n?) (?:prijs|prijzen|price|prices|preise?)|preisliste|prijslijst|price list|"
    r"kosten van|cost of|could you quote|can you quote|kostenvoranschlag",
    re.I,
)
# questions about stock, lead time, samples or a product: not an order unless the customer also orders
_ENQUIRY = re.compile(
    r"op voorraad|voorradig|leverbaar|levertijd|in stock|availab|lead time|delivery time|lieferbar|"
    r"auf lager|lieferzeit|verfügbar|monster|stalen|staal|samples?|muster|kleurenwaaier|"
    r"colou?r (?:chart|card|swatch)|swatch|datasheet|datablad|datenblatt|technische (?:gegevens|fiche)|"
    r"geschikt voor|suitable for|geeignet für|verschil tussen|difference between|unterschied zwischen",
    re.I,
)
_ORDER = re.compile(
    r"bestel|bestelling|order\b|opdracht|graag (?:leveren|ontvangen|afleveren|bezorgen)|"
    r"(?:kunnen|kun|kan) (?:jullie|je|u) .{0,60}(?:leveren|afleveren|sturen|verwerken|bezorgen|"
    r"klaarzetten|bij doen|toevoegen|meesturen)|klaarzetten|"
    r"wil(?:len)? (?:ik|wij|we) graag|zou(?:den)? (?:ik|wij|we) graag|please (?:send|supply|deliver)|"
    r"we (?:would like|need) to order|purchase order|inkooporder|afroep|"
    r"graag (?:de|het) volgende|(?:de|het) volgende (?:artikelen|producten|bestellen)|"
    r"bitte liefern|bestellen|bestellung|liefern sie|(?:could|can|would) you (?:please )?"
    r"(?:send|supply|deliver|add|ship|include)|please add|"
    r"add .{0,60} to (?:it|the order|this order|our order)|wir brauchen|we need|ik heb nodig|hebben nodig|"
    r"(?:können|könnten) sie .{0,60}(?:liefern|senden|schicken)",
    re.I,
)
_NOT_ORDERING = re.compile(
    r"(?:nog )?niet (?:te )?bestellen|not (?:yet )?(?:to )?order|nicht bestellen|noch nicht bestellen",
    re.I,
)
# the words point at an attached file
_POINTS_AT_FILE = re.compile(
    r"bijlage|bijgaand|bijgevoegd|meegestuurd|attached|attachment|enclosed|\banbei\b|\banhang\b|"
    r"angehängt|beigefügt|in der anlage",
    re.I,
)
# attached files that are no order of the customer's: invoices, credit notes, delivery notes, statements
_NOT_AN_ORDER_FILE = re.compile(
    r"factuur|facturen|invoice|rechnung|creditnota|credit note|gutschrift|pakbon|packing (?:list|slip)|"
    r"delivery note|lieferschein|afleverbon|rekeningoverzicht|statement of account|kontoauszug|"
    r"betalingsherinnering|payment reminder|zahlungserinnerung|mahnung",
    re.I,
)
# the customer's words name what is attached as their order
_ORDER_FILE = re.compile(
    r"bestelling|bestelbon|bestellijst|inkooporder|inkoopopdracht|purchase order|\bP\.?O\b|bestellung|"
    r"\border(?:list| list|form| form)?\b|auftrag",
    re.I,
)
# three or more short lines each ending in a count ("C 2", "M 2", "K 3"): a list of quantities
_COUNT_LINE = re.compile(r"^\s*[-•*]?\s*[A-Za-z][\w .&/-]{0,40}?\s\d{1,3}\s*(?:x|st|stk)?\.?\s*$", re.I)


def _is_invitation(email: ParsedEmail) -> bool:
    """A meeting request/response: a text/calendar part or Outlook's calendar content class."""
    return (
        any(a.content_type == "text/calendar" for a in email.attachments)
        or email.headers.get("content-type", "").lower().startswith("text/calendar")
        or "calendarmessage" in email.headers.get("content-class", "").lower()
    )


def _statements(text: str) -> str:
    """The text without its questions ("Kan ik ook 3551 in 1600 bestellen?" asks, it does not order)."""
    return " ".join(s for s in re.split(r"(?<=[.!?\n])\s+", text) if not s.rstrip().endswith("?"))


def _count_list(text: str) -> bool:
    run = 0
    for line in text.split("\n"):
        run = run + 1 if _COUNT_LINE.match(line) else 0
        if run >= 3:
            return True
    return False


def _marketing(headers: dict[str, str], text: str) -> int:
    """How sure the mail is bulk mail: 0 not, 1 by its wording, 2 by many cues or its headers."""
    if "list-unsubscribe" in headers or "list-id" in headers:
        return 2
    if headers.get("precedence", "").lower() in ("bulk", "list"):
        return 2
    cues = {m.group(0).lower() for m in _MARKETING.finditer(text)}
    if len(cues) >= 3:
        return 2
    return int(len(cues) >= 2 or (bool(cues) and bool(_UNSUBSCRIBE.search(text)) and len(text) > 200))


def _names_attached_order(email: ParsedEmail, subject: str, new_text: str) -> bool:
    """The words point at an attached file and call it an order ("bijgaand onze bestelling",
    "PO 7734 attached", "anbei unsere Bestellung"), and an order file is attached: then a
    side remark ("graag orderbevestiging retour", "please confirm the delivery date") does not
    make the email a complaint, a status question or an enquiry. Questions do not count ("is our
    order (attached) on its way?" asks about it)."""
    words = f"{subject}\n{_statements(new_text)}"
    return (
        any(a.order_source for a in email.attachments)
        and bool(_POINTS_AT_FILE.search(words) and _ORDER_FILE.search(words))
        and not _NOT_AN_ORDER_FILE.search(subject)
    )


def _attached_order(
    email: ParsedEmail, subject: str, new_text: str, attachment_text: Callable[[], str] | None, *, read: bool
) -> Triage | None:
    """An order whose lines are in an attached file: the words say an order is attached (an order
    word, or a PO), or (with `read`) the file's text holds order lines. Never for files the words
    call an invoice, a credit or delivery note, a statement or a payment reminder."""
    files = [a for a in email.attachments if a.order_source]
    if not files:
        return None
    words = f"{subject}\n{_statements(new_text)}"
    if _NOT_AN_ORDER_FILE.search(subject) or (
        _NOT_AN_ORDER_FILE.search(new_text) and not _ORDER_FILE.search(new_text)
    ):
        return None
    names = ", ".join((a.filename or a.content_type)[:80] for a in files[:3])
    if _ORDER.search(words) or _PURCHASE_ORDER.search(words) or _ORDER_FILE.search(words):
        sure = bool(_POINTS_AT_FILE.search(words)) or len(new_text.split()) <= 12
        return Triage(
            label=TriageLabel.ORDER,
            reason=f"order in the attachment ({names})",
            confidence=0.9 if sure else 0.8,
        )
    if read and attachment_text is not None and has_order_lines(attachment_text()):
        return Triage(
            label=TriageLabel.ORDER, reason=f"order lines in the attachment ({names})", confidence=0.7
        )
    return None


def triage(email: ParsedEmail, body: CleanBody, attachment_text: Callable[[], str] | None = None) -> Triage:
    """Label the email; general cues only (headers, subject, the new text). `attachment_text`
    gives the order lines read from the email's attached order files: called only when the words
    leave open whether the email is an order."""
    headers = {k.lower(): v for k, v in email.headers.items()}
    subject = email.subject or ""
    new_text = body.new_text or body.text
    auto = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    lines = has_order_lines(body.text) or _count_list(body.text)
    own_lines = has_order_lines(new_text) or _count_list(new_text)
    ordering = bool(_ORDER.search(new_text) or _ORDER.search(subject))
    generated = bool(_GENERATED.search(new_text)) and bool(
        _PURCHASE_ORDER.search(subject) or _PURCHASE_ORDER.search(new_text[:300])
    )
    if (auto == "auto-generated" or generated) and not _AUTO_SUBJECT.search(subject):
        # RFC 3834 auto-generated, not auto-replied: how purchasing systems send their orders
        if own_lines:
            return Triage(label=TriageLabel.ORDER, reason="order from a purchasing system (auto-generated)")
        attached = _attached_order(email, subject, new_text, attachment_text, read=False)
        if attached is not None:
            return attached.model_copy(
                update={"reason": f"purchasing system (auto-generated), {attached.reason}"}
            )
    if (
        (auto and auto != "no")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or headers.get("precedence", "").lower() == "auto_reply"
        or _AUTO_SENDER.match(email.sender)
        or _AUTO_SUBJECT.search(subject)
        or _AUTO_BODY.search(new_text)
    ):
        sure = not (own_lines and ordering) or bool(_AUTO_SUBJECT.search(subject))
        return Triage(
            label=TriageLabel.AUTO_REPLY,
            reason="automatic reply or delivery notice",
            confidence=1.0 if sure else 0.7,
        )
    bulk = _marketing(headers, new_text)
    if bulk:
        # a newsletter lists products too; when the text also reads like an order, a human looks
        sure = bulk == 2 or not (own_lines and ordering)
        return Triage(
            label=TriageLabel.MARKETING, reason="bulk or newsletter mail", confidence=1.0 if sure else 0.7
        )
    if not lines and _is_invitation(email):
        return Triage(label=TriageLabel.OTHER, reason="calendar invitation")
    new_order = bool(_NEW_ORDER.search(new_text))
    named_file = _names_attached_order(email, subject, new_text)
    quoted_lines = bool(body.quoted) and has_order_lines(body.quoted)
    confirmed = bool(_CONFIRMATION.search(body.quoted[:1500] + " " + subject)) and not _OFFER.search(subject)
    accepts = bool(ACCEPT_RX.search(new_text)) and (quoted_lines or body.includes_quote)
    if accepts and confirmed and not own_lines:
        # "akkoord, dank je" to our own order confirmation: nothing new to book
        return Triage(label=TriageLabel.OTHER, reason="acknowledges an order confirmation", confidence=0.8)
    if accepts and not _NOT_ORDERING.search(new_text):
        return Triage(label=TriageLabel.ORDER, reason="accepts the offer or order quoted below")
    asks_price = _QUOTE.search(new_text) or _QUOTE.search(subject)
    if asks_price and (_NOT_ORDERING.search(new_text) or not _ORDER.search(_QUOTE.sub(" ", new_text))):
        return Triage(label=TriageLabel.QUOTE_REQUEST, reason="asks for a price or quote")
    if _QUOTE.search(new_text) and not new_order and not named_file:
        return Triage(label=TriageLabel.QUOTE_REQUEST, reason="asks for a price or quote")
    statements = _statements(new_text)  # the customer's words without their questions
    if (
        _ENQUIRY.search(new_text)
        and not new_order
        and not named_file
        and not (has_order_lines(statements) and _ORDER.search(statements))
    ):
        return Triage(label=TriageLabel.QUOTE_REQUEST, reason="asks about stock, lead time or a product")
    if _CHANGE.search(new_text) or _CHANGE.search(subject):
        return Triage(label=TriageLabel.OTHER, reason="cancels or changes an existing order")
    invoice = _INVOICE.search(new_text) or _INVOICE.search(subject)
    damage = _DAMAGE.search(new_text) or _DAMAGE.search(subject)
    if invoice and not damage and _INVOICE_QUESTION.search(new_text) and not new_order:
        return Triage(label=TriageLabel.OTHER, reason="a question about an invoice")
    if (
        (_COMPLAINT.search(new_text) or _COMPLAINT.search(subject))
        and not (own_lines and new_order)
        and not (named_file and not damage)
    ):
        return Triage(label=TriageLabel.COMPLAINT, reason="reports a problem with a delivery")
    if (
        (_STATUS.search(new_text) or _STATUS.search(subject))
        and not (own_lines and new_order)
        and not named_file
    ):
        return Triage(label=TriageLabel.ORDER_STATUS, reason="asks about an existing order")
    if refers_to_history(new_text) and (
        ordering or own_lines or re.search(r"\bagain\b|nochmal", new_text, re.I)
    ):
        return Triage(label=TriageLabel.ORDER, reason="repeats an earlier order", confidence=0.8)
    if not lines:
        attached = _attached_order(email, subject, new_text, attachment_text, read=True)
        if attached is not None:
            return attached
    if lines and ordering:
        return Triage(label=TriageLabel.ORDER, reason="order wording and order lines")
    if lines:
        return Triage(label=TriageLabel.ORDER, reason="order lines", confidence=0.7)
    if ordering and re.search(r"\d", body.text) and _ORDER.search(_statements(new_text) + " " + subject):
        return Triage(label=TriageLabel.ORDER, reason="order wording", confidence=0.6)
    return Triage(label=TriageLabel.OTHER, reason="no order cues", confidence=0.6)
