"""The sandbox's stricter look at an uploaded UBL, so that tests catch a broken file as Clearfacts would.

clearfacts_app.filetypes.inspect has already found the file well-formed (no DTD, no entities, not
nested too deeply) with an Invoice or CreditNote root in the UBL 2.1 namespaces. Clearfacts reads
only the formats its upload page names (clearfacts-api-addendum.md): Peppol BIS Billing 3.0, its
Belgian variant UBL.BE, and the legacy E-FFF; the document's CustomizationID says which it follows.
"""

from typing import BinaryIO

from defusedxml.ElementTree import parse

from clearfacts_app.filetypes import FileRefused

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PEPPOL_BIS_3 = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
UBL_BE = "urn:cen.eu:en16931:2017#conformant#urn:UBL.BE:"
EFFF = "urn:www.efff.be:"
UNSUPPORTED_CUSTOMIZATION = (
    "The UBL file's CustomizationID must be Peppol BIS Billing 3.0 ("
    + PEPPOL_BIS_3
    + "), UBL.BE or E-FFF; it is {found}."
)


def customization_accepted(value: str) -> bool:
    return value == PEPPOL_BIS_3 or value.startswith(UBL_BE) or EFFF in value


def check_customization(stream: BinaryIO) -> str:
    """The CustomizationID of a UBL document that inspect() accepted, or FileRefused. Rewinds the stream."""
    try:
        root = parse(stream, forbid_dtd=True).getroot()
    finally:
        stream.seek(0)
    element = root.find(f"{{{CBC}}}CustomizationID")
    value = (element.text or "").strip() if element is not None else ""
    if not customization_accepted(value):
        found = f"“{value}”" if value else "missing"
        raise FileRefused("unsupported_customization", UNSUPPORTED_CUSTOMIZATION.format(found=found))
    return value
