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

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``).
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

_logger = logging.getLogger(__name__)

# The commission Mirakl charges per order, checked against the one stored on
# the Sales Order at import.
ORDER_COMMISSION_TYPES = ("COMMISSION_FEE", "REFUND_COMMISSION_FEE")


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # === BUSINESS METHODS: cycle checks and transit === #

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
