"""How each Mirakl transaction type is booked, for one shop.

A TL02 line's signed ``amount`` is the truth; its type only chooses where it
is booked. Each shop has one row per type it may meet, created with defaults
by "Set up accounts" and editable by finance. A type with no row holds its
cycle with a sync issue: nothing is guessed.
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

BOOKINGS = [
    ("order", "Customer order"),
    ("refund", "Customer refund"),
    ("charge", "Operator charge or credit"),
    ("charge_vat", "VAT on an operator charge"),
    ("account", "Account, no VAT"),
    ("payment", "Payout (not booked)"),
]

# The defaults "Set up accounts" creates: type -> (booking, account role).
# Account roles are the accounts the set-up creates (or reuses) per shop.
COMMISSION = "commission"
FEES = "fees"
CREDITS = "credits"
RESERVE = "reserve"
DEFAULT_MAP = {
    "ORDER_AMOUNT": ("order", None),
    "ORDER_AMOUNT_TAX": ("order", None),
    "ORDER_SHIPPING_AMOUNT": ("order", None),
    "ORDER_SHIPPING_AMOUNT_TAX": ("order", None),
    "ORDER_FEE_AMOUNT": ("order", None),
    "REFUND_ORDER_AMOUNT": ("refund", None),
    "REFUND_ORDER_AMOUNT_TAX": ("refund", None),
    "REFUND_ORDER_SHIPPING_AMOUNT": ("refund", None),
    "REFUND_ORDER_SHIPPING_AMOUNT_TAX": ("refund", None),
    "REFUND_ORDER_FEE_AMOUNT": ("refund", None),
    "COMMISSION_FEE": ("charge", COMMISSION),
    "COMMISSION_VAT": ("charge_vat", COMMISSION),
    "REFUND_COMMISSION_FEE": ("charge", COMMISSION),
    "REFUND_COMMISSION_VAT": ("charge_vat", COMMISSION),
    "SELLER_FEE_ON_ORDER": ("charge", COMMISSION),
    "SELLER_FEE_ON_ORDER_TAX": ("charge_vat", COMMISSION),
    "SUBSCRIPTION_FEE": ("charge", FEES),
    "SUBSCRIPTION_VAT": ("charge_vat", FEES),
    "SELLER_PENALTY_FEE": ("charge", FEES),
    "SELLER_PENALTY_FEE_TAX": ("charge_vat", FEES),
    "INVOICEABLE_ONE_OFF_DEBIT": ("charge", FEES),
    "INVOICEABLE_ONE_OFF_DEBIT_TAX": ("charge_vat", FEES),
    "INVOICEABLE_ONE_OFF_CREDIT": ("charge", FEES),
    "INVOICEABLE_ONE_OFF_CREDIT_TAX": ("charge_vat", FEES),
    "MANUAL_INVOICE": ("charge", FEES),
    "MANUAL_INVOICE_VAT": ("charge_vat", FEES),
    "MANUAL_CREDIT": ("charge", CREDITS),
    "MANUAL_CREDIT_VAT": ("charge_vat", CREDITS),
    "RESERVE_FUNDING": ("account", RESERVE),
    "RESERVE_SETTLEMENT": ("account", RESERVE),
    "PAYMENT": ("payment", None),
}
NEEDS_ACCOUNT = ("charge", "charge_vat", "account")


class MiraklTransactionMap(models.Model):
    _name = "mirakl.transaction.map"
    _description = "Mirakl Transaction Type Booking"
    _order = "backend_id, sequence, transaction_type, id"
    _rec_name = "transaction_type"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    sequence = fields.Integer(default=10)
    transaction_type = fields.Char(
        string="Mirakl type", required=True, help="TL02 type, e.g. COMMISSION_FEE."
    )
    booking = fields.Selection(
        BOOKINGS,
        string="Booked as",
        required=True,
        help="Customer order / refund: cleared against the order's invoice or "
        "the refund's credit note on the marketplace receivable.\n"
        "Operator charge or credit: on the account, at the VAT of the "
        "operator's document (its base, with the tax's tags).\n"
        "VAT on an operator charge: the VAT of the charge booked on the same "
        "account and tax.\n"
        "Account, no VAT: on the account as it is (reserve movements).\n"
        "Payout: the PAYMENT line, checked against the amount transferred.",
    )
    account_id = fields.Many2one("account.account", check_company=True)
    tax_id = fields.Many2one(
        "account.tax",
        string="VAT",
        check_company=True,
        domain="[('type_tax_use', '=', 'purchase')]",
        help="The operator's VAT on the charge (input VAT). Empty: the charge "
        "carries no VAT (outside the scope).",
    )

    _sql_constraints = [
        (
            "backend_type_uniq",
            "unique(backend_id, transaction_type)",
            "A Mirakl transaction type has one booking per shop.",
        ),
    ]

    @api.constrains("booking", "account_id", "tax_id", "transaction_type")
    def _check_booking(self):
        for row in self:
            if row.booking in NEEDS_ACCOUNT and not row.account_id:
                raise ValidationError(
                    _("Mirakl type %s needs an account.", row.transaction_type)
                )
            if row.booking == "charge_vat" and not row.tax_id:
                raise ValidationError(
                    _(
                        "Mirakl type %s is VAT: it needs the VAT (tax) of its charge.",
                        row.transaction_type,
                    )
                )
            if row.booking not in ("charge", "charge_vat") and row.tax_id:
                raise ValidationError(
                    _(
                        "Only operator charges carry VAT (Mirakl type %s).",
                        row.transaction_type,
                    )
                )
            if row.transaction_type != (row.transaction_type or "").strip().upper():
                raise ValidationError(
                    _(
                        "Mirakl types are written in capitals, without spaces: %s.",
                        row.transaction_type,
                    )
                )
