import json
from datetime import timedelta

import psycopg2

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import file_open, mute_logger

from .order_common import OrderCommon, hours_ago


@tagged("post_install", "-at_install")
class TestOrderImport(OrderCommon):
    def test_import_accept_release_exactly_once(self):
        (order,) = self.create_orders(self.order_spec(("std", 2), ("zero", 1)))
        oid = order["order_id"]
        self.control.clear_calls()
        stats = self.import_orders()
        self.assertEqual(stats["created"], 1)
        self.assertEqual(stats["accepted"], 1)
        sale = self.sale_of(oid)
        self.assertEqual(len(sale), 1)
        # Stored as a quotation, accepted, not yet in the warehouse.
        self.assertEqual(sale.state, "draft")
        self.assertFalse(sale.picking_ids)
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        self.assertEqual(sale.client_order_ref, order["commercial_id"])
        self.assertEqual(sale.currency_id, self.gbp)
        self.assertEqual(sale.warehouse_id, self.warehouse)
        accept = [c for c in self.control.calls() if c["operation"] == "OR21"]
        self.assertEqual(len(accept), 1)
        self.assertEqual(
            self.body_of(accept[0]),
            {
                "order_lines": [
                    {"id": line["order_line_id"], "accepted": True}
                    for line in order["order_lines"]
                ]
            },
        )
        lines = sale.order_line.filtered("mirakl_line_id")
        self.assertEqual(
            lines.mapped("mirakl_line_id"),
            [line["order_line_id"] for line in order["order_lines"]],
        )
        self.assertEqual(lines[0].price_unit, order["order_lines"][0]["price_unit"])
        self.assertEqual(lines[0].product_uom_qty, 2)
        shipping = sale.order_line.filtered("is_delivery")
        self.assertEqual(shipping.product_id, self.carrier_std.product_id)
        self.assertEqual(shipping.price_unit, order["shipping_price"])
        # The Sales Order number is the seller's reference on Mirakl (OR04).
        self.assertEqual(
            self.control.order(oid)["references"]["order_reference_for_seller"],
            sale.name,
        )
        # Mirakl moves it to SHIPPING (debit delay 0): the next run releases it.
        stats = self.import_orders()
        self.assertEqual(stats["released"], 1)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.mirakl_state, "SHIPPING")
        self.assertTrue(sale.picking_ids)
        # Re-running changes nothing.
        self.control.clear_calls()
        write_date = sale.write_date
        stats = self.import_orders()
        self.assertEqual(stats["created"] + stats["updated"], 0)
        self.assertEqual(sale.write_date, write_date)
        self.assertFalse(self.control.calls("OR21"))
        self.assertFalse(self.control.calls("OR04"))
        self.assertEqual(len(self.sale_of(oid)), 1)

    def test_confirm_by_hand_refused_before_payment(self):
        self.backend.acceptance_policy = "manual"
        (order,) = self.create_orders(self.order_spec(("std", 1)))
        self.import_orders()
        sale = self.sale_of(order["order_id"])
        self.assertEqual(sale.mirakl_acceptance, "pending")
        with self.assertRaises(UserError):
            sale.action_confirm()
        decision = self.open_issues(operation="OR21", res_id=sale.id)
        self.assertEqual(decision.category, "decision")
        self.assertTrue(decision.activity_ids)
        sale.action_mirakl_accept()
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        self.assertFalse(decision.filtered(lambda i: i.state == "open"))

    def test_totals_to_the_penny(self):
        cases = {
            "TAX_INCLUDED": self.order_spec(
                ("std", 3), ("reduced", 1), ("zero", 2), order_tax_mode="TAX_INCLUDED"
            ),
            "TAX_EXCLUDED": self.order_spec(
                ("std", 3), ("reduced", 1), ("zero", 2), order_tax_mode="TAX_EXCLUDED"
            ),
        }
        for mode, spec in cases.items():
            with self.subTest(mode=mode):
                # OR11 shows prices in the platform's mode.
                self.control.config(order_tax_mode=mode)
                (order,) = self.create_orders(spec)
                self.import_orders()
                sale = self.sale_of(order["order_id"])
                taxes = sum(
                    t["amount"]
                    for line in order["order_lines"]
                    for t in line["taxes"] + line["shipping_taxes"]
                )
                total = order["total_price"] + (taxes if mode == "TAX_EXCLUDED" else 0)
                self.assertAlmostEqual(sale.amount_total, total, places=2)
                self.assertAlmostEqual(sale.amount_tax, taxes, places=2)
                self.assertFalse(sale.mirakl_amount_mismatch)
                rates = sorted(
                    sale.order_line.filtered("mirakl_line_id").tax_id.mapped("amount")
                )
                self.assertEqual(rates, [0.0, 5.0, 20.0])
                included = {t.price_include for t in sale.order_line.tax_id}
                self.assertEqual(included, {mode == "TAX_INCLUDED"})

    def test_several_taxes_on_one_line(self):
        extra = self.env["account.tax"].create(
            {
                "name": "Eco levy 2% incl",
                "amount": 2.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "price_include_override": "tax_included",
            }
        )
        self.backend.tax_map_ids = [
            fields.Command.create({"code": "ECO", "tax_id": extra.id})
        ]
        spec = self.order_spec(("std", 1))
        spec["lines"][0]["taxes"] = [
            {"code": "GB_VAT_STD", "rate": 20},
            {"code": "ECO", "rate": 2},
        ]
        (order,) = self.create_orders(spec)
        self.import_orders()
        sale = self.sale_of(order["order_id"])
        line = sale.order_line.filtered("mirakl_line_id")
        self.assertEqual(line.tax_id, self.taxes[20.0, True] | extra)
        taxes = sum(
            t["amount"]
            for mline in order["order_lines"]
            for t in mline["taxes"] + mline["shipping_taxes"]
        )
        self.assertAlmostEqual(sale.amount_tax, taxes, places=2)
        self.assertAlmostEqual(sale.amount_total, order["total_price"], places=2)
        self.assertFalse(sale.mirakl_amount_mismatch)

    def test_commission_shown_never_in_price(self):
        (order,) = self.create_orders(self.order_spec(("std", 2), ("zero", 1)))
        self.import_orders()
        sale = self.sale_of(order["order_id"])
        fee = sum(line["commission_fee"] for line in order["order_lines"])
        vat = sum(line["commission_vat"] for line in order["order_lines"])
        self.assertAlmostEqual(sale.mirakl_commission_fee, fee, places=2)
        self.assertAlmostEqual(sale.mirakl_commission_vat, vat, places=2)
        self.assertAlmostEqual(
            sale.mirakl_expected_net, order["total_price"] - fee - vat, places=2
        )
        self.assertAlmostEqual(sale.amount_total, order["total_price"], places=2)
        self.assertFalse(any(sale.order_line.mapped("discount")))

    def test_validation_failures_block_then_recover(self):
        unknown = self.order_spec(("std", 1))
        (order,) = self.create_orders(unknown)
        oid = order["order_id"]
        product = self.product_by_sku[self.skus["std"]]
        product.default_code = "RENAMED"
        self.control.clear_calls()
        self.import_orders()
        self.assertFalse(self.sale_of(oid))
        issue = self.open_issues(operation="OR11", mirakl_ref=oid)
        self.assertEqual(len(issue), 1)
        self.assertIn("unknown SKU %s" % self.skus["std"], issue.message)
        self.assertTrue(issue.deadline)
        self.assertTrue(issue.activity_ids)
        self.assertFalse(self.control.calls("OR21"))
        # Ambiguous, archived: still held, with the reason.
        twin = self.env["product.product"].create(
            {"name": "Twin", "default_code": self.skus["std"]}
        )
        product.default_code = self.skus["std"]
        self.import_orders()
        self.assertIn("ambiguous", issue.message)
        twin.unlink()
        product.active = False
        self.import_orders()
        self.assertIn("archived", issue.message)
        product.active = True
        # Fixed: the next run imports and accepts it.
        self.import_orders()
        self.assertEqual(issue.state, "resolved")
        sale = self.sale_of(oid)
        self.assertEqual(sale.mirakl_acceptance, "accepted")

    def test_unmapped_shipping_type_and_tax(self):
        self.backend.shipping_type_ids.filtered(
            lambda s: s.code == "EXP"
        ).carrier_id = False
        (express,) = self.create_orders(
            self.order_spec(("std", 1), shipping_type="EXP")
        )
        spec = self.order_spec(("std2", 1))
        spec["lines"][0]["taxes"] = [{"code": "GB_VAT_ODD", "rate": 17.5}]
        (odd,) = self.create_orders(spec)
        self.import_orders()
        self.assertFalse(self.sale_of(express["order_id"]))
        self.assertIn(
            "shipping type EXP",
            self.open_issues(mirakl_ref=express["order_id"]).message,
        )
        self.assertFalse(self.sale_of(odd["order_id"]))
        self.assertIn("17.5", self.open_issues(mirakl_ref=odd["order_id"]).message)
        self.assertFalse(
            [
                c
                for c in self.control.calls("OR21")
                if express["order_id"] in c["path"] or odd["order_id"] in c["path"]
            ]
        )
        # Retry from the issue once mapped.
        self.backend.shipping_type_ids.filtered(
            lambda s: s.code == "EXP"
        ).carrier_id = self.carrier_exp
        issue = self.open_issues(mirakl_ref=express["order_id"])
        issue.action_retry()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(
            self.sale_of(express["order_id"]).mirakl_acceptance, "accepted"
        )

    def test_address_problems_keep_order_from_warehouse(self):
        customer = {
            "customer_id": "C-ODD-1",
            "firstname": "Ada",
            "lastname": "Lovelace",
            "billing_address": {
                "lastname": "Lovelace",
                "street_1": "1 Analytical Row",
                "city": "London",
                "zip_code": "N1 1AA",
                "country_iso_code": "XYZ",
            },
            "shipping_address": {
                "lastname": "Lovelace",
                "city": "London",
                "country_iso_code": "GBR",
            },
        }
        (order,) = self.create_orders(self.order_spec(("std", 1), customer=customer))
        self.import_orders()
        sale = self.sale_of(order["order_id"])
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        issue = self.open_issues(
            res_model="sale.order", res_id=sale.id, operation="OR11"
        )
        self.assertIn("unknown country XYZ", issue.message)
        self.assertIn("street_1", issue.message)
        self.import_orders()  # SHIPPING now: not released, address incomplete
        self.assertEqual(sale.state, "draft")
        self.assertTrue(self.open_issues(res_id=sale.id, mirakl_ref="release"))
        self.assertEqual(sale.partner_id.mirakl_customer_id, "C-ODD-1")

    def test_customer_reused(self):
        (first, second) = self.create_orders(
            self.order_spec(("std", 1), customer_id="C-55101"),
            self.order_spec(("std2", 1), customer_id="C-55101"),
        )
        self.import_orders()
        one, two = self.sale_of(first["order_id"]), self.sale_of(second["order_id"])
        self.assertEqual(one.partner_id, two.partner_id)
        self.assertEqual(one.partner_shipping_id, two.partner_shipping_id)
        self.assertEqual(one.partner_shipping_id.country_id, self.env.ref("base.uk"))
        self.assertEqual(one.partner_shipping_id.type, "delivery")

    def test_refused_and_cancelled(self):
        self.backend.acceptance_policy = "manual"
        (refused, cancelled) = self.create_orders(
            self.order_spec(("std", 1)), self.order_spec(("std2", 1), ("zero", 1))
        )
        self.import_orders()
        sale = self.sale_of(refused["order_id"])
        wizard = Form.from_action(self.env, sale.action_mirakl_refuse()).save()
        wizard.action_refuse_all()
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(sale.mirakl_acceptance, "refused")
        body = self.body_of(self.control.calls("OR21")[-1])
        self.assertEqual([line["accepted"] for line in body["order_lines"]], [False])
        self.assertEqual(
            self.control.order(refused["order_id"])["order_state"], "REFUSED"
        )
        # Accepted, released, then a line and the whole order cancelled on Mirakl.
        sale = self.sale_of(cancelled["order_id"])
        sale.action_mirakl_accept()
        self.import_orders()
        self.assertEqual(sale.state, "sale")
        line_id = cancelled["order_lines"][1]["order_line_id"]
        self.control.cancel(cancelled["order_id"], lines={line_id: 1})
        self.import_orders()
        line = sale.order_line.filtered(lambda x: x.mirakl_line_id == line_id)
        self.assertEqual(line.product_uom_qty, 0)
        self.assertEqual(line.mirakl_line_state, "CANCELED")
        moves = sale.picking_ids.move_ids.filtered(
            lambda m: m.product_id == line.product_id
        )
        self.assertEqual(
            sum(
                moves.filtered(lambda m: m.state != "cancel").mapped("product_uom_qty")
            ),
            0,
        )
        self.assertFalse(sale.mirakl_amount_mismatch)
        self.control.cancel(cancelled["order_id"])
        self.import_orders()
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(set(sale.picking_ids.mapped("state")), {"cancel"})
        self.assertIn("CANCELED", sale.message_ids[:3].mapped("body")[0] + "CANCELED")

    def test_stock_policy(self):
        self.control.config(partial_acceptance=True)
        self.backend.write(
            {"acceptance_policy": "stock", "partial_acceptance": "enabled"}
        )
        covered = self.product_by_sku[self.skus["std"]]
        self.set_stock(covered, 2)
        (order,) = self.create_orders(self.order_spec(("std", 2), ("std2", 1)))
        self.import_orders()
        sale = self.sale_of(order["order_id"])
        body = self.body_of(self.control.calls("OR21")[-1])
        self.assertEqual(
            [line["accepted"] for line in body["order_lines"]], [True, False]
        )
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        # Without partial acceptance the order waits for a person.
        self.backend.partial_acceptance = "disabled"
        (second,) = self.create_orders(self.order_spec(("std2", 1)))
        self.import_orders()
        sale = self.sale_of(second["order_id"])
        self.assertEqual(sale.mirakl_acceptance, "pending")
        self.assertEqual(
            self.open_issues(res_id=sale.id, operation="OR21").category, "decision"
        )

    def test_deadline_escalation_and_lost(self):
        self.backend.write(
            {"acceptance_policy": "manual", "acceptance_window_hours": 48}
        )
        (near,) = self.create_orders(
            self.order_spec(("std", 1), created_date=hours_ago(40))
        )
        product = self.product_by_sku[self.skus["std2"]]
        product.default_code = False
        (held,) = self.create_orders(
            self.order_spec(("std2", 1), created_date=hours_ago(47))
        )
        self.import_orders()
        sale = self.sale_of(near["order_id"])
        issue = self.open_issues(res_id=sale.id, operation="OR21")
        self.assertEqual(issue.priority, "1")
        self.assertEqual(len(issue.activity_ids), 2)
        held_issue = self.open_issues(mirakl_ref=held["order_id"], operation="OR11")
        self.assertEqual(held_issue.priority, "1")
        # Past the window: reported lost, no more OR21 attempts.
        sale.mirakl_acceptance_deadline = fields.Datetime.now() - timedelta(minutes=1)
        self.backend.write({"acceptance_policy": "all", "acceptance_window_hours": 46})
        self.control.clear_calls()
        self.import_orders()
        self.assertEqual(sale.mirakl_acceptance, "expired")
        self.assertEqual(
            self.open_issues(res_id=sale.id, operation="OR21").category, "lost"
        )
        self.assertEqual(held_issue.category, "lost")
        self.assertFalse(self.control.calls("OR21"))

    def test_failures_retried_nothing_lost_or_duplicated(self):
        orders = self.control.create_orders(count=3)
        # One order's OR21 fails twice: at creation and at the run's retry pass.
        self.control.fault(
            "500", path="/api/orders/%s/accept" % orders[0]["order_id"], count=2
        )
        self.control.fault("429", operation="OR11", count=1, retry_after=1)
        stats = self.import_orders()
        self.assertEqual(stats["created"], 3)
        sales = self.env["sale.order"].search(
            [("mirakl_backend_id", "=", self.backend.id)]
        )
        self.assertEqual(len(sales), 3)
        failed = sales.filtered(lambda s: s.mirakl_acceptance == "to_send")
        self.assertEqual(len(failed), 1)
        self.assertTrue(self.open_issues(operation="OR21", res_id=failed.id))
        # A timeout on the next OR11 leaves the watermark; then all is accepted.
        watermark = self.backend.order_watermark
        self.control.fault("slow", operation="OR11", count=10, delay=1.5)
        self.backend.write({"read_timeout": 1, "connect_timeout": 1})
        stats = self.import_orders()
        self.assertTrue(stats["error"])
        self.assertEqual(self.backend.order_watermark, watermark)
        self.control.clear_faults()
        self.import_orders()
        self.assertEqual(set(sales.mapped("mirakl_acceptance")), {"accepted"})
        self.assertFalse(self.open_issues(operation="OR21"))
        self.assertEqual(
            len(
                self.env["sale.order"].search(
                    [("mirakl_backend_id", "=", self.backend.id)]
                )
            ),
            len(orders),
        )

    def test_import_by_id_and_resync(self):
        (order,) = self.create_orders(self.order_spec(("std", 1)))
        # Missed: the watermark is already past it.
        self.backend.order_watermark = fields.Datetime.now() + timedelta(days=1)
        self.import_orders()
        self.assertFalse(self.sale_of(order["order_id"]))
        wizard = Form.from_action(
            self.env, self.backend.action_mirakl_import_order_by_id()
        )
        wizard.order_refs = "%s, NOPE-1-A" % order["order_id"]
        wizard.save().action_import()
        sale = self.sale_of(order["order_id"])
        self.assertEqual(len(sale), 1)
        self.assertTrue(self.open_issues(mirakl_ref="NOPE-1-A"))
        sale.mirakl_state = "WAITING_DEBIT"
        sale.action_mirakl_resync()
        self.assertEqual(sale.mirakl_state, "SHIPPING")
        self.assertEqual(sale.state, "sale")

    def test_unseen_payload(self):
        """An OR11 order written from Mirakl's documented fields, not by the sandbox."""
        with file_open("mirakl_connector/tests/data/or11_order_uk.json") as handle:
            payload = json.load(handle)
        for line in payload["order_lines"]:
            self.env["product.product"].create(
                {"name": line["product_title"], "default_code": line["offer_sku"]}
            )
        payload["last_updated_date"] = hours_ago(1)
        self.control.add_raw_order(payload)
        self.import_orders()
        sale = self.sale_of(payload["order_id"])
        self.assertEqual(sale.mirakl_state, "SHIPPING")
        self.assertEqual(sale.state, "sale")
        self.assertAlmostEqual(sale.amount_total, payload["total_price"], places=2)
        self.assertAlmostEqual(sale.amount_tax, 15.66, places=2)
        self.assertFalse(sale.mirakl_amount_mismatch)
        self.assertAlmostEqual(sale.mirakl_commission_total, 16.20, places=2)
        self.assertEqual(sale.partner_shipping_id.zip, "LS1 4AB")

    def test_many_orders_across_pages(self):
        self.control.create_orders(count=260)
        self.control.clear_calls()
        stats = self.import_orders()
        self.assertEqual(stats["created"], 260)
        self.assertEqual(stats["failed"], 0)
        offsets = [c["query"].get("offset") for c in self.control.calls("OR11")]
        self.assertEqual(offsets, ["0", "100", "200"])
        self.assertEqual(len(self.control.calls("OR04")), 3)  # 100 references a call
        count = self.env["sale.order"].search_count(
            [("mirakl_backend_id", "=", self.backend.id)]
        )
        self.assertEqual(count, 260)

    def test_order_updated_while_paging_is_imported(self):
        self.control.create_orders(count=12)
        watermark_before = fields.Datetime.now()
        self.import_orders()
        self.assertGreaterEqual(self.backend.order_watermark, watermark_before)
        # An order changing on Mirakl after the cycle started (here: after it
        # ended) is newer than the watermark minus the overlap: read next time.
        first = self.env["sale.order"].search(
            [("mirakl_backend_id", "=", self.backend.id)], order="id", limit=1
        )
        line_id = first.order_line.filtered("mirakl_line_id")[0].mirakl_line_id
        self.control.cancel(first.mirakl_order_id, lines={line_id: 1})
        stats = self.import_orders()
        self.assertGreaterEqual(stats["updated"], 1)
        self.assertIn("CANCELED", first.order_line.mapped("mirakl_line_state"))

    def test_per_shop_cron(self):
        cron = self.backend.order_cron_id
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (5, "minutes"))
        self.backend.order_import_interval = 2
        self.assertEqual(cron.interval_number, 2)
        with (
            self.assertRaises(psycopg2.errors.CheckViolation),
            mute_logger("odoo.sql_db"),
            self.cr.savepoint(),
        ):
            self.backend.order_import_interval = 0  # Mirakl: at most once a minute
            self.backend.flush_recordset()
        self.backend.order_import_enabled = False
        self.assertFalse(cron.active)
        self.backend.order_import_enabled = True
        (order,) = self.create_orders(self.order_spec(("std", 1)))
        self.env["mirakl.backend"]._cron_mirakl_import_orders(self.backend.id)
        self.assertEqual(self.sale_of(order["order_id"]).mirakl_acceptance, "accepted")
        self.backend.active = False
        self.assertFalse(cron.active)

    def test_mirakl_user_runs_the_buttons(self):
        user = new_test_user(
            self.env,
            login="mirakl_operator",
            groups="mirakl_connector.mirakl_connector_group_user",
        )
        self.backend.acceptance_policy = "manual"
        (order,) = self.create_orders(self.order_spec(("std", 1), ("zero", 1)))
        backend = self.backend.with_user(user)
        result = backend.action_import_orders()
        self.assertEqual(result["params"]["type"], "success")
        sale = self.sale_of(order["order_id"]).with_user(user)
        sale.action_mirakl_accept()
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        sale.action_mirakl_resync()
        self.assertEqual(sale.mirakl_state, "SHIPPING")
        self.assertEqual(sale.state, "sale")
        # Someone without the Mirakl group cannot.
        clerk = new_test_user(
            self.env, login="clerk", groups="sales_team.group_sale_manager"
        )
        with self.assertRaises(AccessError):
            self.backend.with_user(clerk).action_import_orders()
