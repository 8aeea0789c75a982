"""Changes the portal asks Clearfacts to make for a user (associates, app info)."""

from clearfacts_app import client, selectors
from clearfacts_app.models import Administration


def associate_add(
    *,
    user,
    first_name: str,
    last_name: str,
    email: str,
    associate_type: str,
    language: str,
    group_ids: list[str],
    active: bool = True,
) -> dict:
    """Creates the associate in Clearfacts. The answer carries a generated password, which the
    caller shows once and must not keep."""
    associate = {
        "firstName": first_name,
        "lastName": last_name,
        "email": email,
        "type": associate_type,
        "language": language,
        "active": active,
        "associateGroups": [{"id": group_id} for group_id in group_ids],
        "sendActivationMail": False,
    }
    added = client.execute(user=user, operation="AddAssociate", variables={"associate": associate})["addAssociate"]
    selectors.forget_associates(user=user)
    return added


# The assumed Associate fields (docs/decisions.md) the edit form shows with a default when Clearfacts
# does not tell them: not sent then, so an edit never overwrites a value nobody saw.
UNSEEN_WITHOUT_DETAILS = ("type", "active", "language")


def associate_edit(*, user, associate_id: str, changes: dict) -> dict:
    try:
        known = next((a for a in selectors.associates(user=user) if a["id"] == associate_id), None)
    except client.ClearfactsError:
        known = None
    if known is None or not known["detailsKnown"]:
        changes = {name: value for name, value in changes.items() if name not in UNSEEN_WITHOUT_DETAILS}
    edited = client.execute(user=user, operation="EditAssociate", variables={"id": associate_id, "associate": changes})
    selectors.forget_associates(user=user)
    return edited["editAssociate"]


def app_info_update(
    *, user, administration: Administration, image_url: str, email: str, badge: dict, icon: dict
) -> dict:
    """updateAppInfo. Blank values are sent as null: Clearfacts then keeps what it has."""
    variables = {
        "vatnumber": administration.company_number,
        "imageUrl": image_url or None,
        "emailaddress": email or None,
        "badge": {name: value or None for name, value in badge.items()},
        "icon": {name: value or None for name, value in icon.items()},
    }
    return client.execute(user=user, operation="UpdateAppInfo", variables=variables)["updateAppInfo"]
