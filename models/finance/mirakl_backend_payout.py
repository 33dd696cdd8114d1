"""Payouts: reading billing cycles (SBC11), their transaction lines (TL02) and
accounting documents (IV01/IV02), stored raw and exactly once, and checking
each cycle before it is booked.

Same model as ``mirakl_backend.py`` (``mirakl.backend``).

A cycle is *ready* when the signed amounts of its lines, PAYMENT excepted, add
up to what Mirakl transferred (SBC11 ``amount_transferred_to_seller``), to
the penny, and agree with the PAYMENT line and the automatic invoice's
``summary.amount_transferred`` when they are there, and every line's type has
a booking rule on the shop (``mirakl.transaction.map``). Otherwise it is
*held* with a sync issue giving both figures: a missing page or an unmapped
type is never guessed around.
"""

import base64
import json
import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from odoo import _, api, fields, models

from ...lib import mappers
from .mirakl_billing_cycle import PAYMENT_TYPE, _json
from .mirakl_transaction_map import COMMISSION, DEFAULT_MAP

_logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# Cycles are read again this long before the last run (late pay-out updates).
PAYOUT_OVERLAP_DAYS = 2
# Ids per SBC11 ``id`` filter (Mirakl's list limit).
MAX_IDS = 100


def _money(value):
    return mappers.money(value).quantize(CENT)


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
        """Read the cycles created since the last run (and those still
        unsettled), then the lines and documents of every cycle not ready yet.

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
        for cycle in cycles:
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
            new_lines += self._mirakl_store_lines(cycle, lines)
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
            self._mirakl_store_documents(cycle, documents)
            self._mirakl_check_cycle(cycle)
            self._mirakl_commit()
        return new_lines

    def _mirakl_store_lines(self, cycle, raws):
        """Insert new TL02 lines; a stored line whose amount changed is a
        drift issue (and is updated). Returns the number of new lines."""
        Line = self.env["mirakl.transaction.line"].sudo()
        Line.flush_model()
        ids = [raw.get("id") for raw in raws]
        self.env.cr.execute(
            """
            SELECT mirakl_id, id, amount, payment_state, mirakl_cycle_id
              FROM mirakl_transaction_line
             WHERE backend_id = %s AND mirakl_id = ANY(%s)
            """,
            (self.id, ids),
        )
        existing = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        order_ids = {
            ((raw.get("entities") or {}).get("order") or {}).get("id") for raw in raws
        }
        sales = {
            sale.mirakl_order_id: sale.id
            for sale in self.env["sale.order"]
            .sudo()
            .search(
                [
                    ("mirakl_backend_id", "=", self.id),
                    ("mirakl_order_id", "in", [oid for oid in order_ids if oid]),
                ]
            )
        }
        currencies = {
            None: cycle.currency_id.id,
            cycle.currency_id.name: cycle.currency_id.id,
        }

        def currency_id(code):
            # One lookup per currency, not per line.
            if code not in currencies:
                currencies[code] = self._mirakl_currency(code).id
            return currencies[code]

        new_vals = []
        changed = []
        seen = set()
        for raw in raws:
            if not raw.get("id") or raw["id"] in seen:
                continue  # overlapping pages: the line is stored once
            seen.add(raw["id"])
            entities = raw.get("entities") or {}
            tax = entities.get("order_tax") or entities.get("shop_tax") or {}
            order_id = (entities.get("order") or {}).get("id")
            amount = _money(raw.get("amount"))
            vals = {
                "cycle_id": cycle.id,
                "mirakl_cycle_id": raw.get("seller_billing_cycle_id")
                or cycle.mirakl_id,
                "transaction_type": raw.get("type"),
                "currency_id": currency_id(raw.get("currency_iso_code")),
                "amount": float(amount),
                "payment_state": raw.get("payment_state") or False,
                "date_created": mappers.parse_datetime(raw.get("date_created")),
                "last_updated": mappers.parse_datetime(raw.get("last_updated")),
                "transaction_date": mappers.parse_datetime(raw.get("transaction_date")),
                "mirakl_order_id": order_id or False,
                "mirakl_order_line_id": (entities.get("order_line") or {}).get("id")
                or False,
                "mirakl_refund_id": (entities.get("refund") or {}).get("id") or False,
                "sale_order_id": sales.get(order_id, False),
                "accounting_document_id": raw.get("accounting_document_id") or False,
                "accounting_document_number": raw.get("accounting_document_number")
                or False,
                "tax_code": tax.get("code") or False,
                "tax_rate": float(mappers.money(tax.get("rate"))),
                "raw_json": _json(raw),
            }
            known = existing.get(raw.get("id"))
            if known is None:
                new_vals.append(dict(vals, backend_id=self.id, mirakl_id=raw["id"]))
                continue
            line_id, stored_amount, state, cycle_ref = known
            if _money(stored_amount) != amount:
                changed.append((raw["id"], _money(stored_amount), amount))
                Line.browse(line_id).write(vals)
            elif (state, cycle_ref) != (vals["payment_state"], vals["mirakl_cycle_id"]):
                Line.browse(line_id).write(vals)
        for start in range(0, len(new_vals), 1000):
            Line.create(new_vals[start : start + 1000])
        Issue = self.env["mirakl.sync.issue"]
        for mirakl_id, before, after in changed[:50]:
            Issue._mirakl_record(
                self,
                "TL02",
                _(
                    "Transaction line %(line)s of cycle %(cycle)s changed amount "
                    "after it was stored: %(before)s, now %(after)s.",
                    line=mirakl_id,
                    cycle=cycle.name,
                    before=before,
                    after=after,
                ),
                category="drift",
                record=cycle,
                mirakl_ref=mirakl_id,
            )
        return len(new_vals)

    def _mirakl_store_documents(self, cycle, raws):
        """Create or update the IV01 documents; fetch each file once (IV02)."""
        Document = self.env["mirakl.accounting.document"].sudo()
        for raw in raws:
            mirakl_id = str(raw.get("id"))
            taxes = sum(
                (_money(tax.get("amount")) for tax in raw.get("total_taxes") or ()),
                Decimal(0),
            )
            vals = {
                "invoice_number": str(raw["invoice_id"])
                if raw.get("invoice_id") is not None
                else False,
                "document_type": raw.get("type") or False,
                "mirakl_state": raw.get("state") or False,
                "cycle_id": cycle.id,
                "mirakl_cycle_id": raw.get("seller_billing_cycle_id")
                or cycle.mirakl_id,
                "date_created": mappers.parse_datetime(raw.get("date_created")),
                "issue_date": mappers.parse_datetime(raw.get("issue_date")),
                "currency_id": self._mirakl_currency(raw.get("currency_iso_code")).id,
                "total_excl_taxes": float(_money(raw.get("total_amount_excl_taxes"))),
                "total_incl_taxes": float(_money(raw.get("total_amount_incl_taxes"))),
                "total_taxes": float(taxes),
                "raw_json": _json(raw),
            }
            document = Document.search(
                [("backend_id", "=", self.id), ("mirakl_id", "=", mirakl_id)], limit=1
            )
            if document:
                document.write(vals)
            else:
                document = Document.create(
                    dict(vals, backend_id=self.id, mirakl_id=mirakl_id)
                )
            if not document.file:
                self._mirakl_fetch_document_file(document)

    def _mirakl_fetch_document_file(self, document):
        """IV02: the document's file (a PDF as far as is known). True when
        stored; a failure is a sync issue on the document (Retry fetches it)."""
        mirakl_id = document.mirakl_id
        ok, content = self._mirakl_call(
            "IV02",
            lambda client: client.download_accounting_document(mirakl_id),
            record=document,
        )
        if not ok:
            return False
        extension = "pdf" if content[:5] == b"%PDF-" else "bin"
        document.write(
            {
                "file": base64.b64encode(content),
                "file_name": "%s.%s"
                % (document.invoice_number or mirakl_id, extension),
            }
        )
        return True

    def _mirakl_check_cycle(self, cycle):
        """Hold the cycle unless its figures agree; file or close its issues."""
        self.env["mirakl.transaction.line"].flush_model()
        self.env.cr.execute(
            """
            SELECT transaction_type, SUM(amount), COUNT(*)
              FROM mirakl_transaction_line
             WHERE cycle_id = %s
             GROUP BY transaction_type
            """,
            (cycle.id,),
        )
        totals = {
            kind: (Decimal(str(total)).quantize(CENT), count)
            for kind, total, count in self.env.cr.fetchall()
        }
        mapping = self._mirakl_transaction_map()
        not_booked = {PAYMENT_TYPE} | {
            kind for kind, row in mapping.items() if row.booking == "payment"
        }
        transferred = Decimal(str(cycle.amount_transferred)).quantize(CENT)
        lines_total = sum(
            (
                total
                for kind, (total, _count) in totals.items()
                if kind not in not_booked
            ),
            Decimal(0),
        )
        problems = {}
        if lines_total != transferred:
            problems["identity"] = (
                "drift",
                _(
                    "The cycle's transaction lines (PAYMENT excepted) add up to "
                    "%(lines)s but Mirakl transferred %(transferred)s (difference "
                    "%(difference)s): a page of lines may be missing. Nothing is "
                    "booked until they agree.",
                    lines=lines_total,
                    transferred=transferred,
                    difference=lines_total - transferred,
                ),
            )
        if PAYMENT_TYPE in totals and -totals[PAYMENT_TYPE][0] != transferred:
            problems["payment"] = (
                "drift",
                _(
                    "The PAYMENT line says %(payment)s was paid out, the cycle "
                    "%(transferred)s.",
                    payment=-totals[PAYMENT_TYPE][0],
                    transferred=transferred,
                ),
            )
        for document in cycle.document_ids.filtered(
            lambda d: d.document_type == "AUTO_INVOICE"
        ):
            summary = json.loads(document.raw_json or "{}").get("summary") or {}
            if "amount_transferred" in summary:
                amount = _money(summary["amount_transferred"])
                if amount != transferred:
                    problems["document"] = (
                        "drift",
                        _(
                            "Accounting document %(document)s says %(amount)s was "
                            "transferred, the cycle %(transferred)s.",
                            document=document.name,
                            amount=amount,
                            transferred=transferred,
                        ),
                    )
        problems.update(self._mirakl_check_documents(cycle, mapping))
        unknown = sorted(kind for kind in totals if kind not in mapping)
        if unknown:
            problems["types"] = (
                "mapping",
                _(
                    "Transaction types with no booking rule on this shop: "
                    "%(types)s (%(count)s lines). The cycle is held: nothing is "
                    "guessed. %(fix)s",
                    types=", ".join(unknown),
                    count=sum(totals[kind][1] for kind in unknown),
                    fix=_(
                        "Add them under Transaction types on the shop's Finance "
                        "tab, then press Check again."
                    )
                    if mapping
                    else _(
                        "The shop has no rules yet: press Set up accounts on its "
                        "Finance tab (or add them under Transaction types), then "
                        "Check again."
                    ),
                ),
            )
        Issue = self.env["mirakl.sync.issue"]
        for key in ("identity", "payment", "document", "types", "vat", "totals"):
            if key in problems:
                category, message = problems[key]
                Issue._mirakl_record(
                    self,
                    "PAYOUT",
                    message,
                    category=category,
                    record=cycle,
                    mirakl_ref=key,
                )
            else:
                Issue._mirakl_resolve(self, "PAYOUT", record=cycle, mirakl_ref=key)
        commission, fees = self._mirakl_charges(totals, mapping)
        cycle.write(
            {
                "state": "held" if problems else "ready",
                "lines_total": float(lines_total),
                "commission_amount": float(commission),
                "fee_amount": float(fees),
                "check_message": "\n".join(m for _c, m in problems.values()) or False,
            }
        )
        return not problems

    @api.model
    def _mirakl_charges(self, totals, mapping):
        """(commission, other operator fees) of a cycle's ``{type: (signed
        total, count)}``, as positive costs. Commission is what the default
        rules book on the commission account; fees, every other operator
        charge (by the default rules, else by the shop's own)."""
        commission = fees = Decimal(0)
        for kind, (total, _count) in totals.items():
            booking, role = DEFAULT_MAP.get(kind, (None, None))
            if booking is None and kind in mapping:
                booking = mapping[kind].booking
            if role == COMMISSION:
                commission -= total
            elif booking in ("charge", "charge_vat"):
                fees -= total
        return commission, fees

    def _mirakl_transaction_map(self):
        """The shop's booking rules: {TL02 type: mirakl.transaction.map}."""
        self.ensure_one()
        return {row.transaction_type: row for row in self.sudo().transaction_map_ids}

    def _mirakl_check_documents(self, cycle, mapping):
        """Each operator document against the transaction lines that carry its
        number: its VAT against their VAT lines, and its total (VAT
        included) against their sum, both within the shop's tolerance."""
        kinds = {
            kind: row.booking
            for kind, row in mapping.items()
            if row.booking in ("charge", "charge_vat")
        }
        tolerance = Decimal(str(self.payout_vat_tolerance)).quantize(CENT)
        vat_by_number = defaultdict(Decimal)
        gross_by_number = defaultdict(Decimal)
        for line in cycle.line_ids:
            booking = kinds.get(line.transaction_type)
            number = line.accounting_document_number
            if booking and number:
                gross_by_number[number] += _money(line.amount)
                if booking == "charge_vat":
                    vat_by_number[number] += _money(line.amount)
        gaps = {"vat": [], "totals": []}
        tolerated = []
        for document in cycle.document_ids.filtered("invoice_number"):
            number = document.invoice_number
            for key, label, on_document, on_lines in (
                ("vat", _("VAT"), document.total_taxes, vat_by_number[number]),
                (
                    "totals",
                    _("total"),
                    document.total_incl_taxes,
                    gross_by_number[number],
                ),
            ):
                on_document, on_lines = abs(_money(on_document)), abs(on_lines)
                if on_document != on_lines and abs(on_document - on_lines) <= tolerance:
                    tolerated.append(
                        _(
                            "%(document)s: %(what)s %(on_document)s, its lines "
                            "%(on_lines)s (difference %(gap)s, within the "
                            "tolerance of %(tolerance)s)",
                            document=document.name,
                            what=label,
                            on_document=on_document,
                            on_lines=on_lines,
                            gap=on_document - on_lines,
                            tolerance=tolerance,
                        )
                    )
                if abs(on_document - on_lines) > tolerance:
                    gaps[key].append(
                        _(
                            "%(document)s: %(what)s %(on_document)s, its lines "
                            "%(on_lines)s",
                            document=document.name,
                            what=label,
                            on_document=on_document,
                            on_lines=on_lines,
                        )
                    )
        cycle._mirakl_note_tolerated_gaps(tolerated)
        problems = {}
        if gaps["vat"]:
            problems["vat"] = (
                "drift",
                _(
                    "Operator documents whose VAT differs from their transaction "
                    "lines by more than %(tolerance)s: %(gaps)s. The fees' input "
                    "VAT must be the document's: nothing is booked until they "
                    "agree (or the tolerance is raised).",
                    tolerance=tolerance,
                    gaps="; ".join(gaps["vat"]),
                ),
            )
        if gaps["totals"]:
            problems["totals"] = (
                "drift",
                _(
                    "Operator documents whose total differs from the sum of their "
                    "transaction lines by more than %(tolerance)s: %(gaps)s. A "
                    "line may be missing or belong to another document: nothing "
                    "is booked until they agree.",
                    tolerance=tolerance,
                    gaps="; ".join(gaps["totals"]),
                ),
            )
        return problems

    def _mirakl_retry_issue(self, issue):
        if issue.operation in ("SBC11", "TL02", "IV01", "IV02", "PAYOUT"):
            return self._mirakl_import_payouts()["ok"]
        return super()._mirakl_retry_issue(issue)
