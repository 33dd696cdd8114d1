"""Shipments out: carriers (SH21), reasons (RE01), the outbox and its latency.

Same model as ``mirakl_backend.py`` (``mirakl.backend``).
"""

import json
import logging
import statistics
from datetime import timedelta

from odoo import _, api, fields, models

from ... import const
from ..core.mirakl_backend import find_feature

_logger = logging.getLogger(__name__)


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    carrier_ids = fields.One2many("mirakl.carrier", "backend_id")
    reason_ids = fields.One2many("mirakl.reason", "backend_id")
    cancel_reason_id = fields.Many2one(
        "mirakl.reason",
        string="Cancellation reason",
        domain="[('backend_id', '=', id), ('reason_type', '=', 'CANCELATION'), "
        "('is_shop_right', '=', True)]",
        help="Reason sent with cancellations from Odoo (RE01 code): undelivered "
        "units of a delivery validated without backorder, cancelled orders.",
    )
    multi_shipment = fields.Selection(
        [
            ("platform", "As the platform reports (PC01)"),
            ("enabled", "One shipment per delivery (ST01)"),
            ("disabled", "The whole order at its last delivery (OR23 + OR24)"),
        ],
        string="Shipments",
        default="platform",
        required=True,
    )
    platform_alternative_carrier_disabled = fields.Boolean(
        string="Only the marketplace's carriers",
        readonly=True,
        copy=False,
        help="PC01 disable_seller_alternative_carrier: carriers Mirakl does not "
        "list cannot be sent by name.",
    )
    shipment_ids = fields.One2many("mirakl.shipment", "backend_id")
    shipment_pending_count = fields.Integer(
        string="Confirmations to send", compute="_compute_shipment_stats"
    )
    shipment_todo_count = fields.Integer(
        string="To confirm on Mirakl",
        compute="_compute_shipment_stats",
        help="Confirmations not yet accepted by Mirakl: to send, or waiting for "
        "a person.",
    )
    shipment_blocked_count = fields.Integer(
        string="Confirmations waiting for a person", compute="_compute_shipment_stats"
    )
    latency_median = fields.Float(
        string="Dispatch latency, median (s)",
        compute="_compute_shipment_stats",
        help="Delivery validated in Odoo to confirmation accepted by Mirakl, over "
        "the last 7 days.",
    )
    latency_max = fields.Float(
        string="Dispatch latency, worst (s)", compute="_compute_shipment_stats"
    )
    latency_count = fields.Integer(
        string="Confirmations (7 days)", compute="_compute_shipment_stats"
    )

    # === COMPUTE METHODS === #

    def _compute_shipment_stats(self):
        Shipment = self.env["mirakl.shipment"]
        since = fields.Datetime.now() - timedelta(days=7)
        for backend in self:
            states = dict(
                Shipment._read_group(
                    [
                        ("backend_id", "=", backend.id),
                        ("state", "in", ("pending", "blocked")),
                    ],
                    ["state"],
                    ["__count"],
                )
            )
            backend.shipment_pending_count = states.get("pending", 0)
            backend.shipment_blocked_count = states.get("blocked", 0)
            backend.shipment_todo_count = sum(states.values())
            latencies = Shipment.search(
                [
                    ("backend_id", "=", backend.id),
                    ("state", "=", "done"),
                    ("kind", "in", ("order", "shipment")),
                    ("confirmed_date", ">=", since),
                    ("event_date", "!=", False),
                ]
            ).mapped("latency_seconds")
            backend.latency_count = len(latencies)
            backend.latency_median = statistics.median(latencies) if latencies else 0.0
            backend.latency_max = max(latencies) if latencies else 0.0

    # === ACTION METHODS === #

    def action_sync_shipments(self):
        """Send every pending confirmation of these shops now, those waiting
        for their next retry included (the cron sends the due ones)."""
        results = []
        for backend in self._mirakl_as_operator():
            results.append(backend._mirakl_sync_shipments(due_only=False))
        if len(self) == 1:
            sent, failed = results[0]
            kind = "success" if not failed else "warning"
            return self._mirakl_notification(
                _("Mirakl shipments"),
                _(
                    "%(sent)s accepted by Mirakl, %(failed)s still to send.",
                    sent=sent,
                    failed=failed,
                ),
                kind,
            )
        return True

    def action_mirakl_refresh_carriers(self):
        self.ensure_one()
        backend = self._mirakl_as_operator()
        ok = backend._mirakl_refresh_carriers(max_retries=const.BUTTON_MAX_RETRIES)
        ok = (
            backend._mirakl_refresh_reasons(max_retries=const.BUTTON_MAX_RETRIES) and ok
        )
        return self._mirakl_notification(
            _("Mirakl"),
            _(
                "%(carriers)s carriers and %(reasons)s reasons read from Mirakl.",
                carriers=len(self.carrier_ids),
                reasons=len(self.reason_ids),
            )
            if ok
            else _("Carriers or reasons could not be read; see the sync issues."),
            "success" if ok else "danger",
        )

    def action_mirakl_open_shipments(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "mirakl.shipment",
            "view_mode": "list,form",
            "domain": [("backend_id", "=", self.id)],
            "context": {"search_default_todo": 1},
            "name": _("Mirakl confirmations"),
        }

    # === CRON METHODS === #

    @api.model
    def _cron_mirakl_sync_shipments(self):
        """Every few minutes: send what the post-commit sender could not."""
        self.search([])._mirakl_cron_each(
            "OR24", lambda backend: backend._mirakl_sync_shipments()
        )

    # === BUSINESS METHODS === #

    def _mirakl_multi_shipment(self):
        self.ensure_one()
        return self._mirakl_switch(self.multi_shipment, self.platform_multi_shipment)

    def _mirakl_sync_shipments(self, due_only=True):
        """Send the pending rows (only those due for their next attempt with
        ``due_only``, as the cron does); returns (accepted, still pending)."""
        self.ensure_one()
        domain = [("backend_id", "=", self.id), ("state", "=", "pending")]
        if due_only:
            domain += [
                "|",
                ("next_attempt_date", "=", False),
                ("next_attempt_date", "<=", fields.Datetime.now()),
            ]
        rows = self.env["mirakl.shipment"].search(domain, order="id")
        with self.env["mirakl.call.stat"]._mirakl_batch():
            rows._mirakl_send()
        sent = len(rows.filtered(lambda r: r.state == "done"))
        return sent, len(rows) - sent

    def _mirakl_refresh_carriers(self, max_retries=None):
        """SH21: the marketplace's carriers (the Odoo mapping is kept)."""
        self.ensure_one()
        ok, result = self._mirakl_call(
            "SH21", lambda client: client.list_carriers(), max_retries=max_retries
        )
        if not ok:
            return False
        self._mirakl_sync_reference(
            "mirakl.carrier",
            result,
            ("code",),
            lambda raw: (
                raw.get("code")
                and {
                    "code": raw["code"],
                    "label": raw.get("label") or raw["code"],
                    "standard_code": raw.get("standard_code") or False,
                    "tracking_url": raw.get("tracking_url") or False,
                }
            ),
        )
        return True

    def _mirakl_refresh_reasons(self, max_retries=None):
        """RE01: reason codes (the default cancellation reason is kept)."""
        self.ensure_one()
        ok, result = self._mirakl_call(
            "RE01", lambda client: client.list_reasons(), max_retries=max_retries
        )
        if not ok:
            return False
        self._mirakl_sync_reference(
            "mirakl.reason",
            result,
            ("reason_type", "code"),
            lambda raw: (
                raw.get("code")
                and {
                    "code": raw["code"],
                    "reason_type": raw.get("type") or False,
                    "label": raw.get("label") or raw["code"],
                    "is_shop_right": bool(raw.get("is_shop_right")),
                }
            ),
        )
        if not self.cancel_reason_id:
            default = self.reason_ids.filtered(
                lambda r: r.reason_type == "CANCELATION" and r.is_shop_right
            )[:1]
            if default:
                self._mirakl_write_shop({"cancel_reason_id": default.id})
        return True

    def _mirakl_refresh_platform_config(self, max_retries=None):
        """Override: also keep whether sellers may name their own carriers."""
        ok = super()._mirakl_refresh_platform_config(max_retries=max_retries)
        if ok and self.platform_config:
            config = json.loads(self.platform_config)
            disabled = bool(find_feature(config, "disable_seller_alternative_carrier"))
            if disabled != self.platform_alternative_carrier_disabled:
                self._mirakl_write_shop(
                    {"platform_alternative_carrier_disabled": disabled}
                )
        return ok

    def _mirakl_refresh_reference_data(self):
        """Override: carriers and reasons too."""
        ok = super()._mirakl_refresh_reference_data()
        ok = self._mirakl_refresh_carriers() and ok
        return self._mirakl_refresh_reasons() and ok

    def _mirakl_retry_issue(self, issue):
        if issue.operation == "SH21":
            return self._mirakl_refresh_carriers(max_retries=const.BUTTON_MAX_RETRIES)
        if issue.operation == "RE01":
            return self._mirakl_refresh_reasons(max_retries=const.BUTTON_MAX_RETRIES)
        return super()._mirakl_retry_issue(issue)
