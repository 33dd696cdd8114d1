"""The billing cycle: one SBC11 seller billing cycle, the payout unit, stored
raw and exactly once (unique per shop and Mirakl id), with its transaction
lines (``mirakl_transaction_line.py``) and accounting documents
(``mirakl_accounting_document.py``).

The shop's payout run (``mirakl.backend._mirakl_import_payouts``) reads them
and checks each cycle before anything is booked; the settlement entry is the
cycle's extension in ``mirakl_billing_cycle_settlement.py``.
"""

import json

from markupsafe import Markup

from odoo import _, api, fields, models

# The TL02 type of the payout line: checked against the cycle, never booked.
PAYMENT_TYPE = "PAYMENT"

CYCLE_STATES = [
    ("reading", "Lines being read"),
    ("ready", "Ready to book"),
    ("held", "Held"),
]


def _json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


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
