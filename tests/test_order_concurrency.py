"""Two database cursors importing one shop at the same time.

These tests need committed data (other cursors cannot see a test
transaction): ``CommittedShopCase`` creates it in its own cursor and removes
it after.
"""

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from .common import CommittedShopCase


@tagged("post_install", "-at_install")
class TestConcurrentImports(CommittedShopCase):
    shop_vals = {"acceptance_policy": "manual"}

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
            {
                "lines": [{"sku": self.skus[n % 2], "quantity": 1}],
                "customer_id": "C-55101",
            }
            for n in range(12)
        ]
        created = self.control.create_orders(orders=specs)
        wanted = sorted(order["order_id"] for order in created)
        # Two full cycles (two cron workers), and an import by id meanwhile.
        cycle_a, cycle_b, by_id = self.in_threads(
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
            self.in_threads(lambda backend: backend._mirakl_import_orders())
            order_ids, issues = self._state()
            self.assertEqual(sorted(order_ids), wanted)
            self.assertFalse(issues)
        # Re-running, again from two cursors, creates nothing; once the seller
        # references written by OR04 are read back, a run changes nothing.
        again = self.in_threads(
            lambda backend: backend._mirakl_import_order_ids(wanted),
            lambda backend: backend._mirakl_import_orders(),
        )
        self.assertEqual(sum(stats["created"] + stats["failed"] for stats in again), 0)
        for _run in range(2):  # the first run may still read OR04's change back
            (last,) = self.in_threads(lambda backend: backend._mirakl_import_orders())
        self.assertEqual(last["created"] + last["updated"], 0)
        self.assertEqual(sorted(self._state()[0]), wanted)
