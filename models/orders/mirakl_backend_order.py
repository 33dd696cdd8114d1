"""Orders in: the shop's order import cycle (OR11, OR21, OR04).

Same model as ``mirakl_backend.py`` (``mirakl.backend``); this file holds the
order settings and the import cycle so the shop's connection code stays
readable.

Exactly once, in three layers:

1. a session advisory lock per shop: one full import cycle at a time (a second
   worker or a button during the cron skips, it does not wait);
2. a transaction advisory lock per Mirakl order taken before looking the order
   up: "import by id" or "resync" running during a cycle wait for it;
3. the unique constraint (shop, Mirakl order id) on ``sale.order``.
"""

import json
import logging
import zlib
from collections import defaultdict
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command

from ... import const
from ...lib import MiraklDeadlineError, MiraklError, mappers
from ...lib.countries import alpha2
from ..core.mirakl_backend import CRASH_REF

_logger = logging.getLogger(__name__)

# Advisory lock class of the per-shop import lock ("MIRK").
LOCK_CLASS = 0x4D49524B
# Orders stored per batch of a cycle (OR11 pages are 100 orders too).
PAGE = 100
# Reference of an order read without a usable id (it cannot be read again).
NO_ID_REF = "no order_id: page %(page)s, position %(position)s"
# Unique constraints that another transaction importing the same order (or
# customer, or unknown shipping type) breaks; any other is a bad order.
CONCURRENT_CONSTRAINTS = frozenset(
    (
        "sale_order_mirakl_order_unique",
        "res_partner_mirakl_customer_unique",
        "mirakl_shipping_type_code_unique",
    )
)


class ConcurrentImport(Exception):
    """Another transaction holds this Mirakl order."""


