"""The invoice page's documents for the buyer: the PDF and UBL downloads, and the e-mails to the buyer."""

from django import template

from clearfacts_app.roles import Action, can
from invoicing import buyer_mail

register = template.Library()


@register.inclusion_tag("invoicing/invoice_documents.html", takes_context=True)
def invoice_documents(context):
    """`{% invoice_documents %}` on the invoice page (needs `invoice`, `administration` and `user` in the context)."""
    invoice = context["invoice"]
    shown = {"invoice": invoice, "administration": context["administration"], "draft": invoice.is_editable}
    if invoice.is_editable:
        return shown
    emails = buyer_mail.invoice_emails(invoice)
    return shown | {
        # E-mailing the buyer sends the invoice out: for those who may submit (clearfacts_app.roles).
        "can_email": can(context.get("user"), Action.SUBMIT, context["administration"]),
        "address": buyer_mail.buyer_address(invoice),
        "missing_address": buyer_mail.missing_address(invoice),
        "emails": emails,
        # While an e-mail is on its way the part asks the page again, until the worker has recorded it.
        "sending": any(email.state == "waiting" for email in emails),
        "csrf_token": context.get("csrf_token"),
    }
