"""Every money computation of the sandbox, in one place so it can be audited.

All amounts are ``Decimal`` in GBP, rounded half-up to the penny. One order
line is computed from its unit price, quantity, shipping charge, tax set and
commission rate:

* ``price = price_unit x quantity``; the shipping charge of the order (the
  shipping type's price, or the order spec's ``shipping_price``) sits on its
  first line (``shipping_price``), the other lines carry 0.00;
  ``total_price = price + shipping_price``.
* Taxes: a line carries a set of taxes ``(code, rate)``, by default the one
  VAT rate of its category (20 %, 5 % or 0 %); an order spec may give several
  (or none: no tax at all). Each tax is computed separately on the line's
  ``price``, and on its ``shipping_price`` with the same set:

  - ``TAX_EXCLUDED`` order (prices exclude the taxes):
    ``tax_i = round(price x rate_i / 100)``;
  - ``TAX_INCLUDED`` order (prices include them, the sandbox default):
    ``tax_i = round(price x rate_i / (100 + sum of the rates))``, i.e. each
    tax's share of the tax-inclusive price (with one tax: ``round(price x
    rate / (100 + rate))``).

  A line without a shipping charge has no shipping taxes.
* Commission: ``commission_fee = round(total_price x commission rate / 100)``
  on the line's total price in the order's own tax mode, ``commission_tax =
  round(commission_fee x 20 / 100)`` (UK VAT on the operator's service),
  ``total_commission = commission_fee + commission_tax``.
* Order level: ``price``, ``shipping_price`` and ``total_commission`` are the
  sums over all lines (refused and cancelled lines included: sandbox
  convention, Mirakl's behaviour after a partial refusal or a cancellation is
  UNCONFIRMED), ``total_price = price + shipping_price``.

Cancelling ``q`` of a line's ``quantity`` (control API, OR29) creates a
cancellation whose amounts are the line's shares: ``amount = round(price x q
/ quantity)``, likewise each tax, the commission fee and its tax; the
shipping charge and its taxes likewise, so all of them when the whole line
is cancelled at once (a share never exceeds what earlier cancellations left).
The cancellation that brings the cancelled quantity up to the line's
quantity takes exactly what is left (line amount minus the earlier
cancellations), so the cancellations of a fully cancelled line add up to the
line to the penny.

OR30 cancellations carry the amounts the seller states, in the request's tax
mode (``seller_cancelation``): ``amount``, ``shipping_amount`` and a tax
amount per code (codes the seller leaves out cancel 0.00). They are stored
in the line's own mode (``included = excluded + the taxes given``, or the
reverse) and must not exceed what the line has left in either mode
(``remaining``). The commission follows the share of the line's total price
cancelled: ``commission_amount = round(commission_fee x (amount +
shipping_amount) / total_price)`` (own-mode amounts), its tax likewise from
the line's commission tax, each capped at what is left; a cancellation that
leaves no price and no shipping charge on the line takes the whole remaining
commission.

Refunds (``compute_refund``, control API on ``SHIPPED`` lines, see
``billing``) are computed like cancellations and stored as ``CancelAmounts``:
the amounts given (default ``price_unit x quantity`` and no shipping), each
tax prorated on the line's (``round(tax x amount / price)``, likewise
shipping), the commission and its tax following the share of the line's
total price refunded as in OR30, capped at what the cancellations and
earlier refunds left. ``left_over`` is what a line has left after its
cancellations (what the debit charges).

OR11 may ask for the other tax mode (``order_tax_mode``): amounts are then
converted line by line, ``excluded = included - taxes`` (or ``included =
excluded + taxes``), tax amounts and commission unchanged, and the unit prices
are re-derived as ``round(price / quantity)`` (so after a conversion
``price_unit x quantity`` may differ from ``price`` by a few pence; ``price``
is the authoritative figure). Cancellation amounts are converted the same way
with their own taxes.
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


def included_tax(amount, rate, total_rate=None):
    """Tax at ``rate`` % contained in a tax-inclusive ``amount``.

    ``total_rate`` is the sum of every rate the amount includes (default:
    ``rate`` alone).
    """
    total_rate = rate if total_rate is None else total_rate
    return money(amount * rate / (HUNDRED + total_rate))


def added_tax(amount, rate):
    """Tax due on top of a tax-exclusive ``amount`` at ``rate`` percent."""
    return money(amount * rate / HUNDRED)


@dataclass(frozen=True)
class TaxAmount:
    """One tax of a line (or of a cancellation): code, rate (%), amount."""

    code: str
    rate: Decimal
    amount: Decimal


def _sum(taxes):
    return sum((tax.amount for tax in taxes), ZERO)


def compute_taxes(amount, rates, tax_mode):
    """The taxes of ``amount`` for ``rates`` ((code, rate) pairs) in ``tax_mode``."""
    total_rate = sum((rate for _code, rate in rates), Decimal(0))
    return tuple(
        TaxAmount(
            code,
            rate,
            included_tax(amount, rate, total_rate)
            if tax_mode == TAX_INCLUDED
            else added_tax(amount, rate),
        )
        for code, rate in rates
    )


def _converted(amount, taxes, from_mode, to_mode):
    if to_mode == from_mode:
        return amount
    return amount + (-1 if to_mode == TAX_EXCLUDED else 1) * _sum(taxes)


@dataclass(frozen=True)
class LineAmounts:
    """The amounts of one order line, in the order's own tax mode."""

    tax_mode: str
    quantity: int
    price_unit: Decimal
    price: Decimal
    shipping_price: Decimal
    total_price: Decimal
    taxes: tuple  # TaxAmount on the price (empty: untaxed)
    shipping_taxes: tuple  # TaxAmount on the shipping price (empty: none)
    commission_rate: Decimal
    commission_fee: Decimal
    commission_tax: Decimal
    total_commission: Decimal

    @property
    def tax(self):
        return _sum(self.taxes)

    @property
    def shipping_tax(self):
        return _sum(self.shipping_taxes)

    def priced(self, tax_mode):
        """Prices as shown in ``tax_mode``: dict of the five price fields."""
        price = _converted(self.price, self.taxes, self.tax_mode, tax_mode)
        shipping = _converted(
            self.shipping_price, self.shipping_taxes, self.tax_mode, tax_mode
        )
        same = tax_mode == self.tax_mode
        return {
            "price_unit": self.price_unit if same else money(price / self.quantity),
            "price": price,
            "shipping_price": shipping,
            "shipping_price_unit": shipping,
            "total_price": price + shipping,
        }


