"""The product data of an offer: what the connector sends to Mirakl's
catalogue (P41) for the offer's variant, and what Mirakl made of it.

Same model as ``mirakl_offer.py`` (``mirakl.offer``). A shop that sends
products (``product_export_enabled``) sends the product of each active
offer, unless *Product already on Mirakl* is set; the offer itself (OF24,
stock files) waits until Mirakl created the product.
"""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

PRODUCT_STATES = [
    ("new", "Not sent"),
    ("pending", "Sent, waiting for Mirakl"),
    ("done", "On Mirakl"),
    ("error", "Rejected by Mirakl"),
]


class MiraklOffer(models.Model):
    _inherit = "mirakl.offer"

    product_external = fields.Boolean(
        string="Product already on Mirakl",
        help="The operator's catalogue already holds this product (the offer "
        "matches it by its product ID): the connector does not send its "
        "product data.",
    )
    product_category_id = fields.Many2one(
        "mirakl.category",
        string="Mirakl category",
        readonly=True,
        copy=False,
        index=True,
        ondelete="set null",
        help="The category the product goes in on Mirakl: the product's own "
        "override, else the mapping of its product category.",
    )
    product_ready = fields.Selection(
        [("ready", "Ready"), ("not_ready", "Not ready")],
        string="Readiness",
        readonly=True,
        copy=False,
        index=True,
    )
    product_problems = fields.Text(string="Why not ready", readonly=True, copy=False)
    product_checked_date = fields.Datetime(
        string="Checked on", readonly=True, copy=False
    )
    product_state = fields.Selection(
        PRODUCT_STATES,
        string="Product status",
        default="new",
        required=True,
        readonly=True,
        copy=False,
        # Not indexed: every send rewrites it on each line sent, and the
        # shop's index narrows the lists that filter on it.
    )
    product_digest = fields.Char(readonly=True, copy=False)
    product_pending_digest = fields.Char(readonly=True, copy=False)
    product_error_digest = fields.Char(readonly=True, copy=False)
    product_import_id = fields.Many2one(
        "mirakl.offer.import",
        string="Pending product import",
        readonly=True,
        copy=False,
        ondelete="set null",
    )
    product_error = fields.Text(string="Mirakl's reason", readonly=True, copy=False)
    product_sent_date = fields.Datetime(
        string="Product sent on", readonly=True, copy=False
    )
    product_created_date = fields.Datetime(
        string="Created on Mirakl", readonly=True, copy=False
    )
    mirakl_product_sku = fields.Char(
        string="Mirakl product SKU",
        readonly=True,
        copy=False,
        help="The product's SKU on Mirakl, from the new-product report.",
    )
    product_sent_by_shop = fields.Boolean(
        related="backend_id.product_export_enabled", string="Shop sends products"
    )

    # === COMPUTE METHODS === #

    @api.depends(
        "custom_product_reference",
        "product_id.barcode",
        "product_id.default_code",
        "backend_id.offer_product_id_source",
        "mirakl_product_sku",
        "product_external",
    )
    def _compute_product_reference(self):
        return super()._compute_product_reference()

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        offers = super().create(vals_list)
        offers._mirakl_check_product_readiness()
        return offers

    def write(self, vals):
        result = super().write(vals)
        if {"product_external", "active", "custom_sku"} & set(vals):
            self._mirakl_check_product_readiness()
        return result

    # === ACTION METHODS === #

    def action_check_product(self):
        """Check these products' readiness now."""
        for backend, offers in self.env["mirakl.backend"]._mirakl_per_shop(self):
            backend._mirakl_check_products(offer_ids=offers.ids)
        return True

    def action_mark_product_external(self):
        """These products are on Mirakl already (matched by product ID): do
        not send them, let their offers go."""
        self.write({"product_external": True})
        return True

    def action_send_product(self):
        """Send these products (P41) now, even unchanged or rejected."""
        if not self:
            raise UserError(_("Select at least one product."))
        return self._mirakl_run_per_shop(
            lambda backend, offers: backend._mirakl_send_products(
                offer_ids=offers.ids, force=True
            ),
            _("Product send"),
        )

    # === BUSINESS METHODS === #

    def _mirakl_check_product_readiness(self):
        """Check these offers' products in the shops that send products."""
        for backend in self.backend_id.sudo().filtered("product_export_enabled"):
            offers = self.filtered(lambda o, b=backend: o.backend_id == b)
            backend._mirakl_check_products(offer_ids=offers.ids)

    def _mirakl_product_managed(self):
        """Whether the connector sends this offer's product."""
        self.ensure_one()
        return self.backend_id.product_export_enabled and not self.product_external

    def _mirakl_product_reference(self):
        """Offers of products the connector created on Mirakl name them by
        the Mirakl product SKU of the new-product report."""
        self.ensure_one()
        if (
            not self.custom_product_reference
            and self.mirakl_product_sku
            and self._mirakl_product_managed()
        ):
            return self.mirakl_product_sku
        return super()._mirakl_product_reference()

    def _mirakl_product_reference_type(self):
        self.ensure_one()
        if (
            not self.custom_product_reference
            and not self.product_reference_type
            and self.mirakl_product_sku
            and self._mirakl_product_managed()
        ):
            return self.backend_id.product_offer_id_type or "SKU"
        return super()._mirakl_product_reference_type()

    def _mirakl_retry_issue(self, issue):
        self.ensure_one()
        if issue.operation in ("P41", "P42", "P44", "P45", "P47"):
            result = self.backend_id._mirakl_send_products(
                offer_ids=self.ids, force=True
            )
            return result["ok"]
        return super()._mirakl_retry_issue(issue)
