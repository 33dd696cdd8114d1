"""Orders in: the shop's order import cycle (OR11, OR21, OR04).

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``); this file holds
the order settings and the import cycle so the shop's connection code stays
readable. What an order does to its Sales Order is in
``mirakl_backend_order_store.py``, its validation and mapping in
``mirakl_backend_order_mapping.py``.

Exactly once, in three layers:

1. a session advisory lock per shop: one full import cycle at a time (a second
   worker or a button during the cron skips, it does not wait);
2. a transaction advisory lock per Mirakl order taken before looking the order
   up: "import by id" or "resync" running during a cycle wait for it;
3. the unique constraint (shop, Mirakl order id) on ``sale.order``.

The lock helpers themselves are the core's (``_mirakl_session_lock``,
``_mirakl_try_xact_lock`` in ``core/mirakl_backend_run.py``); the lock class
(``LOCK_CLASS``) and the per-order key (``_mirakl_lock_order``) are the
orders'.
"""

import logging
from collections import defaultdict
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ... import const
from ...lib import MiraklDeadlineError, MiraklError, mappers
from ..core.mirakl_backend import CRASH_REF
from ..core.mirakl_backend_run import CONFLICTS, ConcurrentImport

_logger = logging.getLogger(__name__)

# Advisory lock class of the per-shop import lock ("MIRK").
LOCK_CLASS = 0x4D49524B
# Orders stored per batch of a cycle (OR11 pages are 100 orders too).
PAGE = 100
# Reference of an order read without a usable id (it cannot be read again).
NO_ID_REF = "no order_id: page %(page)s, position %(position)s"


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # --- Order import settings ---
    order_import_enabled = fields.Boolean(
        string="Import orders",
        default=True,
        tracking=True,
        help="Poll Mirakl for new and changed orders on this shop's schedule.",
    )
    order_import_interval = fields.Integer(
        string="Import every (minutes)",
        default=5,
        tracking=True,
        help="Mirakl recommends every 5 minutes and allows at most once a minute.",
    )
    order_cron_id = fields.Many2one(
        "ir.cron", string="Order import job", readonly=True, copy=False
    )
    order_watermark = fields.Datetime(
        string="Orders read up to",
        copy=False,
        help="Start of the last complete import cycle (UTC). The next cycle asks "
        "for orders updated since this moment minus the overlap.",
    )
    order_overlap_minutes = fields.Integer(
        string="Overlap (minutes)",
        default=10,
        help="How far before the watermark each cycle starts reading again, so a "
        "late or clock-skewed update is never missed (re-reads are no-ops).",
    )
    order_initial_days = fields.Integer(
        string="First import (days)",
        default=7,
        help="How many days back the very first cycle reads. Older orders can be "
        "brought in with Import order by id.",
    )
    acceptance_window_hours = fields.Integer(
        string="Acceptance window (hours)",
        default=72,
        tracking=True,
        help="How long the marketplace waits for the shop to accept an order "
        "before refusing it. Not published by the Mirakl API: take it from the "
        "marketplace's seller terms.",
    )
    acceptance_escalation_hours = fields.Integer(
        string="Escalate (hours before)",
        default=12,
        help="An order still not accepted this many hours before the end of its "
        "window is escalated: urgent issue and a new activity.",
    )
    acceptance_policy = fields.Selection(
        [
            ("all", "Accept every valid order"),
            ("stock", "Accept when free stock covers the lines"),
            ("manual", "A person accepts or refuses"),
        ],
        string="Acceptance policy",
        default="all",
        required=True,
        tracking=True,
    )
    partial_acceptance = fields.Selection(
        [
            ("platform", "As the platform reports (PC01)"),
            ("enabled", "Allowed"),
            ("disabled", "Not allowed"),
        ],
        string="Refusing single lines",
        default="platform",
        required=True,
        help="Whether OR21 may accept some lines and refuse others. The PC01 "
        "flag's name is not confirmed by Mirakl's documentation: override it "
        "here if the platform's answer is wrong.",
    )
    cancellations_included = fields.Boolean(
        string="Line quantities exclude cancellations",
        help="Off (default): OR11 shows a line's quantity and price as ordered "
        "and the connector subtracts the line's cancellations. On: the "
        "platform already shows them net of cancellations.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist",
        check_company=True,
        help="Pricelist of this shop's Sales Orders (its currency must be the "
        "orders' currency). Empty: a pricelist of the order's currency is found "
        "or created.",
    )
    fiscal_position_id = fields.Many2one(
        "account.fiscal.position",
        check_company=True,
        help="Fiscal position set on this shop's Sales Orders.",
    )
    tax_fallback = fields.Selection(
        [
            ("product", "Use the product's sale taxes"),
            ("none", "No tax"),
        ],
        string="Lines without Mirakl taxes",
        default="product",
        required=True,
        help="What a Mirakl line that carries no tax gets in Odoo. Some "
        "TAX_INCLUDED platforms send no taxes: the seller still owes VAT.",
    )
    order_max_line_quantity = fields.Integer(
        string="Largest line quantity",
        default=1000,
        help="A new order with a line of more units than this is held before "
        "acceptance with an issue (refuse it on Mirakl, or raise the limit and "
        "retry).",
    )
    order_max_total = fields.Float(
        string="Largest order total",
        default=50000.0,
        digits=(16, 2),
        help="A new order whose total (in its own currency, tax included) is "
        "above this is held before acceptance with an issue. Negative prices, "
        "shipping or taxes always are.",
    )
    marketplace_lang = fields.Selection(
        "_mirakl_installed_langs",
        string="Marketplace language",
        default=lambda self: self.env.lang or "en_US",
        help="The operator's language. An address that names its country "
        "without its ISO code (older payloads) is matched against Odoo's "
        "country names in English and in this language.",
    )
    shipping_type_ids = fields.One2many("mirakl.shipping.type", "backend_id")
    tax_map_ids = fields.One2many("mirakl.tax.map", "backend_id")
    sale_order_count = fields.Integer(
        string="Sales Orders", compute="_compute_sale_order_count"
    )
    last_import_date = fields.Datetime(
        string="Last order import", readonly=True, copy=False
    )
    last_import_summary = fields.Char(
        string="Last order import result", readonly=True, copy=False
    )

    _sql_constraints = [
        (
            "order_import_interval_min",
            "CHECK(order_import_interval >= 1)",
            (
                "Mirakl allows OR11 at most once a minute: the interval is at least "
                "1 minute."
            ),
        ),
        (
            "acceptance_window_positive",
            "CHECK(acceptance_window_hours > 0)",
            "The acceptance window must be positive.",
        ),
        (
            "order_limits_positive",
            "CHECK(order_max_line_quantity > 0 AND order_max_total > 0)",
            "The largest line quantity and order total must be positive.",
        ),
    ]

    @api.model
    def _mirakl_installed_langs(self):
        return self.env["res.lang"].get_installed()

    # === COMPUTE METHODS === #

    def _compute_sale_order_count(self):
        groups = self.env["sale.order"]._read_group(
            [("mirakl_backend_id", "in", self.ids)], ["mirakl_backend_id"], ["__count"]
        )
        counts = {backend.id: count for backend, count in groups}
        for backend in self:
            backend.sale_order_count = counts.get(backend.id, 0)

    # === CRUD METHODS === #

    def _mirakl_shop_crons(self):
        return super()._mirakl_shop_crons() + [
            (
                "order_cron_id",
                "Mirakl: import orders of %s",
                "_cron_mirakl_import_orders",
                "order_import_interval",
                "order_import_enabled",
            )
        ]

    # === ACTION METHODS === #

    def action_import_orders(self):
        """Run one full import cycle per shop now, synchronously."""
        backends = self._mirakl_as_operator()
        results = [backend._mirakl_import_orders() for backend in backends]
        if len(self) == 1:
            return self._mirakl_import_notification(results[0])
        return True

    def action_mirakl_import_order_by_id(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Import Mirakl orders by id"),
            "res_model": "mirakl.order.import",
            "view_mode": "form",
            "target": "new",
            "context": {"default_backend_id": self.id},
        }

    def action_mirakl_refresh_shipping_types(self):
        self.ensure_one()
        ok = self._mirakl_refresh_shipping_types(max_retries=const.BUTTON_MAX_RETRIES)
        if ok:
            return self._mirakl_notification(
                _("Mirakl"),
                _(
                    "%(count)s shipping types read from Mirakl.",
                    count=len(self.shipping_type_ids),
                ),
                "success",
            )
        return self._mirakl_notification(
            _("Mirakl"), _("Shipping types could not be read."), "danger", sticky=True
        )

    def action_mirakl_open_sale_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [("mirakl_backend_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    # === CRON METHODS === #

    @api.model
    def _cron_mirakl_import_orders(self, backend_id=None):
        """Cron entry point: one import cycle of one shop (or of every shop)."""
        domain = [("order_import_enabled", "=", True)]
        if backend_id:
            domain.append(("id", "=", backend_id))
        self.search(domain)._mirakl_cron_each(
            "OR11", lambda backend: backend._mirakl_import_orders()
        )

    # === BUSINESS METHODS: the cycle === #

    def _mirakl_lock_order(self, order_id):
        """Claim this Mirakl order for the current transaction.

        False when another transaction holds it: that one stores the order.
        """
        return self._mirakl_try_xact_lock("order", order_id)

    @api.model
    def _mirakl_new_stats(self):
        return {
            "read": 0,
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "failed": 0,
            "accepted": 0,
            "refused": 0,
            "released": 0,
            "cancelled": 0,
            "skipped": 0,
            "conflict": 0,
            "lost": 0,
            "busy": False,
            "error": False,
            "stopped": False,
            # Earliest Mirakl update of an order left to another transaction:
            # the watermark stops there, so the next cycle reads it again.
            "retry_from": None,
        }

    def _mirakl_import_orders(self):
        """One full cycle for this shop: read, store, accept, release, report.

        Returns a stats dict. The watermark moves only when every order read
        is stored (as a Sales Order or as an open issue that the next cycle
        retries).
        """
        self.ensure_one()
        stats = self._mirakl_new_stats()
        with (
            self.env["mirakl.call.stat"]._mirakl_batch(),
            self._mirakl_session_lock(LOCK_CLASS) as locked,
        ):
            if not locked:
                _logger.info(
                    "Mirakl shop %s: an order import is already running", self.id
                )
                stats["busy"] = True
                return stats
            self._mirakl_import_cycle(stats)
        summary = self._mirakl_stats_text(stats)
        self._mirakl_write_shop(
            {"last_import_date": fields.Datetime.now(), "last_import_summary": summary}
        )
        _logger.info("Mirakl shop %s: order import: %s", self.id, summary)
        return stats

    def _mirakl_import_cycle(self, stats):
        """The steps of a cycle, within the run's time budget.

        The deadline check comes first: it needs no call to Mirakl and must
        never be skipped (it runs again at the end, for the orders this cycle
        stored). Each later step stops once the budget is spent
        (the order or call in hand is finished, and committed in a scheduled
        run); the next cycle goes on from the same watermark.
        """
        started = fields.Datetime.now()
        self._mirakl_check_deadlines()
        self._mirakl_commit()
        if self.order_watermark:
            since = self.order_watermark - timedelta(minutes=self.order_overlap_minutes)
        else:
            since = started - timedelta(days=self.order_initial_days)
        stock_budget = {}
        Issue = self.env["mirakl.sync.issue"]
        complete = True
        try:
            with self._mirakl_get_client() as client:
                pages = client.iter_orders(start_update_date=since)
                batch, read = [], 0
                for raw in pages:
                    batch.append(raw)
                    if len(batch) >= PAGE:
                        self._mirakl_process_orders(
                            batch, stats, stock_budget, start=read
                        )
                        read += len(batch)
                        batch = []
                    if self._mirakl_out_of_time():
                        break
                if batch:
                    self._mirakl_process_orders(batch, stats, stock_budget, start=read)
        except MiraklDeadlineError:
            stats["stopped"] = True
        except MiraklError as error:
            complete = False
            stats["error"] = self._mirakl_explain(error)
            Issue._mirakl_record_error(self, "OR11", error)
        else:
            if not stats["stopped"]:
                Issue._mirakl_resolve(self, "OR11")
        # Orders held back by a validation issue: read again, once fixed they go in.
        held = Issue.search(self._mirakl_held_domain())
        if held and not self._mirakl_out_of_time():
            self._mirakl_import_order_ids(
                held.mapped("mirakl_ref"), stats=stats, stock_budget=stock_budget
            )
        self._mirakl_send_pending_decisions(stats, stock_budget)
        self._mirakl_release_paid_orders(stats)
        if not self._mirakl_out_of_time():
            self._mirakl_send_seller_references()
        self._mirakl_check_deadlines()  # again, for the orders of this cycle
        if self._mirakl_out_of_time():
            stats["stopped"] = True
        if complete and not stats["stopped"]:
            watermark = started
            if stats["retry_from"]:
                watermark = min(watermark, stats["retry_from"])
            self._mirakl_write_shop({"order_watermark": watermark})

    def _mirakl_held_domain(self):
        """Open issues of orders held back before they had a Sales Order,
        which each cycle reads again by id."""
        return [
            ("backend_id", "=", self.id),
            ("operation", "=", "OR11"),
            ("state", "=", "open"),
            ("res_id", "in", [0, False]),
            ("mirakl_ref", "!=", False),
            ("mirakl_ref", "not like", NO_ID_REF % {"page": "%", "position": "%"}),
            ("mirakl_ref", "!=", CRASH_REF),
            ("category", "!=", "lost"),
        ]

    def _mirakl_import_order_ids(
        self, order_ids, max_retries=None, force=False, stats=None, stock_budget=None
    ):
        """Import the given Mirakl orders now (recovery, resync, retries)."""
        self.ensure_one()
        stats = stats if stats is not None else self._mirakl_new_stats()
        ok, result = self._mirakl_call(
            "OR11",
            lambda client: client.get_orders(order_ids),
            max_retries=max_retries,
        )
        if not ok:
            if isinstance(result, MiraklDeadlineError):
                stats["stopped"] = True  # the next run reads them
                return stats
            stats["error"] = self._mirakl_explain(result)
            stats["failed"] += len(order_ids)
            return stats
        found = {raw.get("order_id") for raw in result if isinstance(raw, dict)}
        missing = [oid for oid in order_ids if oid not in found]
        for order_id in missing:
            self.env["mirakl.sync.issue"]._mirakl_record(
                self,
                "OR11",
                _("Mirakl has no order %(order)s in this shop.", order=order_id),
                category="not_found",
                mirakl_ref=order_id,
            )
            stats["failed"] += 1
        self._mirakl_process_orders(
            result, stats, stock_budget if stock_budget is not None else {}, force=force
        )
        return stats

    def _mirakl_process_orders(
        self, raw_orders, stats, stock_budget, force=False, start=0
    ):
        """Store a page of OR11 orders, each in its own savepoint.

        ``start`` is the position of the first one in the whole read (an
        order without a usable id is named by its page and position).

        Over 80 lines because the handling of each way one order's unit can
        fail (another transaction's import, a bad order, a crash) stays next
        to the savepoint and commit it guards, on the exactly-once path.
        """
        parsed = []
        Issue = self.env["mirakl.sync.issue"]
        for index, raw in enumerate(raw_orders, start):
            stats["read"] += 1
            try:
                parsed.append(mappers.parse_order(raw, self.cancellations_included))
            except mappers.MiraklPayloadError as error:
                stats["failed"] += 1
                Issue._mirakl_record(
                    self,
                    "OR11",
                    _("Unreadable Mirakl order: %(error)s", error=error),
                    category="data",
                    mirakl_ref=self._mirakl_raw_ref(raw, index),
                    response_excerpt=self.env["sale.order"]._mirakl_dump(raw),
                )
        cache = self._mirakl_prepare_cache(parsed)
        for order in parsed:
            if self._mirakl_out_of_time():
                stats["stopped"] = True
                break
            known = cache["orders"].get(order.order_id)
            if (
                known
                and not force
                and known[1] == order.digest
                and order.order_id not in cache["issues"]
            ):
                stats["unchanged"] += 1  # nothing changed on Mirakl: no work
                continue
            try:
                cache["partners_pending"].clear()
                with self._mirakl_savepoint():
                    outcome = self._mirakl_import_order(
                        order, cache, stock_budget, force
                    )
                cache["partners"].update(cache["partners_pending"])
            except CONFLICTS as error:
                if not self._mirakl_concurrent(error):
                    _logger.warning(
                        "Mirakl shop %s: order %s breaks %s",
                        self.id,
                        order.order_id,
                        error.diag.constraint_name,
                    )
                    outcome = "failed"
                    self._mirakl_record_crash(order, error)
                else:
                    # Another transaction imports this order (or its customer)
                    # right now; Odoo's snapshot cannot see its work. Leave it
                    # to that one; the watermark stays before this order's
                    # update so that the next cycle reads it again.
                    _logger.info(
                        "Mirakl shop %s: order %s is being imported elsewhere (%s)",
                        self.id,
                        order.order_id,
                        type(error).__name__,
                    )
                    outcome = "conflict"
                    when = order.last_updated or order.created
                    if when and (not stats["retry_from"] or when < stats["retry_from"]):
                        stats["retry_from"] = when
            except (MiraklError, UserError, ValidationError) as error:
                outcome = "failed"
                self._mirakl_record_crash(order, error)
            except Exception as error:  # keep the run going, keep the order visible
                _logger.exception(
                    "Mirakl shop %s: order %s crashed", self.id, order.order_id
                )
                outcome = "failed"
                self._mirakl_record_crash(order, error)
            for key in outcome.split(",") if outcome else ():
                stats[key] += 1
            self._mirakl_commit()

    @api.model
    def _mirakl_raw_ref(self, raw, index):
        """The reference of an unreadable order: its id when it has a usable
        one, else its page and position in the read (never two in one)."""
        order_id = raw.get("order_id") if isinstance(raw, dict) else None
        return mappers.usable_id(order_id) or NO_ID_REF % {
            "page": index // PAGE + 1,
            "position": index % PAGE + 1,
        }

    def _mirakl_record_crash(self, order, error):
        if isinstance(error, psycopg2.Error):
            text = (error.diag.message_primary or str(error)).strip()
            if error.diag.message_detail:
                text = "%s (%s)" % (text, error.diag.message_detail.strip())
        else:
            text = getattr(error, "message", None) or str(error)
        self.env["mirakl.sync.issue"]._mirakl_record(
            self,
            "OR11",
            _(
                "Order %(order)s could not be stored: %(error)s",
                order=order.order_id,
                error=text,
            ),
            category="other",
            mirakl_ref=order.order_id,
            deadline=self._mirakl_deadline(order),
        )

    def _mirakl_deadline(self, order):
        if order.state not in mappers.PRE_ACCEPTANCE_STATES:
            return False
        return mappers.acceptance_deadline(order, self.acceptance_window_hours)

    def _mirakl_prepare_cache(self, orders):
        """Look up, in bulk, what a page of orders refers to."""
        skus = {line.sku for order in orders for line in order.lines if line.sku}
        Product = self.env["product.product"].with_context(active_test=False)
        products = defaultdict(lambda: Product)
        if skus:
            found = Product.search(
                [
                    ("default_code", "in", list(skus)),
                    ("company_id", "in", [False, self.company_id.id]),
                ]
            )
            for product in found:
                products[product.default_code] |= product
        order_ids = [order.order_id for order in orders]
        existing = self.env["sale.order"].search_read(
            [("mirakl_backend_id", "=", self.id), ("mirakl_order_id", "in", order_ids)],
            ["mirakl_order_id", "mirakl_digest"],
        )
        sale_ids = [row["id"] for row in existing]
        open_issues = (
            self.env["mirakl.sync.issue"]
            .sudo()
            .search_read(
                [
                    ("backend_id", "=", self.id),
                    ("state", "=", "open"),
                    "|",
                    ("mirakl_ref", "in", order_ids),
                    "&",
                    ("res_model", "=", "sale.order"),
                    ("res_id", "in", sale_ids),
                ],
                ["operation", "mirakl_ref", "res_model", "res_id"],
            )
        )
        return {
            "products": products,
            # ids, not records: each order is worked on alone, without
            # prefetching (and recomputing) the whole page's Sales Orders.
            "orders": {
                row["mirakl_order_id"]: (row["id"], row["mirakl_digest"])
                for row in existing
            },
            "taxes": {},
            "partners": {},
            "partners_pending": {},
            "shipping": {st.code: st for st in self.shipping_type_ids},
            # Orders an open import issue keeps being re-read.
            "issues": {
                row["mirakl_ref"]
                for row in open_issues
                if row["operation"] in ("OR11", "ORDER") and row["mirakl_ref"]
            },
            # Orders with any open issue (others skip the searches to resolve).
            "open_refs": {
                row["mirakl_ref"] for row in open_issues if row["mirakl_ref"]
            },
            "open_sale_ids": {
                row["res_id"] for row in open_issues if row["res_model"] == "sale.order"
            },
        }

    def _mirakl_import_order(self, order, cache, stock_budget, force=False):
        """Create or update the Sales Order of one Mirakl order.

        Returns the stats keys to count, comma-separated.
        """
        if not self._mirakl_lock_order(order.order_id):
            raise ConcurrentImport(order.order_id)
        known = cache["orders"].get(order.order_id)
        if order.order_id not in cache["open_refs"] and (
            not known or known[0] not in cache["open_sale_ids"]
        ):
            # No open issue about this order: resolving one needs no search
            # (an issue filed meanwhile turns the searches back on).
            backend = self.with_context(mirakl_issue_guard={"none_open": True})
            return backend._mirakl_store_order(order, cache, stock_budget, force, known)
        return self._mirakl_store_order(order, cache, stock_budget, force, known)

    # === BUSINESS METHODS: reference data === #

    def _mirakl_refresh_shipping_types(self, max_retries=None):
        """SH12: list the platform's shipping types (mapping kept)."""
        self.ensure_one()
        ok, result = self._mirakl_call(
            "SH12", lambda client: client.list_shipping_types(), max_retries=max_retries
        )
        if not ok:
            return False
        self._mirakl_sync_reference(
            "mirakl.shipping.type",
            result,
            ("code",),
            lambda raw: (
                raw.get("code")
                and {
                    "code": raw["code"],
                    "label": raw.get("label") or raw["code"],
                    "mandatory_tracking": bool(raw.get("mandatory_tracking")),
                }
            ),
        )
        return True

    def _mirakl_refresh_reference_data(self):
        """Override: the platform's shipping types (SH12)."""
        ok = super()._mirakl_refresh_reference_data()
        return self._mirakl_refresh_shipping_types() and ok

    def _mirakl_retry_issue(self, issue):
        """Override: retries of the order operations filed on the shop."""
        if issue.operation == "OR11" and issue.mirakl_ref:
            self._mirakl_import_order_ids(
                [issue.mirakl_ref], max_retries=const.BUTTON_MAX_RETRIES, force=True
            )
            return issue.state == "resolved"
        if issue.operation == "OR11":
            stats = self._mirakl_import_orders()
            return not stats["error"] and not stats["busy"]
        if issue.operation == "SH12":
            return self._mirakl_refresh_shipping_types(
                max_retries=const.BUTTON_MAX_RETRIES
            )
        if issue.operation == "OR04":
            return bool(
                self._mirakl_send_seller_references(
                    max_retries=const.BUTTON_MAX_RETRIES
                )
            )
        return super()._mirakl_retry_issue(issue)

    # === helpers for buttons === #

    @api.model
    def _mirakl_stats_text(self, stats):
        if stats.get("busy"):
            return _("an import of this shop is already running; try again shortly")
        text = _(
            "%(read)s read, %(created)s created, %(updated)s updated, "
            "%(accepted)s accepted, %(refused)s refused, %(released)s released, "
            "%(cancelled)s cancelled, %(failed)s with issues",
            **stats,
        )
        if stats.get("lost"):
            text = _("%(text)s, %(lost)s lost", text=text, lost=stats["lost"])
        if stats.get("stopped"):
            text = _(
                "%(text)s. The run's time budget is spent: the next run goes on.",
                text=text,
            )
        if stats.get("error"):
            text = "%s. %s" % (text, stats["error"])
        return text

    def _mirakl_import_notification(self, stats):
        kind = "warning" if stats.get("failed") or stats.get("busy") else "success"
        if stats.get("error"):
            kind = "danger"
        return self._mirakl_notification(
            _("Mirakl order import"), self._mirakl_stats_text(stats), kind
        )