def compute_line(
    price_unit, quantity, shipping_price, tax_rates, commission_rate, tax_mode
):
    """Compute one line (see the module docstring for the formulas).

    :param tax_rates: the line's taxes as ``(code, rate)`` pairs
    """
    price_unit = money(price_unit)
    shipping_price = money(shipping_price)
    price = money(price_unit * quantity)
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
        taxes=compute_taxes(price, tax_rates, tax_mode),
        shipping_taxes=(
            compute_taxes(shipping_price, tax_rates, tax_mode) if shipping_price else ()
        ),
        commission_rate=commission_rate,
        commission_fee=commission_fee,
        commission_tax=commission_tax,
        total_commission=commission_fee + commission_tax,
    )


@dataclass(frozen=True)
class CancelAmounts:
    """The amounts of one cancellation, in the order's own tax mode."""

    tax_mode: str
    quantity: int
    amount: Decimal
    shipping_amount: Decimal
    taxes: tuple  # TaxAmount
    shipping_taxes: tuple  # TaxAmount
    commission_amount: Decimal
    commission_tax: Decimal
    commission_total_amount: Decimal

    def priced(self, tax_mode):
        """``amount`` and ``shipping_amount`` as shown in ``tax_mode``."""
        return {
            "amount": _converted(self.amount, self.taxes, self.tax_mode, tax_mode),
            "shipping_amount": _converted(
                self.shipping_amount, self.shipping_taxes, self.tax_mode, tax_mode
            ),
        }


def _share(total, already, part, whole):
    """``total x part / whole`` rounded, between 0.00 and what ``already``
    left of ``total`` (0.00 when ``whole`` is 0)."""
    if not whole:
        return ZERO
    return max(ZERO, min(total - already, money(total * part / whole)))


def _done(previous, attribute):
    """The sum of ``attribute`` over ``previous`` (CancelAmounts)."""
    return sum((getattr(c, attribute) for c in previous), ZERO)


def _taxes_done(previous, attribute, index):
    """The sum of the ``index``-th tax of ``attribute`` over ``previous``."""
    return sum((getattr(c, attribute)[index].amount for c in previous), ZERO)