# What another transaction working on the same order or customer causes.
CONFLICTS = (
    ConcurrentImport,
    psycopg2.errors.UniqueViolation,
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.LockNotAvailable,
)


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

    @api.model
    def _mirakl_per_shop(self, records):
        """Yield ``(shop, its records)`` for records of several shops (any
        model with ``backend_id``), both as the operator (see above)."""
        for backend in records.backend_id._mirakl_as_operator():
            yield (
                backend,
                records.filtered(lambda r, b=backend: r.backend_id.id == b.id).sudo(),
            )

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

    @contextmanager
    def _mirakl_session_lock(self, lock_class):
        """Hold this shop's session-level advisory lock of ``lock_class`` for
        the block (it outlives the commits a cron makes); yields False, and
        runs nothing under the lock, when another session holds it."""
        self.env.cr.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (lock_class, self.id)
        )
        if not self.env.cr.fetchone()[0]:
            yield False
            return
        try:
            yield True
        finally:
            self._mirakl_release_session_lock(lock_class)

    def _mirakl_release_session_lock(self, lock_class):
        """Release a session-level advisory lock, even after a failed query.

        Connections go back to a pool: a lock left behind would block the
        shop until the connection closes. A transaction broken by an error is
        rolled back first (it could not be committed anyway).
        """
        cr = self.env.cr
        if cr._cnx.get_transaction_status() == TRANSACTION_STATUS_INERROR:
            cr.rollback()
        cr.execute("SELECT pg_advisory_unlock(%s, %s)", (lock_class, self.id))

    def _mirakl_lock_order(self, order_id):
        """Claim this Mirakl order for the current transaction.

        False when another transaction holds it: that one stores the order.
        """
        return self._mirakl_try_xact_lock("order", order_id)

    def _mirakl_try_xact_lock(self, kind, key):
        """Transaction-level try-lock on (shop, kind, key)."""
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)",
            (self.id, zlib.crc32(("%s:%s" % (kind, key)).encode()) - 2**31),
        )
        return self.env.cr.fetchone()[0]

    def _mirakl_committed_since(self, query, params):
        """Whether ``query`` finds a row committed after this transaction began.

        Odoo's transactions read one snapshot (REPEATABLE READ): a row another
        worker committed since is invisible here, and inserting it again would
        break a unique constraint. A short fresh cursor sees it.
        """
        with self.env.registry.cursor() as cr:
            cr.execute(query, params)
            return bool(cr.fetchone())

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

    def _mirakl_unit(self, work, what):
        """``work()`` as one unit of work: its own savepoint, committed after
        it in a scheduled run. Another transaction changing the same rows
        meanwhile (a warehouse validating, another job) only leaves the unit
        to the next run. Returns ``(True, result)``, or ``(False, None)``
        after such a conflict."""
        try:
            with self._mirakl_savepoint():
                result = work()
        except CONFLICTS as error:
            if not self._mirakl_concurrent(error):
                raise
            _logger.info(
                "Mirakl shop %s: %s left to the next run (%s)",
                self.id,
                what,
                type(error).__name__,
            )
            return False, None
        self._mirakl_commit()
        return True, result

    @api.model
    def _mirakl_concurrent(self, error):
        """Whether a conflict comes from another transaction working on the
        same order (retried by the next cycle) rather than from the order."""
        if isinstance(error, psycopg2.errors.UniqueViolation):
            return error.diag.constraint_name in CONCURRENT_CONSTRAINTS
        return True

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

    def _mirakl_store_order(self, order, cache, stock_budget, force, known):
        """Create or update the Sales Order of one claimed Mirakl order."""
        sale = self.env["sale.order"].browse(known[0]) if known else None
        if not sale:
            # Another transaction may have created it since the page was read.
            sale = self.env["sale.order"].search(
                [
                    ("mirakl_backend_id", "=", self.id),
                    ("mirakl_order_id", "=", order.order_id),
                ],
                limit=1,
            )
        if not sale and self._mirakl_committed_since(
            "SELECT 1 FROM sale_order WHERE mirakl_backend_id = %s "
            "AND mirakl_order_id = %s",
            (self.id, order.order_id),
        ):
            raise ConcurrentImport(order.order_id)
        if sale:
            if (
                not force
                and sale.mirakl_digest == order.digest
                and order.order_id not in cache["issues"]
            ):
                return "unchanged"
            return self._mirakl_update_sale_order(sale, order, cache)
        if order.state in mappers.CLOSED_STATES:
            # Refused or cancelled before it ever reached Odoo: nothing to sell.
            return "lost" if self._mirakl_close_held_order(order) else "skipped"
        Issue = self.env["mirakl.sync.issue"]
        deadline = self._mirakl_deadline(order)
        if not force and deadline and deadline <= fields.Datetime.now():
            # Past the window and never stored: report it lost, stop trying.
            Issue._mirakl_record(
                self,
                "OR11",
                _(
                    "Order %(order)s is lost: it could not be imported and accepted "
                    "before %(deadline)s (UTC). Import it by id if the marketplace "
                    "still shows it waiting for acceptance.",
                    order=order.order_id,
                    deadline=deadline,
                ),
                category="lost",
                mirakl_ref=order.order_id,
                deadline=deadline,
                bump=False,
            )._mirakl_mark_lost(deadline)
            return "failed"
        resolved, blocking, warnings = self._mirakl_validate(order, cache)
        if blocking:
            Issue._mirakl_record(
                self,
                "OR11",
                _(
                    "Mirakl order %(order)s is not imported (and not accepted): "
                    "%(problems)s. Fix it, then retry (the next import retries "
                    "too).",
                    order=order.order_id,
                    problems="; ".join(blocking),
                ),
                category="mapping",
                mirakl_ref=order.order_id,
                deadline=self._mirakl_deadline(order),
            )
            return "failed"
        vals = self._mirakl_prepare_sale_order_vals(order, resolved, cache)
        sale = self.env["sale.order"].create(vals)
        cache["orders"][order.order_id] = (sale.id, order.digest)
        Issue._mirakl_resolve(self, "OR11", mirakl_ref=order.order_id)
        self._mirakl_post_notes(sale, order)
        self._mirakl_record_warnings(sale, order, warnings)
        sale._mirakl_check_amounts(order)
        sale._mirakl_sync_refunds(order)
        outcome = ["created"]
        if order.state in mappers.PRE_ACCEPTANCE_STATES:
            # Acceptance is the first action after the Sales Order exists.
            sale._mirakl_decide(stock_budget)
            if sale.mirakl_acceptance == "to_send" and sale._mirakl_send_decision():
                outcome.append(
                    "accepted" if sale.mirakl_acceptance == "accepted" else "refused"
                )
        else:
            sale.mirakl_acceptance = "accepted"
            if order.state == "SHIPPING":
                if sale._mirakl_release():
                    outcome.append("released")
            elif order.state in mappers.RELEASED_STATES:
                sale.message_post(
                    body=_(
                        "Imported in state %(state)s: not sent to the warehouse, "
                        "Mirakl already reports it past shipping.",
                        state=order.state,
                    )
                )
        return ",".join(outcome)

    def _mirakl_update_sale_order(self, sale, order, cache):
        """Apply what changed on Mirakl to an existing Sales Order."""
        if self._mirakl_unknown_state(sale, order):
            return "updated"
        outcome = ["updated"]
        line_by_id = {
            line.mirakl_line_id: line for line in sale.order_line if line.mirakl_line_id
        }
        changes = defaultdict(lambda: self.env["sale.order.line"])
        for mline in order.lines:
            line = line_by_id.get(mline.line_id)
            if not line:
                continue
            vals = self._mirakl_prepare_line_mirakl_vals(mline)
            vals = {
                name: value
                for name, value in vals.items()
                if (
                    line.currency_id.compare_amounts(line[name], value)
                    if line._fields[name].type == "monetary"
                    else line[name] != value
                )
            }
            if (
                mline.state != mappers.WAITING_ACCEPTANCE
                and line.mirakl_decision is False
            ):
                vals["mirakl_decision"] = (
                    "refuse" if mline.state == "REFUSED" else "accept"
                )
            if vals:
                changes[tuple(sorted(vals.items()))] |= line
        for vals, lines in changes.items():
            lines.write(dict(vals))  # one write per distinct change (often one)
        # Quantities, shipping and totals move only with amounts, cancellations
        # or a line leaving; a plain state change (paid, shipped) skips them.
        lines_changed = order.order_id in cache["issues"] or any(
            name not in ("mirakl_line_state", "mirakl_decision")
            or value in mappers.DEAD_LINE_STATES
            or value == "refuse"
            for vals in changes
            for name, value in vals
        )
        old_raw = sale._mirakl_raw_data()
        old_customer = old_raw.get("customer")
        # The first read after the shop's decision re-checks everything.
        lines_changed = lines_changed or (
            old_raw.get("order_state") in mappers.PRE_ACCEPTANCE_STATES
        )
        vals = self._mirakl_prepare_order_state_vals(order, sale)
        if sale.state in ("draft", "sent") and old_customer != order.raw.get(
            "customer"
        ):
            partner_vals = self._mirakl_prepare_partner_vals(
                order, sale=sale, cache=cache
            )
            if partner_vals:
                # Odoo recomputes these from the partner and the delivery
                # address (a pricelist of another currency, for one): keep them.
                for name in (
                    "pricelist_id",
                    "fiscal_position_id",
                    "payment_term_id",
                    "user_id",
                    "team_id",
                ):
                    partner_vals[name] = sale[name].id
                vals.update(partner_vals)
            self._mirakl_post_notes(sale, order)
        sale.write(vals)
        # Refunds: stored at each read; REFUNDED ones get their credit note.
        sale._mirakl_sync_refunds(order)
        if sale.state != "cancel" and lines_changed:
            sale._mirakl_apply_line_quantities()
            self._mirakl_update_shipping_lines(sale, order, cache)
        warnings = self._mirakl_address_warnings(order)
        self._mirakl_record_warnings(sale, order, warnings)
        if sale.state != "cancel" and lines_changed:
            sale._mirakl_check_amounts(order)
        state = order.state
        if state in mappers.CLOSED_STATES:
            return ",".join(outcome + self._mirakl_apply_closed(sale, order))
        if state not in mappers.PRE_ACCEPTANCE_STATES and sale.mirakl_acceptance in (
            False,
            "pending",
            "to_send",
        ):
            # Accepted elsewhere (back office, automatic acceptance).
            sale.mirakl_acceptance = "accepted"
            self._mirakl_close_acceptance_issue(sale)
        if (
            state == "SHIPPING"
            and sale.state in ("draft", "sent")
            and sale._mirakl_release()
        ):
            outcome.append("released")
        return ",".join(outcome)

    def _mirakl_apply_closed(self, sale, order):
        """Mirakl refused or cancelled the order: cancel the Sales Order and
        close its acceptance issue; returns the stats keys to count."""
        outcome = []
        if sale.state != "cancel":
            reason = order.state_reason_label or order.state_reason_code or order.state
            sale._mirakl_cancel(
                _(
                    "Mirakl reports it %(state)s (%(reason)s)",
                    state=order.state,
                    reason=reason,
                )
            )
            outcome.append("cancelled")
        lost = False
        if sale.mirakl_acceptance in (False, "pending", "to_send", "expired"):
            lost = order.state_reason_code == mappers.AUTO_REFUSED
            if sale.mirakl_acceptance != "expired":
                sale.mirakl_acceptance = "expired" if lost else "refused"
        self._mirakl_close_acceptance_issue(sale, lost=lost)
        if lost:
            outcome.append("lost")
        return outcome

    def _mirakl_close_acceptance_issue(self, sale, lost=False):
        issues = self.env["mirakl.sync.issue"]._mirakl_resolve(
            self,
            "OR21",
            record=sale,
            mirakl_ref=sale.mirakl_order_id,
            resolution=lost
            and _("Refused by Mirakl after the acceptance deadline: a lost order."),
        )
        if lost:
            issues.write({"category": "lost"})

    def _mirakl_close_held_order(self, order):
        """Close the issues of an order held back without a Sales Order that
        Mirakl has since refused or cancelled, saying what happened.

        Returns True when it is a lost order: refused by Mirakl itself once
        the acceptance window was over (the issue is counted as lost).
        """
        deadline = mappers.acceptance_deadline(order, self.acceptance_window_hours)
        lost = order.state == "REFUSED" and (
            order.state_reason_code == mappers.AUTO_REFUSED
            or (
                not order.acceptance_decision_date and deadline <= fields.Datetime.now()
            )
        )
        reason = order.state_reason_label or order.state_reason_code or order.state
        if lost:
            resolution = _(
                "Refused by Mirakl after the acceptance deadline (%(reason)s): a "
                "lost order.",
                reason=reason,
            )
        elif order.state == "REFUSED":
            resolution = _("Refused on Mirakl (%(reason)s).", reason=reason)
        else:
            resolution = _("Cancelled on Mirakl (%(reason)s).", reason=reason)
        issues = self.env["mirakl.sync.issue"]._mirakl_resolve(
            self, "OR11", mirakl_ref=order.order_id, resolution=resolution
        )
        if lost:
            issues.write({"category": "lost", "deadline": deadline})
        return lost

    def _mirakl_refuse_held_order(self, issue):
        """OR21 refusing every line of the order an issue holds back (no
        Sales Order: implausible values, unknown state...), as the seller
        decided. Returns ``(ok, message)``; the issue is closed on success."""
        self.ensure_one()
        order_id = issue.mirakl_ref
        ok, result = self._mirakl_call(
            "OR11",
            lambda client: client.get_orders([order_id]),
            max_retries=const.BUTTON_MAX_RETRIES,
        )
        if not ok:
            return False, self._mirakl_explain(result)
        raw = next(
            (
                r
                for r in result
                if isinstance(r, dict) and r.get("order_id") == order_id
            ),
            None,
        )
        if raw is None:
            return False, _(
                "Mirakl has no order %(order)s in this shop.", order=order_id
            )
        lines = [
            mappers.usable_id(line.get("order_line_id"))
            for line in raw.get("order_lines") or ()
            if isinstance(line, dict)
            and line.get("order_line_state") == mappers.WAITING_ACCEPTANCE
        ]
        if raw.get("order_state") != mappers.WAITING_ACCEPTANCE or not all(lines):
            return False, _(
                "Mirakl shows order %(order)s in state %(state)s: only an order "
                "waiting for acceptance can be refused.",
                order=order_id,
                state=raw.get("order_state") or "-",
            )
        ok, result = self._mirakl_call(
            "OR21",
            lambda client: client.accept_order(order_id, dict.fromkeys(lines, False)),
            mirakl_ref=order_id,
            max_retries=const.BUTTON_MAX_RETRIES,
        )
        if not ok:
            return False, self._mirakl_explain(result)
        issue._mirakl_close(
            _("Refused on Mirakl by %(user)s.", user=self.env.user.name)
        )
        return True, _("Order %(order)s refused on Mirakl.", order=order_id)

    def _mirakl_unknown_state(self, sale, order):
        """An order state the connector does not know: the Sales Order only
        records it, with an issue, and nothing is decided from it (no
        acceptance, release or cancellation). True in that case."""
        Issue = self.env["mirakl.sync.issue"]
        if order.state in mappers.KNOWN_ORDER_STATES:
            if sale.mirakl_state not in mappers.KNOWN_ORDER_STATES:
                Issue._mirakl_resolve(self, "ORDER", record=sale, mirakl_ref="state")
            return False
        sale.write(self._mirakl_prepare_order_state_vals(order))
        Issue._mirakl_record(
            self,
            "ORDER",
            _(
                "Mirakl reports order %(order)s in state %(state)s, which the "
                "connector does not know: nothing is done with it (acceptance, "
                "release, cancellation) until Mirakl shows a known state. Check "
                "it on Mirakl.",
                order=order.order_id,
                state=order.state or "-",
            ),
            category="data",
            record=sale,
            mirakl_ref="state",
        )
        return True

    # === BUSINESS METHODS: validation and mapping === #

    def _mirakl_validate(self, order, cache):
        """What the order refers to in Odoo, and what is wrong with it.

        Returns ``(resolved, blocking, warnings)``. Blocking problems keep the
        order out (no Sales Order, no acceptance); warnings are filed on the
        Sales Order and keep it from the warehouse until fixed.
        """
        blocking = []
        resolved = {"products": {}, "taxes": {}, "shipping_taxes": {}}
        if order.state not in mappers.KNOWN_ORDER_STATES:
            blocking.append(
                _(
                    "its state %(state)s is unknown to the connector (check it on "
                    "Mirakl)",
                    state=order.state or "-",
                )
            )
        absurd = mappers.value_problems(
            order, self.order_max_line_quantity, self.order_max_total
        )
        if absurd:
            blocking.append(
                _(
                    "implausible values: %(problems)s. Refuse it on Mirakl (button "
                    "on this issue) or, if it is genuine, raise the shop's limits "
                    "(Orders tab) and retry",
                    problems=", ".join(absurd),
                )
            )
        for line in order.lines:
            product, problem = self._mirakl_find_product(line, cache)
            if problem:
                blocking.append(problem)
                continue
            resolved["products"][line.line_id] = product
            taxes, problem = self._mirakl_map_taxes(
                line.taxes, order.tax_mode, product, cache
            )
            if problem:
                blocking.append(problem)
                continue
            resolved["taxes"][line.line_id] = taxes
            shipping_taxes, problem = self._mirakl_map_shipping_taxes(
                line, order.tax_mode, taxes, cache
            )
            if problem:
                blocking.append(problem)
            resolved["shipping_taxes"][line.line_id] = shipping_taxes
        shipping_type = cache["shipping"].get(order.shipping_type_code)
        if not shipping_type:
            shipping_type = self._mirakl_register_shipping_type(
                order.shipping_type_code, order.shipping_type_label
            )
            cache["shipping"][order.shipping_type_code] = shipping_type
        if not shipping_type.carrier_id:
            blocking.append(
                _(
                    "shipping type %(code)s (%(label)s) is not mapped to a delivery "
                    "method (Mirakl shop > Shipping types)",
                    code=order.shipping_type_code,
                    label=order.shipping_type_label or "-",
                )
            )
        resolved["carrier"] = shipping_type.carrier_id
        currency = self.env["res.currency"].search(
            [("name", "=", order.currency)], limit=1
        )
        if not currency:
            blocking.append(
                _(
                    "currency %(currency)s is not active in Odoo",
                    currency=order.currency or "-",
                )
            )
        else:
            resolved["pricelist"] = self._mirakl_get_pricelist(currency)
        return resolved, blocking, self._mirakl_address_warnings(order)

    def _mirakl_find_product(self, line, cache):
        """The product variant of a Mirakl SKU, or why there is none."""
        if not line.sku:
            return None, _("line %(line)s has no offer SKU", line=line.line_id)
        candidates = cache["products"].get(line.sku) or self.env["product.product"]
        active = candidates.filtered("active")
        if len(active) == 1:
            return active, None
        if len(active) > 1:
            return None, _(
                "SKU %(sku)s is ambiguous: %(count)s product variants have this "
                "internal reference (%(names)s)",
                sku=line.sku,
                count=len(active),
                names=", ".join(active.mapped("display_name")),
            )
        if candidates:
            return None, _(
                "SKU %(sku)s is an archived product (%(name)s)",
                sku=line.sku,
                name=candidates[0].display_name,
            )
        return None, _(
            "unknown SKU %(sku)s: no product variant has this internal reference",
            sku=line.sku,
        )

    def _mirakl_map_taxes(self, taxes, tax_mode, product, cache):
        """Odoo taxes for one list of Mirakl taxes (code, rate)."""
        included = tax_mode == mappers.TAX_INCLUDED
        if not taxes:
            if self.tax_fallback == "none":
                return self.env["account.tax"], None
            result = self.env["account.tax"]
            for tax in product.taxes_id._filter_taxes_by_company(self.company_id):
                if tax.amount_type != "percent":
                    return None, _(
                        "the Mirakl line of %(sku)s has no tax and its product's tax "
                        "%(tax)s is not a percentage",
                        sku=product.default_code,
                        tax=tax.name,
                    )
                same, problem = self._mirakl_tax_by_rate(
                    "", tax.amount, included, cache
                )
                if problem:
                    return None, problem
                result |= same
            return result, None
        result = self.env["account.tax"]
        for tax in taxes:
            record, problem = self._mirakl_tax_for(tax, included, cache)
            if problem:
                return None, problem
            result |= record
        return result, None

    def _mirakl_map_shipping_taxes(self, line, tax_mode, goods_taxes, cache):
        """Taxes of a line's shipping charge. Without Mirakl shipping taxes the
        delivery follows its goods (UK VAT: a zero-rated item's delivery is
        zero-rated), unless the shop says lines without taxes get none."""
        if line.shipping_taxes:
            return self._mirakl_map_taxes(
                line.shipping_taxes, tax_mode, self.env["product.product"], cache
            )
        if not line.shipping_price or self.tax_fallback == "none":
            return self.env["account.tax"], None
        return goods_taxes, None

    def _mirakl_tax_for(self, tax, included, cache):
        key = (tax.code, tax.rate, included)
        if key in cache["taxes"]:
            return cache["taxes"][key]
        maps = self.tax_map_ids.filtered(lambda m: m.code == tax.code and m.tax_id)
        result = None
        if maps:
            matching = maps.tax_id.filtered(lambda t: t.price_include == included)
            if tax.rate is not None:
                matching = matching.filtered(
                    lambda t: tools.float_compare(t.amount, float(tax.rate), 4) == 0
                )
            if len(matching) == 1:
                result = (matching, None)
            else:
                result = (
                    None,
                    _(
                        "tax %(code)s at %(rate)s%% is mapped, but not to exactly one "
                        "%(mode)s tax of that rate (Mirakl shop > Taxes)",
                        code=tax.code,
                        rate=tax.rate,
                        mode=_("price-included") if included else _("price-excluded"),
                    ),
                )
        elif tax.rate is None:
            result = (
                None,
                _(
                    "tax %(code)s has no rate on Mirakl: map it (Mirakl shop > Taxes)",
                    code=tax.code,
                ),
            )
        else:
            result = self._mirakl_tax_by_rate(tax.code, tax.rate, included, cache)
        cache["taxes"][key] = result
        return result

    def _mirakl_tax_by_rate(self, code, rate, included, cache):
        key = ("rate", float(rate), included)
        if key in cache["taxes"]:
            return cache["taxes"][key]
        candidates = self.env["account.tax"].search(
            [
                *self.env["account.tax"]._check_company_domain(self.company_id),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
                ("amount", "=", float(rate)),
            ]
        )
        candidates = candidates.filtered(
            lambda t: t.price_include == included and t.company_id == self.company_id
        )
        mode = _("price-included") if included else _("price-excluded")
        if len(candidates) == 1:
            result = (candidates, None)
        elif not candidates:
            result = (
                None,
                _(
                    "no %(mode)s sale tax of %(rate)s%% for Mirakl tax %(code)s: "
                    "create one or map the code (Mirakl shop > Taxes)",
                    mode=mode,
                    rate=rate,
                    code=code or "-",
                ),
            )
        else:
            result = (
                None,
                _(
                    "Mirakl tax %(code)s at %(rate)s%% matches several %(mode)s sale "
                    "taxes (%(names)s): map the code (Mirakl shop > Taxes)",
                    code=code or "-",
                    rate=rate,
                    mode=mode,
                    names=", ".join(candidates.mapped("name")),
                ),
            )
        cache["taxes"][key] = result
        return result

    def _mirakl_register_shipping_type(self, code, label):
        """A shipping type met in an order but not yet known: list it, unmapped."""
        ShippingType = self.env["mirakl.shipping.type"].sudo()
        existing = ShippingType.with_context(active_test=False).search(
            [("backend_id", "=", self.id), ("code", "=", code or "")], limit=1
        )
        return existing or ShippingType.create(
            {"backend_id": self.id, "code": code or "", "label": label or code or ""}
        )

    def _mirakl_get_pricelist(self, currency):
        if self.pricelist_id and self.pricelist_id.currency_id == currency:
            return self.pricelist_id
        Pricelist = self.env["product.pricelist"]
        pricelist = Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", [False, self.company_id.id]),
            ],
            limit=1,
        )
        return pricelist or Pricelist.sudo().create(
            {
                "name": "Mirakl %s" % currency.name,
                "currency_id": currency.id,
                "company_id": self.company_id.id,
            }
        )

    def _mirakl_address_warnings(self, order):
        """Missing address data or unknown countries (once Mirakl shows them)."""
        warnings = []
        for label, address in (
            (_("delivery address"), order.shipping_address),
            (_("invoice address"), order.billing_address),
        ):
            if address is None:
                if order.state not in mappers.PRE_ACCEPTANCE_STATES:
                    warnings.append(_("no %(what)s on Mirakl", what=label))
                continue
            missing = [
                name
                for name in ("lastname", "street_1", "city")
                if not getattr(address, name)
            ]
            if not address.country_iso_code and not address.country:
                missing.append("country_iso_code")
            if missing:
                warnings.append(
                    _(
                        "%(what)s lacks %(fields)s",
                        what=label,
                        fields=", ".join(missing),
                    )
                )
            given = address.country_iso_code or address.country
            if given and not self._mirakl_address_country(address)[0]:
                warnings.append(
                    _(
                        "%(what)s: unknown country %(code)s",
                        what=label,
                        code=given,
                    )
                )
        return warnings

    def _mirakl_address_country(self, address):
        """``(country, from its name)`` of a Mirakl address.

        The alpha-3 ``country_iso_code`` when Mirakl sends it; otherwise the
        country's name (``country``, as older payloads carry), matched with
        Odoo's country names in English and in the shop's marketplace
        language; None when neither gives one country.
        """
        if address.country_iso_code:
            return self._mirakl_country(address.country_iso_code), False
        if not address.country:
            return None, False
        country = self._mirakl_country(address.country)
        Country = self.env["res.country"]
        for lang in dict.fromkeys(("en_US", self.marketplace_lang or "en_US")):
            if country:
                break
            found = Country.with_context(lang=lang).search(
                [("name", "=ilike", address.country)], limit=2
            )
            country = found if len(found) == 1 else None
        return country or None, bool(country)

    def _mirakl_order_notes(self, order):
        """What the Sales Order should say about how Mirakl's data was read:
        texts cleaned, countries found from their names."""
        notes = list(order.notes)
        for label, address in (
            (_("delivery address"), order.shipping_address),
            (_("invoice address"), order.billing_address),
        ):
            if address is None:
                continue
            country, from_name = self._mirakl_address_country(address)
            if from_name:
                notes.append(
                    _(
                        "%(what)s: no country_iso_code, country %(name)s read as "
                        "%(country)s",
                        what=label,
                        name=address.country,
                        country=country.name,
                    )
                )
        return notes

    def _mirakl_post_notes(self, sale, order):
        notes = self._mirakl_order_notes(order)
        if notes:
            sale.message_post(
                body=_(
                    "Mirakl data read with corrections: %(notes)s.",
                    notes="; ".join(notes),
                )
            )

    def _mirakl_record_warnings(self, sale, order, warnings):
        Issue = self.env["mirakl.sync.issue"]
        if warnings:
            Issue._mirakl_record(
                self,
                "OR11",
                _(
                    "Mirakl order %(order)s: %(problems)s. It is kept from the "
                    "warehouse until the address is complete.",
                    order=order.order_id,
                    problems="; ".join(warnings),
                ),
                category="data",
                record=sale,
                mirakl_ref=order.order_id,
            )
        else:
            Issue._mirakl_resolve(self, "OR11", record=sale, mirakl_ref=order.order_id)

    @tools.ormcache("code")
    def _mirakl_country_id(self, code):
        code2 = alpha2(code)
        if not code2:
            return False
        country = self.env["res.country"].search([("code", "=", code2)], limit=1)
        return country.id or False

    def _mirakl_country(self, code):
        country_id = self._mirakl_country_id(code)
        return self.env["res.country"].browse(country_id) if country_id else None

    # === BUSINESS METHODS: building the Sales Order === #

    def _mirakl_prepare_order_state_vals(self, order, sale=None):
        vals = {
            "mirakl_digest": order.digest,
            "mirakl_state": order.state,
            "mirakl_state_reason": order.state_reason_label or order.state_reason_code,
            "mirakl_last_updated": order.last_updated,
            "mirakl_synced_at": fields.Datetime.now(),
            "mirakl_raw": order.raw_json,
            "mirakl_shipping_deadline": order.shipping_deadline,
        }
        # Mirakl's shipping deadline schedules the delivery (its deadline);
        # written only when it moves (Odoo then moves the deliveries).
        if order.shipping_deadline and (
            sale is None or sale.commitment_date != order.shipping_deadline
        ):
            vals["commitment_date"] = order.shipping_deadline
        return vals

    def _mirakl_prepare_partner_vals(self, order, sale=None, cache=None):
        """Customer, invoice and delivery contacts of the order.

        ``cache`` remembers them per Mirakl customer JSON for the orders of a
        page (only once the order that found or created them is stored).
        """
        key = json.dumps(order.raw.get("customer"), sort_keys=True, default=str)
        known = cache and cache["partners"].get(key)
        if known:
            vals = dict(known)
        else:
            Partner = self.env["res.partner"]
            customer = Partner._mirakl_get_customer(self, order)
            invoice = Partner._mirakl_get_address(
                self, customer, order.billing_address, "invoice"
            )
            delivery = Partner._mirakl_get_address(
                self, customer, order.shipping_address, "delivery"
            )
            vals = {
                "partner_id": customer.id,
                "partner_invoice_id": invoice.id,
                "partner_shipping_id": delivery.id,
            }
            if cache is not None:
                cache["partners_pending"][key] = dict(vals)
        if sale:
            vals = {k: v for k, v in vals.items() if sale[k].id != v}
        return vals

    def _mirakl_prepare_line_mirakl_vals(self, mline):
        fee, vat = mline.live_commission
        return {
            "mirakl_line_state": mline.state,
            "mirakl_quantity": mline.quantity,
            "mirakl_cancelled_qty": mline.cancelled_quantity,
            "mirakl_price": float(mline.live_price),
            "mirakl_tax_amount": float(
                sum((t.amount for t in mline.live_taxes), mappers.ZERO)
            ),
            "mirakl_commission_fee": float(fee),
            "mirakl_commission_vat": float(vat),
            "mirakl_commission_total": float(fee + vat),
        }

    def _mirakl_prepare_line_vals(self, mline, product, taxes):
        vals = self._mirakl_prepare_line_mirakl_vals(mline)
        quantity = mline.live_quantity
        decision = False
        if mline.state == "REFUSED":
            decision = "refuse"
        elif mline.state not in mappers.PRE_ACCEPTANCE_STATES:
            decision = "accept"
        vals.update(
            {
                "product_id": product.id,
                "product_uom_qty": quantity,
                "price_unit": float(mline.price_unit),
                "tax_id": [Command.set(taxes.ids)],
                "mirakl_line_id": mline.line_id,
                "mirakl_offer_sku": mline.sku,
                "mirakl_decision": decision,
                "sequence": mline.index or 10,
            }
        )
        return vals

    def _mirakl_shipping_groups(self, order, resolved):
        """Shipping of the live lines, summed per set of Odoo taxes."""
        groups = {}
        for mline in order.lines:
            taxes = resolved["shipping_taxes"].get(mline.line_id)
            if taxes is None:
                continue
            amount = mline.live_shipping if not mline.dead else mappers.ZERO
            if not mline.shipping_price and not amount:
                continue
            key = ",".join(str(i) for i in sorted(taxes.ids)) or "none"
            total, _taxes = groups.get(key, (mappers.ZERO, taxes))
            groups[key] = (total + amount, taxes)
        return groups

    def _mirakl_shipping_line_vals(self, order, carrier, key, amount, taxes, sequence):
        label = order.shipping_type_label or order.shipping_type_code
        return {
            "product_id": carrier.product_id.id,
            "name": _("Shipping: %(label)s", label=label),
            "product_uom_qty": 1,
            "price_unit": float(amount),
            "tax_id": [Command.set(taxes.ids)],
            "is_delivery": True,
            "mirakl_shipping_key": key,
            "sequence": sequence,
        }

    def _mirakl_prepare_sale_order_vals(self, order, resolved, cache=None):
        lines = []
        for mline in order.lines:
            product = resolved["products"][mline.line_id]
            taxes = resolved["taxes"][mline.line_id]
            lines.append(
                Command.create(self._mirakl_prepare_line_vals(mline, product, taxes))
            )
        carrier = resolved["carrier"]
        sequence = max((m.index or 0 for m in order.lines), default=0) + 100
        for key, (amount, taxes) in self._mirakl_shipping_groups(
            order, resolved
        ).items():
            lines.append(
                Command.create(
                    self._mirakl_shipping_line_vals(
                        order, carrier, key, amount, taxes, sequence
                    )
                )
            )
        vals = {
            "mirakl_backend_id": self.id,
            "mirakl_order_id": order.order_id,
            "mirakl_commercial_id": order.commercial_id,
            "mirakl_created_date": order.created,
            "mirakl_tax_mode": order.tax_mode,
            "mirakl_acceptance_deadline": mappers.acceptance_deadline(
                order, self.acceptance_window_hours
            ),
            "mirakl_acceptance": False,
            "client_order_ref": order.commercial_id,
            "origin": order.order_id,
            "company_id": self.company_id.id,
            "pricelist_id": resolved["pricelist"].id,
            "currency_id": resolved["pricelist"].currency_id.id,
            "fiscal_position_id": self.fiscal_position_id.id,
            "carrier_id": carrier.id,
            "date_order": order.created,
            "order_line": lines,
        }
        vals["mirakl_total_price"] = float(order.expected_amount_total())
        vals["mirakl_tax_total"] = float(order.live_tax_total())
        if self.warehouse_id:
            vals["warehouse_id"] = self.warehouse_id.id
        if self.team_id:
            vals["team_id"] = self.team_id.id
        if self.user_id:
            vals["user_id"] = self.user_id.id
        vals.update(self._mirakl_prepare_partner_vals(order, cache=cache))
        vals.update(self._mirakl_prepare_order_state_vals(order))
        return vals

    def _mirakl_update_shipping_lines(self, sale, order, cache):
        """Keep shipping lines equal to Mirakl's live shipping charges."""
        shipping_lines = sale.order_line.filtered("mirakl_shipping_key")
        if not shipping_lines:
            return
        resolved = {"shipping_taxes": {}}
        products = {
            line.mirakl_line_id: line.product_id
            for line in sale.order_line
            if line.mirakl_line_id
        }
        for mline in order.lines:
            product = products.get(mline.line_id)
            if not product:
                continue
            goods_taxes, problem = self._mirakl_map_taxes(
                mline.taxes, order.tax_mode, product, cache
            )
            if problem:
                return
            taxes, problem = self._mirakl_map_shipping_taxes(
                mline, order.tax_mode, goods_taxes, cache
            )
            if problem:
                return
            resolved["shipping_taxes"][mline.line_id] = taxes
        groups = self._mirakl_shipping_groups(order, resolved)
        for line in shipping_lines:
            amount = groups.get(line.mirakl_shipping_key, (mappers.ZERO, None))[0]
            if sale.currency_id.compare_amounts(line.price_unit, float(amount)):
                line.write({"price_unit": float(amount)})

    # === BUSINESS METHODS: acceptance, references, deadlines === #

    def _mirakl_partial_acceptance_allowed(self):
        self.ensure_one()
        return self._mirakl_switch(
            self.partial_acceptance, self.platform_partial_acceptance
        )

    def _mirakl_send_pending_decisions(self, stats, stock_budget):
        """Decide and send what earlier runs could not (failures, fixed stock)."""
        now = fields.Datetime.now()
        orders = self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", self.id),
                ("mirakl_state", "in", list(mappers.PRE_ACCEPTANCE_STATES)),
                ("mirakl_acceptance", "in", ("pending", "to_send", False)),
                ("state", "in", ("draft", "sent")),
            ],
            order="mirakl_acceptance_deadline, id",
        )
        for sale in orders:
            if (
                sale.mirakl_acceptance_deadline
                and sale.mirakl_acceptance_deadline <= now
            ):
                continue  # lost: reported by _mirakl_check_deadlines
            if self._mirakl_out_of_time():
                stats["stopped"] = True
                break
            done, sent = self._mirakl_unit(
                lambda sale=sale: self._mirakl_retry_decision(sale, stock_budget),
                "the decision on %s" % sale.mirakl_order_id,
            )
            if done and sent:
                stats[sent] += 1

    def _mirakl_retry_decision(self, sale, stock_budget):
        """Decide again (unless a person decides) and send; returns the stats
        key to count, or None when nothing went to Mirakl."""
        if sale.mirakl_acceptance in (False, "pending") and (
            self.acceptance_policy != "manual"
        ):
            sale.mirakl_acceptance = False
            sale.order_line.filtered(
                lambda line: line.mirakl_line_state == mappers.WAITING_ACCEPTANCE
            ).mirakl_decision = False
            sale._mirakl_decide(stock_budget)
        if sale.mirakl_acceptance == "to_send" and sale._mirakl_send_decision():
            return "accepted" if sale.mirakl_acceptance == "accepted" else "refused"
        return None

    def _mirakl_release_paid_orders(self, stats):
        """Release paid orders held back earlier (an address fixed since)."""
        orders = self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", self.id),
                ("mirakl_state", "=", "SHIPPING"),
                ("state", "in", ("draft", "sent")),
            ]
        )
        for sale in orders:
            if self._mirakl_out_of_time():
                stats["stopped"] = True
                break
            done, released = self._mirakl_unit(
                sale._mirakl_release, "the release of %s" % sale.mirakl_order_id
            )
            if done and released:
                stats["released"] += 1

    def _mirakl_send_seller_references(self, orders=None, max_retries=None):
        """OR04: write each Sales Order's number to Mirakl as the seller's reference."""
        self.ensure_one()
        if orders is None:
            orders = self.env["sale.order"].search(
                [
                    ("mirakl_backend_id", "=", self.id),
                    ("mirakl_seller_ref_pending", "=", True),
                    ("state", "!=", "cancel"),
                    ("mirakl_state", "not in", list(mappers.CLOSED_STATES)),
                ],
                limit=1000,
            )
        if not orders:
            return orders
        references = {so.mirakl_order_id: so.name for so in orders}
        ok, result = self._mirakl_call(
            "OR04",
            lambda client: client.update_seller_references(references),
            max_retries=max_retries,
        )
        if not ok:
            return orders.browse()
        Issue = self.env["mirakl.sync.issue"]
        sent = orders.browse()
        for so in orders:
            errors = result.get(so.mirakl_order_id) or []
            if errors:
                Issue._mirakl_record(
                    self,
                    "OR04",
                    _(
                        "Mirakl did not store %(name)s as the seller reference of "
                        "%(order)s: %(errors)s",
                        name=so.name,
                        order=so.mirakl_order_id,
                        errors="; ".join(
                            "%s %s" % (e.get("code") or "", e.get("message") or "")
                            for e in errors
                        ),
                    ),
                    category="validation",
                    record=so,
                    mirakl_ref=so.mirakl_order_id,
                )
                continue
            # One order at a time: another transaction writing an order
            # (its delivery validated, its invoice posted) only leaves its
            # reference pending, sent again by the next cycle (OR04 repeats
            # harmlessly).
            done, _result = self._mirakl_unit(
                lambda so=so: so.write({"mirakl_seller_ref_sent": so.name}),
                "the seller reference of %s" % so.mirakl_order_id,
            )
            if done:
                sent |= so
        open_issues = Issue.search(
            [
                ("backend_id", "=", self.id),
                ("operation", "=", "OR04"),
                ("state", "=", "open"),
                ("res_model", "=", "sale.order"),
                ("res_id", "in", sent.ids),
            ]
        )
        if open_issues:
            open_issues._mirakl_close(_("Resolved by a later successful call"))
        return sent

    def _mirakl_check_deadlines(self):
        """Escalate orders close to the end of their window; report lost ones."""
        now = fields.Datetime.now()
        Issue = self.env["mirakl.sync.issue"]
        escalate_from = now + timedelta(hours=self.acceptance_escalation_hours)
        # Orders with a Sales Order still not accepted.
        waiting = self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", self.id),
                ("mirakl_state", "in", list(mappers.PRE_ACCEPTANCE_STATES)),
                ("mirakl_acceptance", "in", ("pending", "to_send", False)),
                ("state", "in", ("draft", "sent")),
                ("mirakl_acceptance_deadline", "<=", escalate_from),
            ]
        )
        for sale in waiting:
            if sale.mirakl_acceptance_deadline <= now:
                sale.mirakl_acceptance = "expired"
                Issue._mirakl_record(
                    self,
                    "OR21",
                    _(
                        "Order %(order)s is lost: it was not accepted before "
                        "%(deadline)s (UTC), the end of the marketplace's window. "
                        "It is no longer retried.",
                        order=sale.mirakl_order_id,
                        deadline=sale.mirakl_acceptance_deadline,
                    ),
                    category="lost",
                    record=sale,
                    mirakl_ref=sale.mirakl_order_id,
                    deadline=sale.mirakl_acceptance_deadline,
                )._mirakl_escalate()
                sale.message_post(
                    body=_("Lost: not accepted within the marketplace's window.")
                )
                continue
            issue = Issue._mirakl_record(
                self,
                "OR21",
                _(
                    "Order %(order)s is still not accepted and the marketplace "
                    "refuses it at %(deadline)s (UTC).",
                    order=sale.mirakl_order_id,
                    deadline=sale.mirakl_acceptance_deadline,
                ),
                category="deadline",
                record=sale,
                mirakl_ref=sale.mirakl_order_id,
                deadline=sale.mirakl_acceptance_deadline,
                bump=False,
            )
            issue._mirakl_escalate()
        # Orders held back by a validation issue, with no Sales Order yet.
        held = Issue.search(
            [
                ("backend_id", "=", self.id),
                ("state", "=", "open"),
                ("deadline", "!=", False),
                ("deadline", "<=", escalate_from),
                ("res_id", "in", [0, False]),
            ]
        )
        for issue in held:
            if issue.deadline <= now:
                issue._mirakl_mark_lost(issue.deadline)
            issue._mirakl_escalate()

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
