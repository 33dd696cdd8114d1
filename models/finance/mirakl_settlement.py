"""The settlement entry: one journal entry per Mirakl billing cycle (payout).

The entry books no revenue (customer invoices did, at the tax point): it
clears what the marketplace owed for each order (one line per order on the
marketplace receivable, partner the customer) and each refund (one line per
refund), books the operator's charges on expense accounts with their input
VAT as real tax lines (tags included, so a VAT return built on tags shows
them), reserve movements on their own account, and puts the net, which is the
amount transferred, on a payouts-in-transit account (partner the operator).

Its total is the payout by construction: the cycle is booked only once its
lines add up to the amount transferred (see ``mirakl_backend_payout.py``).
Posting it reconciles each order's line with its invoice's receivable; an
invoice posted later is reconciled then.
"""

import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from odoo import _, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_is_zero

from ...lib import mappers
from .mirakl_transaction_map import (
    COMMISSION,
    CREDITS,
    DEFAULT_MAP,
    FEES,
    RESERVE,
)

_logger = logging.getLogger(__name__)

# The commission Mirakl charges per order, checked against the one stored on
# the Sales Order at import.
ORDER_COMMISSION_TYPES = ("COMMISSION_FEE", "REFUND_COMMISSION_FEE")


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

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

    def _mirakl_check_orders(self, cycle):
        """Per order of the cycle: Mirakl's lines against the invoice total,
        and the commission charged against the one stored at import. Drift
        issues on the cycle; nothing is held (the payout is what it is)."""
        rounding = cycle.currency_id.rounding
        mapping = self._mirakl_transaction_map()
        amounts = defaultdict(float)
        commissions = defaultdict(float)
        sales = {}
        for line in cycle.line_ids:
            if not line.mirakl_order_id or line.mirakl_refund_id:
                continue
            kind = line.transaction_type
            if kind in mapping and mapping[kind].booking in ("order", "refund"):
                amounts[line.mirakl_order_id] += line.amount
            elif kind in ORDER_COMMISSION_TYPES:
                commissions[line.mirakl_order_id] -= line.amount
            sales[line.mirakl_order_id] = line.sale_order_id
        Issue = self.env["mirakl.sync.issue"]
        unknown = sorted(o for o, sale in sales.items() if o and not sale)
        if unknown:
            Issue._mirakl_record(
                self,
                "PAYOUT",
                _(
                    "Mirakl settled %(count)s orders that have no Sales Order in "
                    "Odoo: %(orders)s. They are booked on %(account)s; clear them "
                    "against the opening balance, or import the orders.",
                    count=len(unknown),
                    orders=", ".join(unknown),
                    account=(
                        self.opening_account_id or self.receivable_account_id
                    ).display_name,
                ),
                category="drift",
                record=cycle,
                mirakl_ref="orders without sale",
            )
        else:
            Issue._mirakl_resolve(
                self, "PAYOUT", record=cycle, mirakl_ref="orders without sale"
            )
        for order_id, sale in sales.items():
            if not sale:
                continue
            invoices = sale.invoice_ids.filtered(
                lambda m: m.state == "posted" and m.move_type == "out_invoice"
            )
            checks = []
            if invoices and order_id in amounts:
                checks.append(
                    (
                        "order:%s" % order_id,
                        amounts[order_id],
                        sum(invoices.mapped("amount_total")),
                        _(
                            "Order %(order)s: Mirakl settled %(mirakl)s, its "
                            "invoices total %(odoo)s.",
                            order=order_id,
                            mirakl="%.2f" % amounts[order_id],
                            odoo="%.2f" % sum(invoices.mapped("amount_total")),
                        ),
                    )
                )
            if order_id in commissions:
                checks.append(
                    (
                        "commission:%s" % order_id,
                        commissions[order_id],
                        sale.mirakl_commission_fee,
                        _(
                            "Order %(order)s: Mirakl charged a commission of "
                            "%(mirakl)s, %(odoo)s was expected when the order "
                            "was imported (rate changed?).",
                            order=order_id,
                            mirakl="%.2f" % commissions[order_id],
                            odoo="%.2f" % sale.mirakl_commission_fee,
                        ),
                    )
                )
            for key, mirakl, odoo, message in checks:
                if float_is_zero(mirakl - odoo, precision_rounding=rounding):
                    Issue._mirakl_resolve(self, "PAYOUT", record=cycle, mirakl_ref=key)
                else:
                    Issue._mirakl_record(
                        self,
                        "PAYOUT",
                        message,
                        category="drift",
                        record=cycle,
                        mirakl_ref=key,
                    )

    def _mirakl_check_ageing(self, in_transit):
        """Refunds without credit note, and payouts still ``in_transit``, after
        the shop's alert delay: one drift issue each."""
        limit = fields.Datetime.now() - timedelta(days=self.finance_alert_days)
        Issue = self.env["mirakl.sync.issue"]
        refunds = (
            self.env["mirakl.refund"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", self.id),
                    ("credit_note_id", "=", False),
                    ("state", "=", mappers.REFUNDED),
                    ("transaction_date", "<=", limit),
                ]
            )
        )
        for refund in refunds:
            Issue._mirakl_record(
                self,
                "REFUND",
                _(
                    "Mirakl refund %(refund)s of %(order)s was refunded on "
                    "%(date)s and still has no credit note.",
                    refund=refund.mirakl_refund_id,
                    order=refund.sale_order_id.name,
                    date=refund.transaction_date,
                ),
                category="drift",
                record=refund.sale_order_id,
                mirakl_ref="ageing:%s" % refund.mirakl_refund_id,
                bump=False,
            )
        for cycle in in_transit:
            moment = cycle.pay_out_date or cycle.date_created
            if moment and moment <= limit:
                Issue._mirakl_record(
                    self,
                    "PAYOUT",
                    _(
                        "Payout %(payout)s of %(amount)s (%(state)s on %(date)s) "
                        "is not matched with a bank line after %(days)s days.",
                        payout=cycle.name,
                        amount="%.2f" % cycle._mirakl_transit_line().balance,
                        state=cycle.pay_out_state,
                        date=moment,
                        days=self.finance_alert_days,
                    ),
                    category="drift",
                    record=cycle,
                    mirakl_ref="not banked",
                    bump=False,
                )
        Issue.sudo().search(
            [
                ("backend_id", "=", self.id),
                ("operation", "=", "PAYOUT"),
                ("mirakl_ref", "=", "not banked"),
                ("state", "=", "open"),
                ("res_model", "=", "mirakl.billing.cycle"),
                ("res_id", "not in", in_transit.ids),
            ]
        )._mirakl_close(_("Matched with its bank line"))

    def _mirakl_cycles_in_transit(self):
        """Booked cycles whose payout is still on the in-transit account: one
        query, whatever the number of cycles booked so far."""
        return self._mirakl_transit_lines().move_id.mirakl_cycle_id

    def _mirakl_transit_lines(self):
        """Posted, unreconciled lines of these shops' settlement entries on
        their shop's Payouts in transit account: one query for every shop."""
        accounts = self.sudo().transit_account_id
        if not accounts:
            return self.env["account.move.line"]
        lines = (
            self.env["account.move.line"]
            .sudo()
            .search(
                [
                    ("account_id", "in", accounts.ids),
                    ("parent_state", "=", "posted"),
                    ("reconciled", "=", False),
                    ("move_id.mirakl_cycle_id.backend_id", "in", self.ids),
                ]
            )
        )
        return lines.filtered(
            lambda line: (
                line.account_id
                == line.move_id.mirakl_cycle_id.backend_id.transit_account_id
            )
        )

    def _mirakl_import_payouts(self):
        # Cycles checked by an earlier run but not booked (finance settings
        # were incomplete, or Odoo refused the entry) are booked first: the
        # run itself only reads the cycles that are not ready yet.
        waiting = (
            self.env["mirakl.billing.cycle"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", self.id),
                    ("state", "=", "ready"),
                    ("move_id", "=", False),
                ]
            )
        )
        for cycle in waiting:
            self._mirakl_check_cycle(cycle)
        result = super()._mirakl_import_payouts()
        in_transit = self._mirakl_cycles_in_transit()
        matched = in_transit.filtered(
            lambda c: c.pay_out_state == "PAID"
        )._mirakl_match_bank()
        self._mirakl_check_ageing(in_transit - matched)
        return result

    def _mirakl_check_cycle(self, cycle):
        ok = super()._mirakl_check_cycle(cycle)
        if ok and (cycle.move_id or self._mirakl_book_cycle(cycle)):
            cycle.state = "booked"
        return ok

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

    # === BUSINESS METHODS: the settlement entry === #

    def _mirakl_book_cycle(self, cycle):
        """Create the cycle's settlement entry (once); post it if the shop
        says so. True when booked (a zero cycle needs no entry), None when
        the shop's finance settings are incomplete."""
        self.ensure_one()
        if cycle.move_id or cycle.state != "ready":
            return bool(cycle.move_id) or None
        Issue = self.env["mirakl.sync.issue"]
        missing = self._mirakl_finance_missing()
        if missing:
            Issue._mirakl_record(
                self,
                "PAYOUT",
                _(
                    "Cycle %(cycle)s cannot be booked: the shop's finance settings "
                    "are incomplete (%(fields)s). Press Set up accounts on the "
                    "shop's Finance tab, or fill them in.",
                    cycle=cycle.name,
                    fields=", ".join(missing),
                ),
                category="config",
                mirakl_ref="finance setup",
            )
            return None
        Issue._mirakl_resolve(self, "PAYOUT", mirakl_ref="finance setup")
        try:
            with self.env.cr.savepoint():
                booked = self._mirakl_create_settlement(cycle)
        except (UserError, ValidationError) as error:
            # Odoo refused the entry (lock date, archived account, no purchase
            # journal...): the cycle stays ready, the reason is an issue.
            self.env.invalidate_all(flush=False)
            _logger.info(
                "Mirakl shop %s: cycle %s not booked",
                self.id,
                cycle.mirakl_id,
                exc_info=True,
            )
            Issue._mirakl_record(
                self,
                "PAYOUT",
                _(
                    "Cycle %(cycle)s could not be booked: %(error)s",
                    cycle=cycle.name,
                    error=error.args[0] if error.args else error,
                ),
                category="config",
                record=cycle,
                mirakl_ref="booking",
            )
            return None
        Issue._mirakl_resolve(self, "PAYOUT", record=cycle, mirakl_ref="booking")
        return booked

    def _mirakl_create_settlement(self, cycle):
        move_lines, bills = self._mirakl_settlement_lines(cycle)
        if not move_lines:
            return True  # a zero cycle: nothing to book
        document = cycle.document_ids.filtered(
            lambda d: d.document_type == "AUTO_INVOICE"
        )[:1]
        bill_moves = self.env["account.move"]
        for doc, charges in bills.items():
            bill_moves |= self._mirakl_operator_bill(doc, charges, cycle)
        move = (
            self.env["account.move"]
            .sudo()
            .with_context(check_move_validity=False, skip_invoice_sync=True)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": self.settlement_journal_id.id,
                    "date": (
                        document.issue_date
                        or cycle.date_created
                        or fields.Datetime.now()
                    ).date(),
                    "ref": _(
                        "Mirakl payout %(voucher)s%(document)s",
                        voucher=cycle.payment_voucher_number or cycle.mirakl_id,
                        document=" / %s" % document.invoice_number
                        if document.invoice_number
                        else "",
                    ),
                    "mirakl_cycle_id": cycle.id,
                    "line_ids": [(0, 0, vals) for vals in move_lines],
                }
            )
        )
        self._mirakl_attach_documents(move, cycle.document_ids)
        cycle.write({"move_id": move.id})
        self._mirakl_check_orders(cycle)
        if self.settlement_auto_post:
            bill_moves.filtered(lambda m: m.state == "draft").action_post()
            move.action_post()
        _logger.info(
            "Mirakl shop %s: cycle %s booked as %s", self.id, cycle.mirakl_id, move.id
        )
        return True

    def _mirakl_attach_documents(self, move, documents):
        for doc in documents.filtered("file"):
            self.env["ir.attachment"].sudo().create(
                {
                    "name": doc.file_name or doc.name,
                    "datas": doc.file,
                    "res_model": "account.move",
                    "res_id": move.id,
                }
            )

    def _mirakl_settlement_lines(self, cycle):
        """The entry's lines (values), balanced: debit positive; and, with
        the vendor bill option, the charges of each operator document
        ``{document: [(account, tax, base, vat)]}`` to bill instead."""
        currency = cycle.currency_id
        operator = self.operator_partner_id
        mapping = self._mirakl_transaction_map()
        by_order = defaultdict(Decimal)
        by_refund = defaultdict(Decimal)
        refund_orders = {}
        # (document number, account id, tax id) -> [gross, vat]
        fees = defaultdict(lambda: [Decimal(0), Decimal(0)])
        plain = defaultdict(Decimal)  # (account id, type) -> amount
        sales = {}
        for line in cycle.line_ids:
            row = mapping[line.transaction_type]
            booking = row.booking
            amount = Decimal(str(line.amount)).quantize(Decimal("0.01"))
            if booking == "order" or (
                booking == "refund" and not line.mirakl_refund_id
            ):
                by_order[line.mirakl_order_id] += amount
                sales[line.mirakl_order_id] = line.sale_order_id
            elif booking == "refund":
                by_refund[line.mirakl_refund_id] += amount
                refund_orders[line.mirakl_refund_id] = (
                    line.mirakl_order_id,
                    line.sale_order_id,
                )
            elif booking in ("charge", "charge_vat"):
                key = (
                    line.accounting_document_number or "",
                    row.account_id.id,
                    row.tax_id.id,
                )
                fees[key][0] += amount
                if booking == "charge_vat":
                    fees[key][1] += amount
            elif booking == "account":
                plain[row.account_id.id, line.transaction_type] += amount
        lines = []
        receivable = self.receivable_account_id
        for order_id, total in sorted(by_order.items()):
            sale = sales.get(order_id)
            lines.append(
                {
                    "name": _("Mirakl order %s", order_id),
                    "account_id": (
                        receivable
                        if sale or not order_id
                        else self.opening_account_id or receivable
                    ).id,
                    "partner_id": (
                        sale.partner_id.commercial_partner_id or operator
                    ).id,
                    "balance": float(-total),
                    "mirakl_order_id": order_id,
                    "mirakl_sale_order_id": sale.id if sale else False,
                }
            )
        for refund_id, total in sorted(by_refund.items()):
            order_id, sale = refund_orders[refund_id]
            lines.append(
                {
                    "name": _(
                        "Mirakl refund %(refund)s (order %(order)s)",
                        refund=refund_id,
                        order=order_id,
                    ),
                    "account_id": receivable.id,
                    "partner_id": (
                        sale.partner_id.commercial_partner_id or operator
                    ).id,
                    "balance": float(-total),
                    "mirakl_order_id": order_id,
                    "mirakl_refund_id": refund_id,
                    "mirakl_sale_order_id": sale.id if sale else False,
                }
            )
        self._mirakl_use_document_vat(cycle, fees)
        documents = {
            doc.invoice_number: doc for doc in cycle.document_ids if doc.invoice_number
        }
        bills = defaultdict(list)
        Tax = self.env["account.tax"].sudo()
        for (number, account_id, tax_id), (gross, vat) in sorted(
            fees.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
        ):
            if not gross and not vat:
                continue
            base = gross - vat
            if self.operator_documents_as == "bill" and number in documents:
                bills[documents[number]].append(
                    (account_id, Tax.browse(tax_id), base, vat)
                )
                continue
            lines += self._mirakl_fee_lines(
                account_id, base, vat, Tax.browse(tax_id), operator, number, currency
            )
        payable = self._mirakl_payable() if bills else None
        for document, charges in bills.items():
            gross = sum((base + vat for _a, _t, base, vat in charges), Decimal(0))
            lines.append(
                {
                    "name": _("Operator document %s", document.invoice_number),
                    "account_id": payable.id,
                    "partner_id": operator.id,
                    "balance": float(-gross),
                    "mirakl_document_id": document.id,
                }
            )
        for (account_id, kind), amount in sorted(plain.items()):
            if amount:
                lines.append(
                    {
                        "name": _("Mirakl %s", kind),
                        "account_id": account_id,
                        "partner_id": operator.id,
                        "balance": float(-amount),
                    }
                )
        transferred = Decimal(str(cycle.amount_transferred)).quantize(Decimal("0.01"))
        if transferred:
            lines.append(
                {
                    "name": _(
                        "Payout %s", cycle.payment_voucher_number or cycle.mirakl_id
                    ),
                    "account_id": self.transit_account_id.id,
                    "partner_id": operator.id,
                    "balance": float(transferred),
                }
            )
        return lines, dict(bills)

    def _mirakl_operator_bill(self, document, charges, cycle):
        """The vendor bill (refund, for a credit) of one operator document:
        a line per account and VAT, the document's number as reference and
        its VAT to the penny. Created once per document."""
        if document.bill_id:
            return document.bill_id
        gross = sum((base + vat for _a, _t, base, vat in charges), Decimal(0))
        move_type = "in_invoice" if gross < 0 else "in_refund"
        sign = -1 if move_type == "in_invoice" else 1
        Account = self.env["account.account"].sudo()
        moment = document.issue_date or cycle.date_created or fields.Datetime.now()
        bill = (
            self.env["account.move"]
            .sudo()
            .with_company(self.company_id)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": self.operator_partner_id.id,
                    "ref": document.invoice_number,
                    "invoice_date": moment.date(),
                    "date": moment.date(),
                    "currency_id": (document.currency_id or cycle.currency_id).id,
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "name": Account.browse(account_id).name,
                                "account_id": account_id,
                                "quantity": 1.0,
                                "price_unit": float(sign * base),
                                "tax_ids": [(6, 0, tax.ids)]
                                if tax and vat
                                else [(5, 0, 0)],
                            },
                        )
                        for account_id, tax, base, vat in charges
                    ],
                }
            )
        )
        # The VAT is the document's, not Odoo's recomputation of each base.
        wanted = defaultdict(Decimal)
        for _account, tax, _base, vat in charges:
            if tax and vat:
                wanted[tax.tax_group_id.id] += sign * vat
        totals = bill.tax_totals or {}
        changed = False
        for subtotal in totals.get("subtotals", []):
            for group in subtotal["tax_groups"]:
                if group["id"] in wanted:
                    amount = float(wanted[group["id"]])
                    if bill.currency_id.compare_amounts(
                        group["tax_amount_currency"], amount
                    ):
                        group["tax_amount_currency"] = amount
                        changed = True
        if changed:
            bill.tax_totals = totals
        document.bill_id = bill
        self._mirakl_attach_documents(bill, document)
        return bill

    def _mirakl_use_document_vat(self, cycle, fees):
        """Book the VAT of each operator document (its VAT invoice), not the
        sum of its lines: a rounding gap (within the shop's tolerance, see the
        cycle checks) goes to the base of its largest charge."""
        documents = {
            doc.invoice_number: doc for doc in cycle.document_ids if doc.invoice_number
        }
        by_number = defaultdict(list)
        for key, (_gross, vat) in fees.items():
            if vat:
                by_number[key[0]].append(key)
        for number, keys in by_number.items():
            document = documents.get(number)
            if not document:
                continue
            lines_vat = sum((fees[key][1] for key in keys), Decimal(0))
            sign = -1 if lines_vat < 0 else 1
            document_vat = sign * abs(
                Decimal(str(document.total_taxes)).quantize(Decimal("0.01"))
            )
            gap = document_vat - lines_vat
            if gap:
                largest = max(keys, key=lambda k: abs(fees[k][1]))
                fees[largest][1] += gap

    def _mirakl_fee_lines(self, account_id, base, vat, tax, operator, number, currency):
        """An operator charge (base < 0: the seller pays) and its VAT, as a base
        line with the tax and its tags and a tax line on the tax's account."""
        label = (
            _("Marketplace charges %s", number) if number else _("Marketplace charges")
        )
        is_refund = base > 0  # a credit from the operator reduces input VAT
        base_vals = {
            "name": label,
            "account_id": account_id,
            "partner_id": operator.id,
            "balance": float(-base),
        }
        if not tax or float_is_zero(float(vat), precision_rounding=currency.rounding):
            if vat:
                base_vals["balance"] = float(-(base + vat))
            return [base_vals]
        repartition = tax.repartition_line_ids.filtered(
            lambda r: (
                r.repartition_type == "tax"
                and r.document_type == ("refund" if is_refund else "invoice")
            )
        )[:1]
        base_vals.update(
            tax_ids=[(6, 0, tax.ids)],
            tax_tag_ids=[(6, 0, tax.get_tax_tags(is_refund, "base").ids)],
        )
        tax_vals = {
            "name": tax.name,
            "account_id": (repartition.account_id.id or account_id),
            "partner_id": operator.id,
            "balance": float(-vat),
            "tax_repartition_line_id": repartition.id,
            "tax_tag_ids": [(6, 0, repartition.tag_ids.ids)],
            "tax_base_amount": float(abs(base)),
        }
        return [base_vals, tax_vals]