def compute_cancelation(line, quantity, previous=()):
    """Cancel ``quantity`` of ``line`` (LineAmounts) after ``previous``.

    :param previous: the line's earlier cancellations (CancelAmounts)
    :raises ValueError: ``quantity`` is not between 1 and what remains
    """
    done = sum(c.quantity for c in previous)
    if not 1 <= quantity <= line.quantity - done:
        raise ValueError(
            "cannot cancel %d of a line of %d (%d already cancelled)"
            % (quantity, line.quantity, done)
        )
    completes = done + quantity == line.quantity

    def share(total, already):
        if completes:
            return total - already
        return _share(total, already, quantity, line.quantity)

    def tax_shares(line_taxes, attribute):
        return tuple(
            TaxAmount(
                tax.code,
                tax.rate,
                share(tax.amount, _taxes_done(previous, attribute, i)),
            )
            for i, tax in enumerate(line_taxes)
        )

    fee = share(line.commission_fee, _done(previous, "commission_amount"))
    fee_tax = share(line.commission_tax, _done(previous, "commission_tax"))
    return CancelAmounts(
        tax_mode=line.tax_mode,
        quantity=quantity,
        amount=share(line.price, _done(previous, "amount")),
        shipping_amount=share(line.shipping_price, _done(previous, "shipping_amount")),
        taxes=tax_shares(line.taxes, "taxes"),
        shipping_taxes=tax_shares(line.shipping_taxes, "shipping_taxes"),
        commission_amount=fee,
        commission_tax=fee_tax,
        commission_total_amount=fee + fee_tax,
    )


def left_over(line, previous=()):
    """What ``line`` has left after the cancellations ``previous``, as a
    CancelAmounts in the line's own tax mode (quantity, amounts, each tax,
    commission): what a debit charges."""

    def taxes_left(line_taxes, attribute):
        return tuple(
            TaxAmount(
                tax.code, tax.rate, tax.amount - _taxes_done(previous, attribute, i)
            )
            for i, tax in enumerate(line_taxes)
        )

    fee = line.commission_fee - _done(previous, "commission_amount")
    fee_tax = line.commission_tax - _done(previous, "commission_tax")
    return CancelAmounts(
        tax_mode=line.tax_mode,
        quantity=line.quantity - sum(c.quantity for c in previous),
        amount=line.price - _done(previous, "amount"),
        shipping_amount=line.shipping_price - _done(previous, "shipping_amount"),
        taxes=taxes_left(line.taxes, "taxes"),
        shipping_taxes=taxes_left(line.shipping_taxes, "shipping_taxes"),
        commission_amount=fee,
        commission_tax=fee_tax,
        commission_total_amount=fee + fee_tax,
    )


def remaining(line, previous, tax_mode):
    """What ``line`` has left after the cancellations ``previous``.

    :return: dict ``amount`` and ``shipping_amount`` as shown in ``tax_mode``,
        ``taxes`` and ``shipping_taxes`` as ``{code: amount}``
    """
    left = left_over(line, previous)
    return dict(
        left.priced(tax_mode),
        taxes={tax.code: tax.amount for tax in left.taxes},
        shipping_taxes={tax.code: tax.amount for tax in left.shipping_taxes},
    )


def _check_left(figures, left, tax_mode):
    """CancelationError unless each of ``figures`` is between 0 and ``left``."""
    for key, value in figures.items():
        if not ZERO <= value <= left[key]:
            raise CancelationError(
                key, "%s: %s asked, %s left (%s)" % (key, value, left[key], tax_mode)
            )


