"""Two database cursors importing one shop at the same time.

These tests need committed data (other cursors cannot see a test
transaction), so they create it in their own cursor and remove it after.
"""

import threading

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged

from .common import API_KEY, SHOP_ID, SandboxMixin

SKUS = ("WDR-BLK-10", "KHD-GRY-3-4Y")


@tagged("post_install", "-at_install")
class TestConcurrentImports(SandboxMixin, BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            gbp = env.ref("base.GBP")
            cls.gbp_was_active = gbp.active
            gbp.active = True
            company = env.company
            taxes = env["account.tax"].create(
                [
                    {
                        "name": "Concurrency VAT %s%%" % rate,
                        "amount": rate,
                        "type_tax_use": "sale",
                        "price_include_override": "tax_included",
                        "company_id": company.id,
                    }
                    for rate in (20.0, 0.0)
                ]
            )
            products = env["product.product"].create(
                [
                    {"name": sku, "default_code": sku, "is_storable": True}
                    for sku in SKUS
                ]
            )
            service = env["product.product"].create(
                {"name": "Concurrency shipping", "type": "service"}
            )
            carrier = env["delivery.carrier"].create(
                {"name": "Concurrency carrier", "product_id": service.id}
            )
            pricelist = env["product.pricelist"].create(
                {"name": "Concurrency GBP", "currency_id": gbp.id}
            )
            backend = env["mirakl.backend"].create(
                {
                    "name": "Concurrency shop",
                    "api_url": cls.sandbox_url,
                    "api_key": API_KEY,
                    "shop_id": str(SHOP_ID),
                    "pricelist_id": pricelist.id,
                    "acceptance_policy": "manual",
                    "warehouse_id": env["stock.warehouse"]
                    .search([("company_id", "=", company.id)], limit=1)
                    .id,
                    "shipping_type_ids": [
                        Command.create({"code": code, "carrier_id": carrier.id})
                        for code in ("STD", "EXP")
                    ],
                }
            )
            cls.ids = {
                "taxes": taxes.ids,
                "products": products.ids,
                "service": service.id,
                "carrier": carrier.id,
                "pricelist": pricelist.id,
                "backend": backend.id,
            }
        cls.addClassCleanup(cls._remove_committed_data)

    @classmethod
    def _remove_committed_data(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            backend = env["mirakl.backend"].browse(cls.ids["backend"])
            orders = env["sale.order"].search([("mirakl_backend_id", "=", backend.id)])
            partners = env["res.partner"].search(
                [("mirakl_backend_id", "=", backend.id)]
            )
            orders.unlink()
            env["res.partner"].search([("parent_id", "in", partners.ids)]).unlink()
            partners.unlink()
            backend.unlink()
            env["product.pricelist"].browse(cls.ids["pricelist"]).unlink()
            env["delivery.carrier"].browse(cls.ids["carrier"]).unlink()
            products = env["product.product"].browse(
                [*cls.ids["products"], cls.ids["service"]]
            )
            templates = products.product_tmpl_id
            products.unlink()
            templates.unlink()
            env["account.tax"].browse(cls.ids["taxes"]).unlink()
            env.ref("base.GBP").active = cls.gbp_was_active

    def _in_threads(self, *jobs):
        """Run each job(env) in its own thread and cursor, all at once."""
        barrier = threading.Barrier(len(jobs))
        results, errors = [None] * len(jobs), []

        def run(index, job):
            try:
                with self.registry.cursor() as cr:
                    # Odoo's runner holds the registry lock while tests run:
                    # give the cursor its transaction so no lookup waits for it.
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    backend = env["mirakl.backend"].browse(self.ids["backend"])
                    barrier.wait(timeout=30)
                    results[index] = job(backend)
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(index, job))
            for index, job in enumerate(jobs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse(errors)
        return results

    def _state(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["mirakl.backend"].browse(self.ids["backend"])
            orders = env["sale.order"].search([("mirakl_backend_id", "=", backend.id)])
            issues = env["mirakl.sync.issue"].search(
                [
                    ("backend_id", "=", backend.id),
                    ("state", "=", "open"),
                    ("operation", "=", "OR11"),
                ]
            )
            return orders.mapped("mirakl_order_id"), issues.mapped("message")

    def test_two_workers_one_sales_order_per_order(self):
        specs = [
            {"lines": [{"sku": SKUS[n % 2], "quantity": 1}], "customer_id": "C-55101"}
            for n in range(12)
        ]
        created = self.control.create_orders(orders=specs)
        wanted = sorted(order["order_id"] for order in created)
        # Two full cycles (two cron workers), and an import by id meanwhile.
        cycle_a, cycle_b, by_id = self._in_threads(
            lambda backend: backend._mirakl_import_orders(),
            lambda backend: backend._mirakl_import_orders(),
            lambda backend: backend._mirakl_import_order_ids(wanted),
        )
        order_ids, issues = self._state()
        self.assertEqual(len(order_ids), len(set(order_ids)))
        self.assertFalse(issues)
        self.assertTrue(cycle_a["busy"] or cycle_b["busy"])
        self.assertEqual(cycle_a["failed"] + cycle_b["failed"] + by_id["failed"], 0)
        # Whatever one worker left to another is read again by the next cycle.
        stats = (cycle_a, cycle_b, by_id)
        if sum(st["conflict"] for st in stats):
            self._in_threads(lambda backend: backend._mirakl_import_orders())
            order_ids, issues = self._state()
            self.assertEqual(sorted(order_ids), wanted)
            self.assertFalse(issues)
        # Re-running, again from two cursors, creates nothing; once the seller
        # references written by OR04 are read back, a run changes nothing.
        again = self._in_threads(
            lambda backend: backend._mirakl_import_order_ids(wanted),
            lambda backend: backend._mirakl_import_orders(),
        )
        self.assertEqual(sum(stats["created"] + stats["failed"] for stats in again), 0)
        for _run in range(2):  # the first run may still read OR04's change back
            (last,) = self._in_threads(lambda backend: backend._mirakl_import_orders())
        self.assertEqual(last["created"] + last["updated"], 0)
        self.assertEqual(sorted(self._state()[0]), wanted)
