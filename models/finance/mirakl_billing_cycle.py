"""The billing cycle: one SBC11 seller billing cycle, the payout unit, stored
raw and exactly once (unique per shop and Mirakl id), with its transaction
lines (``mirakl_transaction_line.py``) and accounting documents
(``mirakl_accounting_document.py``).

The shop's payout run (``mirakl.backend._mirakl_import_payouts``) reads them;
the cycle stores its lines and documents and checks itself before anything
is booked: it is *ready* when the signed amounts of its lines, PAYMENT
excepted, add up to what Mirakl transferred (SBC11
``amount_transferred_to_seller``), to the penny, and agree with the PAYMENT
line and the automatic invoice's ``summary.amount_transferred`` when they are
there, its operator documents agree with their lines within the shop's
tolerance, and every line's type has a booking rule on the shop
(``mirakl.transaction.map``). Otherwise it is *held* with a sync issue giving
both figures: a missing page or an unmapped type is never guessed around.
The settlement entry is the cycle's extension in
``mirakl_billing_cycle_settlement.py``.
"""

import json
from collections import defaultdict
from decimal import Decimal

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.tools import float_is_zero

from ...lib import mappers
from .mirakl_transaction_map import COMMISSION, DEFAULT_MAP

# The TL02 type of the payout line: checked against the cycle, never booked.
PAYMENT_TYPE = "PAYMENT"
# The commission Mirakl charges per order, checked against the one stored on
# the Sales Order at import.
ORDER_COMMISSION_TYPES = ("COMMISSION_FEE", "REFUND_COMMISSION_FEE")
CENT = Decimal("0.01")

CYCLE_STATES = [
    ("reading", "Lines being read"),
    ("ready", "Ready to book"),
    ("held", "Held"),
]


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _money(value):
    return mappers.money(value).quantize(CENT)


