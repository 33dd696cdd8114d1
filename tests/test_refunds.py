"""Credit notes of Mirakl refunds, once Mirakl reports them REFUNDED."""

from decimal import Decimal

from odoo.tests import tagged

from .order_common import OrderCommon


@tagged("post_install", "-at_install")
class TestRefunds(OrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receivable = cls.env["account.account"].create(
            {
                "name": "Mirakl marketplace receivable",
                "code": "MKR001",
                "account_type": "asset_receivable",
                "reconcile": True,
                "company_ids": [(6, 0, cls.company.ids)],
            }
        )
        cls.backend.receivable_account_id = cls.receivable

    # --- helpers ---

    def mirakl_line(self, sale, sku):
        line = sale.order_line.filtered(lambda l: l.mirakl_offer_sku == self.skus[sku])
        self.assertEqual(len(line), 1)
        return line

    def refund(self, sale, sku, quantity, **amounts):
        element = {
            "order_line_id": self.mirakl_line(sale, sku).mirakl_line_id,
            "quantity": quantity,
        }
        element.update({k: str(v) for k, v in amounts.items()})
        (refund,) = self.control.refund(sale.mirakl_order_id, [element])["refunds"]
        return refund

    def credit_notes(self, sale):
        return self.env["account.move"].search(
            [
                ("move_type", "=", "out_refund"),
                ("invoice_origin", "=", sale.name),
            ]
        )

    def receivable_of(self, move):
        return move.line_ids.filtered(lambda l: l.display_type == "payment_term")

    # --- tests ---

    def test_credit_note_per_refund_once(self):
        # The sandbox puts the order's shipping charge on its first line.
        sale = self.shipped(("zero", 1), ("std", 2), shipping_price="4.50")
        invoice = sale.invoice_ids
        self.assertEqual(invoice.state, "posted")
        goods = self.mirakl_line(sale, "std")
        first = self.refund(sale, "std", 1)
        ship_amount = Decimal("1.50")
        second = self.refund(sale, "zero", 1, shipping_amount=ship_amount)
        self.assertEqual(first["refund_state"], "REFUNDED")
        self.import_orders()
        refunds = sale.mirakl_refund_ids
        self.assertEqual(
            set(refunds.mapped("mirakl_refund_id")), {first["id"], second["id"]}
        )
        self.assertEqual(set(refunds.mapped("state")), {"REFUNDED"})
        notes = self.credit_notes(sale)
        self.assertEqual(len(notes), 2)
        self.assertEqual(refunds.credit_note_id, notes)
        invoice_receivable = self.receivable_of(invoice).account_id
        self.assertEqual(invoice_receivable, self.receivable)
        for refund in refunds:
            note = refund.credit_note_id
            raw_refund = first if refund.mirakl_refund_id == first["id"] else second
            expected = Decimal(str(raw_refund["amount"])) + Decimal(
                str(raw_refund["shipping_amount"])
            )
            self.assertEqual(note.state, "posted")
            self.assertEqual(note.ref, "Mirakl refund %s" % refund.mirakl_refund_id)
            self.assertAlmostEqual(note.amount_total, float(expected), places=2)
            self.assertAlmostEqual(refund.total_amount, float(expected), places=2)
            self.assertEqual(self.receivable_of(note).account_id, invoice_receivable)
            self.assertEqual(note.partner_id, invoice.partner_id)
            # Nothing reconciled yet: the settlement does it.
            self.assertEqual(note.payment_state, "not_paid")
        self.assertEqual(invoice.payment_state, "not_paid")
        # One unit of the 2-unit line at its price, with the line's taxes.
        note = refunds.filtered(lambda r: r.mirakl_refund_id == first["id"])
        product_lines = note.credit_note_id.invoice_line_ids
        self.assertEqual(len(product_lines), 1)
        self.assertEqual(product_lines.product_id, goods.product_id)
        self.assertEqual(product_lines.quantity, 1)
        self.assertEqual(product_lines.tax_ids, goods.tax_id)
        self.assertAlmostEqual(product_lines.price_total, goods.price_unit, places=2)
        self.assertEqual(note.sale_line_id, goods)
        self.assertEqual(note.quantity, 1)
        # The refund with shipping: a line on the shipping product.
        with_shipping = (refunds - note).credit_note_id
        ship_lines = with_shipping.invoice_line_ids.filtered(
            lambda l: l.product_id == self.carrier_std.product_id
        )
        self.assertEqual(len(ship_lines), 1)
        self.assertAlmostEqual(ship_lines.price_total, float(ship_amount), places=2)
        so_shipping = sale.order_line.filtered("is_delivery")
        self.assertEqual(ship_lines.tax_ids, so_shipping[:1].tax_id)
        self.assertFalse(self.open_issues(operation="REFUND"))
        # The order keeps what was sold; nothing to invoice again.
        self.assertEqual(sale.invoice_status, "invoiced")
        # Re-reading the order (changed or not) creates nothing more.
        self.import_orders()
        self.backend._mirakl_import_order_ids([sale.mirakl_order_id], force=True)
        sale._mirakl_credit_refunds()
        self.assertEqual(self.credit_notes(sale), notes)

    def test_waiting_refund_creates_nothing_until_refunded(self):
        self.control.config(refund_delay_seconds=3600)
        sale = self.shipped(("std", 2))
        refund = self.refund(sale, "std", 1)
        self.assertEqual(refund["refund_state"], "WAITING_REFUND")
        self.import_orders()
        record = sale.mirakl_refund_ids
        self.assertEqual(record.mirakl_refund_id, refund["id"])
        self.assertEqual(record.state, "WAITING_REFUND")
        self.assertFalse(record.credit_note_id)
        self.assertFalse(self.credit_notes(sale))
        self.control.advance(3601)
        self.import_orders()
        self.assertEqual(record.state, "REFUNDED")
        self.assertTrue(record.transaction_date)
        note = record.credit_note_id
        self.assertEqual(note.state, "posted")
        self.assertEqual(self.credit_notes(sale), note)
        self.assertAlmostEqual(
            note.amount_total, float(Decimal(str(refund["amount"]))), places=2
        )

    def test_refund_before_the_invoice_is_credited_after_it(self):
        self.backend.invoice_policy = "none"
        sale = self.shipped(("std", 2))
        self.assertFalse(sale.invoice_ids)
        refund = self.refund(sale, "std", 2)
        self.import_orders()
        record = sale.mirakl_refund_ids
        self.assertEqual(record.state, "REFUNDED")
        self.assertFalse(record.credit_note_id)
        self.assertFalse(self.credit_notes(sale))
        invoice = sale._mirakl_invoice()
        self.assertEqual(invoice.state, "posted")
        note = record.credit_note_id
        self.assertEqual(note.state, "posted")
        self.assertEqual(note.payment_state, "not_paid")
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertAlmostEqual(
            note.amount_total, float(Decimal(str(refund["amount"]))), places=2
        )
        goods = self.mirakl_line(sale, "std")
        self.assertAlmostEqual(note.amount_total, goods.price_total, places=2)
        self.assertEqual(
            self.receivable_of(note).account_id, self.receivable_of(invoice).account_id
        )
        self.import_orders()
        self.assertEqual(self.credit_notes(sale), note)

    def test_amount_not_a_whole_cent_per_unit(self):
        sale = self.shipped(("std", 3))
        goods = self.mirakl_line(sale, "std")
        amount = Decimal("10.00")
        self.assertLess(float(amount), goods.price_unit * 3)
        self.refund(sale, "std", 3, amount=amount)
        self.import_orders()
        note = sale.mirakl_refund_ids.credit_note_id
        self.assertEqual(sum(note.invoice_line_ids.mapped("quantity")), 3)
        self.assertAlmostEqual(note.amount_total, 10.0, places=2)
        self.assertFalse(self.open_issues(operation="REFUND"))

    def test_total_mismatch_is_drift(self):
        sale = self.shipped(("std", 2))
        # The shop's VAT on the line changed since: the credit note differs.
        goods = self.mirakl_line(sale, "std")
        goods.tax_id.price_include_override = "tax_excluded"
        self.refund(sale, "std", 1)
        self.import_orders()
        note = sale.mirakl_refund_ids.credit_note_id
        self.assertEqual(note.state, "posted")
        issue = self.open_issues(operation="REFUND", res_id=sale.id)
        self.assertEqual(len(issue), 1)
        self.assertEqual(issue.category, "drift")
        self.assertIn(note.name, issue.message)

    def test_tax_excluded_order(self):
        # OR11 shows prices (and refunds) in the platform's mode.
        self.control.config(order_tax_mode="TAX_EXCLUDED")
        sale = self.shipped(("std", 2), order_tax_mode="TAX_EXCLUDED")
        goods = self.mirakl_line(sale, "std")
        self.assertFalse(goods.tax_id.price_include)
        refund = self.refund(sale, "std", 1)
        self.import_orders()
        record = sale.mirakl_refund_ids
        note = record.credit_note_id
        net = Decimal(str(refund["amount"]))
        tax = sum((Decimal(str(t["amount"])) for t in refund["taxes"]), Decimal(0))
        self.assertTrue(tax)
        self.assertAlmostEqual(record.tax_amount, float(tax), places=2)
        self.assertAlmostEqual(note.amount_untaxed, float(net), places=2)
        self.assertAlmostEqual(note.amount_total, float(net + tax), places=2)
        self.assertAlmostEqual(record.total_amount, float(net + tax), places=2)
        self.assertFalse(self.open_issues(operation="REFUND"))

    def test_failed_credit_note_is_an_issue_and_retried(self):
        sale = self.shipped(("std", 2))
        receivable = self.backend.receivable_account_id
        self.backend.receivable_account_id = self.env["account.account"].create(
            {
                "name": "Not reconcilable",
                "code": "MKR002",
                "account_type": "asset_current",
                "company_ids": [(6, 0, self.company.ids)],
            }
        )
        refund = self.refund(sale, "std", 1)
        self.import_orders()
        record = sale.mirakl_refund_ids
        self.assertFalse(record.credit_note_id)
        issue = self.open_issues(operation="REFUND", res_id=sale.id)
        self.assertEqual(issue.category, "data")
        self.assertIn(refund["id"], issue.message)
        self.backend.receivable_account_id = receivable
        issue.action_retry()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(record.credit_note_id.state, "posted")
