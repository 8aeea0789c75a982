"""VAT rates per destination country and EN16931 tax code.

The rates Clearvo's specification lists (its "Tax codes" table) are taken as they are. Where it gives
none, the statutory rate is used, with its source; rates checked on 2026-11-28. A code that has no
rate in a country (AC outside Italy, AB in Germany) is not valid there. Clearvo computes the VAT
the authority sees from its own table: the portal's totals are what the user sees while drafting.
"""

from decimal import Decimal

ZERO = Decimal("0")
# Codes that carry no VAT, valid in every destination country.
ZERO_RATED = ("AE", "K", "G", "E", "O", "Z")

RATES: dict[str, dict[str, Decimal]] = {
    # Clearvo's table: IT 22 / 10 / 5 / 4.
    "IT": {"S": Decimal("22"), "AA": Decimal("10"), "AB": Decimal("5"), "AC": Decimal("4")},
    # Clearvo's table: PL 23 / 8 / 5.
    "PL": {"S": Decimal("23"), "AA": Decimal("8"), "AB": Decimal("5")},
    # Clearvo's table: DE 19 / 7 (UStG § 12; Germany has no second reduced rate).
    "DE": {"S": Decimal("19"), "AA": Decimal("7")},
    # Clearvo's table: FR 20. Statutory: 10 % (CGI art. 279) and 5.5 % (CGI art. 278-0 bis).
    # The 2.1 % rate (CGI art. 281 quater) would be super-reduced, which Clearvo reserves (AC) for Italy.
    "FR": {"S": Decimal("20"), "AA": Decimal("10"), "AB": Decimal("5.5")},
    # Clearvo's table: ES 21. Statutory: 10 % and 4 % (Ley 37/1992 del IVA, art. 91).
    "ES": {"S": Decimal("21"), "AA": Decimal("10"), "AB": Decimal("4")},
    # Statutory, mainland Portugal: 23 %, 13 %, 6 % (Código do IVA, art. 18).
    "PT": {"S": Decimal("23"), "AA": Decimal("13"), "AB": Decimal("6")},
    # Statutory: 21 % and 11 % since 1 August 2025 (Legea 141/2025 amending Codul fiscal, art. 291).
    "RO": {"S": Decimal("21"), "AA": Decimal("11")},
    # Statutory: 27 %, 18 %, 5 % (2007. évi CXXVII. törvény az általános forgalmi adóról, § 82).
    "HU": {"S": Decimal("27"), "AA": Decimal("18"), "AB": Decimal("5")},
}


def tax_codes_for(country: str) -> list[str]:
    """The tax codes an invoice to `country` may use, rated ones first."""
    return [*RATES.get(country, {}), *ZERO_RATED]


def is_valid_code(country: str, tax_code: str) -> bool:
    return tax_code in ZERO_RATED or tax_code in RATES.get(country, {})


def rate_for(country: str, tax_code: str) -> Decimal | None:
    """The VAT rate in percent, 0 for the zero-rated codes, None where the code is not valid."""
    if tax_code in ZERO_RATED:
        return ZERO
    return RATES.get(country, {}).get(tax_code)
