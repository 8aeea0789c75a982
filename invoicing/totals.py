"""An invoice's amounts, rounded the EN16931 way.

Each line's net amount is quantity × unit price rounded to 2 decimals (BT-131); lines are grouped
per tax code and rate (BG-23); each group's VAT is its taxable amount × rate, rounded once (BT-117);
the totals are sums of rounded amounts (BT-106, BT-110, BT-112). Works on unsaved lines, so the form
can show totals while the user types.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from invoicing.rates import rate_for

CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net(quantity: Decimal | None, unit_price: Decimal | None) -> Decimal | None:
    if quantity is None or unit_price is None:
        return None
    return money(quantity * unit_price)


@dataclass
class VatGroup:
    tax_code: str
    rate: Decimal
    taxable: Decimal = Decimal("0.00")

    @property
    def vat(self) -> Decimal:
        return money(self.taxable * self.rate / 100)


@dataclass
class Totals:
    lines: list[Decimal | None] = field(default_factory=list)  # each line's net amount, None if incomplete
    groups: list[VatGroup] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return sum((group.taxable for group in self.groups), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return sum((group.vat for group in self.groups), Decimal("0.00"))

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def compute(country: str, lines: Iterable) -> Totals:
    """Totals of `lines` (objects with quantity, unit_price and tax_code) for an invoice to `country`.

    A line whose amount or code is incomplete or not valid for the country gets no amount and is
    left out of the groups; the form says what is wrong with it.
    """
    totals = Totals()
    groups: dict[tuple[str, Decimal], VatGroup] = {}
    for line in lines:
        amount = line_net(line.quantity, line.unit_price)
        rate = rate_for(country, line.tax_code) if line.tax_code else None
        totals.lines.append(amount)
        if amount is None or rate is None:
            continue
        group = groups.setdefault((line.tax_code, rate), VatGroup(line.tax_code, rate))
        group.taxable += amount
    totals.groups = sorted(groups.values(), key=lambda group: (-group.rate, group.tax_code))
    return totals