class CancelationError(ValueError):
    """An OR30 figure out of range; ``field`` names it (``quantity``,
    ``amount``, ``shipping_amount``, ``taxes`` or ``shipping_taxes``)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def seller_cancelation(
    line,
    quantity,
    amount,
    shipping_amount,
    taxes,
    shipping_taxes,
    tax_mode,
    previous=(),
):
    """OR30: cancel ``quantity`` of ``line`` with the amounts the seller states.

    :param amount: Decimal, in ``tax_mode`` (``shipping_amount`` likewise)
    :param taxes: ``{code: Decimal}`` of the line's tax codes (missing: 0.00);
        ``shipping_taxes`` likewise for the shipping taxes
    :param previous: the line's earlier cancellations (CancelAmounts)
    :raises CancelationError: the quantity, an amount or a tax is out of
        range (negative, above what is left in either tax mode, unknown code,
        taxes above the tax-inclusive amount they belong to)

    Kept in one piece (over 80 lines, ten of them the signature): its checks
    run in the order that decides which error OR30 reports first.
    """
    done = sum(c.quantity for c in previous)
    if not 1 <= quantity <= line.quantity - done:
        raise CancelationError(
            "quantity",
            "cannot cancel %d: %d left of %d"
            % (quantity, line.quantity - done, line.quantity),
        )
    asked = {"amount": money(amount), "shipping_amount": money(shipping_amount)}
    _check_left(asked, remaining(line, previous, tax_mode), tax_mode)
    left = remaining(line, previous, line.tax_mode)
    stated = {}
    for key, line_taxes, given in (
        ("taxes", line.taxes, taxes),
        ("shipping_taxes", line.shipping_taxes, shipping_taxes),
    ):
        unknown = sorted(set(given) - {t.code for t in line_taxes})
        if unknown:
            raise CancelationError(
                key, "%s: the line has no tax %s" % (key, ", ".join(unknown))
            )
        stated[key] = tuple(
            TaxAmount(t.code, t.rate, money(given.get(t.code, ZERO)))
            for t in line_taxes
        )
        for tax in stated[key]:
            if not ZERO <= tax.amount <= left[key][tax.code]:
                raise CancelationError(
                    key,
                    "%s %s: %s asked, %s left"
                    % (key, tax.code, tax.amount, left[key][tax.code]),
                )
    own = {}
    for key, taxes_key in (("amount", "taxes"), ("shipping_amount", "shipping_taxes")):
        if tax_mode == TAX_INCLUDED and _sum(stated[taxes_key]) > asked[key]:
            raise CancelationError(
                taxes_key, "%s exceed the tax-inclusive %s" % (taxes_key, key)
            )
        own[key] = _converted(asked[key], stated[taxes_key], tax_mode, line.tax_mode)
    _check_left(own, left, line.tax_mode)
    cancelled = own["amount"] + own["shipping_amount"]
    completes = (
        own["amount"] == left["amount"]
        and own["shipping_amount"] == left["shipping_amount"]
    )

    def share(total, already):
        if completes:
            return total - already
        return _share(total, already, cancelled, line.total_price)

    fee = share(line.commission_fee, _done(previous, "commission_amount"))
    fee_tax = share(line.commission_tax, _done(previous, "commission_tax"))
    return CancelAmounts(
        tax_mode=line.tax_mode,
        quantity=quantity,
        amount=own["amount"],
        shipping_amount=own["shipping_amount"],
        taxes=stated["taxes"],
        shipping_taxes=stated["shipping_taxes"],
        commission_amount=fee,
        commission_tax=fee_tax,
        commission_total_amount=fee + fee_tax,
    )


class RefundError(ValueError):
    """A refund figure out of range (the message says which)."""


def compute_refund(
    line, quantity, amount=None, shipping_amount=None, cancelations=(), refunds=()
):
    """Refund ``quantity`` of ``line`` (LineAmounts): a CancelAmounts.

    ``amount`` (default: ``price_unit x quantity``) and ``shipping_amount``
    (default 0.00) are in the line's own tax mode. Each tax is prorated on
    the line's, ``round(tax x amount / price)`` (likewise shipping: no
    shipping taxes when nothing of the shipping charge is refunded); the
    commission and its tax follow the share of the line's total price
    refunded, ``round(commission_fee x (amount + shipping_amount) /
    total_price)``, each capped at what the cancellations and earlier refunds
    left.

    :param cancelations: the line's cancellations (CancelAmounts)
    :param refunds: the line's earlier refunds (CancelAmounts)
    :raises RefundError: the quantity is above what cancellations and
        refunds left, an amount is negative or above what they left (price
        less cancellations and refunds, likewise shipping), or nothing is
        refunded
    """
    left = left_over(line, cancelations)
    left_quantity = left.quantity - sum(r.quantity for r in refunds)
    if not 0 <= quantity <= left_quantity:
        raise RefundError(
            "cannot refund a quantity of %d, %d left" % (quantity, left_quantity)
        )
    asked = {
        "amount": line.price_unit * quantity if amount is None else amount,
        "shipping_amount": ZERO if shipping_amount is None else shipping_amount,
    }
    for key, given in list(asked.items()):
        asked[key] = value = money(given)
        rest = getattr(left, key) - _done(refunds, key)
        if not ZERO <= value <= rest:
            raise RefundError("%s %s asked, %s left" % (key, value, rest))
    amount, shipping_amount = asked["amount"], asked["shipping_amount"]
    if not amount and not shipping_amount:
        raise RefundError("nothing to refund")

    def prorated(line_taxes, total, part):
        return tuple(
            TaxAmount(t.code, t.rate, money(t.amount * part / total) if total else ZERO)
            for t in line_taxes
        )

    previous = tuple(cancelations) + tuple(refunds)
    refunded = amount + shipping_amount
    fee = _share(
        line.commission_fee,
        _done(previous, "commission_amount"),
        refunded,
        line.total_price,
    )
    fee_tax = _share(
        line.commission_tax,
        _done(previous, "commission_tax"),
        refunded,
        line.total_price,
    )
    return CancelAmounts(
        tax_mode=line.tax_mode,
        quantity=quantity,
        amount=amount,
        shipping_amount=shipping_amount,
        taxes=prorated(line.taxes, line.price, amount),
        shipping_taxes=prorated(
            line.shipping_taxes if shipping_amount else (),
            line.shipping_price,
            shipping_amount,
        ),
        commission_amount=fee,
        commission_tax=fee_tax,
        commission_total_amount=fee + fee_tax,
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
