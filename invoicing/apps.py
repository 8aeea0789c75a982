from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = _("Invoicing")

    def ready(self):
        from clearfacts_app import tabs
        from invoicing import (
            book_tasks,  # noqa: F401 (registers its tasks with the Celery worker)
            notification_tasks,  # noqa: F401 (registers its task with the Celery worker)
            selectors,
            watchdog_tasks,  # noqa: F401 (registers its task with the Celery worker)
        )
        from portal import dashboard

        tabs.tab_add(
            tabs.Tab("invoices", _("Invoices"), "invoicing:administration-invoices", "invoicing/invoice_tab.html"),
            after="documents",
        )
        counts = dashboard.Panel(
            "invoices", "invoicing/invoice_list.html#dashboard_counts", lambda user: selectors.invoice_counts(user=user)
        )
        dashboard.panel_add(counts)

        from clearfacts_app import comments
        from invoicing.models import Invoice, InvoiceComment

        comments.commentable_add(
            comments.Commentable(
                kind="invoice",
                model=Invoice,
                comment_model=InvoiceComment,
                field="invoice",
                page_url_name="invoicing:invoice-detail",
                url_prefix="invoicing:invoice",
                label_key="number",
                label=lambda invoice: invoice.invoice_number,
            )
        )

        from invoicing import buyer_mail  # noqa: F401 (registers the "e-mail to the buyer" task with the Celery worker)
        from invoicing.activity_descriptions import register as activity_descriptions_register

        activity_descriptions_register()  # how its activity rows read (clearfacts_app.activity.describe)
