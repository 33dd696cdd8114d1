"""Shared set-up of the order tests: the sandbox's catalogue as Odoo products,
UK-style VAT rates in both price modes, GBP, and mapped shipping types."""

import json
from datetime import datetime, timedelta, timezone

from odoo import Command
from odoo.tests import Form

from .common import MiraklCommon

RATES = (20.0, 5.0, 0.0)


def iso(moment):
    return moment.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def hours_ago(hours):
    return iso(datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=hours))


class OrderCommon(MiraklCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.gbp = env.ref("base.GBP")
        cls.gbp.active = True
        Tax = env["account.tax"]
        cls.taxes = {}
        for rate in RATES:
            for included in (True, False):
                cls.taxes[rate, included] = Tax.create(
                    {
                        "name": "UK VAT %s%% %s"
                        % (rate, "incl" if included else "excl"),
                        "amount": rate,
                        "amount_type": "percent",
                        "type_tax_use": "sale",
                        "price_include_override": "tax_included"
                        if included
                        else "tax_excluded",
                        "company_id": cls.company.id,
                    }
                )
        catalogue = cls.control.catalogue()
        cls.catalogue = {offer["sku"]: offer for offer in catalogue["products"]}
        Product = env["product.product"]
        vals = []
        for sku, offer in cls.catalogue.items():
            vals.append(
                {
                    "name": offer["title"],
                    "default_code": sku,
                    "is_storable": True,
                    "list_price": float(offer["price"]),
                    "taxes_id": [
                        Command.set(cls.taxes[float(offer["vat_rate"]), True].ids)
                    ],
                }
            )
        cls.products = Product.create(vals)
        cls.product_by_sku = {p.default_code: p for p in cls.products}
        ship_product = Product.create(
            {"name": "Marketplace shipping", "type": "service", "taxes_id": False}
        )
        Carrier = env["delivery.carrier"]
        cls.carrier_std = Carrier.create(
            {"name": "Royal Mail 48", "product_id": ship_product.id}
        )
        cls.carrier_exp = Carrier.create(
            {"name": "DPD next day", "product_id": ship_product.id}
        )
        cls.backend.write(
            {
                "shipping_type_ids": [
                    Command.create(
                        {
                            "code": "STD",
                            "label": "Standard",
                            "carrier_id": cls.carrier_std.id,
                        }
                    ),
                    Command.create(
                        {
                            "code": "EXP",
                            "label": "Express",
                            "carrier_id": cls.carrier_exp.id,
                        }
                    ),
                ],
                "team_id": False,
            }
        )
        cls.skus = {
            "std": cls._first_sku("WOMENSWEAR"),
            "std2": cls._first_sku("MENSWEAR"),
            "zero": cls._first_sku("KIDSWEAR"),
            "reduced": cls._first_sku("CAR_SEATS"),
        }

    @classmethod
    def _first_sku(cls, category):
        return min(
            sku for sku, o in cls.catalogue.items() if o["category_code"] == category
        )

    # --- helpers ---

    def order_spec(self, *lines, **extra):
        spec = {
            "lines": [
                {"sku": self.skus.get(sku, sku), "quantity": qty} for sku, qty in lines
            ]
        }
        spec.update(extra)
        return spec

    def released(self, *lines, **extra):
        """One order imported, accepted and paid (released to the warehouse),
        with the stock to deliver it."""
        (order,) = self.create_orders(self.order_spec(*lines, **extra))
        self.import_orders()
        self.import_orders()
        sale = self.sale_of(order["order_id"])
        self.assertEqual(sale.state, "sale")
        for line in sale.order_line.filtered("mirakl_line_id"):
            self.set_stock(line.product_id, line.product_uom_qty)
        return sale

    def deliver(self, picking, quantities=None):
        """Validate a delivery ({product: quantity}; default: everything)."""
        for move in picking.move_ids:
            move.quantity = (quantities or {}).get(
                move.product_id, move.product_uom_qty
            )
            move.picked = True
        result = picking.button_validate()
        if isinstance(result, dict):
            Form.from_action(self.env, result).save().process()
        self.assertEqual(picking.state, "done")

    def shipped(self, *lines, **extra):
        """Released, delivered in Odoo, SHIPPED on Mirakl."""
        sale = self.released(*lines, **extra)
        self.deliver(sale.picking_ids)
        self.backend._mirakl_sync_shipments()  # OR23/OR24
        self.assertEqual(
            self.control.order(sale.mirakl_order_id)["order_state"], "SHIPPED"
        )
        return sale

    def create_orders(self, *specs):
        return self.control.create_orders(orders=list(specs))

    def import_orders(self, backend=None):
        return (backend or self.backend)._mirakl_import_orders()

    def sale_of(self, order_id, backend=None):
        return self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", (backend or self.backend).id),
                ("mirakl_order_id", "=", order_id),
            ]
        )

    def open_issues(self, **domain):
        dom = [("backend_id", "=", self.backend.id), ("state", "=", "open")]
        dom += [(k, "=", v) for k, v in domain.items()]
        return self.env["mirakl.sync.issue"].search(dom)

    @staticmethod
    def body_of(call):
        body = call["body"]
        return json.loads(body) if isinstance(body, str) else body

    def set_stock(self, product, quantity):
        self.env["stock.quant"]._update_available_quantity(
            product, self.warehouse.lot_stock_id, quantity
        )
