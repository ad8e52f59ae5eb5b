from mailorder.agent.extract.classify import triage
from mailorder.domain import ParsedEmail, TriageLabel
from mailorder.mail.clean import clean_order_body


def label(text: str, subject: str = "", headers: dict | None = None, sender: str = "a@klant.nl"):
    email = ParsedEmail(message_id="<t@x>", subject=subject, text=text, sender=sender, headers=headers or {})
    return triage(email, clean_order_body(email)).label


def test_orders():
    assert label("Graag bestellen:\n2x 10-0001-0001\n3 rollen wit") == TriageLabel.ORDER
    assert label("Kunnen jullie leveren: 1 pallet A4 papier") == TriageLabel.ORDER
    assert label("4x 10-0001-0001\n2x 10-0002-0002") == TriageLabel.ORDER


def test_headers_decide_auto_replies_and_marketing():
    assert (
        label("Ik ben afwezig tot maandag.", headers={"auto-submitted": "auto-replied"})
        == TriageLabel.AUTO_REPLY
    )
    assert label("x", subject="Automatisch antwoord: bestelling") == TriageLabel.AUTO_REPLY
    assert (
        label("Your message could not be delivered", sender="mailer-daemon@mx.nl") == TriageLabel.AUTO_REPLY
    )
    assert (
        label("Nieuw in ons assortiment: 2x korting!", headers={"list-unsubscribe": "<mailto:u@x>"})
        == TriageLabel.MARKETING
    )
    assert (
        label("Lees onze nieuwsbrief. Afmelden voor deze mail? Klik uitschrijven.") == TriageLabel.MARKETING
    )


def test_quote_status_complaint_other():
    assert label("Kunt u een offerte maken voor 20 platen wit 10mm?") == TriageLabel.QUOTE_REQUEST
    assert (
        label("Waar blijft onze bestelling van vorige week? Graag de track & trace.")
        == TriageLabel.ORDER_STATUS
    )
    assert label("Ik heb 5 van de 6 flessen ontvangen, er mist er nog een.") == TriageLabel.COMPLAINT
    assert label("Ons e-mailadres is gewijzigd.") == TriageLabel.OTHER


def test_cancellations_and_status_questions_mentioning_products_are_not_orders():
    assert (
        label("Kunnen jullie de 2 rollen tape van gisteren nog schrappen?", subject="Annuleren")
        == TriageLabel.OTHER
    )
    assert (
        label(
            "Onze bestelling (3 rollen 3551 glans) is nog steeds niet binnen. "
            "Kunnen jullie een track & trace sturen?"
        )
        == TriageLabel.ORDER_STATUS
    )
    assert (
        label("We willen graag een prijsopgave voor:\n- 20 platen wit 3 mm\nNog niet bestellen.")
        == TriageLabel.QUOTE_REQUEST
    )


# ------------------------------------------------------- products and quantities are not yet an order

QUOTED_OFFER = (
    "\n\n-----Original Message-----\nFrom: Sales <sales@example.com>\nSent: Monday 6 October 2025 10:00\n"
    "To: Buyer <buyer@x.co.uk>\nSubject: Quote 5521\n\nDear buyer,\n\n"
    "1. Forex Classic white 5 mm - 10 sheets\n2. Oraguard 290 gloss 1370 - 2 rolls\n\nRegards\n"
)


def test_accepting_a_quoted_offer_is_an_order():
    assert label("Fine, please go ahead with item 2." + QUOTED_OFFER, "RE: Quote 5521") == TriageLabel.ORDER
    assert label("Akkoord met de offerte hieronder." + QUOTED_OFFER, "RE: Quote 5521") == TriageLabel.ORDER
    assert (
        label("Passt so, bitte wie unten angeboten liefern." + QUOTED_OFFER, "AW: Angebot")
        == TriageLabel.ORDER
    )


def test_a_reply_adding_to_a_confirmed_order_is_an_order():
    text = "Could you add two boxes of the Roland cleaning fluid to it?\n\nThanks, Joe" + QUOTED_OFFER
    assert label(text, "RE: Order confirmation 77") == TriageLabel.ORDER


