"""Offers out: OF24 (create, update, delete offers with their prices) and
the daily comparison of Mirakl's quantities with Odoo's (OF21 drift).

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``); the stock
file (STO01), the quantities and the SKU check are in
``mirakl_backend_stock.py``, which holds the shop's stock and offer lock.
"""

import hashlib
import json
import logging
from collections import defaultdict

from odoo import _, api, fields, models

from .mirakl_backend_stock import StockRow

_logger = logging.getLogger(__name__)


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

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
            "offer_batch_size_positive",
            "CHECK(offer_batch_size > 0)",
            "An offer call holds at least one offer.",
        ),
    ]

    # === ACTION METHODS === #

    def action_export_offers(self, full=False):
        """Send the offers whose data changed (all with ``full``) with OF24."""
        results = [
            backend._mirakl_export_offers(full=full)
            for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Offer export"), results)

    def action_export_offers_full(self):
        return self.action_export_offers(full=True)

    def action_check_drift(self):
        """Compare Mirakl's quantities (OF21) with what Odoo would push."""
        results = [
            backend._mirakl_check_drift() for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Stock comparison"), results)

    # === CRON METHODS === #

    @api.model
    def _cron_mirakl_export_offers(self):
        """Hourly: send the offers whose price or data changed (OF24)."""
        self.search([("offer_export_enabled", "=", True)])._mirakl_cron_each(
            "OF24", lambda backend: backend._mirakl_export_offers()
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
        """The offer send under the shop's stock and offer lock: the offers
        whose data changed (all with ``full``, the given ones with
        ``offer_ids``) in OF24 batches, then the deletions.

        Longer than 80 lines: the batching loop shares its counters, batch
        and currency problems with the deletions and the summary.
        """
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
        push now; store it on the offers and file one drift issue per shop.

        Longer than 80 lines: the paging over Mirakl's offers, the bulk
        write and the shop's issue share the run's counters.
        """
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
