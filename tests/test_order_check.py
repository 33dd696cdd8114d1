"""The daily order check: Mirakl's recent orders against the Sales Orders."""

import copy
from contextlib import contextmanager

from odoo.tests import Form, tagged

from .common import action_records
from .order_common import OrderCommon, hours_ago


@tagged("post_install", "-at_install")
class TestOrderCheck(OrderCommon):
    # --- helpers ---

    def check(self, **kwargs):
        return self.backend._mirakl_compare_orders(**kwargs)

    def differences(self):
        """{Mirakl order id: its open check issue}."""
        issues = self.open_issues(operation="DELTA").filtered("mirakl_ref")
        self.assertEqual(len(issues), len(set(issues.mapped("mirakl_ref"))))
        return {issue.mirakl_ref: issue for issue in issues}

    @contextmanager
    def mirakl_clock_back(self, hours):
        """What Mirakl does inside is dated ``hours`` ago."""
        self.control.advance(-hours * 3600)
        try:
            yield
        finally:
            self.control.advance(hours * 3600)

    def cancelled_on_mirakl_long_ago(self, sale):
        """Mirakl cancels the order, and its OR11 view shows the change dated
        before the order import's watermark (as late-indexed updates are):
        the incremental import never reads it."""
        raw = copy.deepcopy(self.control.order(sale.mirakl_order_id))
        raw["order_state"] = "CANCELED"
        raw["order_state_reason_code"] = "CUSTOMER_CANCELED"
        for line in raw["order_lines"]:
            line["order_line_state"] = "CANCELED"
        raw["last_updated_date"] = hours_ago(2)
        self.control.add_raw_order(raw)

    def deliver_without_tracking(self, picking):
        """The warehouse validates a delivery whose shipping type requires a
        tracking number, and insists without one."""
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        result = picking.button_validate()
        self.assertEqual(result["res_model"], "mirakl.picking.tracking")
        Form.from_action(self.env, result).save().action_validate_without()
        self.assertEqual(picking.state, "done")

    # --- tests ---

    def test_four_kinds_of_differences_and_their_resolution(self):
        Issue = self.env["mirakl.sync.issue"]
        express = self.backend.shipping_type_ids.filtered(lambda s: s.code == "EXP")
        express.mandatory_tracking = True
        agreeing = self.released(("std", 1))
        shipped_on_mirakl = self.released(("std2", 1))
        cancelled_on_mirakl = self.released(("zero", 1))
        cancelled_in_odoo = self.released(("reduced", 1))
        delivered_in_odoo = self.released(("std", 1), shipping_type="EXP")
        with self.mirakl_clock_back(24):
            (missing,) = self.create_orders(self.order_spec(("std2", 1)))
        # Mirakl side: shipped outside Odoo, cancelled (late-indexed).
        self.control.ship(shipped_on_mirakl.mirakl_order_id)
        self.cancelled_on_mirakl_long_ago(cancelled_on_mirakl)
        # Odoo side: cancelled without telling Mirakl; delivered, and the
        # confirmation waits for a tracking number.
        cancelled_in_odoo.with_context(mirakl_from_mirakl=True)._action_cancel()
        self.deliver_without_tracking(delivered_in_odoo.picking_ids)
        self.backend._mirakl_sync_shipments()
        confirmation = delivered_in_odoo.picking_ids.mirakl_shipment_ids
        self.assertEqual(confirmation.state, "blocked")
        self.import_orders()
        self.assertEqual(shipped_on_mirakl.mirakl_state, "SHIPPED")
        self.assertNotEqual(cancelled_on_mirakl.state, "cancel")  # never read
        self.assertFalse(self.sale_of(missing["order_id"]))  # never read
        # In flight, not differences: a delivery whose confirmation waits to
        # be sent, and a change on Mirakl the import has not read yet.
        in_flight = self.released(("std2", 1))
        self.deliver(in_flight.picking_ids)
        not_read_yet = self.released(("zero", 1))
        self.control.advance(120)
        self.control.ship(not_read_yet.mirakl_order_id)

        result = self.check()
        self.assertEqual(
            {
                kind: result[kind]
                for kind in (
                    "missing",
                    "cancelled_mirakl",
                    "cancelled_odoo",
                    "delivered",
                    "shipped",
                )
            },
            {
                "missing": 1,
                "cancelled_mirakl": 1,
                "cancelled_odoo": 1,
                "delivered": 1,
                "shipped": 1,
            },
        )
        self.assertFalse(result["ok"])
        self.assertEqual(result["differences"], 5)
        found = self.differences()
        self.assertEqual(
            {ref: issue.res_id for ref, issue in found.items()},
            {
                missing["order_id"]: 0,
                shipped_on_mirakl.mirakl_order_id: shipped_on_mirakl.id,
                cancelled_on_mirakl.mirakl_order_id: cancelled_on_mirakl.id,
                cancelled_in_odoo.mirakl_order_id: cancelled_in_odoo.id,
                delivered_in_odoo.mirakl_order_id: delivered_in_odoo.id,
            },
        )
        for issue in found.values():
            self.assertEqual(issue.category, "drift")
            self.assertFalse(issue.transient)
            self.assertIn(issue.mirakl_ref, issue.message)
        self.assertIn("has no Sales Order", found[missing["order_id"]].message)
        self.assertIn(
            "cancelled on Mirakl",
            found[cancelled_on_mirakl.mirakl_order_id].message,
        )
        self.assertIn(
            "paid, to ship on Mirakl",
            found[cancelled_in_odoo.mirakl_order_id].message,
        )
        self.assertIn(
            "still paid, to ship on Mirakl",
            found[delivered_in_odoo.mirakl_order_id].message,
        )
        self.assertIn(
            "shipped on Mirakl", found[shipped_on_mirakl.mirakl_order_id].message
        )
        for sale in (agreeing, in_flight, not_read_yet):
            self.assertNotIn(sale.mirakl_order_id, found)
        # On the shop and its card.
        self.assertEqual(self.backend.order_check_differences, 5)
        self.assertIn("1 missing in Odoo", self.backend.order_check_summary)
        self.assertTrue(self.backend.order_check_date)
        self.env.invalidate_all()
        self.assertEqual(self.backend.cockpit_check_issues, 5)
        self.assertEqual(
            action_records(self.env, self.backend.action_cockpit_check_issues()),
            Issue.browse([issue.id for issue in found.values()]),
        )
        # A second check finds the same, once.
        self.check()
        self.assertEqual(set(self.differences()), set(found))

        # Resolution, one by one.
        found[missing["order_id"]].action_retry()  # imports it
        self.assertEqual(found[missing["order_id"]].state, "resolved")
        self.assertTrue(self.sale_of(missing["order_id"]))
        found[cancelled_on_mirakl.mirakl_order_id].action_retry()  # reads it
        self.assertEqual(cancelled_on_mirakl.state, "cancel")
        self.assertEqual(found[cancelled_on_mirakl.mirakl_order_id].state, "resolved")
        self.control.cancel(cancelled_in_odoo.mirakl_order_id)
        delivered_in_odoo.picking_ids.carrier_tracking_ref = "TRK-CHECK-1"
        self.deliver(shipped_on_mirakl.picking_ids)
        self.deliver(not_read_yet.picking_ids)
        self.backend._mirakl_sync_shipments()
        self.assertEqual(
            self.control.order(delivered_in_odoo.mirakl_order_id)["order_state"],
            "SHIPPED",
        )
        self.import_orders()
        self.backend._cron_mirakl_compare_orders()
        self.assertEqual(self.differences(), {})
        for issue in found.values():
            self.assertEqual(issue.state, "resolved")
        self.assertEqual(self.backend.order_check_differences, 0)
        self.env.invalidate_all()
        self.assertEqual(self.backend.cockpit_check_issues, 0)

    def test_window_of_days_and_a_failing_read(self):
        # Orders wait for acceptance for a month on this marketplace.
        self.control.config(acceptance_window_hours=30 * 24)
        with self.mirakl_clock_back(20 * 24):
            self.create_orders(self.order_spec(("std", 1)))
        with self.mirakl_clock_back(10 * 24):
            (recent,) = self.create_orders(self.order_spec(("std", 1)))
        self.import_orders()  # the first import reads 7 days back
        self.assertFalse(self.sale_of(recent["order_id"]))
        self.assertEqual(
            self.control.order(recent["order_id"])["order_state"], "WAITING_ACCEPTANCE"
        )
        self.backend.order_check_days = 5
        self.assertEqual(self.check()["checked"], 0)
        self.backend.order_check_days = 14
        result = self.check()
        self.assertEqual((result["checked"], result["missing"]), (1, 1))
        self.assertEqual(set(self.differences()), {recent["order_id"]})
        # Out of the window, an open difference is still followed.
        self.backend.order_check_days = 5
        self.assertEqual(self.check()["checked"], 1)
        checked_on = self.backend.order_check_date
        # Mirakl failing: an issue of its own, the last check's date stays.
        self.control.fault("500", operation="OR11", count=20)
        result = self.check()
        self.assertFalse(result["ok"])
        (failure,) = self.open_issues(operation="DELTA", mirakl_ref=False)
        self.assertTrue(failure.transient)
        self.assertEqual(self.backend.order_check_date, checked_on)
        self.control.clear_faults()
        self.check()
        self.assertEqual(failure.state, "resolved")
        self.assertEqual(set(self.differences()), {recent["order_id"]})

    def test_unreadable_orders_are_skipped(self):
        self.released(("std", 1))
        keep = {}
        Backend = self.env["mirakl.backend"]
        for bad in (None, [], {"order_id": "X"}, {"order_state": "SHIPPING"}):
            Backend._mirakl_compare_keep(keep, bad)
        Backend._mirakl_compare_keep(
            keep,
            {"order_id": "Y", "order_state": "SHIPPING", "last_updated_date": "soon"},
        )
        self.assertEqual(keep, {"Y": ("SHIPPING", None)})
        result = self.check()
        self.assertTrue(result["ok"], result["message"])
        self.assertEqual(result["checked"], 1)
