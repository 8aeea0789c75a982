from django.apps import AppConfig


class SandboxClearvoConfig(AppConfig):
    name = "sandbox.clearvo"
    label = "sandbox_clearvo"
    verbose_name = "Sandbox: Clearvo"
