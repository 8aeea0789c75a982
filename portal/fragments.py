"""Keys of the drawn fragments kept in the `fragments` cache (docs/performance.md, "Kept fragments")."""

from django.utils import timezone
from django.utils.translation import get_language


def fragment_key(*values) -> str:
    """`values`, everything a fragment shows, with the language and time zone every drawing depends on."""
    return repr((get_language(), timezone.get_current_timezone_name(), values))
