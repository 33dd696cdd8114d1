"""Finance settings of a shop: when Mirakl orders are invoiced and on which
receivable, the settlement journal and accounts, the operator partner, how
operator charges are booked, and "Set up accounts" (accounts, journal,
operator and the booking rule of every documented transaction type).

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``).
"""

from odoo import _, fields, models

from .mirakl_transaction_map import (
    COMMISSION,
    CREDITS,
    DEFAULT_MAP,
    FEES,
    RESERVE,
)


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    invoice_policy = fields.Selection(
        [
            ("shipped", "When the order ships (delivery done)"),
            ("debited", "When Mirakl reports the customer debited"),
            ("none", "Not by the connector"),
        ],
        string="Invoice Mirakl orders",
        default="shipped",
        required=True,
        tracking=True,
        help="The tax point decides: for goods the basic tax point is the "
        "delivery; ask your accountant whether the customer's payment to the "
        "marketplace makes an earlier one.",
    )
    receivable_account_id = fields.Many2one(
        "account.account",
        string="Marketplace receivable",
        check_company=True,
        domain="[('account_type', '=', 'asset_receivable')]",
        help="Receivable of this shop's customer invoices: what the marketplace "
        "owes for orders it collected. Empty: the customers' usual receivable.",
    )
    settlement_journal_id = fields.Many2one(
        "account.journal",
        string="Settlement journal",
        check_company=True,
        domain="[('type', '=', 'general')]",
    )
    transit_account_id = fields.Many2one(
        "account.account",
        string="Payouts in transit",
        check_company=True,
        help="What the operator has paid out and the bank has not shown yet.",
    )
    opening_account_id = fields.Many2one(
        "account.account",
        string="Orders without Sales Order",
        check_company=True,
        help="Orders Mirakl settles that have no Sales Order in Odoo (sold "
        "before the connector went live) are booked here, to be cleared "
        "against the opening balance, instead of staying open on the "
        "marketplace receivable. Each cycle with such orders has a drift "
        "issue naming them.",
    )
    operator_partner_id = fields.Many2one(
        "res.partner",
        string="Marketplace operator",
        help="Partner of the fee, VAT and in-transit lines.",
    )
    finance_alert_days = fields.Integer(
        string="Finance alerts after (days)",
        default=7,
        help="A refund still without credit note, or a payout still not "
        "matched with a bank line, this many days later is a drift issue.",
    )
    finance_user_id = fields.Many2one(
        "res.users",
        string="Finance responsible",
        help="Receives the activities of finance issues (payouts, invoices, "
        "refunds). Empty: the shop's responsible.",
    )
    bank_match_days = fields.Integer(
        string="Bank match window (days)",
        default=7,
        help="A payout is matched with a bank statement line of its amount "
        "dated within this many days of the pay-out.",
    )
    operator_documents_as = fields.Selection(
        [
            ("entry", "Lines of the settlement entry"),
            ("bill", "A vendor bill per operator document"),
        ],
        string="Operator charges",
        default="entry",
        required=True,
        help="Lines of the settlement entry: each operator document's charges "
        "and VAT are booked on their accounts in the entry itself.\n"
        "A vendor bill per operator document: each document (the automatic "
        "invoice of a cycle, a manual invoice or credit) becomes a vendor "
        "bill or refund of the operator, with the document's number and VAT; "
        "the entry clears it on the operator's payable account. Same VAT "
        "return, the operator in accounts payable.",
    )
    settlement_auto_post = fields.Boolean(
        string="Post settlements",
        help="Post each settlement entry at once instead of leaving it in "
        "draft for finance to review.",
    )

    # === ACTION METHODS === #

    def action_setup_finance(self):
        """Create the accounts, journal, operator partner and transaction type
        bookings left empty."""
        for backend in self._mirakl_as_operator():
            backend._mirakl_setup_finance()
        return True

    def _mirakl_setup_finance(self, fee_tax=None):
        """Fill in what is empty; never change what finance has set. The
        operator's VAT on charges is ``fee_tax``, else the UK chart's 20 %
        services purchase tax, else the company's 20 % purchase tax."""
        self.ensure_one()
        vals = {}
        for field, name, account_type in (
            ("receivable_account_id", _("%s receivable"), "asset_receivable"),
            ("transit_account_id", _("%s payouts in transit"), "asset_current"),
        ):
            if not self[field]:
                vals[field] = self._mirakl_new_account(name, account_type, True).id
        if not self.settlement_journal_id:
            vals["settlement_journal_id"] = (
                self.env["account.journal"]
                .sudo()
                .create(
                    {
                        "name": _("%s settlements", self.name),
                        "code": self._mirakl_free_journal_code(),
                        "type": "general",
                        "company_id": self.company_id.id,
                    }
                )
                .id
            )
        if not self.operator_partner_id:
            vals["operator_partner_id"] = (
                self.env["res.partner"]
                .sudo()
                .create(
                    {
                        "name": _("%s (marketplace operator)", self.name),
                        "is_company": True,
                    }
                )
                .id
            )
        if vals:
            self.sudo().write(vals)
        self._mirakl_setup_transaction_map(fee_tax)

    def _mirakl_setup_transaction_map(self, fee_tax=None):
        """One booking row per documented Mirakl type the shop has none for.
        Charges of one kind share an account (the one already used by a row
        of that kind, or a new one). Without a purchase tax for the
        operator's VAT, the VAT types get no row: a cycle with VAT then waits
        for finance to map them."""
        existing = self._mirakl_transaction_map()
        missing = [kind for kind in DEFAULT_MAP if kind not in existing]
        if not missing:
            return
        tax = fee_tax or self._mirakl_default_fee_tax()
        accounts = {}
        for kind, row in existing.items():
            role = DEFAULT_MAP.get(kind, (None, None))[1]
            if role and row.account_id:
                accounts.setdefault(role, row.account_id)
        specs = {
            COMMISSION: (_("%s commission"), "expense", False),
            FEES: (_("%s fees"), "expense", False),
            CREDITS: (_("%s credits"), "income_other", False),
            RESERVE: (_("%s reserve"), "asset_current", True),
        }
        rows = []
        for sequence, kind in enumerate(DEFAULT_MAP):
            booking, role = DEFAULT_MAP[kind]
            if kind not in missing or (booking == "charge_vat" and not tax):
                continue
            if role and role not in accounts:
                accounts[role] = self._mirakl_new_account(*specs[role])
            rows.append(
                {
                    "backend_id": self.id,
                    "sequence": sequence,
                    "transaction_type": kind,
                    "booking": booking,
                    "account_id": accounts[role].id if role else False,
                    "tax_id": tax.id
                    if tax and booking in ("charge", "charge_vat")
                    else False,
                }
            )
        self.env["mirakl.transaction.map"].sudo().create(rows)

    def _mirakl_default_fee_tax(self):
        company = self.company_id
        return self.env.ref(
            "account.%s_PT_20_S" % company.id, raise_if_not_found=False
        ) or self.env["account.tax"].sudo().search(
            [
                ("company_id", "=", company.id),
                ("type_tax_use", "=", "purchase"),
                ("amount_type", "=", "percent"),
                ("amount", "=", 20.0),
                ("price_include", "=", False),
            ],
            limit=1,
        )

    def _mirakl_new_account(self, name, account_type, reconcile):
        company = self.company_id
        Account = self.env["account.account"].sudo()
        like = Account.search(
            [("company_ids", "in", company.id), ("account_type", "=", account_type)],
            order="code",
            limit=1,
        )
        return Account.create(
            {
                "name": name % self.name,
                "code": self._mirakl_free_code(like.code if like else "100000"),
                "account_type": account_type,
                "reconcile": reconcile,
                "company_ids": [(6, 0, company.ids)],
            }
        )

    def _mirakl_free_code(self, base):
        Account = self.env["account.account"].sudo().with_context(active_test=False)
        digits = "".join(ch for ch in base if ch.isdigit()) or "100000"
        number = int(digits)
        for step in range(1, 1000):
            code = str(number + step).zfill(len(digits))
            if not Account.search_count(
                [("code", "=", code), ("company_ids", "in", self.company_id.id)]
            ):
                return code
        return "MK%s" % self.id

    def _mirakl_free_journal_code(self):
        Journal = self.env["account.journal"].sudo().with_context(active_test=False)
        for n in range(1, 100):
            code = "MKS%d" % n if n > 1 else "MKS"
            if not Journal.search_count(
                [("code", "=", code), ("company_id", "=", self.company_id.id)]
            ):
                return code
        return "MK%d" % self.id

    # === BUSINESS METHODS: settings === #

    def _mirakl_finance_missing(self):
        required = (
            "settlement_journal_id",
            "receivable_account_id",
            "transit_account_id",
            "operator_partner_id",
        )
        missing = [self._fields[name].string for name in required if not self[name]]
        if self.operator_documents_as == "bill" and not self._mirakl_payable():
            missing.append(_("the operator's payable account"))
        return missing

    def _mirakl_payable(self):
        """The operator's payable account (vendor bill option)."""
        return self.operator_partner_id.with_company(
            self.company_id
        ).property_account_payable_id
