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
