"""The Dutch and German texts of the mail catalogs, as one table a translator can review.

`python mail/locale/translations.py` writes nl/ and de/ LC_MESSAGES/mailorder.po from the
template mailorder.pot (made by `make messages`); an entry missing here stays untranslated
(English) and is listed on stdout. Keep placeholders like %(order)s unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent

# msgid: (Dutch, German)
TEXTS: dict[str, tuple[str, str]] = {
    "%(n)s earlier order(s) approved without edits": (
        "%(n)s eerdere order(s) zonder wijzigingen goedgekeurd",
        "%(n)s frühere Bestellung(en) ohne Änderungen genehmigt",
    ),
    "%(n)s line(s)": ("%(n)s regel(s)", "%(n)s Position(en)"),
    "every product by explicit article code or learned alias": (
        "elk product op artikelcode of geleerde alias",
        "jedes Produkt über Artikelnummer oder gelernten Alias",
    ),
    "known customer %(customer)s by sender address": (
        "bekende klant %(customer)s op afzenderadres",
        "bekannter Kunde %(customer)s über die Absenderadresse",
    ),
    "no attachment left unread": ("geen bijlage ongelezen", "kein Anhang ungelesen"),
    "no instruction the rules did not understand": (
        "geen instructie die de regels niet begrepen",
        "keine Anweisung, die die Regeln nicht verstanden haben",
    ),
    "no open issue": ("geen open aandachtspunt", "kein offener Hinweis"),
    "only %(available)s in stock (ordered %(ordered)s)": (
        "slechts %(available)s op voorraad (besteld %(ordered)s)",
        "nur %(available)s auf Lager (bestellt %(ordered)s)",
    ),
    "only %(available)s in stock for lines %(lines)s together (ordered %(ordered)s)": (
        "slechts %(available)s op voorraad voor regels %(lines)s samen (besteld %(ordered)s)",
        "nur %(available)s auf Lager für die Positionen %(lines)s zusammen (bestellt %(ordered)s)",
    ),
    "only %(in_unit)s in stock (%(available)s; ordered %(ordered)s)": (
        "slechts %(in_unit)s op voorraad (%(available)s; besteld %(ordered)s)",
        "nur %(in_unit)s auf Lager (%(available)s; bestellt %(ordered)s)",
    ),
    "out of stock (ordered %(ordered)s)": (
        "niet op voorraad (besteld %(ordered)s)",
        "nicht auf Lager (bestellt %(ordered)s)",
    ),
    "quantities within %(factor)sx of earlier orders": (
        "aantallen binnen %(factor)sx eerdere orders",
        "Mengen innerhalb des %(factor)s-fachen früherer Bestellungen",
    ),
    "rules, no AI model configured": (
        "regels, geen AI-model ingesteld",
        "Regeln, kein KI-Modell eingerichtet",
    ),
    "stock confirmed by the ERP": ("voorraad bevestigd door het ERP", "Bestand vom ERP bestätigt"),
    "stock unknown: the ERP did not answer the stock query; check availability if it matters": (
        "voorraad onbekend: het ERP gaf geen antwoord; controleer de beschikbaarheid als het ertoe doet",
        "Bestand unbekannt: das ERP hat nicht geantwortet; prüfen Sie die Verfügbarkeit, wenn es darauf ankommt",
    ),
    "stock unknown: the ERP has no stock figure for %(sku)s": (
        "voorraad onbekend: het ERP heeft geen voorraadcijfer voor %(sku)s",
        "Bestand unbekannt: das ERP hat keine Bestandszahl für %(sku)s",
    ),
    "total %(total)s under the limit %(limit)s": (
        "totaal %(total)s onder de grens %(limit)s",
        "Summe %(total)s unter der Grenze %(limit)s",
    ),
    "(empty reply)": ("(leeg antwoord)", "(leere Antwort)"),
    "(no error text)": ("(geen fouttekst)", "(kein Fehlertext)"),
    "(no order lines found)": ("(geen orderregels gevonden)", "(keine Bestellpositionen gefunden)"),
    "(no subject)": ("(geen onderwerp)", "(kein Betreff)"),
    "1b                 take choice b for line 1 (several: 1b 3a)": (
        "1b                 keuze b voor regel 1 nemen (meerdere: 1b 3a)",
        "1b                 Auswahl b für Position 1 nehmen (mehrere: 1b 3a)",
    ),
    "APPROVE            post the order to the ERP and confirm to the customer": (
        "AKKOORD            order in het ERP boeken en de klant een bevestiging sturen",
        "GENEHMIGT          Auftrag im ERP buchen und dem Kunden bestätigen",
    ),
    "BLOCKING:": ("BLOKKEREND:", "BLOCKIEREND:"),
    "Blocking:": ("Blokkerend:", "Blockierend:"),
    "Changed in v%(version)s:": ("Gewijzigd in v%(version)s:", "Geändert in v%(version)s:"),
    "Comment:": ("Opmerking:", "Bemerkung:"),
    "Contact": ("Contactpersoon", "Kontakt"),
    "Contact:": ("Contact:", "Kontakt:"),
    "Current state:": ("Huidige status:", "Aktueller Stand:"),
    "Customer": ("Klant", "Kunde"),
    "Customer confirmation bounced": (
        "Orderbevestiging niet afgeleverd",
        "Auftragsbestätigung nicht zugestellt",
    ),
    "Customer:": ("Klant:", "Kunde:"),
    "Date:": ("Datum:", "Datum:"),
    "Dear customer,": ("Beste klant,", "Sehr geehrte Damen und Herren,"),
    "Delivery date": ("Leverdatum", "Liefertermin"),
    "Delivery:": ("Levering:", "Lieferung:"),
    "Description": ("Omschrijving", "Bezeichnung"),
    "ERP order:": ("ERP-order:", "ERP-Auftrag:"),
    "ERP rejected the order": ("ERP heeft de order geweigerd", "ERP hat den Auftrag abgelehnt"),
    "ERP unavailable": ("ERP niet bereikbaar", "ERP nicht erreichbar"),
    "Extracted by:": ("Gelezen door:", "Gelesen von:"),
    "From:": ("Van:", "Von:"),
    "HOW TO ANSWER — reply to this email with, on the first line:": (
        "ZO ANTWOORD JE — beantwoord deze e-mail met op de eerste regel:",
        "SO ANTWORTEN SIE — antworten Sie auf diese E-Mail mit, in der ersten Zeile:",
    ),
    "ISSUES": ("AANDACHTSPUNTEN", "PROBLEME"),
    "If anything is not right, just reply to this email.": (
        "Klopt er iets niet? Beantwoord dan deze e-mail.",
        "Wenn etwas nicht stimmt, antworten Sie einfach auf diese E-Mail.",
    ),
    "Issues (%(n)s)": ("Aandachtspunten (%(n)s)", "Probleme (%(n)s)"),
    "Item": ("Artikel", "Artikel"),
    "Kind regards,": ("Met vriendelijke groet,", "Mit freundlichen Grüßen"),
    "LINES": ("REGELS", "POSITIONEN"),
    "Last error:": ("Laatste fout:", "Letzter Fehler:"),
    "No order lines found.": ("Geen orderregels gevonden.", "Keine Bestellpositionen gefunden."),
    "Not this one?": ("Niet deze?", "Nicht dieser?"),
    "Nothing was changed:": ("Er is niets gewijzigd:", "Es wurde nichts geändert:"),
    "ORDER DRAFT": ("ORDERVOORSTEL", "AUFTRAGSENTWURF"),
    "Order block: change it in your reply to edit the order (keep the first and last line).": (
        "Orderblok: pas het aan in je antwoord om de order te wijzigen (laat de eerste en laatste regel staan).",
        "Auftragsblock: ändern Sie ihn in Ihrer Antwort, um den Auftrag zu bearbeiten "
        "(erste und letzte Zeile stehen lassen).",
    ),
    "Order draft for review": ("Ordervoorstel ter controle", "Auftragsentwurf zur Prüfung"),
    "Order files:": ("Orderbestanden:", "Bestelldateien:"),
    "Order posted": ("Order geboekt", "Auftrag gebucht"),
    "Original email": ("Oorspronkelijke e-mail", "Ursprüngliche E-Mail"),
    "Original subject:": ("Oorspronkelijk onderwerp:", "Ursprünglicher Betreff:"),
    "PRODUCT NOT IDENTIFIED": ("PRODUCT NIET HERKEND", "PRODUKT NICHT ERKANNT"),
    "Please let the customer know another way (phone, or their correct address).": (
        "Laat het de klant op een andere manier weten (telefoon, of het juiste adres).",
        "Bitte informieren Sie den Kunden auf anderem Weg (Telefon oder richtige Adresse).",
    ),
    "Possible matches (from names in the email, never chosen automatically):": (
        "Mogelijke klanten (op naam in de e-mail, nooit automatisch gekozen):",
        "Mögliche Kunden (nach Namen in der E-Mail, nie automatisch gewählt):",
    ),
    "Price": ("Prijs", "Preis"),
    "Product": ("Product", "Produkt"),
    "Product not identified": ("Product niet herkend", "Produkt nicht erkannt"),
    "Qty": ("Aantal", "Menge"),
    "REJECT <reason>    close the draft with your reason": (
        "AFGEWEZEN <reden>  het voorstel sluiten met jouw reden",
        "ABGELEHNT <Grund>  den Entwurf mit Ihrem Grund schließen",
    ),
    "Ref:": ("Ref.:", "Ref.:"),
    "Reference": ("Referentie", "Referenz"),
    "Reference:": ("Referentie:", "Referenz:"),
    "Reminder: waiting for your decision": (
        "Herinnering: wacht op jouw beslissing",
        "Erinnerung: wartet auf Ihre Entscheidung",
    ),
    "Replies go to:": ("Antwoorden gaan naar:", "Antworten gehen an:"),
    'Reply <code style="background:#ffffff;padding:1px 4px;">customer COMP-NNN</code> to set the customer.': (
        'Antwoord <code style="background:#ffffff;padding:1px 4px;">klant COMP-NNN</code> om de klant in te stellen.',
        'Antworten Sie <code style="background:#ffffff;padding:1px 4px;">customer COMP-NNN</code>, '
        "um den Kunden festzulegen.",
    ),
    "Reply `customer COMP-NNN` to set the customer.": (
        "Antwoord `klant COMP-NNN` om de klant in te stellen.",
        "Antworten Sie `customer COMP-NNN`, um den Kunden festzulegen.",
    ),
    "Reply not understood": ("Antwoord niet begrepen", "Antwort nicht verstanden"),
    "Reply refused": ("Antwoord geweigerd", "Antwort abgelehnt"),
    "Reply to the summary email with, on the first line:": (
        "Beantwoord de samenvatting met op de eerste regel:",
        "Antworten Sie auf die Zusammenfassung mit, in der ersten Zeile:",
    ),
    "Reply to this email (or to the summary) with %(approve)s, %(reject)s <reason>, edits, or STATUS.": (
        "Beantwoord deze e-mail (of de samenvatting) met %(approve)s, %(reject)s <reden>, wijzigingen of STATUS.",
        "Antworten Sie auf diese E-Mail (oder die Zusammenfassung) mit %(approve)s, %(reject)s <Grund>, "
        "Änderungen oder STATUS.",
    ),
    "Reply to this email to decide:": (
        "Beantwoord deze e-mail om te beslissen:",
        "Antworten Sie auf diese E-Mail, um zu entscheiden:",
    ),
    "Reply with a choice:": ("Antwoord met een keuze:", "Antworten Sie mit einer Auswahl:"),
    "Requested delivery date:": ("Gewenste leverdatum:", "Gewünschter Liefertermin:"),
    "Status": ("Status", "Status"),
    "Subject:": ("Onderwerp:", "Betreff:"),
    "TOTAL (excl. VAT):": ("TOTAAL (excl. btw):", "GESAMT (zzgl. MwSt.):"),
    "Thank you for your order. We have booked it as order %(order)s.": (
        "Bedankt voor uw bestelling. We hebben deze verwerkt onder ordernummer %(order)s.",
        "Vielen Dank für Ihre Bestellung. Wir haben sie unter der Auftragsnummer %(order)s erfasst.",
    ),
    "Thank you for your order. We have booked it as order <b>%(order)s</b>.": (
        "Bedankt voor uw bestelling. We hebben deze verwerkt onder ordernummer <b>%(order)s</b>.",
        "Vielen Dank für Ihre Bestellung. Wir haben sie unter der Auftragsnummer <b>%(order)s</b> erfasst.",
    ),
    "The ERP could not be reached after %(n)s attempts. The order was NOT posted.": (
        "Het ERP was na %(n)s pogingen niet bereikbaar. De order is NIET geboekt.",
        "Das ERP war nach %(n)s Versuchen nicht erreichbar. Der Auftrag wurde NICHT gebucht.",
    ),
    "The ERP could not be reached. The order was NOT posted.": (
        "Het ERP was niet bereikbaar. De order is NIET geboekt.",
        "Das ERP war nicht erreichbar. Der Auftrag wurde NICHT gebucht.",
    ),
    "The ERP did not accept the order. Its answer:": (
        "Het ERP heeft de order niet geaccepteerd. Het antwoord:",
        "Das ERP hat den Auftrag nicht angenommen. Die Antwort:",
    ),
    "The current version is %(tag)s; please answer that summary email instead.": (
        "De huidige versie is %(tag)s; beantwoord die samenvatting.",
        "Die aktuelle Version ist %(tag)s; bitte antworten Sie auf diese Zusammenfassung.",
    ),
    "The draft stays approved-but-unposted; reply %(word)s again later to retry.": (
        "Het voorstel blijft goedgekeurd maar niet geboekt; antwoord later opnieuw %(word)s om het nog eens te proberen.",
        "Der Entwurf bleibt genehmigt, aber ungebucht; antworten Sie später erneut %(word)s.",
    ),
    "The draft stays open: fix it by replying with edits, or reject it.": (
        "Het voorstel blijft open: herstel het met wijzigingen in een antwoord, of wijs het af.",
        "Der Entwurf bleibt offen: korrigieren Sie ihn mit Änderungen in einer Antwort oder lehnen Sie ihn ab.",
    ),
    "The draft still waits for %(approve)s, %(reject)s <reason> or edits in a reply to the latest summary.": (
        "Het voorstel wacht nog op %(approve)s, %(reject)s <reden> of wijzigingen in een antwoord op de laatste samenvatting.",
        "Der Entwurf wartet weiter auf %(approve)s, %(reject)s <Grund> oder Änderungen "
        "in einer Antwort auf die letzte Zusammenfassung.",
    ),
    "The order itself was posted to the ERP as %(order)s.": (
        "De order zelf is in het ERP geboekt als %(order)s.",
        "Der Auftrag selbst wurde im ERP als %(order)s gebucht.",
    ),
    "The order was posted to the ERP as %(order)s. The customer gets a confirmation.": (
        "De order is in het ERP geboekt als %(order)s. De klant krijgt een bevestiging.",
        "Der Auftrag wurde im ERP als %(order)s gebucht. Der Kunde erhält eine Bestätigung.",
    ),
    "This draft received many replies from your address in a short time (an auto-responder?).": (
        "Op dit voorstel kwamen in korte tijd veel antwoorden van jouw adres (een automatisch antwoord?).",
        "Zu diesem Entwurf kamen in kurzer Zeit viele Antworten von Ihrer Adresse (eine Abwesenheitsnotiz?).",
    ),
    "This order draft has been waiting for your decision %(since)s.": (
        "Dit ordervoorstel wacht op jouw beslissing %(since)s.",
        "Dieser Auftragsentwurf wartet auf Ihre Entscheidung %(since)s.",
    ),
    "Too many replies: pausing answers": (
        "Te veel antwoorden: we reageren even niet",
        "Zu viele Antworten: Pause",
    ),
    "Total": ("Totaal", "Summe"),
    "Total (excl. VAT)": ("Totaal (excl. btw)", "Summe (zzgl. MwSt.)"),
    "Total (excl. VAT):": ("Totaal (excl. btw):", "Summe (zzgl. MwSt.):"),
    "Triage:": ("Soort:", "Art:"),
    "Unit": ("Eenheid", "Einheit"),
    "Unknown customer": ("Onbekende klant", "Unbekannter Kunde"),
    "Unknown customer — sender %(sender)s is not a known contact.": (
        "Onbekende klant — afzender %(sender)s is geen bekende contactpersoon.",
        "Unbekannter Kunde — Absender %(sender)s ist kein bekannter Kontakt.",
    ),
    "We could not read a decision in your reply. We received:": (
        "We konden geen beslissing in je antwoord lezen. We ontvingen:",
        "Wir konnten in Ihrer Antwort keine Entscheidung lesen. Wir erhielten:",
    ),
    "We stop answering them for an hour; nothing was changed by them.": (
        "We reageren er een uur niet op; ze hebben niets gewijzigd.",
        "Wir antworten eine Stunde lang nicht darauf; sie haben nichts geändert.",
    ),
    "Your reference:": ("Uw referentie:", "Ihre Referenz:"),
    "Your reply was not applied:": ("Je antwoord is niet verwerkt:", "Ihre Antwort wurde nicht übernommen:"),
    "change a quantity (also: remove 3, add 2 rol 06-0105-0008)": (
        "een aantal wijzigen (ook: verwijder 3, toevoegen 2 rol 06-0105-0008)",
        "eine Menge ändern (auch: remove 3, add 2 rol 06-0105-0008)",
    ),
    "close the draft": ("het voorstel sluiten", "den Entwurf schließen"),
    "close the draft with your reason": (
        "het voorstel sluiten met jouw reden",
        "den Entwurf mit Ihrem Grund schließen",
    ),
    "confidence": ("zekerheid", "Sicherheit"),
    "from:": ("uit:", "aus:"),
    "get the current state": ("de huidige status opvragen", "den aktuellen Stand abfragen"),
    "high": ("hoog", "hoch"),
    "it could not be verified": ("het kon niet worden gecontroleerd", "sie konnte nicht geprüft werden"),
    "line %(n)s:": ("regel %(n)s:", "Position %(n)s:"),
    "line 2 qty 5": ("regel 2 aantal 5", "line 2 qty 5"),
    "line 2 qty 5       change a quantity (also: remove 3, add 2 rol 06-0105-0008)": (
        "regel 2 aantal 5   een aantal wijzigen (ook: verwijder 3, toevoegen 2 rol 06-0105-0008)",
        "line 2 qty 5       eine Menge ändern (auch: remove 3, add 2 rol 06-0105-0008)",
    ),
    "low": ("laag", "niedrig"),
    "medium": ("gemiddeld", "mittel"),
    "not this one?": ("niet deze?", "nicht dieser?"),
    "or change the order block below in your reply (keep its first and last line) and we send v%(next)s.": (
        "of pas het orderblok hieronder aan in je antwoord (laat de eerste en laatste regel staan), "
        "dan sturen we v%(next)s.",
        "oder ändern Sie den Auftragsblock unten in Ihrer Antwort (erste und letzte Zeile stehen lassen), "
        "dann senden wir v%(next)s.",
    ),
    "or edit the block below (keep the first and last line) and we send v%(next)s.": (
        "of pas het blok hieronder aan (laat de eerste en laatste regel staan), dan sturen we v%(next)s.",
        "oder ändern Sie den Block unten (erste und letzte Zeile stehen lassen), dann senden wir v%(next)s.",
    ),
    'or use edit commands (line 2 qty 5, 1b). A plain "ok" or 👍 is not enough.': (
        'of gebruik wijzigopdrachten (regel 2 aantal 5, 1b). Alleen "ok" of 👍 is niet genoeg.',
        'oder verwenden Sie Änderungsbefehle (line 2 qty 5, 1b). Ein bloßes "ok" oder 👍 genügt nicht.',
    ),
    "overall confidence": ("totale zekerheid", "Gesamtsicherheit"),
    "possible match:": ("mogelijke klant:", "möglicher Kunde:"),
    'post the order (the word alone: conditions, questions or "but" stop it)': (
        'de order boeken (alleen dat woord: voorwaarden, vragen of "maar" houden het tegen)',
        'den Auftrag buchen (nur das Wort: Bedingungen, Fragen oder "aber" halten ihn auf)',
    ),
    "post the order to the ERP and confirm to the customer": (
        "order in het ERP boeken en de klant een bevestiging sturen",
        "Auftrag im ERP buchen und dem Kunden bestätigen",
    ),
    "prompt": ("prompt", "Prompt"),
    "qty": ("aantal", "Menge"),
    "reason": ("reden", "Grund"),
    "reply %(picks)s to take:": ("antwoord %(picks)s om te kiezen:", "antworten Sie %(picks)s zur Auswahl:"),
    "sender %(sender)s is not a known contact.": (
        "afzender %(sender)s is geen bekende contactpersoon.",
        "Absender %(sender)s ist kein bekannter Kontakt.",
    ),
    "take choice b for line 1 (several: 1b 3a)": (
        "keuze b voor regel 1 nemen (meerdere: 1b 3a)",
        "Auswahl b für Position 1 nehmen (mehrere: 1b 3a)",
    ),
    "your order": ("uw bestelling", "Ihre Bestellung"),
    "%(n)s issue(s)": ("%(n)s aandachtspunt(en)", "%(n)s Problem(e)"),
    "Answer each summary email with %(approve)s, %(reject)s <reason> or edits; STATUS re-sends it.": (
        "Beantwoord elke samenvatting met %(approve)s, %(reject)s <reden> of wijzigingen; STATUS stuurt hem opnieuw.",
        "Beantworten Sie jede Zusammenfassung mit %(approve)s, %(reject)s <Grund> oder Änderungen; STATUS sendet sie erneut.",
    ),
    "Emails that could not be processed (%(n)s): they are in the folder mailorder/failed of the order inbox.": (
        "E-mails die niet verwerkt konden worden (%(n)s): ze staan in de map mailorder/failed van de orderinbox.",
        "E-Mails, die nicht verarbeitet werden konnten (%(n)s): sie liegen im Ordner mailorder/failed des Auftragspostfachs.",
    ),
    "Open order drafts on %(day)s: %(n)s": (
        "Open ordervoorstellen op %(day)s: %(n)s",
        "Offene Auftragsentwürfe am %(day)s: %(n)s",
    ),
    "Your open order drafts (%(n)s) – %(day)s": (
        "Je open ordervoorstellen (%(n)s) – %(day)s",
        "Ihre offenen Auftragsentwürfe (%(n)s) – %(day)s",
    ),
    "unknown customer": ("onbekende klant", "unbekannter Kunde"),
    "attached": ("bijgevoegd", "angehängt"),
    "could not be read (%(why)s): please check the original": (
        "kon niet worden gelezen (%(why)s): controleer het origineel",
        "konnte nicht gelesen werden (%(why)s): bitte prüfen Sie das Original",
    ),
    "read, no order lines": ("gelezen, geen orderregels", "gelesen, keine Bestellpositionen"),
    "read, order lines: %(n)s": ("gelezen, orderregels: %(n)s", "gelesen, Bestellpositionen: %(n)s"),
    "Posted automatically since the last digest (%(n)s):": (
        "Automatisch geboekt sinds het vorige overzicht (%(n)s):",
        "Seit der letzten Übersicht automatisch gebucht (%(n)s):",
    ),
    "POSTS AUTOMATICALLY at %(at)s unless you reply %(hold)s, edit it or reject it.": (
        "WORDT AUTOMATISCH GEBOEKT op %(at)s, tenzij je %(hold)s antwoordt, het wijzigt of afwijst.",
        "WIRD AUTOMATISCH GEBUCHT am %(at)s, außer Sie antworten %(hold)s, ändern oder lehnen ihn ab.",
    ),
    "%(approve)s posts it now. It qualified because:": (
        "%(approve)s boekt het nu. Het voldoet omdat:",
        "%(approve)s bucht ihn sofort. Er erfüllt die Bedingungen, weil:",
    ),
    "Summary could not be delivered": (
        "Samenvatting kon niet worden afgeleverd",
        "Zusammenfassung nicht zustellbar",
    ),
    "The summary of this draft could not be delivered to any rep (%(reason)s).": (
        "De samenvatting van dit voorstel kon bij geen enkele vertegenwoordiger worden afgeleverd (%(reason)s).",
        "Die Zusammenfassung dieses Entwurfs konnte keinem Vertreter zugestellt werden (%(reason)s).",
    ),
    "Review it with `mailorder orders show MO-%(id)s` or in the console; reply STATUS to this note to get it again.": (
        "Bekijk het met `mailorder orders show MO-%(id)s` of in de console; antwoord STATUS op dit bericht "
        "om het opnieuw te krijgen.",
        "Prüfen Sie ihn mit `mailorder orders show MO-%(id)s` oder in der Konsole; antworten Sie STATUS auf "
        "diese Nachricht, um ihn erneut zu erhalten.",
    ),
    "in stock: %(qty)s": ("op voorraad: %(qty)s", "auf Lager: %(qty)s"),
    "only %(qty)s in stock": ("slechts %(qty)s op voorraad", "nur %(qty)s auf Lager"),
    "out of stock": ("niet op voorraad", "nicht auf Lager"),
    "stock unknown": ("voorraad onbekend", "Bestand unbekannt"),
    "waiting %(n)s days": ("wacht %(n)s dagen", "wartet %(n)s Tage"),
    "waiting %(n)s h": ("wacht %(n)s u", "wartet %(n)s Std."),
}


def write_catalogs() -> list[str]:
    """Write nl and de catalogs from the template; returns the msgids without a translation."""
    with (HERE / "mailorder.pot").open("rb") as pot:
        template = read_po(pot)
    missing: list[str] = []
    for index, lang in enumerate(("nl", "de")):
        catalog = Catalog(locale=lang, domain="mailorder", project="mailorder")
        for message in template:
            if not message.id:
                continue
            texts = TEXTS.get(str(message.id))
            if texts is None and index == 0:
                missing.append(str(message.id))
            catalog.add(message.id, texts[index] if texts else "")
        target = HERE / lang / "LC_MESSAGES" / "mailorder.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            write_po(out, catalog, omit_header=True, sort_output=True, no_location=True)
    return missing


if __name__ == "__main__":
    untranslated = write_catalogs()
    for msgid in untranslated:
        print(f"untranslated: {msgid!r}")
    sys.exit(1 if untranslated else 0)
