"""Catalogue and stock: SKU checks, quantities, stock files, offers, drift.

Same model as ``mirakl_backend.py`` (``mirakl.backend``).

Everything works on the shop's offers in chunks of ``CHUNK_SIZE`` offers
(keyset on the offer id), with three queries per chunk: the offers with their
products, the free quantities of their products in the shop's warehouses, and
the quantities of accepted Mirakl orders not yet released (no picking yet, so
no reservation). Memory is bounded by the chunk and the file size, not by the
catalogue, and Mirakl gets one call per file (STO01) or batch (OF24).

A quantity counts as pushed only when Mirakl reports the import complete and
its error report does not name the SKU (STO02/STO03, OF02/OF03): incremental
pushes compare with that, so a rejected line is sent again once it changes,
and a lost file is sent again at the next run.
"""

import hashlib
import json
import logging
import math
from collections import defaultdict, namedtuple
from datetime import timedelta

from odoo import _, api, fields, models

from ...lib.offers import build_stock_file, parse_error_report
from .mirakl_offer_import import FINISHED_STATUSES

_logger = logging.getLogger(__name__)

# Advisory lock class of the per-shop stock and offer lock ("MIRS").
STOCK_LOCK_CLASS = 0x4D495253
CHUNK_SIZE = 5000
# Per-offer sync issues filed for one import at most; the rest is summed up in
# one issue on the import (every offer still shows its own error).
MAX_OFFER_ISSUES = 100
# An import Mirakl still reports nothing final about after this long is given
# up: its lines are sent again by the next push.
IMPORT_GIVE_UP_HOURS = 24

StockRow = namedtuple(
    "StockRow",
    "offer_id product_id sku quantity blocked push_state pushed_quantity "
    "pending_quantity held",
    defaults=(False,),
)


