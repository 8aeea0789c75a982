from django.apps import AppConfig


class SandboxClearfactsConfig(AppConfig):
    name = "sandbox.clearfacts"
    label = "sandbox_clearfacts"
    verbose_name = "Sandbox: Clearfacts"
