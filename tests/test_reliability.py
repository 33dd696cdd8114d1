"""What a fault soak under a multi-process server found (issue 14), point by
point, against the sandbox over real HTTP. Points 1 and 3 need committed
data and several cursors: ``test_committed_runs.py``."""

import copy
import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .order_common import OrderCommon, hours_ago


@tagged("post_install", "-at_install")
class TestReliability(OrderCommon):
    # --- helpers ---

    def template(self, *lines, **extra):
        """The OR11 JSON of a sandbox order (of ``lines``), which the sandbox
        then forgets (it is reset: build every payload before serving any):
        a payload to change and serve again."""
        (order,) = self.create_orders(
            self.order_spec(*(lines or [("std", 1)]), **extra)
        )
        self.control.reset()
        order["last_updated_date"] = hours_ago(0.1)
        return order

    def raw(self, order_id, *lines, **changes):
        payload = self.template(*lines)
        payload = copy.deepcopy(payload)
        payload["order_id"] = order_id
        for index, line in enumerate(payload["order_lines"], 1):
            line["order_line_id"] = "%s-%s" % (order_id, index)
        payload.update(changes)
        return payload

    def held_issue(self, order_id):
        return self.open_issues(operation="OR11", mirakl_ref=order_id)

    # --- 2. a run finishes inside its time budget ---

    def test_2_run_stops_within_its_budget_and_checks_deadlines_first(self):
        self.backend.write(
            {
                "acceptance_policy": "manual",
                "acceptance_window_hours": 48,
                "cron_time_budget": 5,
            }
        )
        (near,) = self.create_orders(
            self.order_spec(("std", 1), created_date=hours_ago(40))
        )
        self.import_orders()
        sale = self.sale_of(near["order_id"])
        issue = self.open_issues(res_id=sale.id, operation="OR21")
        issue.write({"priority": "0", "escalated_date": False})
        # Mirakl now answers every OR11 with "come back in 30 s".
        self.control.fault("429", operation="OR11", rate=1, retry_after=30)
        started = time.monotonic()
        self.backend._cron_mirakl_import_orders(self.backend.id)
        self.assertLess(time.monotonic() - started, 5 + 3)
        self.assertEqual(issue.priority, "1")  # the deadline check ran
        self.assertEqual(self.open_issues(operation="OR11").category, "rate_limit")

    def test_2_run_out_of_time_commits_and_the_next_run_goes_on(self):
        self.backend.write({"cron_time_budget": 5})
        first, second = self.create_orders(
            self.order_spec(("std", 1)), self.order_spec(("std2", 1))
        )
        # The first acceptance takes Mirakl longer than the whole budget.
        self.control.fault(
            "slow", path="/%s/accept" % first["order_id"], count=1, delay=6
        )
        started = time.monotonic()
        self.backend._cron_mirakl_import_orders(self.backend.id)
        self.assertLess(time.monotonic() - started, 5 + 3)
        self.assertIn("time budget", self.backend.last_import_summary)
        self.assertFalse(self.backend.order_watermark)
        self.assertFalse(self.sale_of(second["order_id"]))
        self.assertFalse(self.open_issues(operation="OR21"))  # not a failure
        time.sleep(max(0.0, started + 6.5 - time.monotonic()))  # Mirakl is done
        self.control.clear_faults()
        self.backend._cron_mirakl_import_orders(self.backend.id)
        for order in (first, second):
            self.assertEqual(
                self.sale_of(order["order_id"]).mirakl_acceptance, "accepted"
            )
        accepted = [c for c in self.control.calls("OR21") if c["status"] in (204, None)]
        self.assertEqual(len(accepted), 2)  # one acceptance per order
        self.assertTrue(self.backend.order_watermark)

    # --- 3. a daily job that did not complete runs again soon ---

    def test_3_daily_job_failing_is_retried_within_the_hour(self):
        cron = self.env.ref("mirakl_connector.ir_cron_mirakl_refresh_platform")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        self.control.fault("503", operation="A01", count=10)
        self.env["mirakl.backend"].with_context(
            cron_id=cron.id
        )._cron_mirakl_refresh_platform()
        triggers = Trigger.search([("cron_id", "=", cron.id)]) - before
        self.assertEqual(len(triggers), 1)
        self.assertLess(triggers.call_at, fields.Datetime.now() + timedelta(hours=1))
        self.assertEqual(self.open_issues(operation="A01").category, "server")

    # --- 4. a bad order is visible and never freezes the watermark ---

    # The broken unique key is a failed INSERT (ERROR "bad query") and a
    # WARNING naming the order: both expected here.
    @mute_logger(
        "odoo.sql_db", "odoo.addons.mirakl_connector.models.orders.mirakl_backend_order"
    )
    def test_4_duplicate_line_id_and_foreign_unique_key_are_issues(self):
        bad = self.raw("DUP-1-A", ("std", 1), ("std2", 1))
        bad["order_lines"][1]["order_line_id"] = bad["order_lines"][0]["order_line_id"]
        # Two shipped orders carrying the same refund id: the second breaks
        # the refund's unique key, which no concurrent import explains.
        refund = {
            "id": "R-77",
            "quantity": 1,
            "amount": 1.0,
            "shipping_amount": 0,
            "refund_state": "WAITING_REFUND",
            "created_date": hours_ago(1),
        }
        shipped = []
        for order_id in ("RFD-1-A", "RFD-2-A"):
            payload = self.raw(order_id, ("std", 1), order_state="SHIPPED")
            for line in payload["order_lines"]:
                line["order_line_state"] = "SHIPPED"
            payload["order_lines"][0]["refunds"] = [refund]
            shipped.append(payload)
        self.control.add_malformed_order(bad)
        for payload in shipped:
            self.control.add_raw_order(payload)
        (good,) = self.create_orders(self.order_spec(("std", 1)))
        stats = self.import_orders()
        self.assertEqual(stats["conflict"], 0)
        self.assertFalse(self.sale_of("DUP-1-A"))
        self.assertIn("appears twice", self.held_issue("DUP-1-A").message)
        self.assertTrue(self.sale_of("RFD-1-A"))
        self.assertFalse(self.sale_of("RFD-2-A"))
        self.assertIn("mirakl_refund_unique", self.held_issue("RFD-2-A").message)
        self.assertTrue(self.sale_of(good["order_id"]))
        self.assertTrue(self.backend.order_watermark)

    # --- 5. implausible values are held before acceptance ---

    def test_5_absurd_values_held_before_acceptance(self):
        huge = self.raw("HUGE-1-A", ("std", 1))
        huge["order_lines"][0]["quantity"] = 10**9
        negative = self.raw("NEG-1-A", ("std", 1))
        negative["order_lines"][0]["price_unit"] = -5.0
        astronomic = self.raw("ASTRO-1-A", ("std", 1))
        astronomic["order_lines"][0]["price_unit"] = 1e300
        astronomic["order_lines"][0]["price"] = 1e300
        many = self.raw("MANY-1-A", ("std", 1))
        many["order_lines"][0]["quantity"] = 2000
        for payload in (huge, negative, astronomic, many):
            self.control.add_raw_order(payload)
        self.import_orders()
        for order_id, reason in (
            ("HUGE-1-A", "quantity 1000000000 is above the shop's limit of 1000"),
            ("NEG-1-A", "negative price_unit"),
            ("ASTRO-1-A", "above the shop's limit of 50000"),
            ("MANY-1-A", "quantity 2000"),
        ):
            with self.subTest(order_id):
                self.assertFalse(self.sale_of(order_id))
                issue = self.held_issue(order_id)
                self.assertIn(reason, issue.message)
                self.assertTrue(issue.deadline)
                self.assertTrue(issue.mirakl_held_order)
        self.assertFalse(self.control.calls("OR21"))
        # The seller refuses the absurd one from its issue...
        issue = self.held_issue("HUGE-1-A")
        issue.action_mirakl_refuse_order()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(self.control.order("HUGE-1-A")["order_state"], "REFUSED")
        # ... and takes the genuine big one in with a higher limit.
        self.backend.order_max_line_quantity = 5000
        self.held_issue("MANY-1-A").action_retry()
        self.assertEqual(self.sale_of("MANY-1-A").mirakl_acceptance, "accepted")
        self.import_orders()
        self.assertFalse(self.sale_of("HUGE-1-A"))

    # --- 6. unknown states are held; missing totals are flagged ---

    def test_6_unknown_state_held_and_missing_total_flagged(self):
        odd = self.raw("ODD-1-A", ("std", 1), order_state="AWAITING_FRAUD_CHECK")
        no_total = self.raw("NOTOTAL-1-A", ("std", 1), total_price=None)
        self.control.add_malformed_order(odd)
        self.control.add_raw_order(no_total)
        self.import_orders()
        self.assertFalse(self.sale_of("ODD-1-A"))
        self.assertIn("AWAITING_FRAUD_CHECK", self.held_issue("ODD-1-A").message)
        sale = self.sale_of("NOTOTAL-1-A")
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        flag = self.open_issues(res_id=sale.id, mirakl_ref="total")
        self.assertIn("no total_price", flag.message)
        # A known order moving to an unknown state is recorded, nothing more.
        sale.mirakl_state = "WAITING_ACCEPTANCE"
        sale.mirakl_acceptance = "pending"
        payload = self.control.order("NOTOTAL-1-A")
        payload.update(order_state="ON_HOLD", last_updated_date=hours_ago(0))
        self.control.reset()  # Mirakl's answer is now the odd one alone
        self.control.add_malformed_order(payload)
        self.control.clear_calls()
        self.backend._mirakl_import_order_ids(["NOTOTAL-1-A"], force=True)
        self.assertEqual(sale.mirakl_state, "ON_HOLD")
        self.assertEqual(sale.mirakl_acceptance, "pending")
        self.assertTrue(self.open_issues(res_id=sale.id, mirakl_ref="state"))
        self.assertFalse(self.control.calls("OR21"))

    # --- 7. country from its name when the code is missing ---

    def test_7_country_resolved_from_its_name(self):
        fr = self.env["res.lang"]._activate_lang("fr_FR")
        germany = self.env.ref("base.de")
        germany.with_context(lang=fr.code).name = "Allemagne"
        self.backend.marketplace_lang = fr.code
        payloads = []
        for order_id, country in (
            ("FRA-1-A", "France"),
            ("DEU-1-A", "Allemagne"),
            ("NOW-1-A", "Narnia"),
        ):
            payload = self.raw(order_id, ("std", 1))
            for address in ("billing_address", "shipping_address"):
                payload["customer"][address].pop("country_iso_code")
                payload["customer"][address]["country"] = country
            payloads.append(payload)
        for payload in payloads:
            self.control.add_raw_order(payload)
        self.import_orders()
        self.import_orders()  # paid: released when the address is complete
        france = self.sale_of("FRA-1-A")
        self.assertEqual(france.partner_shipping_id.country_id, self.env.ref("base.fr"))
        self.assertEqual(france.state, "sale")
        self.assertIn(
            "country France read as France",
            " ".join(france.message_ids.mapped("body")),
        )
        germany_sale = self.sale_of("DEU-1-A")
        self.assertEqual(germany_sale.partner_shipping_id.country_id, germany)
        self.assertEqual(germany_sale.state, "sale")
        narnia = self.sale_of("NOW-1-A")
        self.assertEqual(narnia.state, "draft")
        held = self.open_issues(res_id=narnia.id, operation="OR11")
        self.assertIn("unknown country Narnia", held.message)
        self.assertFalse(self.open_issues(res_id=france.id, operation="OR11"))

    # --- 8. over-long and control-character fields are cleaned ---

    def test_8_long_and_control_character_fields_cleaned(self):
        payload = self.raw("LONG-1-A", ("std", 1))
        customer = payload["customer"]
        customer["lastname"] = "Lo" * 100000
        customer["shipping_address"]["lastname"] = "Lo" * 100000
        customer["shipping_address"]["street_1"] = "12 Rowan\x00 Street"
        customer["shipping_address"]["city"] = "Le\x07eds"
        self.control.add_raw_order(payload)
        self.import_orders()
        sale = self.sale_of("LONG-1-A")
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        delivery = sale.partner_shipping_id
        self.assertEqual(delivery.street, "12 Rowan Street")
        self.assertEqual(delivery.city, "Leeds")
        self.assertLessEqual(len(sale.partner_id.name), 300)
        notes = " ".join(sale.message_ids.mapped("body"))
        self.assertIn("customer lastname: 200000 characters, cut to 255", notes)
        self.assertIn("control characters removed", notes)
        self.assertFalse(self.open_issues(operation="OR11"))

    # --- 9. Send shipments now sends every pending confirmation ---

    def test_9_send_shipments_now_does_not_wait_for_the_backoff(self):
        sale = self.released(("std", 1))
        self.control.fault("500", operation="OR24", count=1)
        self.deliver(sale.picking_ids)
        row = sale.picking_ids.mirakl_shipment_ids
        self.backend._mirakl_sync_shipments()
        self.assertEqual(row.state, "pending")
        self.assertGreater(row.next_attempt_date, fields.Datetime.now())
        self.backend.action_sync_shipments()
        self.assertEqual(row.state, "done")
        self.assertEqual(
            self.control.order(sale.mirakl_order_id)["order_state"], "SHIPPED"
        )

    # --- 10. minor points ---

    def test_10_orders_without_id_each_get_their_own_issue(self):
        payloads = [
            self.raw("X", ("std", 1), commercial_id=commercial)
            for commercial in ("C-1", "C-2")
        ]
        for payload in payloads:
            payload.pop("order_id")
            self.control.add_malformed_order(payload)
        self.import_orders()
        self.import_orders()  # read again: no "Mirakl has no order ?"
        issues = self.open_issues(operation="OR11")
        self.assertEqual(
            sorted(issues.mapped("mirakl_ref")),
            [
                "no order_id: page 1, position 1",
                "no order_id: page 1, position 2",
            ],
        )
        self.assertTrue(all("no order_id" in m for m in issues.mapped("message")))
        self.assertFalse(self.open_issues(category="not_found"))

    def test_10_held_order_refused_by_mirakl_after_deadline_is_lost(self):
        self.backend.acceptance_window_hours = 72
        product = self.product_by_sku[self.skus["std2"]]
        product.default_code = False  # unknown SKU: held back
        (order,) = self.create_orders(self.order_spec(("std2", 1)))
        stats = self.import_orders()
        issue = self.held_issue(order["order_id"])
        self.assertTrue(issue)
        self.control.advance(73 * 3600)  # Mirakl refuses it: AUTO_REFUSED
        self.backend.order_watermark = False
        stats = self.import_orders()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(issue.category, "lost")
        self.assertIn("after the acceptance deadline", issue.resolution)
        self.assertNotIn("later successful call", issue.resolution)
        self.assertEqual(stats["lost"], 1)

    def test_10_billing_user_cannot_test_the_connection(self):
        accountant = new_test_user(
            self.env, login="billing", groups="account.group_account_invoice"
        )
        self.control.clear_calls()
        with self.assertRaises(AccessError):
            self.backend.with_user(accountant).action_mirakl_test_connection()
        self.assertFalse(self.control.calls("A01"))