class MiraklBillingCycle(models.Model):
    _inherit = "mirakl.billing.cycle"

    state = fields.Selection(
        selection_add=[("booked", "Booked")], ondelete={"booked": "set default"}
    )

    move_id = fields.Many2one(
        "account.move", string="Settlement entry", readonly=True, copy=False
    )
    move_state = fields.Selection(related="move_id.state", string="Entry status")
    settlement_line_ids = fields.One2many(
        related="move_id.line_ids",
        string="Settlement lines",
        help="The settlement entry's journal items, readable here whatever the "
        "user's accounting features.",
    )
    bill_ids = fields.Many2many(
        "account.move",
        string="Operator bills",
        compute="_compute_bill_ids",
        help="Vendor bills of the cycle's operator documents (vendor bill option).",
    )
    bill_count = fields.Integer(
        string="Number of operator bills", compute="_compute_bill_ids"
    )
    in_transit = fields.Boolean(
        string="Payout in transit",
        compute="_compute_in_transit",
        search="_search_in_transit",
        compute_sudo=True,
        help="Paid out by the operator (booked on the shop's Payouts in "
        "transit account) and not matched with a bank line yet.",
    )

    def _compute_in_transit(self):
        transit = self.backend_id._mirakl_transit_lines().move_id.mirakl_cycle_id
        for cycle in self:
            cycle.in_transit = cycle in transit

    def _search_in_transit(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on Payout in transit."))
        shops = self.env["mirakl.backend"].sudo().with_context(active_test=False)
        cycles = shops.search([])._mirakl_transit_lines().move_id.mirakl_cycle_id
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", cycles.ids)]

    def _compute_bill_ids(self):
        for cycle in self:
            cycle.bill_ids = cycle.document_ids.bill_id
            cycle.bill_count = len(cycle.bill_ids)

    def action_open_bills(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Operator bills"),
            "res_model": "account.move",
            "view_mode": "list,form",
            "domain": [("id", "in", self.bill_ids.ids)],
            "context": {"default_move_type": "in_invoice"},
        }

    def action_book(self):
        """Check these cycles again from their stored lines and book those
        that pass (nothing is read from Mirakl)."""
        for backend, cycles in self.env["mirakl.backend"]._mirakl_per_shop(self):
            for cycle in cycles:
                backend._mirakl_check_cycle(cycle)
        return True

    def action_rebuild(self):
        """Delete the cycles' draft settlement entries (and draft operator
        bills) and book them again from the stored lines and the shop's
        current settings, e.g. after finance changed a transaction type's
        account. Posted documents are never touched: reset them to draft
        first."""
        self.backend_id._mirakl_as_operator()
        moves = (self.move_id | self.bill_ids).sudo()
        posted = moves.filtered(lambda m: m.state == "posted")
        if posted:
            raise UserError(
                _(
                    "Only draft entries are rebuilt: reset %(moves)s to draft "
                    "first (that unmatches their invoices and bills).",
                    moves=", ".join(posted.mapped("name")),
                )
            )
        moves.unlink()
        return self.action_recheck()

    def action_match_bank(self):
        """Match these payouts with their bank statement lines."""
        self.backend_id._mirakl_as_operator()
        matched = self.sudo()._mirakl_match_bank()
        return self.backend_id[:1]._mirakl_notification(
            _("Bank match"),
            _(
                "%(count)s of %(total)s payouts matched with a bank line.",
                count=len(matched),
                total=len(self),
            ),
            "success" if len(matched) == len(self) else "warning",
        )

    def _mirakl_transit_line(self):
        self.ensure_one()
        backend = self.backend_id
        return self.move_id.line_ids.filtered(
            lambda l: (
                l.account_id == backend.transit_account_id
                and l.parent_state == "posted"
                and not l.reconciled
            )
        )[:1]

    def _mirakl_match_bank(self):
        """For each payout still in transit: the one unreconciled bank
        statement line of its amount within the shop's date window (the one
        naming its pay-out reference or voucher, when several), whose
        suspense line is moved to the in-transit account and reconciled.
        Works without the Enterprise reconciliation widget."""
        matched = self.browse()
        StatementLine = self.env["account.bank.statement.line"].sudo()
        for cycle in self:
            transit = cycle._mirakl_transit_line()
            if not transit:
                continue
            backend = cycle.backend_id
            moment = cycle.pay_out_date or cycle.date_created
            window = timedelta(days=backend.bank_match_days)
            candidates = StatementLine.search(
                [
                    ("company_id", "=", backend.company_id.id),
                    ("is_reconciled", "=", False),
                    ("amount", "=", transit.balance),
                    ("date", ">=", (moment - window).date()),
                    ("date", "<=", (moment + window).date()),
                ]
            )
            references = [
                ref
                for ref in (cycle.pay_out_reference, cycle.payment_voucher_number)
                if ref
            ]
            named = candidates.filtered(
                lambda st, refs=references: any(
                    ref in (st.payment_ref or "") or ref in (st.ref or "")
                    for ref in refs
                )
            )
            if len(named) == 1:
                candidates = named
            if len(candidates) != 1:
                continue
            st_line = candidates
            _liquidity, suspense, _other = st_line._seek_for_lines()
            if len(suspense) != 1:
                continue
            suspense.with_context(skip_readonly_check=True).write(
                {
                    "account_id": transit.account_id.id,
                    "partner_id": transit.partner_id.id,
                }
            )
            (suspense | transit).reconcile()
            matched |= cycle
            _logger.info(
                "Mirakl cycle %s: payout matched with bank line %s",
                cycle.mirakl_id,
                st_line.id,
            )
        return matched

    def action_open_move(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "view_mode": "form",
        }


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    mirakl_order_id = fields.Char(
        string="Mirakl order", index="btree_not_null", copy=False
    )
    mirakl_refund_id = fields.Char(string="Mirakl refund", copy=False)
    mirakl_sale_order_id = fields.Many2one(
        "sale.order", string="Mirakl Sales Order", copy=False, index="btree_not_null"
    )
    mirakl_document_id = fields.Many2one(
        "mirakl.accounting.document",
        string="Mirakl operator document",
        copy=False,
        index="btree_not_null",
    )


class MiraklAccountingDocument(models.Model):
    _inherit = "mirakl.accounting.document"

    bill_id = fields.Many2one(
        "account.move",
        string="Vendor bill",
        readonly=True,
        copy=False,
        help="The operator's bill (or refund) for this document, when the shop "
        "books operator charges as vendor bills.",
    )


class AccountMove(models.Model):
    _inherit = "account.move"

    mirakl_cycle_id = fields.Many2one(
        "mirakl.billing.cycle",
        string="Mirakl billing cycle",
        copy=False,
        index="btree_not_null",
    )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._mirakl_reconcile_settlements()
        posted._mirakl_reconcile_operator_bills()
        return posted

    def _mirakl_reconcile_operator_bills(self):
        """Match each operator document's payable line in a settlement with
        the document's vendor bill, whichever of the two is posted last."""
        lines = self.filtered("mirakl_cycle_id").line_ids.filtered(
            lambda l: l.mirakl_document_id and not l.reconciled
        )
        bills = self.filtered(lambda m: m.move_type in ("in_invoice", "in_refund"))
        if bills:
            documents = (
                self.env["mirakl.accounting.document"]
                .sudo()
                .search([("bill_id", "in", bills.ids)])
            )
            if documents:
                lines |= self._mirakl_open_settlement_lines(
                    [("mirakl_document_id", "in", documents.ids)]
                )
        for line in lines.filtered(lambda l: l.parent_state == "posted"):
            self._mirakl_match(line, line.mirakl_document_id.bill_id)

    def _mirakl_open_settlement_lines(self, domain):
        """Posted, unmatched lines of settlement entries, among ``domain``."""
        return (
            self.env["account.move.line"]
            .sudo()
            .search(
                domain
                + [
                    ("parent_state", "=", "posted"),
                    ("reconciled", "=", False),
                    ("move_id.mirakl_cycle_id", "!=", False),
                ]
            )
        )

    def _mirakl_match(self, line, moves):
        """Reconcile a settlement line with the open lines of ``moves`` (its
        invoices, credit note or operator bill) on the same account, once
        they are posted."""
        counterpart = moves.filtered(lambda m: m.state == "posted").line_ids.filtered(
            lambda l, a=line.account_id: l.account_id == a and not l.reconciled
        )
        if counterpart:
            (line | counterpart).reconcile()

    def _mirakl_reconcile_settlements(self):
        """Match each order's settlement line with its invoices' receivable
        (same account), whichever of the two is posted last."""
        settlement_lines = self.filtered("mirakl_cycle_id").line_ids.filtered(
            lambda l: l.mirakl_sale_order_id and not l.reconciled
        )
        invoices = self.filtered(lambda m: m.is_invoice(include_receipts=False))
        if invoices:
            sales = invoices.line_ids.sale_line_ids.order_id
            credit_notes = invoices.filtered(lambda m: m.move_type == "out_refund")
            if credit_notes:
                sales |= (
                    self.env["mirakl.refund"]
                    .sudo()
                    .search([("credit_note_id", "in", credit_notes.ids)])
                    .sale_order_id
                )
            sales = sales.filtered("mirakl_backend_id")
            if sales:
                settlement_lines |= self._mirakl_open_settlement_lines(
                    [("mirakl_sale_order_id", "in", sales.ids)]
                )
        settlement_lines = settlement_lines.filtered(
            lambda l: l.parent_state == "posted"
        )
        # The credit notes of the refund lines, in one query.
        refund_lines = settlement_lines.filtered("mirakl_refund_id")
        refund_notes = {}
        if refund_lines:
            for refund in (
                self.env["mirakl.refund"]
                .sudo()
                .search(
                    [
                        ("sale_order_id", "in", refund_lines.mirakl_sale_order_id.ids),
                        (
                            "mirakl_refund_id",
                            "in",
                            refund_lines.mapped("mirakl_refund_id"),
                        ),
                    ]
                )
            ):
                refund_notes[refund.sale_order_id.id, refund.mirakl_refund_id] = (
                    refund.credit_note_id
                )
        for line in settlement_lines:
            if line.mirakl_refund_id:
                moves = refund_notes.get(
                    (line.mirakl_sale_order_id.id, line.mirakl_refund_id),
                    self.browse(),
                )
            else:
                moves = line.mirakl_sale_order_id.invoice_ids.filtered(
                    lambda m: m.move_type == "out_invoice"
                )
            self._mirakl_match(line, moves)