def test_orders_without_the_word_order():
    assert (
        label("wir brauchen kurzfristig:\nzwei Rollen Oracal 651 weiß\neine Rolle MT95") == TriageLabel.ORDER
    )
    assert label("Mimaki SS21\nC 3\nM 1\nY 2\nK 4") == TriageLabel.ORDER
    assert label("Hetzelfde als de vorige keer graag, maar dan 3 dozen.") == TriageLabel.ORDER


def test_a_purchasing_system_order_that_says_it_is_automatic_is_an_order():
    text = (
        "INKOOPORDER 2025-771\n\nRegel | Artikel | Omschrijving | Aantal\n"
        "1 | 02-0001-4223 | A4 papier | 20\n\n"
        "Dit bericht is automatisch gegenereerd; antwoorden worden niet gelezen."
    )
    assert label(text, "Inkooporder 2025-771") == TriageLabel.ORDER


def test_complaints_invoice_status_and_quote_questions_listing_products_are_not_orders():
    assert (
        label(
            "Van de 10 rollen Oracal 651 die we vorige week bestelden zijn er 2 beschadigd. Graag vervanging."
        )
        == TriageLabel.COMPLAINT
    )
    assert (
        label("Op factuur 5512 staan 12 dozen A4, wij hebben er 10 besteld. Graag een creditnota.")
        == TriageLabel.OTHER
    )
    assert (
        label("Just checking on our order of last week:\n- 6 sheets Dibond white 3mm\nWhen will it arrive?")
        == TriageLabel.ORDER_STATUS
    )
    assert (
        label("Bitte senden Sie uns ein Angebot über 20 Rollen Oracal 970RA schwarz matt 1520.")
        == TriageLabel.QUOTE_REQUEST
    )


def test_supplier_newsletters_in_three_languages_are_marketing():
    assert (
        label("Nicht richtig angezeigt? Im Browser ansehen.\n20% Rabatt auf Folien.\nNewsletter abbestellen")
        == TriageLabel.MARKETING
    )
    assert (
        label("View this email in your browser\nNew inks - order 6 get 1 free!\nUnsubscribe from this list")
        == TriageLabel.MARKETING
    )
    assert (
        label("Bekijk deze e-mail in je browser\nHerfstactie: 3 rollen = 1 gratis\nUitschrijven")
        == TriageLabel.MARKETING
    )


def test_enquiries_about_stock_samples_and_offers_from_other_suppliers_are_not_orders():
    assert (
        label("Hebben jullie 20 platen Dibond wit 3mm op voorraad? Wat is de levertijd?")
        == TriageLabel.QUOTE_REQUEST
    )
    assert label("Could you send us a few samples of the 3551 gloss and matt?") != TriageLabel.ORDER
    assert label("Kan ik ook 3551 in 1600 mm bestellen?") != TriageLabel.ORDER
    offer = (
        "Speciaal voor u: Oracal 651 rollen 1260 mm nu 5 rollen = 1 gratis.\n"
        "Actieprijs geldig zolang de voorraad strekt. Bestel nu via onze webshop."
    )
    assert label(offer, "Herfstactie folie") == TriageLabel.MARKETING
    assert label("Kunnen we de levering van order 5521 verschuiven naar volgende week?") == TriageLabel.OTHER


def test_agreeing_with_our_own_order_confirmation_books_nothing_new():
    confirmation = (
        "\n\n-----Original Message-----\nFrom: Sales <sales@example.com>\nSent: Monday 6 October 2025\n"
        "To: Buyer <buyer@x.nl>\nSubject: Orderbevestiging 7781\n\n"
        "Bedankt voor uw bestelling. Wij hebben geboekt:\n"
        "2 rol Oracal 651 wit 1260\n"
    )
    assert label("Akkoord, dank je!" + confirmation, "RE: Orderbevestiging 7781") == TriageLabel.OTHER
    added = "Akkoord. Kunnen jullie er ook 1 rol MT72 1260 bij doen?" + confirmation
    assert label(added, "RE: Orderbevestiging 7781") == TriageLabel.ORDER
