from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from portal import checks  # noqa: F401  (registers the system checks)
        from portal.health import ensure_local_folders

        # Every process (web, worker, beat, commands) needs var/ and the broker's folders.
        ensure_local_folders()