class MiraklBillingCycle(models.Model):
    _name = "mirakl.billing.cycle"
    _description = "Mirakl Billing Cycle (payout)"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _mail_post_access = "read"
    _order = "date_created desc, id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    mirakl_id = fields.Char(string="Mirakl cycle ID", required=True, readonly=True)
    date_created = fields.Datetime(string="Created on Mirakl", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    payment_voucher_number = fields.Char(string="Payment voucher", readonly=True)
    amount_transferred = fields.Monetary(
        string="Transferred to the seller",
        readonly=True,
        help="SBC11 amount_transferred_to_seller: what the operator pays out.",
    )
    amount_transferred_to_operator = fields.Monetary(
        string="Transferred to the operator", readonly=True
    )
    pay_out_state = fields.Char(string="Pay-out state", readonly=True, tracking=True)
    pay_out_reference = fields.Char(string="Pay-out reference", readonly=True)
    pay_out_date = fields.Datetime(string="Paid out on", readonly=True)
    pay_out_failure_reason = fields.Char(string="Pay-out failure reason", readonly=True)
    raw_json = fields.Text(string="SBC11 answer", readonly=True)
    state = fields.Selection(
        CYCLE_STATES, default="reading", required=True, readonly=True, tracking=True
    )
    check_message = fields.Text(string="Check result", readonly=True)
    lines_total = fields.Monetary(
        string="Sum of the lines",
        readonly=True,
        help="Sum of the cycle's transaction lines except PAYMENT.",
    )
    commission_amount = fields.Monetary(
        string="Commission",
        readonly=True,
        help="Commission charged on the cycle's orders, VAT included, net of "
        "commission refunded (transaction types of the commission: "
        "COMMISSION_*, SELLER_FEE_ON_ORDER*).",
    )
    fee_amount = fields.Monetary(
        string="Operator fees",
        readonly=True,
        help="The operator's other charges of the cycle (subscription, "
        "penalties, one-off and manual invoices), VAT included, net of its "
        "credits.",
    )
    line_ids = fields.One2many("mirakl.transaction.line", "cycle_id")
    line_count = fields.Integer(string="Transaction lines", compute="_compute_counts")
    document_ids = fields.One2many("mirakl.accounting.document", "cycle_id")
    document_count = fields.Integer(string="Documents", compute="_compute_counts")
    issue_count = fields.Integer(
        string="Open issues", compute="_compute_issue_count", compute_sudo=True
    )
    has_drift = fields.Boolean(
        string="Drift",
        compute="_compute_issue_count",
        search="_search_has_drift",
        compute_sudo=True,
        help="An open drift issue: figures that disagree.",
    )

    tolerated_gap = fields.Boolean(
        string="Gap within tolerance",
        readonly=True,
        copy=False,
        help="An operator document differs from its transaction lines by less "
        "than the shop's tolerance: booked at the document's figures, but "
        "shown to finance (both figures are in Tolerated gaps and the chatter).",
    )
    tolerated_gap_note = fields.Text(string="Tolerated gaps", readonly=True, copy=False)

    _sql_constraints = [
        (
            "backend_mirakl_id_uniq",
            "unique(backend_id, mirakl_id)",
            "A Mirakl billing cycle is stored once per shop.",
        ),
    ]

    @api.depends("date_created", "payment_voucher_number", "mirakl_id")
    def _compute_name(self):
        for cycle in self:
            parts = (
                str(cycle.date_created.date()) if cycle.date_created else "",
                cycle.payment_voucher_number or (cycle.mirakl_id or "")[:8],
            )
            cycle.name = " ".join(part for part in parts if part)

    def _compute_counts(self):
        for field, model in (
            ("line_count", "mirakl.transaction.line"),
            ("document_count", "mirakl.accounting.document"),
        ):
            groups = self.env[model]._read_group(
                [("cycle_id", "in", self.ids)], ["cycle_id"], ["__count"]
            )
            counts = {cycle.id: count for cycle, count in groups}
            for cycle in self:
                cycle[field] = counts.get(cycle.id, 0)

    def _compute_issue_count(self):
        groups = self.env["mirakl.sync.issue"]._read_group(
            [
                ("res_model", "=", self._name),
                ("res_id", "in", self.ids),
                ("state", "=", "open"),
            ],
            ["res_id", "category"],
            ["__count"],
        )
        counts, drift = {}, set()
        for res_id, category, count in groups:
            counts[res_id] = counts.get(res_id, 0) + count
            if category == "drift":
                drift.add(res_id)
        for cycle in self:
            cycle.issue_count = counts.get(cycle.id, 0)
            cycle.has_drift = cycle.id in drift

    def _mirakl_note_tolerated_gaps(self, gaps):
        """Keep the gaps the tolerance let through visible: on the cycle, in
        its drift filter and, when they change, in its chatter."""
        self.ensure_one()
        note = "\n".join(gaps) or False
        if note == (self.tolerated_gap_note or False):
            return
        self.write({"tolerated_gap": bool(gaps), "tolerated_gap_note": note})
        if gaps:
            self.message_post(
                body=Markup("%s<ul>%s</ul>")
                % (
                    _(
                        "Booked within the shop's tolerance, although the operator's "
                        "document and its transaction lines differ:"
                    ),
                    Markup("").join(Markup("<li>%s</li>") % gap for gap in gaps),
                )
            )

    def _search_has_drift(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on Drift."))
        issues = (
            self.env["mirakl.sync.issue"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("state", "=", "open"),
                    ("category", "=", "drift"),
                ]
            )
        )
        positive = (operator == "=") == value
        return [("id", "in" if positive else "not in", issues.mapped("res_id"))]

    # === ACTION METHODS === #

    def action_open_issues(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mirakl_connector.mirakl_sync_issue_action"
        )
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {"search_default_open": 1}
        return action

    def action_recheck(self):
        """Read the cycle's lines and documents again and re-run its checks."""
        for backend, cycles in self.env["mirakl.backend"]._mirakl_per_shop(self):
            backend._mirakl_read_cycles(cycles)
        return True

    def _mirakl_retry_issue(self, issue):
        self.ensure_one()
        self.backend_id._mirakl_read_cycles(self)
        if issue.mirakl_ref == "booking":
            return self.state == "booked"
        return self.state in ("ready", "booked")

    # === BUSINESS METHODS: storing and checking === #

    def _mirakl_store_lines(self, raws):
        """Insert this cycle's new TL02 lines; a stored line whose amount changed is a
        drift issue (and is updated). Returns the number of new lines.

        Longer than 80 lines: the bulk read of what is stored, the per-line
        values and the bulk insert share their lookups (one query per page,
        not per line).
        """
        cycle, backend = self, self.backend_id
        Line = self.env["mirakl.transaction.line"].sudo()
        Line.flush_model()
        ids = [raw.get("id") for raw in raws]
        self.env.cr.execute(
            """
            SELECT mirakl_id, id, amount, payment_state, mirakl_cycle_id
              FROM mirakl_transaction_line
             WHERE backend_id = %s AND mirakl_id = ANY(%s)
            """,
            (backend.id, ids),
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
                    ("mirakl_backend_id", "=", backend.id),
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
                currencies[code] = backend._mirakl_currency(code).id
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
                new_vals.append(dict(vals, backend_id=backend.id, mirakl_id=raw["id"]))
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
                backend,
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

    def _mirakl_store_documents(self, raws):
        """Create or update this cycle's IV01 documents; fetch each file once (IV02)."""
        cycle, backend = self, self.backend_id
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
                "currency_id": backend._mirakl_currency(
                    raw.get("currency_iso_code")
                ).id,
                "total_excl_taxes": float(_money(raw.get("total_amount_excl_taxes"))),
                "total_incl_taxes": float(_money(raw.get("total_amount_incl_taxes"))),
                "total_taxes": float(taxes),
                "raw_json": _json(raw),
            }
            document = Document.search(
                [("backend_id", "=", backend.id), ("mirakl_id", "=", mirakl_id)],
                limit=1,
            )
            if document:
                document.write(vals)
            else:
                document = Document.create(
                    dict(vals, backend_id=backend.id, mirakl_id=mirakl_id)
                )
            if not document.file:
                document._mirakl_fetch_file()

    def _mirakl_check(self):
        """Hold this cycle unless its figures agree; file or close its issues.
        True when it is ready (the settlement books it then).

        Longer than 80 lines: every check of the cycle files or closes its
        own issue key in one place, so that what holds a cycle reads as one
        list.
        """
        cycle, backend = self, self.backend_id
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
        mapping = backend._mirakl_transaction_map()
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
        problems.update(self._mirakl_check_documents(mapping))
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
                    backend,
                    "PAYOUT",
                    message,
                    category=category,
                    record=cycle,
                    mirakl_ref=key,
                )
            else:
                Issue._mirakl_resolve(backend, "PAYOUT", record=cycle, mirakl_ref=key)
        commission, fees = self._mirakl_charges(totals, mapping)
        self.write(
            {
                "state": "held" if problems else "ready",
                "lines_total": float(lines_total),
                "commission_amount": float(commission),
                "fee_amount": float(fees),
                "check_message": "\n".join(m for _c, m in problems.values()) or False,
            }
        )
        return not problems

    def _mirakl_check_documents(self, mapping):
        """Each operator document of this cycle against the transaction
        lines that carry its number: its VAT against their VAT lines, and its
        total (VAT included) against their sum, both within the shop's
        tolerance.

        Longer than 80 lines: the VAT and total checks of a document share
        the sums by document number and the tolerance rule.
        """
        kinds = {
            kind: row.booking
            for kind, row in mapping.items()
            if row.booking in ("charge", "charge_vat")
        }
        cycle = self
        tolerance = Decimal(str(self.backend_id.payout_vat_tolerance)).quantize(CENT)
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

    def _mirakl_check_orders(self):
        """Per order of this cycle: Mirakl's lines against the invoice total,
        and the commission charged against the one stored at import. Drift
        issues on the cycle; nothing is held (the payout is what it is).

        Longer than 80 lines: the per-order sums and the two checks per
        order share one pass over the cycle's lines.
        """
        cycle, backend = self, self.backend_id
        rounding = cycle.currency_id.rounding
        mapping = backend._mirakl_transaction_map()
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
                backend,
                "PAYOUT",
                _(
                    "Mirakl settled %(count)s orders that have no Sales Order in "
                    "Odoo: %(orders)s. They are booked on %(account)s; clear them "
                    "against the opening balance, or import the orders.",
                    count=len(unknown),
                    orders=", ".join(unknown),
                    account=(
                        backend.opening_account_id or backend.receivable_account_id
                    ).display_name,
                ),
                category="drift",
                record=cycle,
                mirakl_ref="orders without sale",
            )
        else:
            Issue._mirakl_resolve(
                backend, "PAYOUT", record=cycle, mirakl_ref="orders without sale"
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
                    Issue._mirakl_resolve(
                        backend, "PAYOUT", record=cycle, mirakl_ref=key
                    )
                else:
                    Issue._mirakl_record(
                        backend,
                        "PAYOUT",
                        message,
                        category="drift",
                        record=cycle,
                        mirakl_ref=key,
                    )
