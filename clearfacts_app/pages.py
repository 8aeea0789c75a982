"""What the app's pages share: reading Clearfacts for a page, and a page of documents.

A page never shows an error page for Clearfacts' sake: a missing scope, an unreachable Clearfacts or
a refusal becomes a message the page shows in place of what it could not read.
"""

import logging

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearfacts_app import client, selectors
from clearfacts_app.models import Document

logger = logging.getLogger(__name__)

SCOPE_NAMES = {
    "journal_read": gettext_lazy("read the administration's journals"),
    "contact_read": gettext_lazy("read the administration's customers"),
    "archive_read": gettext_lazy("read the archive categories"),
    "statistics": gettext_lazy("read statistics"),
    "accountant": gettext_lazy("read your accounting office's details"),
    "associate_read": gettext_lazy("read the office's associates"),
    "associate_actions": gettext_lazy("add and change associates"),
}


def missing_scope_message(scope: str) -> str:
    return _(
        "Your Clearfacts sign-in does not allow the portal to %(what)s (scope %(scope)s). Sign in again and allow "
        "it, or ask your accounting office."
    ) % {"what": SCOPE_NAMES.get(scope, scope), "scope": scope}


def has_scope(request, scope: str) -> bool:
    credential = getattr(request, "clearfacts_credential", None)
    return credential is not None and credential.has_scope(scope)


def read_clearfacts(request, scope: str, read):
    """Runs a Clearfacts read for a page: (result, None) or (None, a message for the page).

    client.NotAuthorized is left to the credential middleware, which asks for a new sign-in.
    """
    if not has_scope(request, scope):
        return None, missing_scope_message(scope)
    try:
        return read(refresh=request.GET.get("refresh") == "1"), None
    except client.MissingScope as error:
        return None, missing_scope_message(error.details.get("scope", scope))
    except client.NotFound:
        return None, _("Clearfacts no longer lets you see this. Use “Refresh from Clearfacts” on the dashboard.")
    except client.Unavailable:
        logger.warning("Clearfacts unavailable for a page", exc_info=True)
        return None, _("Clearfacts could not be reached just now. Try again in a moment.")
    except client.SchemaMismatch:
        logger.warning("Clearfacts' schema refused a page's question", exc_info=True)
        return None, _("Clearfacts no longer answers this question the way the portal asks it. Try again later.")
    except client.Refused as error:
        return None, refusal_message(error)
    except client.ClearfactsAnswerInvalid:
        return None, answer_invalid_message()


def refusal_message(error: client.Refused) -> str:
    """Why Clearfacts refused, in the reader's language; Clearfacts' own words only quoted as its."""
    if error.code == "FORBIDDEN":
        return _(
            "Clearfacts does not let your account see this: it is for the accounting office's associates, "
            "or needs a right your account does not have."
        )
    if error.message:
        return _("Clearfacts refused the request. Clearfacts said: “%(message)s”") % {"message": error.message}
    return _("Clearfacts refused the request.")


def answer_invalid_message() -> str:
    return _("Clearfacts could not say just now: its answer was incomplete or not what it should be. Try again later.")


def list_filters(**values) -> QueryDict:
    """What a list's links (its pages, say) keep of the query string: the values that are set."""
    filters = QueryDict(mutable=True)
    filters.update({name: value for name, value in values.items() if value})
    return filters


def document_list_context(documents, params) -> dict:
    """A page of `documents` and its `filters`, which keep only known values (links are built from them)."""
    known = {"status": Document.Status.values, "destination": Document.Destination.values}
    filters = list_filters(**{name: params.get(name) for name, choices in known.items() if params.get(name) in choices})
    page = selectors.document_page(documents, params=filters.dict() | {"page": params.get("page")})
    return page | {"filters": filters}
