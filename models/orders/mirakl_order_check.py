"""The daily order check: Mirakl's orders of the last days against Odoo's.

Same model as ``mirakl_backend.py`` (``mirakl.backend``).

Once a day (and with **Compare orders** on the shop), the orders created on
Mirakl in the shop's last *Compare orders of the last (days)* are read (OR11
by creation date), with the orders of the check's open issues, and each is
compared with its Sales Order. Four differences are filed, one sync issue
per order (operation ``DELTA``, category drift, the Mirakl order id as
reference), and closed when the difference is gone:

* missing in Odoo: no Sales Order, neither refused nor cancelled on Mirakl,
  and no open import issue already holding it back;
* cancelled on one side only: refused or cancelled on Mirakl, not in Odoo,
  or the other way round;
* delivered in Odoo, not shipped on Mirakl: every outgoing delivery done (or
  cancelled, one at least done) while Mirakl does not report it shipped;
* shipped on Mirakl, not delivered in Odoo: Mirakl reports it shipped while
  an outgoing delivery of the confirmed Sales Order is still open.

Differences still in flight are left for the next check: an order Mirakl
changed after the order import's watermark (the import has not read it yet,
nor an import by id), and one whose confirmation or cancellation waits in
the outbox since less than ``GRACE_HOURS``. Everything is read with a
bounded number of queries, whatever the number of orders.
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models

from ... import const
from ...lib import mappers

_logger = logging.getLogger(__name__)

OPERATION = "DELTA"
# A confirmation or cancellation queued this recently is still in flight.
GRACE_HOURS = 1

MISSING = "missing"
CANCELLED_MIRAKL = "cancelled_mirakl"
CANCELLED_ODOO = "cancelled_odoo"
DELIVERED_NOT_SHIPPED = "delivered"
SHIPPED_NOT_DELIVERED = "shipped"


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    order_check_days = fields.Integer(
        string="Compare orders of the last (days)",
        default=14,
        help="Every day, the orders created on Mirakl in this many days are "
        "compared with their Sales Orders: missing in Odoo, cancelled on one "
        "side only, delivered but not shipped, shipped but not delivered. "
        "0: no daily check.",
    )
    order_check_date = fields.Datetime(
        string="Orders compared on",
        readonly=True,
        copy=False,
        help="The last complete comparison of Mirakl's orders with Odoo's.",
    )
    order_check_summary = fields.Char(
        string="Order comparison", readonly=True, copy=False
    )
    order_check_differences = fields.Integer(
        string="Differences found", readonly=True, copy=False
    )

    _sql_constraints = [
        (
            "order_check_days_positive",
            "CHECK(order_check_days >= 0)",
            "The order check reads a positive number of days (0: no check).",
        ),
    ]

    # === ACTION METHODS === #

    def action_compare_orders(self):
        """Compare Mirakl's recent orders with the Sales Orders now."""
        results = [
            backend._mirakl_compare_orders() for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Order check"), results)

    # === CRON METHODS === #

    @api.model
    def _cron_mirakl_compare_orders(self):
        """Daily: every shop's order check."""
        self.search(
            [("order_import_enabled", "=", True), ("order_check_days", ">", 0)]
        )._mirakl_cron_each(
            OPERATION,
            lambda backend: backend._mirakl_compare_orders(),
            retry_soon=True,
        )

    # === BUSINESS METHODS === #

    def _mirakl_compare_orders(self, order_ids=None):
        """Compare the orders created on Mirakl in the shop's window (and
        those of the open check issues), or only ``order_ids``, with their
        Sales Orders; file and close the check's issues.

        Over 80 lines because it is one read, file, close and report sequence
        whose steps share the orders read and the open issues; the comparison
        itself is ``_mirakl_order_differences``.

        :return: ``{"ok", "message", "checked", "differences", kind: count}``
        """
        self.ensure_one()
        Issue = self.env["mirakl.sync.issue"].sudo()
        now = fields.Datetime.now()
        open_issues = Issue.search(
            [
                ("backend_id", "=", self.id),
                ("operation", "=", OPERATION),
                ("state", "=", "open"),
                ("mirakl_ref", "!=", False),
            ]
        )
        if order_ids is not None:
            open_issues = open_issues.filtered(lambda i: i.mirakl_ref in order_ids)
        since = now - timedelta(days=self.order_check_days or 0)

        def read(client):
            found = {}
            if order_ids is None:
                for raw in client.iter_orders(start_date=since):
                    self._mirakl_compare_keep(found, raw)
            wanted = order_ids if order_ids is not None else []
            extra = [
                ref
                for ref in [*wanted, *open_issues.mapped("mirakl_ref")]
                if ref not in found
            ]
            for raw in client.get_orders(extra) if extra else ():
                self._mirakl_compare_keep(found, raw)
            return found

        with self.env["mirakl.call.stat"]._mirakl_batch():
            ok, orders = self._mirakl_call(OPERATION, read)
        if not ok:
            return {"ok": False, "message": self._mirakl_explain(orders)}
        findings, checked, present = self._mirakl_order_differences(orders, now)
        for order_id, (_kind, sale, message) in findings.items():
            Issue._mirakl_record(
                self,
                OPERATION,
                message,
                category="drift",
                record=sale or None,
                mirakl_ref=order_id,
            )

        def current(issue):
            finding = findings.get(issue.mirakl_ref)
            return finding and (finding[1].id if finding[1] else 0) == (
                issue.res_id or 0
            )

        # A difference is gone once its order was compared again without it;
        # an order without Sales Order is no longer missing once it has one.
        gone = open_issues.filtered(
            lambda i: (
                not current(i)
                and (
                    i.mirakl_ref in checked
                    or (not i.res_id and i.mirakl_ref in present)
                )
            )
        )
        if gone:
            gone._mirakl_close(_("The difference is gone"))
        counts = dict.fromkeys(
            (
                MISSING,
                CANCELLED_MIRAKL,
                CANCELLED_ODOO,
                DELIVERED_NOT_SHIPPED,
                SHIPPED_NOT_DELIVERED,
            ),
            0,
        )
        for kind, _sale, _message in findings.values():
            counts[kind] += 1
        message = _(
            "%(checked)s Mirakl orders compared: %(missing)s missing in Odoo, "
            "%(cancelled)s cancelled on one side only, %(delivered)s delivered "
            "in Odoo but not shipped on Mirakl, %(shipped)s shipped on Mirakl "
            "but not delivered in Odoo.",
            checked=len(checked),
            missing=counts[MISSING],
            cancelled=counts[CANCELLED_MIRAKL] + counts[CANCELLED_ODOO],
            delivered=counts[DELIVERED_NOT_SHIPPED],
            shipped=counts[SHIPPED_NOT_DELIVERED],
        )
        if order_ids is None:
            self._mirakl_write_shop(
                {
                    "order_check_date": now,
                    "order_check_summary": message,
                    "order_check_differences": len(findings),
                }
            )
        _logger.info("Mirakl shop %s: order check: %s", self.id, counts)
        return dict(
            counts,
            ok=not findings,
            message="%s: %s" % (self.name, message),
            checked=len(checked),
            differences=len(findings),
        )

    @api.model
    def _mirakl_compare_keep(self, found, raw):
        """Keep what the check needs of one OR11 order (bad data is skipped:
        an order without id or state cannot be compared)."""
        if not isinstance(raw, dict) or not raw.get("order_id"):
            return
        state = raw.get("order_state")
        if not isinstance(state, str) or not state:
            return
        try:
            updated = mappers.parse_datetime(
                raw.get("last_updated_date")
            ) or mappers.parse_datetime(raw.get("created_date"))
        except (mappers.MiraklPayloadError, TypeError, ValueError):
            updated = None
        found[str(raw["order_id"])] = (state, updated)

    def _mirakl_order_differences(self, orders, now):
        """``({order id: (kind, Sales Order or None, message)}, {order ids
        compared}, {order ids with a Sales Order})`` for ``{order id: (Mirakl
        state, last updated)}``."""
        self.ensure_one()
        SaleOrder = self.env["sale.order"].sudo()
        sales = {
            sale.mirakl_order_id: sale
            for sale in SaleOrder.search(
                [
                    ("mirakl_backend_id", "=", self.id),
                    ("mirakl_order_id", "in", list(orders)),
                ]
            )
        }
        all_sales = SaleOrder.browse([sale.id for sale in sales.values()])
        deliveries = {}
        for sale, state, count in (
            self.env["stock.picking"]
            .sudo()
            ._read_group(
                [
                    ("sale_id", "in", all_sales.ids),
                    ("picking_type_code", "=", "outgoing"),
                ],
                ["sale_id", "state"],
                ["__count"],
            )
        ):
            deliveries.setdefault(sale.id, {})[state] = count
        in_flight = {
            sale.id
            for (sale,) in self.env["mirakl.shipment"]
            .sudo()
            ._read_group(
                [
                    ("sale_order_id", "in", all_sales.ids),
                    ("state", "=", "pending"),
                    ("event_date", ">", now - timedelta(hours=GRACE_HOURS)),
                ],
                ["sale_order_id"],
            )
        }
        missing = [order_id for order_id in orders if order_id not in sales]
        held = set(
            self.env["mirakl.sync.issue"]
            .sudo()
            .search(
                [
                    ("backend_id", "=", self.id),
                    ("operation", "=", "OR11"),
                    ("state", "=", "open"),
                    ("mirakl_ref", "in", missing),
                ]
            )
            .mapped("mirakl_ref")
        )
        watermark = self.order_watermark
        findings, checked = {}, set()
        for order_id, (state, updated) in orders.items():
            sale = sales.get(order_id)
            read = (
                sale
                and sale.mirakl_last_updated
                and updated
                and sale.mirakl_last_updated >= updated
            )
            if not read and (not watermark or (updated and updated > watermark)):
                continue  # the order import has not read this version yet
            if sale and sale.id in in_flight:
                continue  # a confirmation or cancellation is on its way
            checked.add(order_id)
            finding = self._mirakl_order_difference(
                order_id, state, sale, deliveries.get(sale.id, {}) if sale else {}
            )
            if finding and not (finding[0] == MISSING and order_id in held):
                findings[order_id] = finding
        return findings, checked, set(sales)

    def _mirakl_order_difference(self, order_id, state, sale, deliveries):
        """The difference between one Mirakl order and its Sales Order, as
        ``(kind, sale, message)``, or None. ``deliveries``: ``{picking state:
        count}`` of the Sales Order's outgoing deliveries.

        Over 80 lines only because each of the four differences carries its
        own message; the decision is a flat sequence of checks."""
        label = dict(const.ORDER_STATES).get(state)
        label = label[:1].lower() + label[1:] if label else state
        closed = state in mappers.CLOSED_STATES
        shipped = state in const.SHIPPED_STATES
        if not sale:
            if closed:
                return None
            return (
                MISSING,
                None,
                _(
                    "Mirakl order %(order)s (%(state)s on Mirakl) has no Sales "
                    "Order in Odoo. Import it by id from the shop (Import order "
                    "by id), or Retry.",
                    order=order_id,
                    state=label,
                ),
            )
        cancelled = sale.state == "cancel"
        if closed and not cancelled:
            return (
                CANCELLED_MIRAKL,
                sale,
                _(
                    "Mirakl order %(order)s is %(state)s on Mirakl but %(sale)s "
                    "is not cancelled in Odoo. Retry reads the order again.",
                    order=order_id,
                    state=label,
                    sale=sale.name,
                ),
            )
        if cancelled and not closed:
            return (
                CANCELLED_ODOO,
                sale,
                _(
                    "%(sale)s is cancelled in Odoo but Mirakl order %(order)s is "
                    "%(state)s on Mirakl: cancel it on the marketplace, or "
                    "check the Sales Order.",
                    sale=sale.name,
                    order=order_id,
                    state=label,
                ),
            )
        if cancelled:
            return None
        open_count = sum(
            count
            for picking_state, count in deliveries.items()
            if picking_state not in ("done", "cancel")
        )
        if deliveries.get("done") and not open_count and not shipped and not closed:
            return (
                DELIVERED_NOT_SHIPPED,
                sale,
                _(
                    "%(sale)s is delivered in Odoo but Mirakl order %(order)s is "
                    "still %(state)s on Mirakl: see its shipment confirmations.",
                    sale=sale.name,
                    order=order_id,
                    state=label,
                ),
            )
        if shipped and sale.state == "sale" and open_count:
            return (
                SHIPPED_NOT_DELIVERED,
                sale,
                _(
                    "Mirakl order %(order)s is %(state)s on Mirakl but %(count)s "
                    "delivery of %(sale)s is still open in Odoo: validate it (or "
                    "cancel it if the goods left another way).",
                    order=order_id,
                    state=label,
                    count=open_count,
                    sale=sale.name,
                ),
            )
        return None

    def _mirakl_retry_issue(self, issue):
        """Override: an order check issue reads its order again (importing
        it when it is missing) and compares it once more."""
        if issue.operation != OPERATION:
            return super()._mirakl_retry_issue(issue)
        if not issue.mirakl_ref:
            return self._mirakl_compare_orders()["ok"]
        if not issue.res_id:
            self._mirakl_import_order_ids(
                [issue.mirakl_ref], max_retries=const.BUTTON_MAX_RETRIES
            )
        else:
            self._mirakl_import_order_ids(
                [issue.mirakl_ref], max_retries=const.BUTTON_MAX_RETRIES, force=True
            )
        self._mirakl_compare_orders(order_ids=[issue.mirakl_ref])
        return issue.state == "resolved"
