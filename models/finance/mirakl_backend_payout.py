"""Payouts: the shop's payout settings, button and daily run. The run reads
billing cycles (SBC11), their transaction lines (TL02) and accounting
documents (IV01/IV02), which each cycle stores raw and exactly once and
checks before it is booked (see ``mirakl_billing_cycle.py``); then it follows
the payouts in transit (bank match, ageing).

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``).
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models

from ...lib import mappers
from .mirakl_billing_cycle import _json, _money

_logger = logging.getLogger(__name__)

# Cycles are read again this long before the last run (late pay-out updates).
PAYOUT_OVERLAP_DAYS = 2
# Ids per SBC11 ``id`` filter (Mirakl's list limit).
MAX_IDS = 100


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    payout_import_enabled = fields.Boolean(
        string="Import payouts",
        default=True,
        help="Read billing cycles, transaction lines and accounting documents "
        "every day.",
    )
    payout_initial_days = fields.Integer(
        string="First payout import (days)",
        default=90,
        help="How many days of billing cycles the very first run reads.",
    )
    payout_page_size = fields.Integer(
        string="Transaction lines per page",
        default=2000,
        help="TL02 page size (Mirakl allows at most 2,000). Lower it if large "
        "pages time out.",
    )
    payout_vat_tolerance = fields.Float(
        string="VAT tolerance",
        default=0.05,
        help="Largest difference allowed between an operator document's VAT "
        "and the VAT of its transaction lines (rounding) before the cycle is "
        "held.",
    )
    payout_watermark = fields.Datetime(
        string="Payouts read up to", readonly=True, copy=False
    )
    billing_cycle_ids = fields.One2many("mirakl.billing.cycle", "backend_id")
    transaction_map_ids = fields.One2many(
        "mirakl.transaction.map",
        "backend_id",
        string="Transaction types",
        help="How each Mirakl transaction type is booked. A type without a row "
        "holds its cycle.",
    )
    billing_cycle_count = fields.Integer(
        string="Billing cycles", compute="_compute_billing_cycle_count"
    )

    _sql_constraints = [
        (
            "payout_page_size_range",
            "CHECK(payout_page_size BETWEEN 1 AND 2000)",
            "Mirakl pages transaction lines by 2,000 at most.",
        ),
    ]

    def _compute_billing_cycle_count(self):
        groups = self.env["mirakl.billing.cycle"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
        )
        counts = {backend.id: count for backend, count in groups}
        for backend in self:
            backend.billing_cycle_count = counts.get(backend.id, 0)

    # === ACTION METHODS === #

    def action_import_payouts(self):
        """One payout run per shop, now, synchronously."""
        results = [
            backend._mirakl_import_payouts() for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Payouts"), results)

    def action_open_billing_cycles(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Billing cycles"),
            "res_model": "mirakl.billing.cycle",
            "view_mode": "list,form",
            "domain": [("backend_id", "=", self.id)],
        }

    @api.model
    def _cron_mirakl_import_payouts(self):
        """Daily: every shop's payout run."""
        self.search([("payout_import_enabled", "=", True)])._mirakl_cron_each(
            "SBC11", lambda backend: backend._mirakl_import_payouts(), retry_soon=True
        )

    # === BUSINESS METHODS === #

    def _mirakl_import_payouts(self):
        """The payout run of this shop: the cycles checked by an earlier run
        but not booked yet (finance settings were incomplete, or Odoo refused
        the entry) are booked first, as the run itself only reads the cycles
        that are not ready yet; then the new and unsettled cycles are read
        (``_mirakl_read_payouts``); then the payouts in transit are matched
        with the bank and those left too long are issues.

        :return: ``{"ok", "message", "cycles", "ready", "held", "lines"}``
        """
        self.ensure_one()
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
            cycle._mirakl_check()
        result = self._mirakl_read_payouts()
        in_transit = self._mirakl_cycles_in_transit()
        matched = in_transit.filtered(
            lambda c: c.pay_out_state == "PAID"
        )._mirakl_match_bank()
        self._mirakl_check_ageing(in_transit - matched)
        return result

    def _mirakl_read_payouts(self):
        """Read the cycles created since the last run (and those still
        unsettled), then the lines and documents of every cycle not ready yet
        (each checked, and booked when it passes).

        :return: ``{"ok", "message", "cycles", "ready", "held", "lines"}``
        """
        self.ensure_one()
        started = fields.Datetime.now()
        since = (
            self.payout_watermark - timedelta(days=PAYOUT_OVERLAP_DAYS)
            if self.payout_watermark
            else started - timedelta(days=self.payout_initial_days)
        )
        ok, raws = self._mirakl_call(
            "SBC11",
            lambda client: list(client.iter_billing_cycles(start_date=since)),
        )
        if not ok:
            return {"ok": False, "message": self._mirakl_explain(raws)}
        Cycle = self.env["mirakl.billing.cycle"].sudo()
        # Older cycles whose pay-out is not final yet: read again by id.
        seen = {raw.get("id") for raw in raws}
        pending = Cycle.search(
            [
                ("backend_id", "=", self.id),
                ("mirakl_id", "not in", list(seen)),
                "|",
                ("pay_out_state", "not in", ("PAID", "FAILED")),
                ("state", "not in", ("ready", "booked")),
            ]
        )
        for start in range(0, len(pending), MAX_IDS):
            ids = pending[start : start + MAX_IDS].mapped("mirakl_id")
            ok, more = self._mirakl_call(
                "SBC11",
                lambda client, ids=ids: list(client.iter_billing_cycles(id=ids)),
            )
            if not ok:
                return {"ok": False, "message": self._mirakl_explain(more)}
            raws += more
        cycles = Cycle.browse()
        for raw in raws:
            cycles |= self._mirakl_store_cycle(raw)
        to_read = cycles.filtered(lambda c: c.state not in ("ready", "booked"))
        lines = self._mirakl_read_cycles(to_read)
        complete = all(c.state != "reading" for c in to_read)
        if complete:
            self._mirakl_write_shop({"payout_watermark": started})
        stats = {
            "cycles": len(cycles),
            "ready": len(to_read.filtered(lambda c: c.state in ("ready", "booked"))),
            "held": len(to_read.filtered(lambda c: c.state == "held")),
            "lines": lines,
        }
        message = _(
            "%(shop)s: %(cycles)s billing cycles read, %(lines)s new transaction "
            "lines; %(ready)s cycles ready to book, %(held)s held.",
            shop=self.name,
            **stats,
        )
        _logger.info("Mirakl shop %s: payout run: %s", self.id, stats)
        return dict(stats, ok=complete and not stats["held"], message=message)

    def _mirakl_currency(self, code):
        if not code:
            return self.company_id.currency_id
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code)], limit=1)
        )
        return currency or self.company_id.currency_id

    def _mirakl_store_cycle(self, raw):
        """Create or update one SBC11 cycle (unique per shop and id)."""
        pay_out = raw.get("pay_out") or {}
        vals = {
            "date_created": mappers.parse_datetime(raw.get("date_created")),
            "currency_id": self._mirakl_currency(raw.get("currency_iso_code")).id,
            "payment_voucher_number": raw.get("payment_voucher_number") or False,
            "amount_transferred": float(
                _money(raw.get("amount_transferred_to_seller"))
            ),
            "amount_transferred_to_operator": float(
                _money(raw.get("amount_transferred_to_operator"))
            ),
            "pay_out_state": pay_out.get("state") or False,
            "pay_out_reference": pay_out.get("reference") or False,
            "pay_out_date": mappers.parse_datetime(pay_out.get("transaction_date")),
            "pay_out_failure_reason": pay_out.get("failure_reason") or False,
            "raw_json": _json(raw),
        }
        Cycle = self.env["mirakl.billing.cycle"].sudo()
        cycle = Cycle.search(
            [("backend_id", "=", self.id), ("mirakl_id", "=", raw["id"])], limit=1
        )
        if not cycle:
            return Cycle.create(dict(vals, backend_id=self.id, mirakl_id=raw["id"]))
        changed = {
            key: value
            for key, value in vals.items()
            if cycle._fields[key].convert_to_write(cycle[key], cycle)
            != (value if value is not None else False)
        }
        if changed:
            if "amount_transferred" in changed and cycle.state == "ready":
                changed["state"] = "reading"  # checked again below
            cycle.write(changed)
        return cycle

    def _mirakl_read_cycles(self, cycles):
        """Read the lines (TL02) and documents (IV01, IV02) of these cycles and
        check them. Returns the number of new lines."""
        self.ensure_one()
        new_lines = 0
        for cycle in cycles.with_env(self.env):
            mirakl_id = cycle.mirakl_id
            ok, lines = self._mirakl_call(
                "TL02",
                lambda client, mirakl_id=mirakl_id: list(
                    client.iter_transaction_lines(
                        seller_billing_cycle_id=mirakl_id,
                        page_size=self.payout_page_size,
                    )
                ),
                record=cycle,
            )
            if not ok:
                continue
            new_lines += cycle._mirakl_store_lines(lines)
            ok, documents = self._mirakl_call(
                "IV01",
                lambda client, mirakl_id=mirakl_id: list(
                    client.iter_accounting_documents(
                        document_type="ALL", seller_billing_cycle_id=mirakl_id
                    )
                ),
                record=cycle,
            )
            if not ok:
                continue
            cycle._mirakl_store_documents(documents)
            cycle._mirakl_check()
            self._mirakl_commit()
        return new_lines

    def _mirakl_transaction_map(self):
        """The shop's booking rules: {TL02 type: mirakl.transaction.map}."""
        self.ensure_one()
        return {row.transaction_type: row for row in self.sudo().transaction_map_ids}

    # === BUSINESS METHODS: payouts in transit === #

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

    # === RETRY === #

    def _mirakl_retry_issue(self, issue):
        if issue.operation in ("SBC11", "TL02", "IV01", "IV02", "PAYOUT"):
            return self._mirakl_import_payouts()["ok"]
        return super()._mirakl_retry_issue(issue)
