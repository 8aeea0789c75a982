"""Admin pages that show a record and let nobody add, change or delete it (the audit log, grants,
the clearance record's parts)."""


class ReadOnly:
    """Mixed into a ModelAdmin or an inline: staff read, nobody writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
