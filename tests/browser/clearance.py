"""What the browser tests of clearance share: a Polish invoice ready to submit, and playing the poller's part."""

import time

from clearfacts_app.models import Administration
from invoicing import services
from invoicing.models import Invoice, Submission
from tests.factories import make_invoice
from tests.invoicing.editor_helpers import complete_profile
from tests.invoicing.rules_examples import BUYERS
from tests.personas import BAKKERIJ

# KSeF decides after 30 s and asks to be polled every 60 s: here after 0.5 s, every second.
TIME_FACTOR = 60.0


def polish_invoice(author, *, invoice_number="PL-2026-0001") -> Invoice:
    administration = Administration.objects.get(company_number=BAKKERIJ)
    profile = complete_profile(administration)
    name, nip, street, city, postal_code = BUYERS["PL"]
    invoice = make_invoice(
        administration,
        author,
        invoice_number=invoice_number,
        country="PL",
        currency="PLN",
        buyer_name=name,
        buyer_tax_id=nip,
        buyer_tax_id_country="PL",
        buyer_street=street,
        buyer_city=city,
        buyer_postal_code=postal_code,
        buyer_country="PL",
        iban=profile.iban,
        bic=profile.bic,
    )
    services.supplier_copy(invoice, profile)
    invoice.save()
    return invoice


def poll_until_accepted(page, invoice, *, within: float = 30) -> None:
    """Runs the poller (as its periodic task would) until the invoice's submission stored ACCEPTED."""
    from invoicing import polling

    deadline = time.monotonic() + within
    while not Submission.objects.filter(invoice=invoice, clearance_status="ACCEPTED").exists():
        assert time.monotonic() < deadline, "the poller never stored ACCEPTED"
        polling.submissions_poll_due()
        page.wait_for_timeout(200)
