"""Every money computation of the sandbox, in one place so it can be audited.

All amounts are ``Decimal`` in GBP, rounded half-up to the penny. One order
line is computed from its unit price, quantity, shipping charge, VAT rate and
commission rate:

* ``price = price_unit x quantity``; the shipping charge of the order sits on
  its first line (``shipping_price``), the other lines carry 0.00;
  ``total_price = price + shipping_price``.
* VAT, ``TAX_INCLUDED`` order (prices include VAT, the sandbox default):
  ``tax = round(price x rate / (100 + rate))``, same formula for the shipping
  tax at the line's rate. ``TAX_EXCLUDED`` order (prices exclude VAT):
  ``tax = round(price x rate / 100)``.
* Commission: ``commission_fee = round(total_price x commission rate / 100)``
  on the line's total price in the order's own tax mode, ``commission_tax =
  round(commission_fee x 20 / 100)`` (UK VAT on the operator's service),
  ``total_commission = commission_fee + commission_tax``.
* Order level: ``price``, ``shipping_price`` and ``total_commission`` are the
  sums over all lines (refused lines included: sandbox convention, Mirakl's
  behaviour after a partial refusal is UNCONFIRMED), ``total_price = price +
  shipping_price``.

OR11 may ask for the other tax mode (``order_tax_mode``): amounts are then
converted line by line, ``excluded = included - tax`` (or ``included =
excluded + tax``), tax amounts and commission unchanged, and the unit prices
are re-derived as ``round(price / quantity)`` (so after a conversion
``price_unit x quantity`` may differ from ``price`` by a few pence; ``price``
is the authoritative figure).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

TAX_INCLUDED = "TAX_INCLUDED"
TAX_EXCLUDED = "TAX_EXCLUDED"
TAX_MODES = (TAX_INCLUDED, TAX_EXCLUDED)

COMMISSION_VAT_RATE = Decimal(20)
COMMISSION_TAX_CODE = "GB_VAT"

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


def money(value):
    """Round ``value`` (Decimal, int or decimal string) half-up to the penny."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def included_tax(amount, rate):
    """VAT contained in a tax-inclusive ``amount`` at ``rate`` percent."""
    return money(amount * rate / (HUNDRED + rate))


def added_tax(amount, rate):
    """VAT due on top of a tax-exclusive ``amount`` at ``rate`` percent."""
    return money(amount * rate / HUNDRED)


@dataclass(frozen=True)
class LineAmounts:
    """The amounts of one order line, in the order's own tax mode."""

    tax_mode: str
    quantity: int
    price_unit: Decimal
    price: Decimal
    shipping_price: Decimal
    total_price: Decimal
    vat_rate: Decimal
    tax: Decimal
    shipping_tax: Decimal
    commission_rate: Decimal
    commission_fee: Decimal
    commission_tax: Decimal
    total_commission: Decimal

    def priced(self, tax_mode):
        """Prices as shown in ``tax_mode``: dict of the five price fields."""
        price, shipping = self.price, self.shipping_price
        if tax_mode != self.tax_mode:
            sign = -1 if tax_mode == TAX_EXCLUDED else 1
            price += sign * self.tax
            shipping += sign * self.shipping_tax
        same = tax_mode == self.tax_mode
        return {
            "price_unit": self.price_unit if same else money(price / self.quantity),
            "price": price,
            "shipping_price": shipping,
            "shipping_price_unit": shipping,
            "total_price": price + shipping,
        }


def compute_line(
    price_unit, quantity, shipping_price, vat_rate, commission_rate, tax_mode
):
    """Compute one line (see the module docstring for the formulas)."""
    price_unit = money(price_unit)
    shipping_price = money(shipping_price)
    price = money(price_unit * quantity)
    tax_of = included_tax if tax_mode == TAX_INCLUDED else added_tax
    total_price = price + shipping_price
    commission_fee = money(total_price * commission_rate / HUNDRED)
    commission_tax = money(commission_fee * COMMISSION_VAT_RATE / HUNDRED)
    return LineAmounts(
        tax_mode=tax_mode,
        quantity=quantity,
        price_unit=price_unit,
        price=price,
        shipping_price=shipping_price,
        total_price=total_price,
        vat_rate=vat_rate,
        tax=tax_of(price, vat_rate),
        shipping_tax=tax_of(shipping_price, vat_rate),
        commission_rate=commission_rate,
        commission_fee=commission_fee,
        commission_tax=commission_tax,
        total_commission=commission_fee + commission_tax,
    )


def order_totals(lines, tax_mode):
    """Order-level amounts of ``lines`` (LineAmounts) shown in ``tax_mode``."""
    priced = [line.priced(tax_mode) for line in lines]
    price = sum((p["price"] for p in priced), ZERO)
    shipping_price = sum((p["shipping_price"] for p in priced), ZERO)
    return {
        "price": price,
        "shipping_price": shipping_price,
        "total_price": price + shipping_price,
        "total_commission": sum((line.total_commission for line in lines), ZERO),
    }
