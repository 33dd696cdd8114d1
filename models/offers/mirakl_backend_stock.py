"""Stock out: stock settings, SKU checks, quantities, stock files (STO01)
and the follow-up of stock and offer imports; the shop's stock and offer lock.

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``); offers (OF24)
and the comparison with Mirakl's quantities (OF21) are in
``mirakl_backend_offer.py``.

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

import logging
import math
from collections import namedtuple

from odoo import _, api, fields, models

from ...lib.offers import build_stock_file
from .mirakl_offer_import import MAX_OFFER_ISSUES

_logger = logging.getLogger(__name__)

# Advisory lock class of the per-shop stock and offer lock ("MIRS").
STOCK_LOCK_CLASS = 0x4D495253
CHUNK_SIZE = 5000

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

    def action_check_imports(self):
        for backend in self._mirakl_as_operator():
            backend._mirakl_check_imports()
        return self._mirakl_notification(
            _("Mirakl"), _("Import statuses read."), "success"
        )

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

        Longer than 80 lines: the keyset loop holds the chunk's three queries
        and the quantity rule together, on the hot path of every push.
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
        push, offer send or product send per shop at a time."""
        return self._mirakl_locked_run(
            STOCK_LOCK_CLASS,
            _(
                "%(shop)s: another stock or offer run is in progress; try again "
                "in a moment.",
                shop=self.name,
            ),
            run,
            *args,
        )

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
        """Ask Mirakl about this shop's unfinished imports (STO02/OF02/P42)
        and apply the finished ones (each import's own ``_mirakl_check``):
        accepted quantities, offers and products, and each error-report line
        as the offer's error and a sync issue."""
        self.ensure_one()
        domain = [("backend_id", "=", self.id), ("state", "=", "sent")]
        if import_ids is not None:
            domain.append(("id", "in", import_ids))
        for record in self.env["mirakl.offer.import"].sudo().search(domain, order="id"):
            record._mirakl_check()

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
