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

Same model as ``mirakl_billing_cycle.py`` (``mirakl.billing.cycle``): the
cycle books itself once its checks pass (``_mirakl_check`` then
``_mirakl_book``); its payout in transit is matched with the bank here too.
"""

import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from odoo import _, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_is_zero

_logger = logging.getLogger(__name__)


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
            for cycle in cycles.with_env(backend.env):
                cycle._mirakl_check()
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

    # === BUSINESS METHODS: the settlement entry === #

    def _mirakl_check(self):
        """Check this cycle; once it passes, book it (once).

        Longer than 80 lines: every check of the cycle files or closes its
        own issue key in one place, so that what holds a cycle reads as one
        list.
        """
        ok = super()._mirakl_check()
        if ok and (self.move_id or self._mirakl_book()):
            self.state = "booked"
        return ok

    def _mirakl_book(self):
        """Create this cycle's settlement entry (once); post it if the shop
        says so. True when booked (a zero cycle needs no entry), None when
        the shop's finance settings are incomplete."""
        self.ensure_one()
        cycle, backend = self, self.backend_id
        if cycle.move_id or cycle.state != "ready":
            return bool(cycle.move_id) or None
        Issue = self.env["mirakl.sync.issue"]
        missing = backend._mirakl_finance_missing()
        if missing:
            Issue._mirakl_record(
                backend,
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
        Issue._mirakl_resolve(backend, "PAYOUT", mirakl_ref="finance setup")
        try:
            with self.env.cr.savepoint():
                booked = self._mirakl_create_settlement()
        except (UserError, ValidationError) as error:
            # Odoo refused the entry (lock date, archived account, no purchase
            # journal...): the cycle stays ready, the reason is an issue.
            self.env.invalidate_all(flush=False)
            _logger.info(
                "Mirakl shop %s: cycle %s not booked",
                backend.id,
                cycle.mirakl_id,
                exc_info=True,
            )
            Issue._mirakl_record(
                backend,
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
        Issue._mirakl_resolve(backend, "PAYOUT", record=cycle, mirakl_ref="booking")
        return booked

    def _mirakl_create_settlement(self):
        """The settlement entry (and the operator bills) of this cycle; its
        order checks once it exists; posted if the shop says so."""
        cycle, backend = self, self.backend_id
        move_lines, bills = self._mirakl_settlement_lines()
        if not move_lines:
            return True  # a zero cycle: nothing to book
        document = cycle.document_ids.filtered(
            lambda d: d.document_type == "AUTO_INVOICE"
        )[:1]
        bill_moves = self.env["account.move"]
        for doc, charges in bills.items():
            bill_moves |= doc._mirakl_operator_bill(charges, cycle)
        move = (
            self.env["account.move"]
            .sudo()
            .with_context(check_move_validity=False, skip_invoice_sync=True)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": backend.settlement_journal_id.id,
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
        cycle.document_ids._mirakl_attach_to(move)
        cycle.write({"move_id": move.id})
        self._mirakl_check_orders()
        if backend.settlement_auto_post:
            bill_moves.filtered(lambda m: m.state == "draft").action_post()
            move.action_post()
        _logger.info(
            "Mirakl shop %s: cycle %s booked as %s",
            backend.id,
            cycle.mirakl_id,
            move.id,
        )
        return True

    def _mirakl_settlement_lines(self):
        """This cycle's entry lines (values), balanced: debit positive; and, with
        the vendor bill option, the charges of each operator document
        ``{document: [(account, tax, base, vat)]}`` to bill instead.

        Longer than 80 lines: one pass over the cycle's lines groups them by
        booking, then the entry's lines follow in the order of the entry
        (orders, refunds, charges, bills, other accounts, payout), all
        sharing the groups.
        """
        cycle, backend = self, self.backend_id
        currency = cycle.currency_id
        operator = backend.operator_partner_id
        mapping = backend._mirakl_transaction_map()
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
        receivable = backend.receivable_account_id
        for order_id, total in sorted(by_order.items()):
            sale = sales.get(order_id)
            lines.append(
                {
                    "name": _("Mirakl order %s", order_id),
                    "account_id": (
                        receivable
                        if sale or not order_id
                        else backend.opening_account_id or receivable
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
        self._mirakl_use_document_vat(fees)
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
            if backend.operator_documents_as == "bill" and number in documents:
                bills[documents[number]].append(
                    (account_id, Tax.browse(tax_id), base, vat)
                )
                continue
            lines += self._mirakl_fee_lines(
                account_id, base, vat, Tax.browse(tax_id), operator, number, currency
            )
        payable = backend._mirakl_payable() if bills else None
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
                    "account_id": backend.transit_account_id.id,
                    "partner_id": operator.id,
                    "balance": float(transferred),
                }
            )
        return lines, dict(bills)

    def _mirakl_use_document_vat(self, fees):
        """Book the VAT of each operator document (its VAT invoice), not the
        sum of its lines: a rounding gap (within the shop's tolerance, see the
        cycle checks) goes to the base of its largest charge."""
        documents = {
            doc.invoice_number: doc for doc in self.document_ids if doc.invoice_number
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
