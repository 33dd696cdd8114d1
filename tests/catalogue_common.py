"""Shared set-up of the catalogue tests: a brand's own range (products the
marketplace does not hold yet) in Odoo, the shop reading the sandbox
operator's model, categories, attribute sources and list values mapped."""

import base64
import io

from odoo import Command

from .order_common import OrderCommon


def png_bytes(colour=(200, 30, 30)):
    """A small PNG of one colour, base64 as image fields take it (Pillow,
    as Odoo's own image fields use)."""
    from PIL import Image  # pylint: disable=import-outside-toplevel

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue())


class CatalogueCommon(OrderCommon):
    """The shop sends products; a dress in 2 colours x 2 sizes, a one-size
    hat, both mapped and ready."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.backend.write({"product_export_enabled": True})
        assert cls.backend._mirakl_refresh_product_model()
        Category = env["product.category"]
        cls.categ_fashion = Category.create({"name": "Own range"})
        cls.categ_dresses = Category.create(
            {"name": "Dresses", "parent_id": cls.categ_fashion.id}
        )
        cls.categ_hats = Category.create(
            {"name": "Hats", "parent_id": cls.categ_fashion.id}
        )
        Attribute = env["product.attribute"]
        cls.colour = Attribute.create(
            {
                "name": "Colour (range)",
                "value_ids": [
                    Command.create({"name": name})
                    for name in ("Navy", "Black", "Camel", "Sage")
                ],
            }
        )
        cls.size = Attribute.create(
            {
                "name": "Size (range)",
                "value_ids": [Command.create({"name": name}) for name in ("8", "10")],
            }
        )
        colours = {v.name: v for v in cls.colour.value_ids}
        sizes = {v.name: v for v in cls.size.value_ids}
        Template = env["product.template"]
        cls.dress = Template.create(
            {
                "name": "Linen shirt dress",
                "categ_id": cls.categ_dresses.id,
                "is_storable": True,
                "list_price": 69.0,
                "description_sale": "A relaxed shirt dress in washed linen.",
                "description": "<p>Machine wash at 30 degrees.</p>",
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": cls.colour.id,
                            "value_ids": [
                                Command.set([colours["Navy"].id, colours["Black"].id])
                            ],
                        }
                    ),
                    Command.create(
                        {
                            "attribute_id": cls.size.id,
                            "value_ids": [Command.set([sizes["8"].id, sizes["10"].id])],
                        }
                    ),
                ],
            }
        )
        for number, variant in enumerate(cls.dress.product_variant_ids, start=1):
            values = variant.product_template_attribute_value_ids
            colour = values.filtered(lambda v: v.attribute_id == cls.colour).name
            size = values.filtered(lambda v: v.attribute_id == cls.size).name
            variant.write(
                {
                    "default_code": "LSD-%s-%s" % (colour[:3].upper(), size),
                    "barcode": "50698765%04d" % number + "0",
                }
            )
        cls.hat = Template.create(
            {
                "name": "Cashmere beanie",
                "categ_id": cls.categ_hats.id,
                "is_storable": True,
                "list_price": 35.0,
                "description_sale": "A soft cashmere beanie.",
                "default_code": "CBN-CAM",
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": cls.colour.id,
                            "value_ids": [Command.set(colours["Camel"].ids)],
                        }
                    )
                ],
            }
        )
        cls.variants = cls.dress.product_variant_ids | cls.hat.product_variant_ids
        cls.range_offers = env["mirakl.offer"].create(
            [{"backend_id": cls.backend.id, "product_id": p.id} for p in cls.variants]
        )
        shop = [("backend_id", "=", cls.backend.id)]
        cls.mirakl_categories = {c.code: c for c in env["mirakl.category"].search(shop)}
        env["mirakl.category.map"].create(
            [
                {
                    "backend_id": cls.backend.id,
                    "categ_id": cls.categ_dresses.id,
                    "mirakl_category_id": cls.mirakl_categories["WOMEN_DRESSES"].id,
                },
                {
                    "backend_id": cls.backend.id,
                    "categ_id": cls.categ_hats.id,
                    "mirakl_category_id": cls.mirakl_categories["ACC_HATS"].id,
                },
            ]
        )
        cls.attributes = {a.code: a for a in env["mirakl.attribute"].search(shop)}
        cls.set_source("title", "field", field="name")
        cls.set_source("description", "field", field="description_sale")
        cls.set_source("care_instructions", "field", field="description")
        cls.set_source("ean", "field", field="barcode")
        cls.set_source("brand", "fixed", fixed="Hartley & Finch")
        cls.set_source("colour", "attribute", attribute=cls.colour)
        cls.set_source("size", "attribute", attribute=cls.size)
        cls.backend._mirakl_check_products()
        Map = env["mirakl.value.map"]
        cls.suggested = Map.search([("backend_id", "=", cls.backend.id)])
        cls.suggested.filtered(lambda m: m.state == "suggested").action_confirm()
        cls.backend._mirakl_check_products()
        cls.offer_by_sku = {o.shop_sku: o for o in cls.range_offers}
        # Every offer of the other tests' catalogue is on Mirakl already.
        (cls.backend.offer_ids - cls.range_offers).write({"product_external": True})

    @classmethod
    def set_source(cls, code, source, field=None, attribute=None, fixed=None):
        vals = {"source": source}
        if field:
            vals["source_field_id"] = (
                cls.env["ir.model.fields"]._get("product.product", field).id
            )
        if attribute:
            vals["source_attribute_id"] = attribute.id
        if fixed:
            vals["fixed_value"] = fixed
        cls.attributes[code].write(vals)

    # --- helpers ---

    def send(self, **kwargs):
        result = self.backend._mirakl_send_products(**kwargs)
        self.range_offers.invalidate_recordset()
        return result

    def check(self):
        self.backend._mirakl_check_imports()
        self.range_offers.invalidate_recordset()

    def product_imports(self):
        return self.control.call("GET", "product-imports")["imports"]

    def import_lines(self, import_id=None):
        """{sku: line} of the last product file the sandbox received."""
        if import_id is None:
            import_id = self.product_imports()[-1]["import_id"]
        detail = self.control.call("GET", "product-imports/%s" % import_id)
        return {line["values"]["shop_sku"]: line for line in detail["lines"]}

    def sandbox_products(self):
        return {p["sku"]: p for p in self.control.call("GET", "products")["products"]}

    def offer(self, sku):
        return self.offer_by_sku[sku]
