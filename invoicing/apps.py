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

        from invoicing import buyer_mail  # noqa: F401 (registers the "e-mail to the buyer" task with the Celery worker)
        from invoicing.activity_descriptions import register as activity_descriptions_register

        activity_descriptions_register()  # how its activity rows read (clearfacts_app.activity.describe)
