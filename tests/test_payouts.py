"""Payout data in: billing cycles (SBC11), transaction lines (TL02) and
accounting documents (IV01/IV02), stored raw and exactly once, and the checks
that hold a cycle, against the sandbox over HTTP."""

from odoo.tests import tagged

from .order_common import OrderCommon


@tagged("post_install", "-at_install")
class TestPayoutImport(OrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fee_tax = cls.env["account.tax"].create(
            {
                "name": "VAT 20% on services (purchase)",
                "amount": 20.0,
                "amount_type": "percent",
                "type_tax_use": "purchase",
                "company_id": cls.company.id,
            }
        )
        cls.backend._mirakl_setup_finance(fee_tax=fee_tax)

    def setUp(self):
        super().setUp()
        for product in self.products:
            self.set_stock(product, 50)

    # --- helpers ---

    def shipped_orders(self, *specs):
        """Orders imported, accepted, paid and shipped on the sandbox."""
        created = self.create_orders(*specs)
        self.import_orders()  # OR21
        self.import_orders()  # SHIPPING: debited
        with self.backend._mirakl_get_client() as client:
            for order in created:
                client.ship_order(order["order_id"])
        return [order["order_id"] for order in created]

    def cycles(self):
        return self.env["mirakl.billing.cycle"].search(
            [("backend_id", "=", self.backend.id)]
        )

    def run_payouts(self):
        result = self.backend._mirakl_import_payouts()
        self.env.invalidate_all()
        return result

    # --- tests ---

    def test_cycle_stored_once_and_ready(self):
        order_ids = self.shipped_orders(
            self.order_spec(("std", 2), ("zero", 1)),
            self.order_spec(("reduced", 1)),
        )
        self.control.close_cycle()
        result = self.run_payouts()
        self.assertTrue(result["ok"], result["message"])
        cycle = self.cycles()
        self.assertEqual(len(cycle), 1)
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        self.assertEqual(cycle.pay_out_state, "PAID")
        self.assertAlmostEqual(cycle.lines_total, cycle.amount_transferred, places=2)
        self.assertGreater(cycle.amount_transferred, 0)
        types = set(cycle.line_ids.mapped("transaction_type"))
        self.assertTrue(
            {"ORDER_AMOUNT", "ORDER_AMOUNT_TAX", "COMMISSION_FEE", "PAYMENT"} <= types
        )
        # Lines know their Sales Order.
        for order_id in order_ids:
            lines = cycle.line_ids.filtered(
                lambda l, o=order_id: l.mirakl_order_id == o
            )
            self.assertTrue(lines)
            self.assertEqual(lines.sale_order_id, self.sale_of(order_id))
        # The operator's invoice, with its file.
        document = cycle.document_ids.filtered(
            lambda d: d.document_type == "AUTO_INVOICE"
        )
        self.assertEqual(len(document), 1)
        self.assertTrue(document.file)
        self.assertTrue(document.raw_json)
        self.assertFalse(self.open_issues())
        # Exactly once: a second run stores nothing new.
        counts = (len(cycle.line_ids), len(cycle.document_ids))
        self.control.clear_calls()
        result = self.run_payouts()
        self.assertEqual(result["lines"], 0)
        self.assertEqual(len(self.cycles()), 1)
        self.assertEqual((len(cycle.line_ids), len(cycle.document_ids)), counts)
        # A ready cycle is not read again.
        self.assertFalse(self.control.calls("TL02"))

    def test_missing_page_holds_the_cycle(self):
        self.shipped_orders(*[self.order_spec(("std", 1)) for _i in range(3)])
        self.control.close_cycle(missing_page=True)
        self.backend.payout_page_size = 3  # several pages: one goes missing
        result = self.run_payouts()
        self.assertFalse(result["ok"])
        cycle = self.cycles()
        self.assertEqual(cycle.state, "held")
        issue = self.open_issues(operation="PAYOUT", mirakl_ref="identity")
        self.assertEqual(issue.category, "drift")
        self.assertIn("%.2f" % cycle.amount_transferred, issue.message)
        self.assertNotEqual(cycle.lines_total, cycle.amount_transferred)
        # Read again in full (the operator fixed its API): ready.
        self.backend.payout_page_size = 2000
        cycle.action_recheck()
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        self.assertEqual(issue.state, "resolved")

    def test_unknown_type_holds_the_cycle(self):
        self.shipped_orders(self.order_spec(("std", 1)))
        self.control.billing_item(
            "RAW", transaction_type="NEW_MARKETING_FEE", amount="-4.20"
        )
        self.control.close_cycle()
        self.run_payouts()
        cycle = self.cycles()
        self.assertEqual(cycle.state, "held")
        issue = self.open_issues(operation="PAYOUT", mirakl_ref="types")
        self.assertEqual(issue.category, "mapping")
        self.assertIn("NEW_MARKETING_FEE", issue.message)
        # The identity itself holds: only the type is the problem.
        self.assertFalse(self.open_issues(operation="PAYOUT", mirakl_ref="identity"))
        self.assertFalse(cycle.move_id)
        # Finance books the new type on an account of its choice: the cycle
        # is booked on the next check, the line where finance said.
        fees = self.backend.transaction_map_ids.filtered(
            lambda row: row.transaction_type == "SUBSCRIPTION_FEE"
        ).account_id
        self.backend.transaction_map_ids = [
            (
                0,
                0,
                {
                    "transaction_type": "NEW_MARKETING_FEE",
                    "booking": "charge",
                    "account_id": fees.id,
                },
            )
        ]
        cycle.action_recheck()
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        self.assertEqual(issue.state, "resolved")
        line = cycle.move_id.line_ids.filtered(lambda l: l.account_id == fees)
        self.assertAlmostEqual(line.balance, 4.20, places=2)
        self.assertFalse(line.tax_ids)

    def test_operator_items_zero_cycle_and_failed_payout(self):
        self.control.billing_item("SUBSCRIPTION", "25.00", vat_rate="20")
        self.control.billing_item("MANUAL_CREDIT", "10.00", vat_rate="20")
        self.shipped_orders(self.order_spec(("std", 3)))
        self.control.close_cycle(
            pay_out_state="FAILED", failure_reason="INCOMPLETE_KYC"
        )
        self.control.close_cycle()  # nothing left: a zero cycle
        self.run_payouts()
        failed, zero = self.cycles().sorted(lambda c: -c.amount_transferred)
        self.assertEqual(failed.state, "booked", failed.check_message)
        self.assertEqual(
            (failed.pay_out_state, failed.pay_out_failure_reason),
            ("FAILED", "INCOMPLETE_KYC"),
        )
        types = set(failed.line_ids.mapped("transaction_type"))
        self.assertTrue(
            {"SUBSCRIPTION_FEE", "SUBSCRIPTION_VAT", "MANUAL_CREDIT"} <= types
        )
        self.assertIn("MANUAL_CREDIT", failed.document_ids.mapped("document_type"))
        self.assertEqual(zero.amount_transferred, 0)
        self.assertEqual(zero.state, "booked")
        self.assertFalse(zero.move_id)  # nothing to book

    def test_document_vat_against_its_lines(self):
        self.shipped_orders(self.order_spec(("std", 2)))
        self.control.close_cycle(vat_difference_cents=1)
        self.run_payouts()
        cycle = self.cycles()
        self.assertEqual(cycle.state, "booked")  # 1p is within the tolerance
        self.backend.payout_vat_tolerance = 0.0
        cycle.action_recheck()
        self.assertEqual(cycle.state, "held")
        issue = self.open_issues(operation="PAYOUT", mirakl_ref="vat")
        self.assertEqual(issue.category, "drift")
        # The document's total carries the same penny: its lines fall short.
        document = cycle.document_ids.filtered(
            lambda d: d.document_type == "AUTO_INVOICE"
        )
        lines = cycle.line_ids.filtered(
            lambda l: l.accounting_document_number == document.invoice_number
        )
        total = self.open_issues(operation="PAYOUT", mirakl_ref="totals")
        self.assertEqual(total.category, "drift")
        self.assertIn(
            "total %.2f, its lines %.2f"
            % (document.total_incl_taxes, -sum(lines.mapped("amount"))),
            total.message,
        )
        self.backend.payout_vat_tolerance = 0.05
        cycle.action_recheck()
        self.assertEqual(cycle.state, "booked")
        self.assertEqual((issue | total).mapped("state"), ["resolved"] * 2)

    def test_a_stored_line_that_changes_is_drift(self):
        self.shipped_orders(self.order_spec(("std", 1)))
        self.control.close_cycle()
        self.run_payouts()
        cycle = self.cycles()
        line = cycle.line_ids.filtered(lambda l: l.transaction_type == "ORDER_AMOUNT")[
            :1
        ]
        # What we stored differs from what Mirakl now says.
        self.env.cr.execute(
            "UPDATE mirakl_transaction_line SET amount = amount + 1 WHERE id = %s",
            (line.id,),
        )
        self.env.invalidate_all()
        cycle.action_recheck()
        issue = self.open_issues(operation="TL02", mirakl_ref=line.mirakl_id)
        self.assertEqual(issue.category, "drift")
        self.assertEqual(cycle.state, "booked")  # Mirakl's figure is kept

    def test_payout_job_and_retry(self):
        self.shipped_orders(self.order_spec(("std", 1)))
        self.control.close_cycle()
        self.control.fault("500", operation="TL02", count=20)
        self.env["mirakl.backend"]._cron_mirakl_import_payouts()
        cycle = self.cycles()
        self.assertEqual(cycle.state, "reading")
        issue = self.open_issues(operation="TL02")
        self.assertEqual(issue.res_id, cycle.id)
        self.control.clear_faults()
        issue.action_retry()
        self.assertEqual(cycle.state, "booked")
        self.assertEqual(issue.state, "resolved")