def _needs_push(row):
    """Whether an incremental push must send this row."""
    if row.push_state in ("pending", "error"):
        return row.quantity != row.pending_quantity
    if row.push_state == "done":
        return row.quantity != row.pushed_quantity
    return True


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    offer_ids = fields.One2many("mirakl.offer", "backend_id")
    offer_count = fields.Integer(string="Offers", compute="_compute_offer_count")
    offer_import_ids = fields.One2many("mirakl.offer.import", "backend_id")
    # --- Stock settings ---
    stock_push_enabled = fields.Boolean(
        string="Push stock",
        default=True,
        tracking=True,
        help="Send the offers' quantities to Mirakl on this shop's schedule "
        "(changes only) and every day (all offers).",
    )
    stock_push_interval = fields.Integer(
        string="Push changes every (minutes)",
        default=15,
        help="Mirakl recommends a stock file every 5 minutes when stock changes "
        "and allows at most one a minute.",
    )
    stock_cron_id = fields.Many2one(
        "ir.cron", string="Stock push job", readonly=True, copy=False
    )
    stock_warehouse_ids = fields.Many2many(
        "stock.warehouse",
        "mirakl_backend_stock_warehouse_rel",
        "backend_id",
        "warehouse_id",
        string="Stock from",
        check_company=True,
        help="Warehouses whose free stock is offered. Empty: the shop's "
        "warehouse, else every warehouse of the company.",
    )
    stock_buffer = fields.Float(
        string="Safety buffer",
        digits="Product Unit of Measure",
        help="Quantity of every variant kept back from Mirakl (an offer can "
        "have its own).",
    )
    stock_max_quantity = fields.Integer(
        string="Cap",
        help="Never offer more than this quantity of a variant (0: no cap).",
    )
    stock_untracked_quantity = fields.Integer(
        string="Quantity of untracked products",
        help="Quantity offered for products whose stock Odoo does not track "
        "(not storable).",
    )
    stock_file_size = fields.Integer(
        string="Lines per stock file",
        default=10000,
        help="A push sends one STO01 file per this many offers.",
    )
    stock_last_push_date = fields.Datetime(
        string="Last stock push", readonly=True, copy=False
    )
    stock_last_push_summary = fields.Char(
        string="Last stock push result", readonly=True, copy=False
    )
    stock_last_full_push_date = fields.Datetime(
        string="Last full stock push", readonly=True, copy=False
    )
    stock_last_success_date = fields.Datetime(
        string="Last successful stock push",
        readonly=True,
        copy=False,
        help="The last push (changes or all) that Mirakl took without refusing a file.",
    )
    # --- Offer settings ---
    offer_export_enabled = fields.Boolean(
        string="Send offers",
        default=False,
        tracking=True,
        help="Create and update the offers on Mirakl (OF24) every hour, when "
        "their price or data changed. OF24 replaces the whole offer: leave "
        "this off if offers are managed in Mirakl's back office.",
    )
    offer_pricelist_id = fields.Many2one(
        "product.pricelist",
        string="Offer pricelist",
        check_company=True,
        help="Price source of the offers (in the shop's currency; prices as "
        "the customer pays them on a TAX_INCLUDED platform). Empty: the "
        "products' sales price.",
    )
    offer_state_code = fields.Char(
        string="Offer condition",
        default="11",
        help="OF24 state_code of new offers: the platform's code for the "
        "condition (OF61); 11 is 'New' on most platforms.",
    )
    offer_product_id_type = fields.Char(
        string="Product ID type",
        default="EAN",
        help="OF24 product_id_type: how the operator identifies products (the "
        "values are the operator's, ask it; EAN is common).",
    )
    offer_product_id_source = fields.Selection(
        [("barcode", "Barcode"), ("default_code", "Internal reference")],
        string="Product ID from",
        default="barcode",
        required=True,
    )
    offer_leadtime_to_ship = fields.Integer(
        string="Lead time to ship (days)",
        help="Sent with every offer when set (0: the platform's default).",
    )
    offer_batch_size = fields.Integer(
        string="Offers per call",
        default=1000,
        help="Offers sent per OF24 call (Mirakl publishes no limit).",
    )
    offer_last_export_date = fields.Datetime(
        string="Last offer send", readonly=True, copy=False
    )
    offer_last_success_date = fields.Datetime(
        string="Last successful offer send",
        readonly=True,
        copy=False,
        help="The last offer send that Mirakl took without refusing a call.",
    )
    drift_last_check_date = fields.Datetime(
        string="Stock compared on", readonly=True, copy=False
    )
    drift_summary = fields.Char(string="Stock comparison", readonly=True, copy=False)

    _sql_constraints = [
        (
            "stock_push_interval_min",
            "CHECK(stock_push_interval >= 1)",
            "Mirakl allows a stock file at most once a minute.",
        ),
        (
            "stock_file_size_positive",
            "CHECK(stock_file_size > 0)",
            "A stock file holds at least one line.",
        ),
        (
            "offer_batch_size_positive",
            "CHECK(offer_batch_size > 0)",
            "An offer call holds at least one offer.",
        ),
    ]

    def _compute_offer_count(self):
        groups = self.env["mirakl.offer"]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
        )
        counts = {backend.id: count for backend, count in groups}
        for backend in self:
            backend.offer_count = counts.get(backend.id, 0)

    def _mirakl_shop_crons(self):
        return super()._mirakl_shop_crons() + [
            (
                "stock_cron_id",
                "Mirakl: push stock changes of %s",
                "_cron_mirakl_push_stock",
                "stock_push_interval",
                "stock_push_enabled",
            )
        ]

    # === ACTION METHODS === #

    def action_push_stock(self, full=False):
        """One stock push per shop, now: changed quantities, or all with ``full``.

        Sends the files and asks Mirakl once for each import's status; what is
        not finished yet is followed by the next push (or Check imports).
        """
        results = [
            backend._mirakl_push_stock(full=full)
            for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Stock push"), results)

    def action_push_stock_full(self):
        return self.action_push_stock(full=True)

    def action_export_offers(self, full=False):
        """Send the offers whose data changed (all with ``full``) with OF24."""
        results = [
            backend._mirakl_export_offers(full=full)
            for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Offer export"), results)

    def action_export_offers_full(self):
        return self.action_export_offers(full=True)

    def action_check_imports(self):
        for backend in self._mirakl_as_operator():
            backend._mirakl_check_imports()
        return self._mirakl_notification(
            _("Mirakl"), _("Import statuses read."), "success"
        )

    def action_check_drift(self):
        """Compare Mirakl's quantities (OF21) with what Odoo would push."""
        results = [
            backend._mirakl_check_drift() for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Stock comparison"), results)

    def action_check_skus(self):
        self._mirakl_as_operator()._mirakl_check_skus()
        return self.action_open_offers()

    def action_open_offers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Offers"),
            "res_model": "mirakl.offer",
            "view_mode": "list,form",
            "domain": [("backend_id", "=", self.id)],
            "context": {"default_backend_id": self.id},
        }

    def action_open_offer_imports(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Stock and offer imports"),
            "res_model": "mirakl.offer.import",
            "view_mode": "list,form",
            "domain": [("backend_id", "=", self.id)],
        }

    def _mirakl_result_notification(self, title, results):
        ok = all(result["ok"] for result in results)
        return self._mirakl_notification(
            title,
            "\n".join(result["message"] for result in results),
            "success" if ok else "danger",
            sticky=not ok,
        )

    # === CRON METHODS === #

    @api.model
    def _cron_mirakl_push_stock(self, backend_id=None):
        """Per-shop job: push the quantities that changed."""
        domain = [("stock_push_enabled", "=", True)]
        if backend_id:
            domain.append(("id", "=", backend_id))
        self.search(domain)._mirakl_cron_each(
            "STO01", lambda backend: backend._mirakl_push_stock()
        )

    @api.model
    def _cron_mirakl_stock_daily(self):
        """Daily: compare with Mirakl (OF21), then push every quantity."""
        shops = self.search([("stock_push_enabled", "=", True)])
        shops._mirakl_cron_each(
            "OF21", lambda backend: backend._mirakl_check_drift(), retry_soon=True
        )
        shops._mirakl_cron_each(
            "STO01",
            lambda backend: backend._mirakl_push_stock(full=True),
            retry_soon=True,
        )

    @api.model
    def _cron_mirakl_export_offers(self):
        """Hourly: send the offers whose price or data changed (OF24)."""
        self.search([("offer_export_enabled", "=", True)])._mirakl_cron_each(
            "OF24", lambda backend: backend._mirakl_export_offers()
        )

    # === BUSINESS METHODS: quantities === #

    def _mirakl_stock_warehouses(self):
        """The warehouses whose stock is offered: the shop's selection, else
        its order warehouse, else every warehouse of the company."""
        self.ensure_one()
        return (
            self.stock_warehouse_ids
            or self.warehouse_id
            or self.env["stock.warehouse"]
            .sudo()
            .search([("company_id", "=", self.company_id.id)])
        )

    def _mirakl_free_quantities(self, product_ids, warehouses):
        """Free quantity (on hand less reserved) per product, in the product's
        unit, in the warehouses' internal locations: one query."""
        paths = [
            path + "%" for path in warehouses.view_location_id.mapped("parent_path")
        ]
        if not product_ids or not paths:
            return {}
        self.env.cr.execute(
            """
            SELECT q.product_id, SUM(q.quantity - q.reserved_quantity)
              FROM stock_quant q
              JOIN stock_location l ON l.id = q.location_id
             WHERE q.product_id = ANY(%s)
               AND l.usage = 'internal'
               AND l.parent_path LIKE ANY(%s)
             GROUP BY q.product_id
            """,
            (list(product_ids), paths),
        )
        return dict(self.env.cr.fetchall())

    def _mirakl_unreleased_quantities(self, product_ids, warehouses):
        """Quantities of accepted Mirakl orders (any shop) shipping from these
        warehouses but not confirmed yet: no picking reserves them, yet the
        marketplace has already taken them off the offer. One query."""
        self.ensure_one()
        if not product_ids:
            return {}
        self.env.cr.execute(
            """
            SELECT sol.product_id,
                   SUM(sol.product_uom_qty / lu.factor * pu.factor)
              FROM sale_order_line sol
              JOIN sale_order so ON so.id = sol.order_id
              JOIN product_product pp ON pp.id = sol.product_id
              JOIN product_template pt ON pt.id = pp.product_tmpl_id
              JOIN uom_uom lu ON lu.id = sol.product_uom
              JOIN uom_uom pu ON pu.id = pt.uom_id
             WHERE sol.product_id = ANY(%s)
               AND so.mirakl_backend_id IS NOT NULL
               AND so.mirakl_acceptance IN ('accepted', 'to_send')
               AND so.state IN ('draft', 'sent')
               AND sol.mirakl_decision = 'accept'
               AND so.company_id = %s
               AND (so.warehouse_id IS NULL OR so.warehouse_id = ANY(%s))
             GROUP BY sol.product_id
            """,
            (list(product_ids), self.company_id.id, warehouses.ids),
        )
        return dict(self.env.cr.fetchall())

    def _mirakl_net_free_stock(self, product_ids, warehouses):
        """{product id: free quantity less unreleased Mirakl orders}: the one
        rule of both the stock pushes and the acceptance policy."""
        free = self._mirakl_free_quantities(product_ids, warehouses)
        unreleased = self._mirakl_unreleased_quantities(product_ids, warehouses)
        return {
            product_id: (free.get(product_id) or 0.0)
            - (unreleased.get(product_id) or 0.0)
            for product_id in product_ids
        }

    def _mirakl_free_stock(self, products):
        """Free quantity per product for the acceptance policy."""
        return self._mirakl_net_free_stock(
            products.ids, self._mirakl_stock_warehouses()
        )

    def _mirakl_flush_stock_data(self):
        for model in (
            "mirakl.offer",
            "stock.quant",
            "sale.order",
            "sale.order.line",
            "product.product",
            "product.template",
        ):
            self.env[model].flush_model()

    def _mirakl_stock_chunks(self, offer_ids=None, chunk_size=CHUNK_SIZE):
        """Yield lists of ``StockRow``, one per active offer of the shop.

        ``quantity`` is what Mirakl should show: free quantity less unreleased
        Mirakl orders less the safety buffer, rounded down, never below zero,
        capped; 0 for archived or unsaleable products; the shop's untracked
        quantity for products whose stock is not tracked. ``blocked``: the
        offer's SKU is missing or shared. ``held``: the shop sends products
        and Mirakl has not created this offer's product yet (see
        ``mirakl_backend_catalogue``): neither its stock nor its offer goes.
        """
        self.ensure_one()
        self._mirakl_flush_stock_data()
        cr = self.env.cr
        shop_cap = self.stock_max_quantity
        shop_buffer = self.stock_buffer
        sends_products = self.product_export_enabled
        warehouses = self._mirakl_stock_warehouses()
        last_id = 0
        while True:
            cr.execute(
                """
                SELECT o.id, o.product_id, o.shop_sku, o.sku_state,
                       o.override_buffer, o.stock_buffer, o.max_quantity,
                       o.push_state, o.pushed_quantity, o.pending_quantity,
                       pp.active AND pt.active AND pt.sale_ok, pt.is_storable,
                       NOT COALESCE(o.product_external, FALSE)
                           AND o.product_state IS DISTINCT FROM 'done'
                  FROM mirakl_offer o
                  JOIN product_product pp ON pp.id = o.product_id
                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                 WHERE o.backend_id = %s AND o.active AND o.id > %s
                   AND (%s::int[] IS NULL OR o.id = ANY(%s::int[]))
                 ORDER BY o.id
                 LIMIT %s
                """,
                (self.id, last_id, offer_ids, offer_ids, chunk_size),
            )
            offers = cr.fetchall()
            if not offers:
                return
            net_free = self._mirakl_net_free_stock(
                {row[1] for row in offers}, warehouses
            )
            chunk = []
            for (
                offer_id,
                product_id,
                sku,
                sku_state,
                override_buffer,
                buffer,
                cap,
                push_state,
                pushed,
                pending,
                saleable,
                storable,
                product_missing,
            ) in offers:
                if not saleable:
                    quantity = 0
                elif not storable:
                    quantity = self.stock_untracked_quantity
                else:
                    available = net_free[product_id] - (
                        (buffer or 0.0) if override_buffer else shop_buffer
                    )
                    quantity = math.floor(round(available, 6))
                quantity = max(0, quantity)
                cap = cap or shop_cap
                if cap > 0:
                    quantity = min(quantity, cap)
                chunk.append(
                    StockRow(
                        offer_id,
                        product_id,
                        sku,
                        quantity,
                        sku_state != "ok" or not sku,
                        push_state,
                        pushed or 0,
                        pending or 0,
                        sends_products and product_missing,
                    )
                )
            yield chunk
            last_id = offers[-1][0]

    # === BUSINESS METHODS: SKU check === #

    def _mirakl_check_skus(self):
        """Flag active offers whose SKU is missing or shared within the shop.

        Each shared SKU gets one sync issue naming the products involved, each
        offer without SKU its own (up to ``MAX_OFFER_ISSUES``, then one summary);
        issues of problems that are gone are closed.
        """
        Offer = self.env["mirakl.offer"].sudo()
        cr = self.env.cr
        missing_text = _(
            "No SKU: set the variant's internal reference or an SKU override."
        )
        shared_text = _(
            "SKU %(sku)s is used by %(count)s offers of this shop.",
            sku="%1$s",
            count="%2$s",
        )
        for backend in self:
            Offer.flush_model()
            # In SQL: memory does not grow with the catalogue.
            cr.execute(
                """
                WITH counted AS (
                    SELECT id, shop_sku,
                           count(*) OVER (PARTITION BY shop_sku) AS n
                      FROM mirakl_offer
                     WHERE backend_id = %(backend)s AND active
                ), wanted AS (
                    SELECT id,
                           CASE WHEN shop_sku IS NULL THEN 'missing'
                                WHEN n > 1 THEN 'duplicate'
                                ELSE 'ok' END AS state,
                           CASE WHEN shop_sku IS NULL THEN %(missing)s
                                WHEN n > 1 THEN format(%(shared)s, shop_sku, n)
                           END AS problem
                      FROM counted
                )
                UPDATE mirakl_offer o
                   SET sku_state = w.state, sku_problem = w.problem
                  FROM wanted w
                 WHERE o.id = w.id
                   AND (o.sku_state IS DISTINCT FROM w.state
                        OR o.sku_problem IS DISTINCT FROM w.problem)
                RETURNING o.id
                """,
                {"backend": backend.id, "missing": missing_text, "shared": shared_text},
            )
            if cr.fetchall():
                Offer.invalidate_model(["sku_state", "sku_problem"])
            cr.execute(
                """
                SELECT shop_sku, array_agg(id ORDER BY id)
                  FROM mirakl_offer
                 WHERE backend_id = %s AND active AND shop_sku IS NOT NULL
                 GROUP BY shop_sku
                HAVING count(*) > 1
                """,
                (backend.id,),
            )
            shared = dict(cr.fetchall())
            cr.execute(
                "SELECT id FROM mirakl_offer "
                "WHERE backend_id = %s AND active AND shop_sku IS NULL ORDER BY id",
                (backend.id,),
            )
            missing = [row[0] for row in cr.fetchall()]
            backend._mirakl_file_sku_issues(shared, missing)

    def _mirakl_file_sku_issues(self, shared, missing):
        self.ensure_one()
        Issue = self.env["mirakl.sync.issue"].sudo()
        Offer = self.env["mirakl.offer"].sudo()
        open_issues = Issue.search(
            [
                ("backend_id", "=", self.id),
                ("operation", "=", "SKU"),
                ("state", "=", "open"),
            ]
        )
        current = {}
        listed = sorted(shared.items())[:MAX_OFFER_ISSUES]
        # One prefetch for every offer (and product) named below.
        prefetch = [i for _sku, ids in listed for i in ids] + missing[:MAX_OFFER_ISSUES]
        for sku, ids in listed:
            offers = Offer.browse(ids).with_prefetch(prefetch)
            current[False, 0, sku] = _(
                "SKU %(sku)s is shared by several offers of this shop, so Mirakl "
                "could not tell them apart. Their stock and offers are not sent "
                "until each has its own SKU (internal reference or SKU "
                "override): %(products)s.",
                sku=sku,
                products=", ".join(
                    "%s (id %s)" % (o.product_id.display_name, o.product_id.id)
                    for o in offers
                ),
            )
        for offer in Offer.browse(missing[:MAX_OFFER_ISSUES]).with_prefetch(prefetch):
            current["mirakl.offer", offer.id, False] = _(
                "The offer of %(product)s has no SKU: its stock and offer are not "
                "sent until the variant has an internal reference or the offer "
                "an SKU override.",
                product=offer.product_id.display_name,
            )
        extra = max(0, len(shared) - MAX_OFFER_ISSUES) + max(
            0, len(missing) - MAX_OFFER_ISSUES
        )
        if extra:
            current[False, 0, "SKU check"] = _(
                "%(count)s more SKU problems: filter the offers on 'SKU problem'.",
                count=extra,
            )
        for issue in open_issues:
            key = (issue.res_model or False, issue.res_id or 0, issue.mirakl_ref)
            message = current.pop(key, None)
            if message is None:
                issue._mirakl_close(_("SKU fixed"))
            elif message != issue.message:
                issue.message = message
        for (res_model, res_id, sku), message in current.items():
            Issue._mirakl_record(
                self,
                "SKU",
                message,
                category="data",
                record=self.env[res_model].browse(res_id) if res_model else None,
                mirakl_ref=sku or None,
            )

    # === BUSINESS METHODS: stock push === #

    def _mirakl_stock_locked(self, run, *args):
        """``run(*args)`` under the shop's stock and offer lock: one stock
        push or offer export per shop at a time."""
        self.ensure_one()
        with self._mirakl_session_lock(STOCK_LOCK_CLASS) as locked:
            if locked:
                return run(*args)
        return {
            "ok": False,
            "message": _(
                "%(shop)s: another stock or offer run is in progress; try again "
                "in a moment.",
                shop=self.name,
            ),
        }

    def _mirakl_push_stock(self, full=False, offer_ids=None, force=False):
        """Push quantities with STO01: changed ones, all (``full``), or the
        given offers (``force``: even unchanged). One run per shop at a time.

        :return: ``{"ok", "message", "files", "lines", "blocked"}``
        """
        return self._mirakl_stock_locked(
            self._mirakl_push_stock_locked, full, offer_ids, force
        )

    def _mirakl_push_stock_locked(self, full, offer_ids, force):
        self._mirakl_check_imports()
        self._mirakl_check_skus()
        mode = "manual" if offer_ids else "full" if full else "incremental"
        stats = {"files": 0, "lines": 0, "blocked": 0, "unchanged": 0, "held": 0}
        imports = self.env["mirakl.offer.import"]
        batch = []
        ok = True

        def send():
            nonlocal imports
            sent, record = self._mirakl_send_stock_file(batch, mode)
            if sent:
                imports |= record
                stats["files"] += 1
                stats["lines"] += len(batch)
                batch.clear()
            return sent

        for chunk in self._mirakl_stock_chunks(offer_ids=offer_ids):
            for row in chunk:
                if row.blocked:
                    stats["blocked"] += 1
                elif row.held:
                    stats["held"] += 1
                elif full or force or _needs_push(row):
                    batch.append(row)
                else:
                    stats["unchanged"] += 1
                if len(batch) >= self.stock_file_size:
                    ok = send()
                    if not ok:
                        break
            if not ok:
                break
        if ok and batch:
            ok = send()
        if imports:
            self._mirakl_check_imports(imports.ids)
        message = self._mirakl_stock_push_done(stats, ok, full, offer_ids)
        _logger.info("Mirakl shop %s: stock push (%s): %s", self.id, mode, stats)
        return dict(stats, ok=ok, message=message)

    def _mirakl_stock_push_done(self, stats, ok, full, offer_ids):
        """Record the push on the shop; return its message."""
        now = fields.Datetime.now()
        message = _(
            "%(shop)s: %(lines)s quantities sent in %(files)s files, %(unchanged)s "
            "unchanged, %(blocked)s blocked by an SKU problem.",
            shop=self.name,
            **stats,
        )
        if stats["held"]:
            message = _(
                "%(message)s %(held)s wait until Mirakl created their product.",
                message=message,
                held=stats["held"],
            )
        if not ok:
            message = _(
                "%(message)s The push stopped: Mirakl refused a file (see the "
                "shop's sync issues).",
                message=message,
            )
        vals = {"stock_last_push_date": now, "stock_last_push_summary": message}
        if ok and not offer_ids:
            vals["stock_last_success_date"] = now
        if ok and full and not offer_ids:
            vals["stock_last_full_push_date"] = now
        self._mirakl_write_shop(vals)
        return message

    def _mirakl_send_stock_file(self, rows, mode):
        """STO01 one file; on success record the import and mark its offers
        pending. Returns ``(ok, import record)``."""
        content = build_stock_file((row.sku, row.quantity) for row in rows)
        name = "stock-%s-%s.csv" % (
            self.id,
            fields.Datetime.now().strftime("%Y%m%d%H%M%S"),
        )
        ok, result = self._mirakl_call(
            "STO01", lambda client: client.import_stock(content, filename=name)
        )
        if not ok:
            return False, None
        record = self.env["mirakl.offer.import"]._mirakl_record_sent(
            self, "stock", mode, result, [row.offer_id for row in rows], content, name
        )
        self.env["mirakl.offer"].flush_model()
        self.env.cr.execute(
            """
            UPDATE mirakl_offer o
               SET push_state = 'pending', pending_quantity = v.quantity,
                   pending_import_id = %s
              FROM unnest(%s::int[], %s::int[]) AS v(id, quantity)
             WHERE o.id = v.id
            """,
            (
                record.id,
                [row.offer_id for row in rows],
                [row.quantity for row in rows],
            ),
        )
        self.env["mirakl.offer"].invalidate_model(
            ["push_state", "pending_quantity", "pending_import_id"]
        )
        self._mirakl_commit()
        return True, record

    # === BUSINESS METHODS: import follow-up === #

    def _mirakl_check_imports(self, import_ids=None):
        """Ask Mirakl about this shop's unfinished imports (STO02/OF02) and
        apply the finished ones: accepted quantities and offers, and each
        error-report line as the offer's error and a sync issue."""
        self.ensure_one()
        domain = [("backend_id", "=", self.id), ("state", "=", "sent")]
        if import_ids is not None:
            domain.append(("id", "in", import_ids))
        for record in self.env["mirakl.offer.import"].sudo().search(domain, order="id"):
            self._mirakl_check_import(record)

    def _mirakl_check_import(self, record):
        stock = record.kind == "stock"
        status_op, report_op = ("STO02", "STO03") if stock else ("OF02", "OF03")
        import_id = record.mirakl_import_id
        ok, status = self._mirakl_call(
            status_op,
            lambda client: (
                client.get_stock_import(import_id)
                if stock
                else client.get_offer_import(import_id)
            ),
            record=record,
        )
        if not ok:
            if record.sent_date < fields.Datetime.now() - timedelta(
                hours=IMPORT_GIVE_UP_HOURS
            ):
                self._mirakl_give_up_import(record, self._mirakl_explain(status))
            return False
        mirakl_status = status.get("status")
        vals = {
            "checked_date": fields.Datetime.now(),
            "mirakl_status": mirakl_status,
            "reason_status": status.get("reason_status") or False,
            "lines_in_success": status.get("lines_in_success") or 0,
            "lines_in_error": status.get("lines_in_error") or 0,
        }
        if mirakl_status not in FINISHED_STATUSES:
            record.write(vals)
            return True
        report = []
        if status.get("has_error_report"):
            ok, text = self._mirakl_call(
                report_op,
                lambda client: (
                    client.get_stock_import_error_report(import_id)
                    if stock
                    else client.get_offer_import_error_report(import_id)
                ),
                record=record,
            )
            if not ok:
                record.write(vals)
                return False
            report = parse_error_report(text)
            vals["error_report"] = record._mirakl_encode(text)
            vals["error_report_name"] = "errors-%s.csv" % import_id
        errors = self._mirakl_report_errors(record, report)
        if mirakl_status == "FAILED":
            reason = status.get("reason_status") or _(
                "Mirakl reports the import failed."
            )
            for offer_id in record._mirakl_offer_ids():
                errors.setdefault(offer_id, reason)
        self._mirakl_apply_import(record, errors)
        vals.update(
            state="failed"
            if mirakl_status == "FAILED"
            else "error"
            if errors
            else "done",
            finished_date=fields.Datetime.now(),
        )
        record.write(vals)
        self._mirakl_commit()
        return True

    def _mirakl_give_up_import(self, record, reason):
        """An import Mirakl has not reported on for too long: its lines count
        as rejected, so the next incremental push sends them again."""
        message = _(
            "Mirakl gave no final status for %(name)s within %(hours)s hours "
            "(%(reason)s); its lines will be sent again.",
            name=record.name,
            hours=IMPORT_GIVE_UP_HOURS,
            reason=reason,
        )
        offer_ids = record._mirakl_offer_ids()
        self._mirakl_apply_import(record, dict.fromkeys(offer_ids, message), file=False)
        # No quantity is -1: the next incremental push sends these lines again.
        self.env.cr.execute(
            "UPDATE mirakl_offer SET pending_quantity = -1 "
            "WHERE id = ANY(%s) AND push_state = 'error' AND push_error = %s",
            (offer_ids, message),
        )
        self.env["mirakl.offer"].invalidate_model(["pending_quantity"])
        record.write(
            {
                "state": "failed",
                "reason_status": message,
                "finished_date": fields.Datetime.now(),
            }
        )

    def _mirakl_report_errors(self, record, report):
        """{offer id: message} of an import's error-report lines.

        Stock reports are matched on the SKU; offer reports on ``error-line``
        (the offer's position in the call), then on the SKU.
        """
        offer_ids = record._mirakl_offer_ids()
        Offer = self.env["mirakl.offer"].sudo()
        skus = {offer.shop_sku: offer.id for offer in Offer.browse(offer_ids).exists()}
        errors = {}
        unmatched = []
        for line in report:
            offer_id = None
            if record.kind == "offer" and line.line and 0 < line.line <= len(offer_ids):
                offer_id = offer_ids[line.line - 1]
            if offer_id is None and line.sku:
                offer_id = skus.get(line.sku)
            if offer_id is None:
                unmatched.append(line)
                continue
            errors[offer_id] = (
                "%s; %s" % (errors[offer_id], line.message)
                if offer_id in errors
                else line.message
            )
        if unmatched:
            self.env["mirakl.sync.issue"]._mirakl_record(
                self,
                "STO03" if record.kind == "stock" else "OF03",
                _(
                    "%(count)s error-report lines of %(name)s name no offer that "
                    "was sent: %(lines)s",
                    count=len(unmatched),
                    name=record.name,
                    lines="; ".join(
                        "%s: %s" % (line.sku or line.line, line.message)
                        for line in unmatched[:20]
                    ),
                ),
                category="protocol",
                record=record,
            )
        return errors

    def _mirakl_apply_import(self, record, errors, file=True):
        """Store a finished import's outcome on its offers, file and close the
        offers' sync issues (``file=False``: store only)."""
        cr = self.env.cr
        Offer = self.env["mirakl.offer"].sudo()
        Offer.flush_model()
        now = fields.Datetime.now()
        offer_ids = record._mirakl_offer_ids()
        error_ids = [oid for oid in offer_ids if oid in errors]
        ok_ids = [oid for oid in offer_ids if oid not in errors]
        # The quantity this import carried: accepted unless a later import
        # carries a newer one (then that import decides).
        cr.execute(
            """
            UPDATE mirakl_offer
               SET push_state = 'done', pushed_quantity = pending_quantity,
                   pushed_date = %s, push_error = NULL, pending_import_id = NULL
             WHERE id = ANY(%s) AND pending_import_id = %s
            """,
            (now, ok_ids, record.id),
        )
        cr.execute(
            """
            UPDATE mirakl_offer o
               SET push_state = 'error', push_error = v.message,
                   pending_import_id = NULL
              FROM unnest(%s::int[], %s::text[]) AS v(id, message)
             WHERE o.id = v.id AND o.pending_import_id = %s
            """,
            (error_ids, [errors[oid] for oid in error_ids], record.id),
        )
        if record.kind == "offer":
            cr.execute(
                """
                UPDATE mirakl_offer
                   SET export_state = CASE WHEN active THEN 'done' ELSE 'new' END,
                       export_digest = CASE WHEN active
                                       THEN pending_export_digest END,
                       exported_date = %s, export_error = NULL,
                       export_import_id = NULL
                 WHERE id = ANY(%s) AND export_import_id = %s
                """,
                (now, ok_ids, record.id),
            )
            cr.execute(
                """
                UPDATE mirakl_offer o
                   SET export_state = 'error', export_error = v.message,
                       export_import_id = NULL
                  FROM unnest(%s::int[], %s::text[]) AS v(id, message)
                 WHERE o.id = v.id AND o.export_import_id = %s
                """,
                (error_ids, [errors[oid] for oid in error_ids], record.id),
            )
        Offer.invalidate_model()
        if not file:
            return
        operation = "STO01" if record.kind == "stock" else "OF24"
        Issue = self.env["mirakl.sync.issue"].sudo()
        if ok_ids:
            Issue.search(
                [
                    ("backend_id", "=", self.id),
                    ("operation", "=", operation),
                    ("res_model", "=", "mirakl.offer"),
                    ("res_id", "in", ok_ids),
                    ("state", "=", "open"),
                ]
            )._mirakl_close(_("Accepted by a later import"))
        for offer in Offer.browse(error_ids[:MAX_OFFER_ISSUES]):
            Issue._mirakl_record(
                self,
                operation,
                _(
                    "Mirakl rejected %(what)s of SKU %(sku)s (%(name)s): %(message)s",
                    what=_("the quantity") if operation == "STO01" else _("the offer"),
                    sku=offer.shop_sku,
                    name=record.name,
                    message=errors[offer.id],
                ),
                category="data",
                record=offer,
                mirakl_ref=offer.shop_sku,
            )
        if len(error_ids) > MAX_OFFER_ISSUES:
            Issue._mirakl_record(
                self,
                operation,
                _(
                    "Mirakl rejected %(count)s lines of %(name)s; the first "
                    "%(shown)s have their own issue, every offer shows its error "
                    "(filter the offers on 'Rejected').",
                    count=len(error_ids),
                    name=record.name,
                    shown=MAX_OFFER_ISSUES,
                ),
                category="data",
                record=record,
            )

    # === BUSINESS METHODS: offers (OF24) === #

    def _mirakl_offer_prices(self, offers):
        """{offer id: price} from each offer's pricelist (or the shop's), in
        bulk per pricelist; the products' sales price without one."""
        prices = {}
        by_pricelist = defaultdict(lambda: self.env["mirakl.offer"])
        for offer in offers:
            by_pricelist[offer.pricelist_id or self.offer_pricelist_id] |= offer
        for pricelist, group in by_pricelist.items():
            products = group.product_id
            if pricelist:
                product_prices = pricelist._get_products_price(products, 1.0)
                currency = pricelist.currency_id
            else:
                product_prices = {p.id: p.lst_price for p in products}
                currency = self.company_id.currency_id
            included = self.platform_order_tax_mode != "TAX_EXCLUDED"
            for offer in group:
                product = offer.product_id
                price = product_prices.get(product.id, 0.0)
                if included:
                    # A TAX_INCLUDED platform shows the price the customer
                    # pays: add the product's price-excluded sale taxes.
                    taxes = product.taxes_id.filtered(
                        lambda t: t.company_id in (self.company_id, t.browse())
                    )
                    price = taxes.compute_all(
                        price, currency=currency, product=product
                    )["total_included"]
                prices[offer.id] = (currency.round(price), currency)
        return prices

    def _mirakl_offer_body(self, offer, price, quantity=None, delete=False):
        """The complete OF24 offer (OF24 resets every field left out), or
        with ``delete`` what OF24 needs to delete it."""
        body = {
            "shop_sku": offer.shop_sku,
            "product_id": offer.product_reference or None,
            "product_id_type": offer._mirakl_product_reference_type() or None,
            "price": price,
            "state_code": offer.state_code or self.offer_state_code,
            "update_delete": "delete" if delete else "update",
        }
        if not delete:
            body["quantity"] = quantity
            body["description"] = offer.product_id.description_sale or None
            body["leadtime_to_ship"] = self.offer_leadtime_to_ship or None
        return {key: value for key, value in body.items() if value is not None}

    @api.model
    def _mirakl_offer_digest(self, body):
        data = {key: value for key, value in body.items() if key != "quantity"}
        return hashlib.sha1(
            json.dumps(data, sort_keys=True, default=str).encode()
        ).hexdigest()

    def _mirakl_export_offers(self, full=False, offer_ids=None, force=False):
        """Send offers with OF24: those whose data changed since Mirakl last
        accepted them, all (``full``), or the given ones (``force``). Archived
        offers that are on Mirakl are deleted there.

        :return: ``{"ok", "message", "calls", "offers", "blocked", ...}``
        """
        return self._mirakl_stock_locked(
            self._mirakl_export_offers_locked, full, offer_ids, force
        )

    def _mirakl_export_offers_locked(self, full, offer_ids, force):
        # Products created meanwhile need no second export: this one sends them.
        self.with_context(mirakl_offer_export=True)._mirakl_check_imports()
        self._mirakl_check_skus()
        mode = "manual" if offer_ids else "full" if full else "incremental"
        stats = {
            "calls": 0,
            "offers": 0,
            "deleted": 0,
            "blocked": 0,
            "unchanged": 0,
            "held": 0,
        }
        Offer = self.env["mirakl.offer"].sudo()
        shop_currency = self.mirakl_currency
        imports = self.env["mirakl.offer.import"]
        batch = []
        ok = True
        problems = []
        for chunk in self._mirakl_stock_chunks(offer_ids=offer_ids):
            offers = Offer.browse([row.offer_id for row in chunk])
            prices = self._mirakl_offer_prices(offers)
            for row, offer in zip(chunk, offers, strict=True):
                if row.blocked:
                    stats["blocked"] += 1
                    continue
                if row.held:
                    stats["held"] += 1
                    continue
                price, currency = prices[offer.id]
                if shop_currency and currency.name != shop_currency:
                    problems.append(offer)
                    continue
                body = self._mirakl_offer_body(offer, price, row.quantity)
                digest = self._mirakl_offer_digest(body)
                unchanged = (
                    offer.export_state == "done" and digest == offer.export_digest
                ) or (
                    offer.export_state == "pending"
                    and digest == offer.pending_export_digest
                )
                if unchanged and not (full or force):
                    stats["unchanged"] += 1
                    continue
                batch.append((row, body, digest))
                if len(batch) >= self.offer_batch_size:
                    record = self._mirakl_send_offers(batch, mode, stats)
                    ok = bool(record)
                    imports |= record or imports.browse()
                    batch = []
                    if not ok:
                        break
            if not ok:
                break
        if ok:
            batch += self._mirakl_offers_to_delete(offer_ids)
            while ok and batch:
                record = self._mirakl_send_offers(
                    batch[: self.offer_batch_size], mode, stats
                )
                ok = bool(record)
                imports |= record or imports.browse()
                batch = batch[self.offer_batch_size :]
        if imports:
            self._mirakl_check_imports(imports.ids)
        self._mirakl_record_currency_problems(problems, shop_currency)
        vals = {"offer_last_export_date": fields.Datetime.now()}
        if ok and not problems and offer_ids is None:
            vals["offer_last_success_date"] = vals["offer_last_export_date"]
        self._mirakl_write_shop(vals)
        message = _(
            "%(shop)s: %(offers)s offers sent and %(deleted)s deleted in %(calls)s "
            "calls, %(unchanged)s unchanged, %(blocked)s blocked by an SKU problem.",
            shop=self.name,
            **stats,
        )
        if stats["held"]:
            message = _(
                "%(message)s %(held)s wait until Mirakl created their product.",
                message=message,
                held=stats["held"],
            )
        if not ok:
            message = _(
                "%(message)s Stopped: Mirakl refused a call (see the shop's sync "
                "issues).",
                message=message,
            )
        _logger.info("Mirakl shop %s: offer export (%s): %s", self.id, mode, stats)
        return dict(stats, ok=ok and not problems, message=message)

    def _mirakl_offers_to_delete(self, offer_ids):
        """Archived offers that are (or are being put) on Mirakl."""
        domain = [
            ("backend_id", "=", self.id),
            ("active", "=", False),
            ("export_state", "in", ("done", "pending", "error")),
            ("shop_sku", "!=", False),
        ]
        if offer_ids is not None:
            domain.append(("id", "in", offer_ids))
        batch = []
        for offer in self.env["mirakl.offer"].sudo().search(domain):
            body = self._mirakl_offer_body(
                offer, offer.exported_price or 0.0, delete=True
            )
            row = StockRow(
                offer.id,
                offer.product_id.id,
                offer.shop_sku,
                0,
                False,
                offer.push_state,
                offer.pushed_quantity,
                0,
            )
            batch.append((row, body, False))
        return batch

    def _mirakl_record_currency_problems(self, problems, shop_currency):
        """Offers priced in another currency than the shop's: one issue."""
        if problems:
            self.env["mirakl.sync.issue"]._mirakl_record(
                self,
                "OF24",
                _(
                    "%(count)s offers are priced in another currency than the "
                    "shop's (%(currency)s) and were not sent: set a pricelist "
                    "in %(currency)s on the shop or the offers (%(skus)s).",
                    count=len(problems),
                    currency=shop_currency,
                    skus=", ".join(o.shop_sku for o in problems[:20]),
                ),
                category="config",
                mirakl_ref="currency",
            )
        else:
            self.env["mirakl.sync.issue"]._mirakl_resolve(
                self, "OF24", mirakl_ref="currency"
            )

    def _mirakl_send_offers(self, batch, mode, stats):
        """OF24 one batch; on success record the import and mark its offers."""
        bodies = [body for _row, body, _digest in batch]
        ok, result = self._mirakl_call(
            "OF24", lambda client: client.import_offers(bodies)
        )
        if not ok:
            return None
        record = self.env["mirakl.offer.import"]._mirakl_record_sent(
            self,
            "offer",
            mode,
            result,
            [row.offer_id for row, _b, _d in batch],
            json.dumps({"offers": bodies}, indent=1),
            "offers-%s.json" % result,
        )
        updates = [(row, body, digest) for row, body, digest in batch if digest]
        deletes = [row.offer_id for row, _body, digest in batch if not digest]
        self.env["mirakl.offer"].flush_model()
        self.env.cr.execute(
            """
            UPDATE mirakl_offer o
               SET export_state = 'pending', pending_export_digest = v.digest,
                   export_import_id = %s, exported_price = v.price,
                   push_state = 'pending', pending_quantity = v.quantity,
                   pending_import_id = %s
              FROM unnest(%s::int[], %s::text[], %s::float8[], %s::int[])
                   AS v(id, digest, price, quantity)
             WHERE o.id = v.id
            """,
            (
                record.id,
                record.id,
                [row.offer_id for row, _b, _d in updates],
                [digest for _r, _b, digest in updates],
                [body["price"] for _r, body, _d in updates],
                [row.quantity for row, _b, _d in updates],
            ),
        )
        if deletes:
            self.env.cr.execute(
                """
                UPDATE mirakl_offer SET export_state = 'pending',
                       export_import_id = %s, pending_export_digest = NULL
                 WHERE id = ANY(%s)
                """,
                (record.id, deletes),
            )
        self.env["mirakl.offer"].invalidate_model()
        stats["calls"] += 1
        stats["offers"] += len(updates)
        stats["deleted"] += len(deletes)
        self._mirakl_commit()
        return record

    # === BUSINESS METHODS: drift (OF21) === #

    def _mirakl_check_drift(self):
        """Compare each offer's quantity on Mirakl (OF21) with what Odoo would
        push now; store it on the offers and file one drift issue per shop."""
        self.ensure_one()
        self._mirakl_check_imports()

        def read(client):
            return {
                offer.get("shop_sku"): (offer.get("quantity"), offer.get("offer_id"))
                for offer in client.iter_offers()
            }

        ok, on_mirakl = self._mirakl_call("OF21", read)
        if not ok:
            return {"ok": False, "message": self._mirakl_explain(on_mirakl)}
        now = fields.Datetime.now()
        stats = {"compared": 0, "drift": 0, "over": 0, "missing": 0}
        examples = []
        updates = defaultdict(list)
        for chunk in self._mirakl_stock_chunks():
            for row in chunk:
                stats["compared"] += 1
                found = on_mirakl.pop(row.sku, None) if row.sku else None
                if found is None:
                    stats["missing"] += 1
                    updates["missing"].append(
                        (row.offer_id, None, row.quantity, 0, None)
                    )
                    continue
                quantity, mirakl_offer_id = found
                quantity = int(quantity or 0)
                drift = quantity - row.quantity
                state = "drift" if drift else "none"
                if drift:
                    stats["drift"] += 1
                    stats["over"] += drift > 0
                    if len(examples) < 20:
                        examples.append(
                            "%s: Mirakl %s, Odoo %s" % (row.sku, quantity, row.quantity)
                        )
                updates[state].append(
                    (row.offer_id, quantity, row.quantity, drift, mirakl_offer_id)
                )
        self.env["mirakl.offer"].flush_model()
        for state, rows in updates.items():
            self.env.cr.execute(
                """
                UPDATE mirakl_offer o
                   SET drift_state = %s, mirakl_checked_date = %s,
                       mirakl_quantity = v.mirakl_quantity,
                       drift_odoo_quantity = v.odoo_quantity,
                       drift_quantity = v.drift,
                       mirakl_offer_id = COALESCE(v.offer_id, o.mirakl_offer_id)
                  FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::text[])
                       AS v(id, mirakl_quantity, odoo_quantity, drift, offer_id)
                 WHERE o.id = v.id
                """,
                (
                    state,
                    now,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                    [r[3] for r in rows],
                    [str(r[4]) if r[4] is not None else None for r in rows],
                ),
            )
        self.env["mirakl.offer"].invalidate_model()
        # Offers Odoo does not manage only matter while they can be sold.
        unknown = sorted(
            sku for sku, (quantity, _id) in on_mirakl.items() if sku and quantity
        )
        summary = _(
            "%(compared)s offers compared: %(drift)s differ (%(over)s show more on "
            "Mirakl than Odoo would offer), %(missing)s not on Mirakl, %(unknown)s "
            "Mirakl offers with stock unknown to Odoo.",
            unknown=len(unknown),
            **stats,
        )
        self._mirakl_write_shop(
            {"drift_last_check_date": now, "drift_summary": summary}
        )
        Issue = self.env["mirakl.sync.issue"]
        if stats["drift"] or stats["missing"] or unknown:
            details = [summary]
            if examples:
                details.append(_("Differences: %s", "; ".join(examples)))
            if unknown:
                details.append(_("On Mirakl only: %s", ", ".join(unknown[:20])))
            details.append(
                _(
                    "Orders placed on Mirakl since the last push and not imported "
                    "yet explain a lower Mirakl quantity; they clear with the next "
                    "import and push. Retry sends every quantity now."
                )
            )
            Issue._mirakl_record(
                self,
                "OF21",
                "\n".join(details),
                category="drift",
                mirakl_ref="stock",
            )
        else:
            Issue._mirakl_resolve(self, "OF21", mirakl_ref="stock")
        return dict(stats, ok=True, unknown=len(unknown), message=summary)

    # === RETRY === #

    def _mirakl_retry_issue(self, issue):
        if issue.operation in ("STO01", "STO02", "STO03"):
            return self._mirakl_push_stock()["ok"]
        if issue.operation == "OF21":
            return self._mirakl_push_stock(full=True)["ok"]
        if issue.operation in ("OF24", "OF02", "OF03"):
            return self._mirakl_export_offers()["ok"]
        if issue.operation == "SKU":
            self._mirakl_check_skus()
            return not self.env["mirakl.offer"].search_count(
                [("backend_id", "=", self.id), ("sku_state", "!=", "ok")]
            )
        return super()._mirakl_retry_issue(issue)
