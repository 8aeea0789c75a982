from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearfactsAppConfig(AppConfig):
    name = "clearfacts_app"
    verbose_name = _("Clearfacts")
