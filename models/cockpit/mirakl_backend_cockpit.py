"""The cockpit: one card per shop, the landing page of Sales > Mirakl.

Same model as ``mirakl_backend.py`` (``mirakl.backend``).

Every figure of the card is computed for all the cards at once, with one
grouped query per figure (orders to accept, to ship, past their shipping
deadline, open issues, API calls, unsettled invoices, payouts in transit),
whatever the number of orders. The figures are shop-level facts: they are
counted as the superuser, for the shops the user may read. Each figure's
``action_cockpit_*`` opens the matching list, filtered with a named filter
of that list's search view. What makes a card red is listed in
``cockpit_alerts``.
"""

from datetime import timedelta

from odoo import _, api, fields, models

from ... import const
from ...lib import mappers

# The cockpit's order figures: the domains of the Mirakl orders' named
# filters "Mirakl: to accept" and "Mirakl: paid, to ship".
TO_ACCEPT_DOMAIN = [
    ("mirakl_status", "=", mappers.WAITING_ACCEPTANCE),
    ("mirakl_acceptance", "in", [False, "pending", "to_send"]),
    ("state", "in", ["draft", "sent"]),
]
TO_SHIP_DOMAIN = [("mirakl_status", "=", "SHIPPING")]
UNSETTLED_DOMAIN = [
    ("state", "=", "posted"),
    ("move_type", "in", ["out_invoice", "out_refund"]),
    ("amount_residual", "!=", 0),
]


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    cockpit_to_accept = fields.Integer(
        string="Orders to accept", compute="_compute_cockpit"
    )
    cockpit_accept_deadline = fields.Datetime(
        string="First acceptance deadline", compute="_compute_cockpit"
    )
    cockpit_accept_deadline_text = fields.Char(compute="_compute_cockpit")
    cockpit_accept_urgent = fields.Boolean(compute="_compute_cockpit")
    cockpit_to_ship = fields.Integer(string="Paid, to ship", compute="_compute_cockpit")
    cockpit_ship_late = fields.Integer(
        string="Past the shipping deadline", compute="_compute_cockpit"
    )
    cockpit_issues_person = fields.Integer(
        string="Issues needing a person", compute="_compute_cockpit"
    )
    cockpit_issues_transient = fields.Integer(
        string="Issues that may pass by themselves", compute="_compute_cockpit"
    )
    cockpit_check_issues = fields.Integer(
        string="Order check differences", compute="_compute_cockpit"
    )
    cockpit_api_calls = fields.Integer(
        string="API calls (24 h)", compute="_compute_cockpit"
    )
    cockpit_api_rate_limited = fields.Integer(compute="_compute_cockpit")
    cockpit_api_server_errors = fields.Integer(compute="_compute_cockpit")
    cockpit_api_timeouts = fields.Integer(compute="_compute_cockpit")
    cockpit_api_failures = fields.Integer(compute="_compute_cockpit")
    cockpit_api_latency = fields.Integer(
        string="Average answer time (ms)", compute="_compute_cockpit"
    )
    cockpit_api_alert = fields.Boolean(compute="_compute_cockpit")
    cockpit_currency_id = fields.Many2one("res.currency", compute="_compute_cockpit")
    cockpit_unsettled = fields.Monetary(
        string="Invoiced, not settled",
        currency_field="cockpit_currency_id",
        compute="_compute_cockpit",
    )
    cockpit_in_transit = fields.Monetary(
        string="Paid out, not on the bank yet",
        currency_field="cockpit_currency_id",
        compute="_compute_cockpit",
    )
    cockpit_import_age = fields.Char(compute="_compute_cockpit")
    cockpit_import_late = fields.Boolean(compute="_compute_cockpit")
    cockpit_stock_age = fields.Char(compute="_compute_cockpit")
    cockpit_stock_late = fields.Boolean(compute="_compute_cockpit")
    cockpit_offer_age = fields.Char(compute="_compute_cockpit")
    cockpit_offer_late = fields.Boolean(compute="_compute_cockpit")
    cockpit_payout_age = fields.Char(compute="_compute_cockpit")
    cockpit_payout_late = fields.Boolean(compute="_compute_cockpit")
    cockpit_check_age = fields.Char(compute="_compute_cockpit")
    cockpit_check_late = fields.Boolean(compute="_compute_cockpit")
    cockpit_alerts = fields.Text(
        string="Problems",
        compute="_compute_cockpit",
        help="What needs attention on this shop, one problem a line.",
    )
    cockpit_color = fields.Integer(compute="_compute_cockpit")

    # === COMPUTE METHODS === #

    @api.depends_context("uid")
    def _compute_cockpit(self):
        now = fields.Datetime.now()
        shops = self.filtered("id")
        figures = {shop.id: {} for shop in shops}
        if shops:
            self._mirakl_cockpit_orders(shops, figures, now)
            self._mirakl_cockpit_issues(shops, figures)
            self._mirakl_cockpit_api(shops, figures)
            self._mirakl_cockpit_money(shops, figures)
        for shop in self:
            values = figures.get(shop.id, {})
            shop.update(shop._mirakl_cockpit_values(values, now))

    @api.model
    def _mirakl_cockpit_orders(self, shops, figures, now):
        SaleOrder = self.env["sale.order"].sudo()
        shop_domain = [("mirakl_backend_id", "in", shops.ids)]
        for shop, count, deadline in SaleOrder._read_group(
            shop_domain + TO_ACCEPT_DOMAIN,
            ["mirakl_backend_id"],
            ["__count", "mirakl_acceptance_deadline:min"],
        ):
            figures[shop.id].update(to_accept=count, accept_deadline=deadline)
        for shop, count in SaleOrder._read_group(
            shop_domain + TO_SHIP_DOMAIN, ["mirakl_backend_id"], ["__count"]
        ):
            figures[shop.id]["to_ship"] = count
        for shop, count in SaleOrder._read_group(
            shop_domain + [("mirakl_shipping_late", "=", True)],
            ["mirakl_backend_id"],
            ["__count"],
        ):
            figures[shop.id]["ship_late"] = count

    @api.model
    def _mirakl_cockpit_issues(self, shops, figures):
        for shop, kind, operation, count in (
            self.env["mirakl.sync.issue"]
            .sudo()
            ._read_group(
                [("backend_id", "in", shops.ids), ("state", "=", "open")],
                ["backend_id", "kind", "operation"],
                ["__count"],
            )
        ):
            values = figures[shop.id]
            key = "issues_transient" if kind == "transient" else "issues_person"
            values[key] = values.get(key, 0) + count
            if operation == "DELTA":
                values["check_issues"] = values.get("check_issues", 0) + count

    @api.model
    def _mirakl_cockpit_api(self, shops, figures):
        Stat = self.env["mirakl.call.stat"].sudo()
        for shop, *sums in Stat._read_group(
            [("backend_id", "in", shops.ids), ("recent", "=", True)],
            ["backend_id"],
            [
                "calls:sum",
                "rate_limited:sum",
                "server_errors:sum",
                "timeouts:sum",
                "failures:sum",
                "duration_ms:sum",
            ],
        ):
            calls, rate_limited, server_errors, timeouts, failures, duration = sums
            figures[shop.id].update(
                api_calls=calls,
                api_rate_limited=rate_limited,
                api_server_errors=server_errors,
                api_timeouts=timeouts,
                api_failures=failures,
                api_latency=round(duration / calls) if calls else 0,
            )

    @api.model
    def _mirakl_cockpit_money(self, shops, figures):
        for shop, residual in (
            self.env["account.move"]
            .sudo()
            ._read_group(
                [("mirakl_backend_id", "in", shops.ids), *UNSETTLED_DOMAIN],
                ["mirakl_backend_id"],
                ["amount_residual_signed:sum"],
            )
        ):
            figures[shop.id]["unsettled"] = residual
        for line in shops.sudo()._mirakl_transit_lines():
            values = figures[line.move_id.mirakl_cycle_id.backend_id.id]
            values["in_transit"] = values.get("in_transit", 0.0) + line.balance

    def _mirakl_cockpit_values(self, values, now):
        """The card's fields of this shop from its ``values``, and its alerts.

        Longer than 80 lines: one flat pass over the card's figures, each
        with the alert it may raise, in the order the card shows them.
        """
        self.ensure_one()
        alerts = []
        deadline = values.get("accept_deadline")
        to_accept = values.get("to_accept", 0)
        urgent = bool(
            to_accept
            and deadline
            and deadline <= now + timedelta(hours=self.acceptance_escalation_hours)
        )
        if self.connection_state == "failed":
            alerts.append(_("The connection to Mirakl failed."))
        if urgent:
            alerts.append(
                _(
                    "Orders to accept: %(count)s, the first due %(when)s.",
                    count=to_accept,
                    when=self._mirakl_relative(deadline, now),
                )
                if deadline > now
                else _(
                    "Orders to accept: %(count)s, the first was due %(when)s.",
                    count=to_accept,
                    when=self._mirakl_relative(deadline, now),
                )
            )
        if values.get("ship_late"):
            alerts.append(
                _(
                    "Paid orders past Mirakl's shipping deadline: %(count)s.",
                    count=values["ship_late"],
                )
            )
        if values.get("issues_person"):
            alerts.append(
                _(
                    "Sync issues needing a person: %(count)s.",
                    count=values["issues_person"],
                )
            )
        result = {
            "cockpit_to_accept": to_accept,
            "cockpit_accept_deadline": deadline or False,
            "cockpit_accept_deadline_text": self._mirakl_relative(deadline, now)
            if deadline
            else False,
            "cockpit_accept_urgent": urgent,
            "cockpit_to_ship": values.get("to_ship", 0),
            "cockpit_ship_late": values.get("ship_late", 0),
            "cockpit_issues_person": values.get("issues_person", 0),
            "cockpit_issues_transient": values.get("issues_transient", 0),
            "cockpit_check_issues": values.get("check_issues", 0),
            "cockpit_currency_id": self.company_id.currency_id.id,
            "cockpit_unsettled": values.get("unsettled", 0.0),
            "cockpit_in_transit": values.get("in_transit", 0.0),
        }
        for job, label, last, enabled, late_after in self._mirakl_cockpit_jobs():
            late = bool(
                enabled
                and now - (last or self.create_date or now) > late_after
                and self.active
            )
            result["cockpit_%s_age" % job] = (
                self._mirakl_relative(last, now)
                if last
                else _("never")
                if enabled
                else _("off")
            )
            result["cockpit_%s_late" % job] = late
            if late:
                alerts.append(
                    _(
                        "%(job)s: no success for %(age)s.",
                        job=label,
                        age=self._mirakl_duration(now - last),
                    )
                    if last
                    else _("%(job)s: never succeeded.", job=label)
                )
        calls = values.get("api_calls", 0)
        failed = sum(
            values.get(key, 0)
            for key in (
                "api_rate_limited",
                "api_server_errors",
                "api_timeouts",
                "api_failures",
            )
        )
        api_alert = bool(
            failed >= const.COCKPIT_API_ERRORS_MIN
            and failed >= const.COCKPIT_API_ERROR_RATE * calls
        )
        if api_alert:
            alerts.append(
                _(
                    "Calls to Mirakl failing: %(failed)s of %(calls)s in the last "
                    "24 hours.",
                    failed=failed,
                    calls=calls,
                )
            )
        result.update(
            cockpit_api_calls=calls,
            cockpit_api_rate_limited=values.get("api_rate_limited", 0),
            cockpit_api_server_errors=values.get("api_server_errors", 0),
            cockpit_api_timeouts=values.get("api_timeouts", 0),
            cockpit_api_failures=values.get("api_failures", 0),
            cockpit_api_latency=values.get("api_latency", 0),
            cockpit_api_alert=api_alert,
            cockpit_alerts="\n".join(alerts) or False,
            cockpit_color=1 if alerts else 10,
        )
        return result

    def _mirakl_cockpit_jobs(self):
        """``(key, label, last success, enabled, late after)`` of each job."""
        self.ensure_one()

        def every(minutes):
            return timedelta(
                minutes=max(
                    const.COCKPIT_LATE_RUNS * (minutes or 0),
                    const.COCKPIT_LATE_MIN_MINUTES,
                )
            )

        daily = timedelta(hours=const.COCKPIT_DAILY_LATE_HOURS)
        return [
            (
                "import",
                _("Order import"),
                self.order_watermark,
                self.order_import_enabled,
                every(self.order_import_interval),
            ),
            (
                "stock",
                _("Stock push"),
                self.stock_last_success_date,
                self.stock_push_enabled,
                every(self.stock_push_interval),
            ),
            (
                "offer",
                _("Offer send"),
                self.offer_last_success_date,
                self.offer_export_enabled,
                timedelta(hours=const.COCKPIT_OFFERS_LATE_HOURS),
            ),
            (
                "payout",
                _("Payout import"),
                self.payout_watermark,
                self.payout_import_enabled,
                daily,
            ),
            (
                "check",
                _("Order check"),
                self.order_check_date,
                self.order_import_enabled and self.order_check_days > 0,
                daily,
            ),
        ]

    @api.model
    def _mirakl_duration(self, delta):
        """A duration in words: 45 min, 5 h, 3 days."""
        minutes = int(abs(delta.total_seconds()) // 60)
        if minutes < 1:
            return _("less than a minute")
        if minutes < 60:
            return _("%(count)s min", count=minutes)
        if minutes < 48 * 60:
            return _("%(count)s h", count=minutes // 60)
        return _("%(count)s days", count=minutes // (24 * 60))

    @api.model
    def _mirakl_relative(self, moment, now):
        """``moment`` seen from ``now``: "in 5 h" or "3 days ago"."""
        duration = self._mirakl_duration(moment - now)
        if moment > now:
            return _("in %(duration)s", duration=duration)
        return _("%(duration)s ago", duration=duration)

    # === ACTION METHODS === #

    def _mirakl_cockpit_action(self, xmlid, filters, domain=None, name=None):
        """The list of ``xmlid`` for this shop, with the named ``filters`` of
        its search view on."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = domain or [("backend_id", "=", self.id)]
        context = {"create": False}
        context.update({"search_default_%s" % name: 1 for name in filters})
        action["context"] = context
        action["name"] = action["display_name"] = "%s: %s" % (
            self.name,
            name or action["name"],
        )
        return action

    def _mirakl_cockpit_orders_action(self, name, filters):
        return self._mirakl_cockpit_action(
            "mirakl_connector.sale_order_mirakl_action",
            filters,
            domain=[("mirakl_backend_id", "=", self.id)],
            name=name,
        )

    def action_cockpit_to_accept(self):
        return self._mirakl_cockpit_orders_action(
            _("Orders to accept"), ["mirakl_waiting_acceptance"]
        )

    def action_cockpit_to_ship(self):
        return self._mirakl_cockpit_orders_action(
            _("Paid, to ship"), ["mirakl_to_ship"]
        )

    def action_cockpit_ship_late(self):
        return self._mirakl_cockpit_orders_action(
            _("Past Mirakl's shipping deadline"), ["mirakl_shipping_late"]
        )

    def _mirakl_cockpit_issues_action(self, name, filters):
        return self._mirakl_cockpit_action(
            "mirakl_connector.mirakl_sync_issue_action", ["open", *filters], name=name
        )

    def action_cockpit_issues_person(self):
        return self._mirakl_cockpit_issues_action(
            _("Issues needing a person"), ["permanent"]
        )

    def action_cockpit_issues_transient(self):
        return self._mirakl_cockpit_issues_action(
            _("Issues that may pass by themselves"), ["transient"]
        )

    def action_cockpit_check_issues(self):
        return self._mirakl_cockpit_issues_action(
            _("Order check differences"), ["order_check"]
        )

    def action_cockpit_api(self):
        return self._mirakl_cockpit_action(
            "mirakl_connector.mirakl_call_stat_action",
            ["recent", "group_operation"],
            name=_("API calls, last 24 hours"),
        )

    def action_cockpit_unsettled(self):
        return self._mirakl_cockpit_action(
            "account.action_move_out_invoice_type",
            ["mirakl_unsettled"],
            domain=[("mirakl_backend_id", "=", self.id)],
            name=_("Invoiced, not settled"),
        )

    def action_cockpit_in_transit(self):
        return self._mirakl_cockpit_action(
            "mirakl_connector.mirakl_billing_cycle_action",
            ["in_transit"],
            name=_("Payouts in transit"),
        )

    def action_cockpit_imports(self):
        return self._mirakl_cockpit_orders_action(_("Mirakl orders"), [])

    def action_cockpit_stock(self):
        return self._mirakl_cockpit_action(
            "mirakl_connector.mirakl_offer_import_action",
            ["kind_stock"],
            name=_("Stock files"),
        )

    def action_cockpit_offers(self):
        return self._mirakl_cockpit_action(
            "mirakl_connector.mirakl_offer_import_action",
            ["kind_offer"],
            name=_("Offer sends"),
        )

    def action_cockpit_payouts(self):
        return self._mirakl_cockpit_action(
            "mirakl_connector.mirakl_billing_cycle_action",
            [],
            name=_("Billing cycles"),
        )
