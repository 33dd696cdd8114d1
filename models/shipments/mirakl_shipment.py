"""The shipment outbox: what Mirakl must learn about deliveries, kept until it has.

A row is written in the same transaction as the stock moves it reports
(``stock.picking._action_done``), so a validated delivery always leaves one
behind; it is sent right after the commit (``cr.postcommit``) and, should that
not happen or fail, by the shop's scheduled action with backoff, or by hand.
A row Mirakl has accepted is ``done`` and never sent again.
"""

import json
import logging
from datetime import timedelta

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError

from ... import const
from ...lib import MiraklError, MiraklValidationError, mappers

_logger = logging.getLogger(__name__)

KINDS = [
    ("order", "Ship the order (OR23 + OR24)"),
    ("shipment", "Shipment (ST01)"),
    ("cancel", "Cancel the order (OR29)"),
    ("cancel_lines", "Cancel lines (OR30)"),
]
OPERATION = {
    "order": "OR24",
    "shipment": "ST01",
    "cancel": "OR29",
    "cancel_lines": "OR30",
}
MAX_BACKOFF = timedelta(hours=6)


class MiraklShipment(models.Model):
    _name = "mirakl.shipment"
    _description = "Mirakl Shipment Confirmation"
    _order = "id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sale_order_id = fields.Many2one(
        "sale.order", required=True, ondelete="cascade", index=True
    )
    mirakl_order_id = fields.Char(
        related="sale_order_id.mirakl_order_id", store=True, string="Mirakl order"
    )
    picking_id = fields.Many2one(
        "stock.picking", string="Delivery", ondelete="set null", index="btree_not_null"
    )
    kind = fields.Selection(KINDS, required=True)
    state = fields.Selection(
        [
            ("pending", "To send"),
            ("blocked", "Needs a person"),
            ("done", "Accepted by Mirakl"),
            ("cancel", "Not needed"),
        ],
        default="pending",
        required=True,
        index=True,
    )
    payload = fields.Text(
        help="What is reported: lines and quantities (JSON).", readonly=True
    )
    carrier_code = fields.Char(string="Mirakl carrier code", readonly=True)
    carrier_name = fields.Char(string="Carrier name", readonly=True)
    carrier_url = fields.Char(string="Carrier URL", readonly=True)
    tracking_number = fields.Char(string="Tracking number", readonly=True)
    reason_code = fields.Char(string="Reason code", readonly=True)
    tracking_sent = fields.Boolean(
        string="Tracking sent",
        readonly=True,
        help="OR23 accepted: only OR24 is left to send.",
    )
    uncertain = fields.Boolean(
        readonly=True,
        help="A call that creates something on Mirakl got no clear answer: "
        "Mirakl is checked before anything is sent again.",
    )
    mirakl_shipment_ref = fields.Char(string="Mirakl shipment", readonly=True)
    attempts = fields.Integer(readonly=True)
    next_attempt_date = fields.Datetime(
        string="Next attempt", readonly=True, index=True
    )
    last_error = fields.Text(string="Last error", readonly=True)
    event_date = fields.Datetime(
        string="Done in Odoo",
        readonly=True,
        help="When the delivery was validated (or the cancellation asked).",
    )
    confirmed_date = fields.Datetime(string="Accepted by Mirakl", readonly=True)
    latency_seconds = fields.Float(
        string="Latency (s)",
        readonly=True,
        aggregator="max",
        help="From the delivery's validation to Mirakl's acceptance.",
    )

    _sql_constraints = [
        (
            "picking_kind_unique",
            "unique(picking_id, kind)",
            "A delivery is reported once per kind of confirmation.",
        )
    ]

    @api.depends("kind", "mirakl_order_id", "picking_id")
    def _compute_name(self):
        kinds = dict(KINDS)
        for row in self:
            parts = [row.mirakl_order_id, kinds.get(row.kind)]
            if row.picking_id:
                parts.append(row.picking_id.name)
            row.name = " · ".join(p for p in parts if p)

    # === ACTION METHODS === #

    def action_send_now(self):
        rows = self.filtered(lambda r: r.state in ("pending", "blocked"))
        if not rows:
            raise UserError(_("Nothing left to send."))
        backend = rows.backend_id[:1]
        operator = backend._mirakl_as_operator()
        rows.with_env(operator.env).write(
            {"state": "pending", "next_attempt_date": False}
        )
        rows.with_env(operator.env)._mirakl_send(max_retries=const.BUTTON_MAX_RETRIES)
        failed = rows.filtered(lambda r: r.state != "done")
        if failed:
            return backend._mirakl_notification(
                _("Mirakl"),
                "\n".join(failed.mapped("last_error")) or _("Not sent."),
                "danger",
                sticky=True,
            )
        return backend._mirakl_notification(
            _("Mirakl"), _("Accepted by Mirakl."), "success"
        )

    def action_mark_done(self):
        """Mirakl already knows (done in its back office): stop sending."""
        self.filtered(lambda r: r.state in ("pending", "blocked")).write(
            {"state": "cancel", "last_error": _("Closed by hand.")}
        )

    # === BUSINESS METHODS === #

    def _mirakl_lines(self):
        return json.loads(self.payload or "[]")

    def _mirakl_issue(self, message, category="data", error=None):
        Issue = self.env["mirakl.sync.issue"]
        # The failed call's own code (OR23 before OR24, ST11 before ST01...).
        operation = (error is not None and error.operation) or OPERATION[self.kind]
        if error is not None:
            issue = Issue._mirakl_record_error(
                self.backend_id,
                operation,
                error,
                record=self,
                mirakl_ref=self.mirakl_order_id,
            )
        else:
            issue = Issue._mirakl_record(
                self.backend_id,
                operation,
                message,
                category=category,
                record=self,
                mirakl_ref=self.mirakl_order_id,
            )
        self.last_error = issue.message
        return issue

    def _mirakl_send(self, max_retries=None):
        """Send each pending row; a row another worker is sending is skipped.

        Each row is one unit of work: its own savepoint, committed after it
        in a scheduled run; rows are no longer started once the run's time
        budget is spent (the next run sends them).
        """
        self.flush_model()
        for row in self:
            if row.backend_id._mirakl_out_of_time():
                break
            # Claim the row: a concurrent sender (cron, post-commit, button)
            # skips it instead of sending the same confirmation twice.
            self.env.cr.execute(
                "SELECT id FROM mirakl_shipment WHERE id = %s AND state = 'pending' "
                "FOR UPDATE SKIP LOCKED",
                (row.id,),
            )
            if not self.env.cr.fetchone():
                continue
            row.invalidate_recordset()
            try:
                done, _result = row.backend_id._mirakl_unit(
                    lambda row=row: row._mirakl_send_one(max_retries),
                    "confirmation %s" % row.id,
                )
            except Exception as error:  # keep the outbox going; the row says why
                _logger.exception("Mirakl shipment %s crashed", row.id)
                row._mirakl_unclear()
                row._mirakl_failed(
                    row._mirakl_issue(
                        _("Could not send: %(error)s", error=error), "other"
                    ).message
                )
                done = False
            if not done:
                # Rolled back after the call to Mirakl, maybe: look before
                # sending a shipment or a cancellation again.
                row._mirakl_unclear()
            row.backend_id._mirakl_commit()

    def _mirakl_send_one(self, max_retries):
        backend = self.backend_id
        sale = self.sale_order_id
        if self.kind in ("order", "shipment") and self._mirakl_blockers():
            return
        if self.kind == "order" and self._mirakl_waits_for_cancellations():
            return
        handler = getattr(self, "_mirakl_send_%s" % self.kind)
        try:
            with backend._mirakl_get_client(max_retries=max_retries) as client:
                handler(client)
        except MiraklError as error:
            if self._mirakl_already_done(error):
                return
            unclear = error.category in ("connection", "timeout", "server", "budget")
            if error.operation in ("ST01", "OR30") and unclear:
                self.uncertain = True
            if error.category == "budget":
                return  # the run's time is up: the next run sends it
            issue = self._mirakl_issue(None, error=error)
            self._mirakl_failed(issue.message)
            if self.attempts == 1 and self.picking_id:
                self.picking_id.message_post(
                    body=_(
                        "Mirakl has not accepted this delivery's confirmation yet; "
                        "it is retried automatically. %(reason)s",
                        reason=issue.message,
                    )
                )
            return
        self._mirakl_confirmed()
        sale.message_post(
            body=_("Mirakl: %(what)s accepted.", what=dict(KINDS)[self.kind])
        )

    def _mirakl_unclear(self):
        """Whether Mirakl has this row's shipment or cancellation is unknown:
        the next attempt looks for it before creating it again."""
        if self.kind in ("shipment", "cancel_lines") and not self.uncertain:
            self.uncertain = True

    def _mirakl_failed(self, message):
        attempts = self.attempts + 1
        delay = min(timedelta(minutes=2**attempts), MAX_BACKOFF)
        self.write(
            {
                "attempts": attempts,
                "last_error": message,
                "next_attempt_date": fields.Datetime.now() + delay,
            }
        )

    def _mirakl_confirmed(self, note=None):
        now = fields.Datetime.now()
        vals = {
            "state": "done",
            "confirmed_date": now,
            "uncertain": False,
            "last_error": note or False,
            "next_attempt_date": False,
        }
        if self.event_date:
            vals["latency_seconds"] = (now - self.event_date).total_seconds()
        self.write(vals)
        Issue = self.env["mirakl.sync.issue"]
        issues = Issue.search(
            [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("state", "=", "open"),
            ]
        )
        if issues:
            issues._mirakl_close(_("Accepted by Mirakl"))

    def _mirakl_blockers(self):
        """What keeps a shipment from being sent, filed as an issue."""
        backend = self.backend_id
        sale = self.sale_order_id
        problems = []
        shipping_type = sale._mirakl_shipping_type()
        if shipping_type.mandatory_tracking and not self.tracking_number:
            problems.append(
                _(
                    "shipping type %(type)s requires a tracking number: enter it on "
                    "the delivery (Tracking Reference)",
                    type=shipping_type.display_name,
                )
            )
        if (
            self.carrier_name
            and not self.carrier_code
            and backend.platform_alternative_carrier_disabled
        ):
            problems.append(
                _(
                    "unmapped carrier %(carrier)s: the marketplace only takes its "
                    "own carriers; map it (Mirakl shop > Carriers)",
                    carrier=self.carrier_name,
                )
            )
        if problems:
            self.write({"state": "blocked", "last_error": "; ".join(problems)})
            issue = self._mirakl_issue(
                _(
                    "Mirakl order %(order)s is not confirmed as shipped: %(problems)s.",
                    order=self.mirakl_order_id,
                    problems="; ".join(problems),
                ),
                category="mapping",
            )
            if self.picking_id:
                self.picking_id.message_post(body=issue.message)
            return True
        return False

    def _mirakl_waits_for_cancellations(self):
        """Ship the whole order only once its undelivered lines are cancelled."""
        earlier = self.search_count(
            [
                ("sale_order_id", "=", self.sale_order_id.id),
                ("kind", "=", "cancel_lines"),
                ("state", "in", ("pending", "blocked")),
                ("id", "!=", self.id),
            ]
        )
        if earlier:
            self.last_error = _("Waiting for the cancellation of undelivered lines.")
        return bool(earlier)

    def _mirakl_tracking(self):
        """Carrier and number; nothing without a tracking number (Mirakl wants
        one with a registered carrier whose URL needs it, and a carrier alone
        tells the customer nothing)."""
        tracking = {}
        if not self.tracking_number:
            return tracking
        if self.carrier_code:
            tracking["carrier_code"] = self.carrier_code
        elif self.carrier_name:
            tracking["carrier_name"] = self.carrier_name
            if self.carrier_url:
                tracking["carrier_url"] = self.carrier_url
        if self.tracking_number and tracking:
            tracking["tracking_number"] = self.tracking_number
        return tracking

    def _mirakl_send_order(self, client):
        tracking = self._mirakl_tracking()
        if tracking and not self.tracking_sent:
            client.update_tracking(self.mirakl_order_id, **tracking)
            self.tracking_sent = True
        client.ship_order(self.mirakl_order_id)

    def _mirakl_send_shipment(self, client):
        if self.uncertain and self._mirakl_find_existing_shipment(client):
            return
        shipment = {
            "order_id": self.mirakl_order_id,
            "shipment_lines": [
                {"order_line_id": line["order_line_id"], "quantity": line["quantity"]}
                for line in self._mirakl_lines()
            ],
            "shipped": True,
        }
        tracking = self._mirakl_tracking()
        if tracking:
            if "carrier_url" in tracking:
                tracking["tracking_url"] = tracking.pop("carrier_url")
            shipment["tracking"] = tracking
        result = client.create_shipments([shipment])
        errors = result.get("errors") or []
        if errors:
            raise MiraklValidationError(
                "; ".join(str(e.get("message") or e) for e in errors),
                operation="ST01",
                status=201,
                response_excerpt=json.dumps(errors),
            )
        success = result.get("success") or []
        if success:
            ref = success[0].get("id") or success[0].get("shipment_id")
            self.mirakl_shipment_ref = ref and str(ref)

    def _mirakl_find_existing_shipment(self, client):
        """After an unclear ST01: is this shipment already on Mirakl?"""
        wanted = sorted(
            (line["order_line_id"], int(line["quantity"]))
            for line in self._mirakl_lines()
        )
        for shipment in client.iter_shipments(order_ids=[self.mirakl_order_id]):
            lines = sorted(
                (line.get("order_line_id"), int(line.get("quantity") or 0))
                for line in shipment.get("shipment_lines") or ()
            )
            number = (shipment.get("tracking") or {}).get("tracking_number")
            if lines == wanted and (number or None) == (self.tracking_number or None):
                self.mirakl_shipment_ref = str(shipment.get("id") or "")
                return True
        return False

    def _mirakl_send_cancel(self, client):
        client.cancel_order(self.mirakl_order_id)

    def _mirakl_send_cancel_lines(self, client):
        lines = self._mirakl_lines()
        if self.uncertain:
            (order,) = client.get_orders([self.mirakl_order_id]) or [None]
            if order and self._mirakl_cancellations_present(order, lines):
                return
        client.cancel_lines(
            [
                {k: v for k, v in line.items() if k != "known_cancelations"}
                for line in lines
            ],
            order_tax_mode=self.sale_order_id.mirakl_tax_mode or None,
        )

    @staticmethod
    def _mirakl_cancellations_present(order, lines):
        by_line = {
            line.get("order_line_id"): {
                c.get("id") for c in line.get("cancelations") or ()
            }
            for line in order.get("order_lines") or ()
        }
        return all(
            by_line.get(line["order_line_id"], set())
            - set(line.get("known_cancelations") or ())
            for line in lines
        )

    def _mirakl_already_done(self, error):
        """Mirakl refused because it already knows: re-read the order to be sure."""
        if self.kind not in ("order", "cancel") or error.category not in (
            "validation",
            "not_found",
        ):
            return False
        backend = self.backend_id
        ok, orders = backend._mirakl_call(
            "OR11", lambda client: client.get_orders([self.mirakl_order_id])
        )
        if not ok or not orders:
            return False
        state = orders[0].get("order_state")
        done = (self.kind == "order" and state in const.SHIPPED_STATES) or (
            self.kind == "cancel" and state == "CANCELED"
        )
        if done:
            self._mirakl_confirmed(
                _("Mirakl already had it (order %(state)s).", state=state)
            )
            backend.with_context(mirakl_no_outbox=True)._mirakl_import_order_ids(
                [self.mirakl_order_id], force=True
            )
        return done

    def _mirakl_retry_issue(self, issue):
        """Retry from a sync issue: send now."""
        self.ensure_one()
        if self.state in ("done", "cancel"):
            return True
        self.write({"state": "pending", "next_attempt_date": False})
        self._mirakl_send(max_retries=const.BUTTON_MAX_RETRIES)
        return self.state == "done"

    # === post-commit sending === #

    @api.model
    def _mirakl_send_after_commit(self, ids):
        """Register sending ``ids`` right after the current transaction commits."""
        dbname, uid = self.env.cr.dbname, self.env.uid
        registry = self.env.registry

        def send():
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {"mirakl_uid": uid})
                    rows = env["mirakl.shipment"].browse(ids).exists()
                    # Within the request's own time: the cron sends the rest.
                    deadline = rows.backend_id._mirakl_run_deadline()
                    rows.with_context(mirakl_deadline=deadline)._mirakl_send()
            except Exception:  # the cron sends it later: never lose the row
                _logger.exception(
                    "Mirakl: sending shipments %s of %s after commit failed",
                    ids,
                    dbname,
                )

        self.env.cr.postcommit.add(send)

    @api.model
    def _mirakl_prepare_cancel_line(self, sale, mline, quantity, reason_code):
        """One OR30 element cancelling ``quantity`` units of a Mirakl line.

        Amounts in the order's tax mode: the unit price share of what is left;
        all that is left (shipping and taxes included) when the line goes.
        """
        left = mline.live_quantity
        quantity = min(quantity, left)
        whole = quantity == left
        share = mappers.Decimal(quantity) / mappers.Decimal(left) if left else 0

        def part(amount):
            return amount if whole else (amount * share).quantize(mappers.CENT)

        element = {
            "order_line_id": mline.line_id,
            "quantity": quantity,
            "amount": float(part(mline.live_price)),
            "shipping_amount": float(mline.live_shipping if whole else mappers.ZERO),
            "reason_code": reason_code,
            "currency_iso_code": sale.currency_id.name,
            "known_cancelations": [],
        }
        taxes = [
            {"code": t.code, "amount": float(part(t.amount))}
            for t in mline.live_taxes
            if t.code
        ]
        if taxes:
            element["taxes"] = taxes
        shipping_taxes = [
            {"code": t.code, "amount": float(t.amount if whole else mappers.ZERO)}
            for t in mline.live_shipping_taxes
            if t.code
        ]
        if shipping_taxes and whole:
            element["shipping_taxes"] = shipping_taxes
        raw_lines = sale._mirakl_raw_data().get("order_lines") or ()
        for raw in raw_lines:
            if raw.get("order_line_id") == mline.line_id:
                element["known_cancelations"] = [
                    c.get("id") for c in raw.get("cancelations") or ()
                ]
        return element
