"""The settlement entry of a billing cycle, as seen from the cycle: its entry
and operator bills, the payout in transit, the bank match, booking and
rebuilding.

Same model as ``mirakl_billing_cycle.py`` (``mirakl.billing.cycle``); the
entry itself is built in ``mirakl_backend_settlement.py`` (see its module
docstring for the accounting).
"""

import logging
from datetime import timedelta

from odoo import _, fields, models
from odoo.exceptions import UserError

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
