"""Scheduled runs as a multi-process server makes them: committing as they
go, several jobs of one shop at once (issue 14, points 1 and 3).

Commits need committed data: ``CommittedShopCase`` creates the shop in a
cursor of its own; each run here is a cron's work in its own cursor with
``mirakl_commit`` on, as ``_mirakl_cron_each`` sets it outside tests (the
crons themselves never commit under tests).
"""

import time
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CommittedShopCase, capture_logs


@tagged("post_install", "-at_install")
class TestCommittedRuns(CommittedShopCase):
    def setUp(self):
        super().setUp()

        # Each test starts from a shop without orders, issues or watermark.
        def clean(shop):
            env = shop.env
            orders = env["sale.order"].search([("mirakl_backend_id", "=", shop.id)])
            orders.picking_ids.filtered(lambda p: p.state != "done").action_cancel()
            orders.with_context(
                disable_cancel_warning=True, mirakl_from_mirakl=True
            )._action_cancel()
            orders.picking_ids.unlink()
            orders.unlink()
            env["mirakl.sync.issue"].search([("backend_id", "=", shop.id)]).unlink()
            shop.write({"order_watermark": False, "read_timeout": 5})

        self.in_cursor(clean)

    # --- helpers ---

    def new_orders(self, count):
        return self.control.create_orders(
            orders=[
                {"lines": [{"sku": self.skus[n % 2], "quantity": 1}]}
                for n in range(count)
            ]
        )

    def import_run(self):
        """An order import cycle committing as it goes, as its cron runs it."""
        return self.in_cursor(
            lambda shop: shop._mirakl_import_orders(), mirakl_commit=True
        )

    def state(self):
        def read(shop):
            env = shop.env
            orders = env["sale.order"].search([("mirakl_backend_id", "=", shop.id)])
            issues = env["mirakl.sync.issue"].search(
                [("backend_id", "=", shop.id), ("state", "=", "open")]
            )
            rows = env["mirakl.shipment"].search([("backend_id", "=", shop.id)])
            return {
                "acceptance": dict(
                    orders.mapped(lambda o: (o.mirakl_order_id, o.mirakl_acceptance))
                ),
                "issues": issues.mapped(lambda i: (i.operation, i.category, i.message)),
                "rows": rows.mapped("state"),
                "shop": shop.read(
                    ["connection_state", "platform_checked_at", "last_import_date"]
                )[0],
            }

        return self.in_cursor(read)

    def applied(self, operation, order_id):
        """How many calls of ``operation`` on an order Mirakl carried out."""
        return [
            call
            for call in self.control.calls(operation)
            if order_id in call["path"]
            and (call["status"] or call.get("applied_status") or 500) < 300
        ]

    # --- 1. "already done" after a lost answer, in a committing run ---

    def test_1_acceptance_answer_lost_is_read_back_without_crashing(self):
        self.control.config(debit_delay_seconds=3600)
        first, second = self.new_orders(2)
        # Mirakl applies the first acceptance but its answer is lost: the
        # run's retry pass meets "already done" and reads the order back.
        self.control.fault("drop_after", path="/%s/accept" % first["order_id"])
        with capture_logs() as logs:
            self.import_run()
        self.assertNotIn("crashed", logs.text)
        state = self.state()
        self.assertEqual(
            state["acceptance"],
            {first["order_id"]: "accepted", second["order_id"]: "accepted"},
        )
        self.assertEqual(state["issues"], [])
        for order in (first, second):
            self.assertEqual(len(self.applied("OR21", order["order_id"])), 1)

    def test_1_shipment_answers_lost_are_all_sent_in_one_run(self):
        self.control.config(debit_delay_seconds=0)
        orders = self.new_orders(2)
        self.import_run()
        self.import_run()  # paid: released to the warehouse
        # Cancelling in Odoo queues OR29, sent right after the commit: Mirakl
        # applies both, both answers are lost; the rows wait for a retry.
        self.control.fault("drop_after", operation="OR29", count=2)

        def cancel(shop):
            sales = shop.env["sale.order"].search([("mirakl_backend_id", "=", shop.id)])
            sales.with_context(disable_cancel_warning=True).action_cancel()

        self.in_cursor(cancel)
        self.assertEqual(self.state()["rows"], ["pending", "pending"])

        def due(shop):
            rows = shop.env["mirakl.shipment"].search([("backend_id", "=", shop.id)])
            rows.write(
                {"next_attempt_date": fields.Datetime.now() - timedelta(minutes=1)}
            )

        self.in_cursor(due)
        with capture_logs() as logs:
            self.in_cursor(
                lambda shop: shop._mirakl_sync_shipments(), mirakl_commit=True
            )
        self.assertNotIn("crashed", logs.text)
        state = self.state()
        self.assertEqual(state["rows"], ["done", "done"])
        self.assertEqual(state["issues"], [])
        for order in orders:
            self.assertEqual(len(self.applied("OR29", order["order_id"])), 1)

    # --- 3. jobs of one shop at once ---

    # The cycle's write may meet the packer's as a serialization failure
    # (an ERROR "bad query" of odoo.sql_db) that it retries next cycle.
    @mute_logger("odoo.sql_db")
    def test_3_orders_written_elsewhere_during_a_cycle_do_not_crash_it(self):
        self.control.config(debit_delay_seconds=3600)
        (order,) = self.new_orders(1)
        # The cycle's seller reference call (OR04) is slow; meanwhile someone
        # writes the Sales Order the cycle is about to mark as referenced.
        self.control.fault("slow", operation="OR04", count=1, delay=3)

        def import_orders(shop):
            return shop._mirakl_import_orders()

        def packer(shop):
            deadline = time.monotonic() + 30
            while not self.control.calls("OR04") and time.monotonic() < deadline:
                time.sleep(0.1)
            sale = shop.env["sale.order"].search(
                [("mirakl_order_id", "=", order["order_id"])]
            )
            sale.note = "Packed by hand"

        with capture_logs() as logs:
            self.in_threads(import_orders, packer, mirakl_commit=True)
        self.assertNotIn("Traceback", logs.text)

        def reference(shop):
            sale = shop.env["sale.order"].search(
                [("mirakl_order_id", "=", order["order_id"])]
            )
            return sale.mirakl_seller_ref_pending, sale.note

        pending, note = self.in_cursor(reference)
        self.assertTrue(pending)  # left to the next cycle
        self.assertIn("Packed by hand", str(note))
        self.import_run()
        self.assertFalse(self.in_cursor(reference)[0])
        self.assertEqual(self.state()["issues"], [])

    def test_3_daily_refresh_and_import_write_the_shop_at_once(self):
        # The daily refresh waits for Mirakl while the import writes the shop.
        self.control.fault("slow", operation="A01", count=1, delay=2)
        self.new_orders(1)

        def refresh(shop):
            shop.env["mirakl.backend"]._cron_mirakl_refresh_platform()

        def import_orders(shop):
            time.sleep(0.5)
            shop._cron_mirakl_import_orders(shop.id)

        started = fields.Datetime.now()
        with capture_logs() as logs:
            self.in_threads(refresh, import_orders, mirakl_commit=True)
        self.assertNotIn("crashed", logs.text)
        state = self.state()
        self.assertEqual(state["shop"]["connection_state"], "ok")
        self.assertGreaterEqual(state["shop"]["platform_checked_at"], started)
        self.assertGreaterEqual(state["shop"]["last_import_date"], started)
        self.assertEqual(state["issues"], [])
