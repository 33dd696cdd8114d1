import time

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from .order_common import OrderCommon


@tagged("post_install", "-at_install")
class TestShipments(OrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carrier_std.tracking_url = "https://track.example/<shipmenttrackingnumber>"
        cls.backend.write({"multi_shipment": "disabled"})

    def setUp(self):
        super().setUp()
        self.assertTrue(self.backend._mirakl_refresh_carriers())
        self.assertTrue(self.backend._mirakl_refresh_reasons())

    # --- helpers ---

    def released(self, *lines, **extra):
        """(the Mirakl order, its Sales Order), released to the warehouse."""
        sale = super().released(*lines, **extra)
        return self.control.order(sale.mirakl_order_id), sale

    def validate(self, picking, quantities=None, backorder=True, tracking=None):
        """Validate as the warehouse does; when Odoo asks for the tracking
        number the marketplace requires, give ``tracking`` or insist without."""
        for move in picking.move_ids:
            qty = move.product_uom_qty
            if quantities is not None:
                qty = quantities.get(move.sale_line_id.mirakl_line_id, qty)
            move.quantity = qty
            move.picked = True
        result = picking.button_validate()
        if (
            isinstance(result, dict)
            and result["res_model"] == "mirakl.picking.tracking"
        ):
            wizard = Form.from_action(self.env, result)
            if tracking:
                with wizard.line_ids.edit(0) as line:
                    line.tracking_ref = tracking
                result = wizard.save().action_validate()
            else:
                result = wizard.save().action_validate_without()
        if isinstance(result, dict):
            wizard = Form.from_action(self.env, result).save()
            if backorder:
                wizard.process()
            else:
                wizard.process_cancel_backorder()
        self.assertEqual(picking.state, "done")
        return picking.mirakl_shipment_ids

    def map_carrier(self, code="ROYALMAIL", carrier=None):
        mirakl = self.backend.carrier_ids.filtered(lambda c: c.code == code)
        mirakl.carrier_id = carrier or self.carrier_std
        return mirakl

    def sync(self):
        return self.backend._mirakl_sync_shipments()

    def calls(self, *operations):
        return [c for c in self.control.calls() if c["operation"] in operations]

    # --- tests ---

    def test_whole_order_mapped_carrier_exactly_once(self):
        self.map_carrier()
        order, sale = self.released(("std", 1), ("zero", 2))
        picking = sale.picking_ids
        picking.carrier_tracking_ref = "JX123456789GB"
        self.control.clear_calls()
        rows = self.validate(picking)
        # Stored with the moves, to be sent right after the commit.
        self.assertEqual(rows.mapped("kind"), ["order"])
        self.assertEqual(rows.state, "pending")
        self.assertTrue(self.env.cr.postcommit._funcs)
        self.assertFalse(self.calls("OR23", "OR24"))
        # The commit never came (a crash): the scheduled action sends it.
        self.env["mirakl.backend"]._cron_mirakl_sync_shipments()
        self.assertEqual(rows.state, "done")
        calls = self.calls("OR23", "OR24")
        self.assertEqual([c["operation"] for c in calls], ["OR23", "OR24"])
        self.assertEqual(
            self.body_of(calls[0]),
            {"carrier_code": "ROYALMAIL", "tracking_number": "JX123456789GB"},
        )
        self.assertEqual(
            self.control.order(order["order_id"])["order_state"], "SHIPPED"
        )
        self.assertGreaterEqual(rows.latency_seconds, 0)
        self.assertEqual(self.backend.latency_count, 1)
        # Never sent again.
        self.env["mirakl.backend"]._cron_mirakl_sync_shipments()
        self.sync()
        self.assertEqual(len(self.calls("OR24")), 1)
        self.import_orders()
        self.assertEqual(sale.mirakl_state, "SHIPPED")

    def test_unmapped_carrier_by_name_or_issue(self):
        _order, sale = self.released(("std", 1))
        picking = sale.picking_ids
        picking.carrier_tracking_ref = "AC1"
        self.validate(picking)
        self.sync()
        (tracking,) = self.calls("OR23")
        self.assertEqual(
            self.body_of(tracking),
            {
                "carrier_name": "Royal Mail 48",
                "carrier_url": "https://track.example/AC1",
                "tracking_number": "AC1",
            },
        )
        # A platform taking only its own carriers: nothing wrong is sent.
        self.control.config(disable_seller_alternative_carrier=True)
        self.backend._mirakl_refresh_platform_config()
        self.assertTrue(self.backend.platform_alternative_carrier_disabled)
        _order, sale = self.released(("std2", 1))
        self.control.clear_calls()
        rows = self.validate(sale.picking_ids)
        self.sync()
        self.assertEqual(rows.state, "blocked")
        self.assertFalse(self.calls("OR23", "OR24"))
        issue = self.open_issues(res_model="mirakl.shipment", res_id=rows.id)
        self.assertIn("unmapped carrier Royal Mail 48", issue.message)
        # Mapped, then retried from the issue.
        self.map_carrier()
        sale.picking_ids._mirakl_update_tracking()
        issue.action_retry()
        self.assertEqual(rows.state, "done", rows.last_error)
        self.assertEqual(issue.state, "resolved")

    def test_missing_mandatory_tracking(self):
        self.map_carrier(carrier=self.carrier_exp)
        self.backend.shipping_type_ids.filtered(
            lambda s: s.code == "EXP"
        ).mandatory_tracking = True
        _order, sale = self.released(("std", 1), shipping_type="EXP")
        picking = sale.picking_ids
        self.assertTrue(picking.mirakl_tracking_required)
        # Validate asks for the number first; the warehouse insists without it.
        rows = self.validate(picking)
        self.assertTrue(
            any(
                "without the tracking number" in body
                for body in picking.message_ids.mapped("body")
            )
        )
        self.sync()
        self.assertEqual(rows.state, "blocked")
        self.assertFalse(self.calls("OR24"))
        self.assertIn("requires a tracking number", rows.last_error)
        picking.carrier_tracking_ref = "DPD42"
        self.assertEqual(rows.state, "pending")
        self.sync()
        self.assertEqual(rows.state, "done")

    def test_tracking_asked_before_validation(self):
        """The warehouse is asked for the tracking number the shipping type
        requires before the delivery is done, and sees the Mirakl facts."""
        self.map_carrier(carrier=self.carrier_exp)
        self.backend.shipping_type_ids.filtered(
            lambda s: s.code == "EXP"
        ).mandatory_tracking = True
        order, sale = self.released(("std", 1), shipping_type="EXP")
        picking = sale.picking_ids
        self.assertEqual(picking.mirakl_order_id, order["order_id"])
        self.assertIn("EXP", picking.mirakl_shipping_type)
        self.assertEqual(picking.mirakl_carrier_code, "ROYALMAIL")
        self.assertTrue(picking.mirakl_tracking_required)
        # Mirakl's shipping deadline is the delivery's deadline.
        deadline = fields.Datetime.to_datetime(
            order["shipping_deadline"][:19].replace("T", " ")
        )
        self.assertEqual(sale.mirakl_shipping_deadline, deadline)
        self.assertEqual(picking.date_deadline, deadline)
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        action = picking.button_validate()
        self.assertEqual(action["res_model"], "mirakl.picking.tracking")
        self.assertEqual(picking.state, "assigned")  # nothing done yet
        wizard = Form.from_action(self.env, action).save()
        with self.assertRaisesRegex(UserError, "Enter the tracking number"):
            wizard.action_validate()
        wizard.line_ids.tracking_ref = " DPD-778 "
        wizard.action_validate()
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "DPD-778")
        self.sync()
        self.assertEqual(picking.mirakl_shipment_state, "done")
        tracking = self.body_of(self.calls("OR23")[-1])
        self.assertEqual(tracking["tracking_number"], "DPD-778")

    def test_no_message_to_marketplace_customers(self):
        """Odoo neither e-mails nor texts a marketplace's customer, and its
        carrier note never reads "tracking number False"."""
        company = self.env.company
        company.stock_move_email_validation = True
        if "stock_move_sms_validation" in company._fields:
            company.stock_move_sms_validation = True
        _order, sale = self.released(("std", 1))
        sale.partner_shipping_id.mobile = "+44 7700 900123"
        picking = sale.picking_ids
        before = self.env["mail.message"].search([], order="id desc", limit=1).id
        self.validate(picking)
        posted = self.env["mail.message"].search(
            [("id", ">", before), ("model", "=", "stock.picking")]
        )
        customers = sale.partner_id | sale.partner_shipping_id
        self.assertFalse(posted.filtered(lambda m: m.partner_ids & customers))
        self.assertFalse(posted.filtered(lambda m: "number False" in (m.body or "")))
        self.assertFalse(
            self.env["mail.mail"].search([("mail_message_id", "in", posted.ids)])
        )

    def test_failure_retried_with_backoff(self):
        self.map_carrier()
        order, sale = self.released(("std", 1))
        rows = self.validate(sale.picking_ids)
        self.control.fault("500", operation="OR24", count=1)
        self.sync()
        self.assertEqual(rows.state, "pending")
        self.assertEqual(rows.attempts, 1)
        self.assertTrue(rows.next_attempt_date)
        issue = self.open_issues(res_model="mirakl.shipment", res_id=rows.id)
        self.assertEqual(issue.operation, "OR24")
        self.sync()  # backoff: not due yet
        self.assertEqual(len(self.calls("OR24")), 1)
        issue.action_retry()
        self.assertEqual(rows.state, "done")
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(
            self.control.order(order["order_id"])["order_state"], "SHIPPED"
        )

    def test_already_shipped_is_done(self):
        self.map_carrier()
        order, sale = self.released(("std", 1))
        rows = self.validate(sale.picking_ids)
        with self.backend._mirakl_get_client() as client:
            client.ship_order(order["order_id"])  # someone else was faster
        self.sync()
        self.assertEqual(rows.state, "done")
        self.assertIn("already", rows.last_error)
        self.assertFalse(self.open_issues(res_model="mirakl.shipment"))

    def test_partial_shipments_with_backorders(self):
        self.control.config(multi_shipment=True)
        self.backend.multi_shipment = "enabled"
        self.map_carrier()
        order, sale = self.released(("std", 2), ("zero", 3))
        first, second = (line["order_line_id"] for line in order["order_lines"])
        picking = sale.picking_ids
        picking.carrier_tracking_ref = "T1"
        rows = self.validate(picking, {first: 1, second: 3})
        self.sync()
        self.assertEqual(rows.kind, "shipment")
        self.assertEqual(rows.state, "done")
        (st01,) = self.calls("ST01")
        self.assertEqual(
            self.body_of(st01)["shipments"],
            [
                {
                    "order_id": order["order_id"],
                    "shipment_lines": [
                        {"order_line_id": first, "quantity": 1},
                        {"order_line_id": second, "quantity": 3},
                    ],
                    "shipped": True,
                    "tracking": {"carrier_code": "ROYALMAIL", "tracking_number": "T1"},
                }
            ],
        )
        self.assertEqual(
            self.control.order(order["order_id"])["order_state"], "SHIPPING"
        )
        backorder = sale.picking_ids - picking
        backorder.carrier_tracking_ref = "T2"
        rows = self.validate(backorder)
        self.sync()
        self.assertEqual(rows.state, "done")
        self.assertEqual(
            self.control.order(order["order_id"])["order_state"], "SHIPPED"
        )
        self.assertFalse(self.calls("OR24"))

    def test_no_backorder_cancels_undelivered_first(self):
        self.map_carrier()
        order, sale = self.released(("std", 2), ("zero", 1))
        first = order["order_lines"][0]
        rows = self.validate(
            sale.picking_ids, {first["order_line_id"]: 1}, backorder=False
        )
        self.assertEqual(sorted(rows.mapped("kind")), ["cancel_lines", "order"])
        self.sync()
        self.assertEqual(set(rows.mapped("state")), {"done"})
        operations = [c["operation"] for c in self.calls("OR30", "OR23", "OR24")]
        self.assertEqual(operations[0], "OR30")
        self.assertEqual(operations[-1], "OR24")
        (cancel,) = self.body_of(self.calls("OR30")[0])["cancelations"]
        self.assertEqual(cancel["order_line_id"], first["order_line_id"])
        self.assertEqual(cancel["quantity"], 1)
        self.assertAlmostEqual(cancel["amount"], first["price_unit"], places=2)
        self.assertEqual(cancel["reason_code"], self.backend.cancel_reason_id.code)
        mirakl = self.control.order(order["order_id"])
        self.assertEqual(mirakl["order_state"], "SHIPPED")
        self.assertEqual(len(mirakl["order_lines"][0]["cancelations"]), 1)
        self.import_orders()
        self.assertFalse(sale.mirakl_amount_mismatch)

    def test_cancel_from_odoo(self):
        order, sale = self.released(("std", 1))
        sale.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(sale.state, "cancel")
        row = self.env["mirakl.shipment"].search([("sale_order_id", "=", sale.id)])
        self.assertEqual(row.kind, "cancel")
        self.sync()
        self.assertEqual(row.state, "done")
        self.assertEqual(
            self.control.order(order["order_id"])["order_state"], "CANCELED"
        )
        self.import_orders()  # Mirakl's CANCELED is not echoed back
        self.assertEqual(len(self.calls("OR29")), 1)
        # Waiting for acceptance: the lines are refused instead.
        self.backend.acceptance_policy = "manual"
        (waiting,) = self.create_orders(self.order_spec(("std2", 1)))
        self.import_orders()
        pending = self.sale_of(waiting["order_id"])
        pending.action_cancel()
        self.assertEqual(
            self.control.order(waiting["order_id"])["order_state"], "REFUSED"
        )

    def test_cancel_lines_wizard(self):
        order, sale = self.released(("std", 3))
        line = sale.order_line.filtered("mirakl_line_id")
        wizard = Form.from_action(self.env, sale.action_mirakl_cancel_lines())
        with wizard.line_ids.edit(0) as item:
            item.quantity = 2
        wizard.save().action_confirm()
        (cancel,) = self.body_of(self.calls("OR30")[0])["cancelations"]
        self.assertEqual(cancel["quantity"], 2)
        self.assertNotIn("known_cancelations", cancel)
        self.assertEqual(line.product_uom_qty, 1)
        self.assertEqual(line.mirakl_cancelled_qty, 2)
        self.assertEqual(sale.picking_ids.move_ids.product_uom_qty, 1)
        self.assertFalse(sale.mirakl_amount_mismatch)
        self.assertEqual(
            self.control.order(order["order_id"])["order_lines"][0]["cancelations"][0][
                "quantity"
            ],
            2,
        )

    def test_reference_data(self):
        codes = set(self.backend.carrier_ids.mapped("code"))
        self.assertIn("ROYALMAIL", codes)
        self.assertTrue(self.backend.cancel_reason_id)
        self.assertEqual(self.backend.cancel_reason_id.reason_type, "CANCELATION")
        self.backend.write(
            {
                "carrier_ids": [
                    Command.update(
                        self.backend.carrier_ids[0].id,
                        {"carrier_id": self.carrier_std.id},
                    )
                ]
            }
        )
        self.assertTrue(self.backend._mirakl_refresh_carriers())  # mapping kept
        self.assertTrue(self.backend.carrier_ids.filtered("carrier_id"))

    def test_warehouse_user_validates(self):
        """Warehouse staff without Mirakl rights validate Mirakl deliveries."""
        self.map_carrier()
        _order, sale = self.released(("std", 1))
        storeman = new_test_user(
            self.env, login="storeman", groups="stock.group_stock_user"
        )
        picking = sale.picking_ids.with_user(storeman)
        picking.carrier_tracking_ref = "WH1"
        rows = self.validate(picking)
        self.assertEqual(rows.sudo().state, "pending")
        self.sync()
        self.assertEqual(rows.sudo().state, "done")

    def test_lost_st01_answer_is_not_sent_twice(self):
        """ST01 reached Mirakl but the answer was lost: checked, not resent."""
        self.control.config(multi_shipment=True)
        self.backend.write({"multi_shipment": "enabled", "read_timeout": 1})
        self.map_carrier()
        _order, sale = self.released(("std", 1))
        sale.picking_ids.carrier_tracking_ref = "LOST1"
        rows = self.validate(sale.picking_ids)
        self.control.fault("slow", operation="ST01", count=1, delay=1.5)
        self.sync()
        self.assertEqual(rows.state, "pending")
        self.assertTrue(rows.uncertain)
        time.sleep(1)  # the sandbox finishes the slow call: the shipment exists
        rows.action_send_now()
        self.assertEqual(rows.state, "done")
        self.assertTrue(rows.mirakl_shipment_ref)
        self.assertEqual(len(self.calls("ST01")), 1)
        self.assertTrue(self.calls("ST11"))
