"""Offers: which product variants a shop sells on Mirakl, and how.

One ``mirakl.offer`` per (shop, variant). Its SKU (``shop_sku``, Mirakl's
``offer-sku``) is the variant's internal reference unless overridden, and must
be non-empty and unique among the shop's active offers: the shop checks this
(``mirakl.backend._mirakl_check_skus``) whenever offers or references change,
and an offer whose SKU is missing or shared is *blocked*: neither its stock nor
its offer data is sent until fixed.

The stock and offer state shown here is what Mirakl accepted: a quantity is
*pushed* once the import that carried it completed without an error for this
SKU (STO02/STO03, OF02/OF03), not when the file was sent.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

SKU_STATES = [
    ("ok", "OK"),
    ("missing", "No SKU"),
    ("duplicate", "SKU shared"),
]
# The quantity (stock files) and the offer's data (price, condition: OF24)
# are sent separately; each status says which.
PUSH_STATES = [
    ("new", "Quantity never sent"),
    ("pending", "Quantity sent, waiting for Mirakl"),
    ("done", "Quantity up to date"),
    ("error", "Quantity rejected"),
]
EXPORT_STATES = [
    ("new", "Price never sent"),
    ("pending", "Price sent, waiting for Mirakl"),
    ("done", "Price up to date"),
    ("error", "Price rejected"),
]


class MiraklOffer(models.Model):
    _name = "mirakl.offer"
    _description = "Mirakl Offer"
    _order = "backend_id, shop_sku, id"
    _rec_name = "shop_sku"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    active = fields.Boolean(default=True)
    product_id = fields.Many2one(
        "product.product",
        string="Variant",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    product_tmpl_id = fields.Many2one(related="product_id.product_tmpl_id")
    custom_sku = fields.Char(
        string="SKU override",
        help="Leave empty to use the variant's internal reference as the SKU.",
    )
    shop_sku = fields.Char(
        string="SKU",
        compute="_compute_shop_sku",
        store=True,
        index=True,
        help="The offer's SKU on Mirakl (offer-sku of stock files, shop_sku of "
        "OF24): the SKU override, else the variant's internal reference.",
    )
    sku_state = fields.Selection(
        SKU_STATES, string="SKU check", default="ok", readonly=True, copy=False
    )
    sku_problem = fields.Char(string="SKU problem", readonly=True, copy=False)
    custom_product_reference = fields.Char(
        string="Product ID override",
        help="Leave empty to use the shop's product ID source (barcode or "
        "internal reference).",
    )
    product_reference = fields.Char(
        string="Product ID",
        compute="_compute_product_reference",
        help="How Mirakl knows the product (OF24 product_id).",
    )
    product_reference_type = fields.Char(
        string="Product ID type",
        help="OF24 product_id_type, such as EAN. Empty: the shop's default.",
    )
    pricelist_id = fields.Many2one(
        "product.pricelist",
        check_company=True,
        help="Price source of this offer. Empty: the shop's pricelist.",
    )
    state_code = fields.Char(
        string="Offer condition",
        help="OF24 state_code (OF61 lists the platform's codes). Empty: the "
        "shop's default.",
    )
    override_buffer = fields.Boolean(
        string="Own safety buffer",
        help="Use the buffer below instead of the shop's.",
    )
    stock_buffer = fields.Float(
        string="Safety buffer",
        digits="Product Unit of Measure",
        help="Quantity kept back from Mirakl for this variant.",
    )
    max_quantity = fields.Integer(
        string="Cap",
        help="Never offer more than this on Mirakl (0: the shop's cap, if any).",
    )
    odoo_quantity = fields.Integer(
        string="Quantity to push",
        compute="_compute_odoo_quantity",
        help="What a push would send now: free quantity in the shop's "
        "warehouses, less accepted Mirakl orders not yet reserved, less the "
        "safety buffer, never below zero, capped.",
    )
    # --- Stock push (STO01), as Mirakl accepted it ---
    push_state = fields.Selection(
        PUSH_STATES, string="Quantity", default="new", readonly=True, copy=False
    )
    pushed_quantity = fields.Integer(
        string="Last quantity pushed",
        readonly=True,
        copy=False,
        help="The last quantity Mirakl accepted for this SKU.",
    )
    pushed_date = fields.Datetime(string="Pushed on", readonly=True, copy=False)
    pending_quantity = fields.Integer(
        string="Quantity waiting for Mirakl", readonly=True, copy=False
    )
    pending_import_id = fields.Many2one(
        "mirakl.offer.import", readonly=True, copy=False, ondelete="set null"
    )
    push_error = fields.Text(string="Quantity error", readonly=True, copy=False)
    # --- Offer data (OF24) ---
    export_state = fields.Selection(
        EXPORT_STATES,
        string="Offer data",
        help="The offer's price and condition sent with OF24 (Send offers); "
        "the quantity goes with the stock files.",
        default="new",
        readonly=True,
        copy=False,
    )
    export_digest = fields.Char(
        string="Offer data sent (digest)", readonly=True, copy=False
    )
    pending_export_digest = fields.Char(
        string="Offer data waiting (digest)", readonly=True, copy=False
    )
    export_import_id = fields.Many2one(
        "mirakl.offer.import",
        string="Pending offer import",
        readonly=True,
        copy=False,
        ondelete="set null",
    )
    exported_date = fields.Datetime(string="Offer sent on", readonly=True, copy=False)
    exported_price = fields.Float(
        string="Price sent", readonly=True, copy=False, digits="Product Price"
    )
    export_error = fields.Text(string="Offer data error", readonly=True, copy=False)
    # --- Drift (OF21) ---
    mirakl_offer_id = fields.Char(string="Mirakl offer ID", readonly=True, copy=False)
    mirakl_quantity = fields.Integer(
        string="Quantity on Mirakl", readonly=True, copy=False
    )
    mirakl_checked_date = fields.Datetime(
        string="Compared on", readonly=True, copy=False
    )
    drift_odoo_quantity = fields.Integer(
        string="Odoo quantity then", readonly=True, copy=False
    )
    drift_quantity = fields.Integer(
        string="Drift",
        readonly=True,
        copy=False,
        help="Quantity on Mirakl minus what Odoo would push, at the last "
        "comparison. Positive: Mirakl may sell stock you do not have.",
    )
    drift_state = fields.Selection(
        [
            ("none", "No drift"),
            ("drift", "Drift"),
            ("missing", "Missing on Mirakl"),
        ],
        string="Comparison",
        readonly=True,
        copy=False,
    )

    _sql_constraints = [
        (
            "backend_product_uniq",
            "unique(backend_id, product_id)",
            "A variant is offered at most once per shop.",
        ),
    ]

    # === COMPUTE METHODS === #

    @api.depends("custom_sku", "product_id.default_code")
    def _compute_shop_sku(self):
        for offer in self:
            sku = (offer.custom_sku or offer.product_id.default_code or "").strip()
            offer.shop_sku = sku or False

    @api.depends(
        "custom_product_reference",
        "product_id.barcode",
        "product_id.default_code",
        "backend_id.offer_product_id_source",
    )
    def _compute_product_reference(self):
        for offer in self:
            offer.product_reference = offer._mirakl_product_reference()

    def _compute_odoo_quantity(self):
        quantities = {}
        for backend in self.backend_id:
            offers = self.filtered(lambda o, b=backend: o.backend_id == b)
            for chunk in backend._mirakl_stock_chunks(offer_ids=offers.ids):
                quantities.update((row.offer_id, row.quantity) for row in chunk)
        for offer in self:
            offer.odoo_quantity = quantities.get(offer.id, 0)

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        offers = super().create(vals_list)
        offers.backend_id._mirakl_check_skus()
        return offers

    def write(self, vals):
        backends = self.backend_id
        result = super().write(vals)
        if {"custom_sku", "product_id", "active", "backend_id"} & set(vals):
            (backends | self.backend_id)._mirakl_check_skus()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_on_mirakl(self):
        if any(offer.export_state != "new" for offer in self):
            raise UserError(
                _(
                    "These offers were sent to Mirakl: archive them instead, so "
                    "that they are deleted there too."
                )
            )

    def unlink(self):
        backends = self.backend_id
        result = super().unlink()
        backends.exists()._mirakl_check_skus()
        return result

    # === ACTION METHODS === #

    def action_push_stock(self):
        """Push these offers' quantities now, whatever was pushed before."""
        return self._mirakl_run_per_shop(
            lambda backend, offers: backend._mirakl_push_stock(
                offer_ids=offers.ids, force=True
            ),
            _("Stock push"),
        )

    def action_export_offer(self):
        """Send these offers (OF24) now, even if nothing changed."""
        return self._mirakl_run_per_shop(
            lambda backend, offers: backend._mirakl_export_offers(
                offer_ids=offers.ids, force=True
            ),
            _("Offer export"),
        )

    def _mirakl_run_per_shop(self, run, title):
        if not self:
            raise UserError(_("Select at least one offer."))
        results = [
            run(backend, offers)
            for backend, offers in self.env["mirakl.backend"]._mirakl_per_shop(self)
        ]
        return self.backend_id[:1]._mirakl_result_notification(title, results)

    # === BUSINESS METHODS === #

    def _mirakl_product_reference(self):
        self.ensure_one()
        if self.custom_product_reference:
            return self.custom_product_reference.strip()
        if self.backend_id.offer_product_id_source == "default_code":
            return self.product_id.default_code or False
        return self.product_id.barcode or False

    def _mirakl_product_reference_type(self):
        self.ensure_one()
        return self.product_reference_type or self.backend_id.offer_product_id_type

    def _mirakl_retry_issue(self, issue):
        """Retry of an issue filed on an offer: push or send it again."""
        self.ensure_one()
        backend = self.backend_id
        if issue.operation in ("SKU",):
            backend._mirakl_check_skus()
            self.invalidate_recordset(["sku_state"])
            return self.sku_state == "ok"
        if issue.operation in ("STO01", "STO02", "STO03"):
            result = backend._mirakl_push_stock(offer_ids=self.ids, force=True)
            return result["ok"]
        if issue.operation in ("OF24", "OF02", "OF03"):
            result = backend._mirakl_export_offers(offer_ids=self.ids, force=True)
            return result["ok"]
        return None
