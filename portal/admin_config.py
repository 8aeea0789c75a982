from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """The admin, served by the staff-only site (portal.admin_site)."""

    default_site = "portal.admin_site.StaffAdminSite"
