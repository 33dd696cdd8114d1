"""Customer invoices of Mirakl orders at the tax point."""

from odoo.tests import tagged

from .order_common import OrderCommon


@tagged("post_install", "-at_install")
class TestInvoices(OrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company
        cls.receivable = cls.env["account.account"].create(
            {
                "name": "Mirakl marketplace receivable",
                "code": "MKR001",
                "account_type": "asset_receivable",
                "reconcile": True,
                "company_ids": [(6, 0, company.ids)],
            }
        )
        cls.backend.receivable_account_id = cls.receivable

    def test_invoiced_when_shipped_on_the_marketplace_receivable(self):
        sale = self.released(("std", 2), ("zero", 1), ("reduced", 1))
        self.assertFalse(sale.invoice_ids)  # not before the goods leave
        self.deliver(sale.picking_ids)
        invoice = sale.invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(
            invoice.partner_id.commercial_partner_id,
            sale.partner_id.commercial_partner_id,
        )
        # What the customer paid on Mirakl, to the penny.
        self.assertAlmostEqual(invoice.amount_total, sale.mirakl_total_price, places=2)
        self.assertAlmostEqual(invoice.amount_total, sale.amount_total, places=2)
        receivable = invoice.line_ids.filtered(
            lambda l: l.display_type == "payment_term"
        )
        self.assertEqual(receivable.account_id, self.receivable)
        self.assertAlmostEqual(
            sum(receivable.mapped("balance")), invoice.amount_total, places=2
        )
        self.assertFalse(self.open_issues(operation="INVOICE"))

    def test_partial_delivery_waits_for_the_last_one(self):
        sale = self.released(("std", 2))
        picking = sale.picking_ids
        self.deliver(picking, {picking.move_ids.product_id: 1})
        self.assertFalse(sale.invoice_ids)
        backorder = sale.picking_ids - picking
        self.deliver(backorder)
        self.assertEqual(sale.invoice_ids.state, "posted")
        self.assertAlmostEqual(
            sale.invoice_ids.amount_total, sale.mirakl_total_price, places=2
        )

    def test_invoiced_at_debit_when_the_shop_says_so(self):
        self.backend.invoice_policy = "debited"
        sale = self.released(("std", 1))
        self.assertEqual(sale.invoice_ids.state, "posted")
        self.backend.invoice_policy = "none"
        other = self.released(("std2", 1))
        self.deliver(other.picking_ids)
        self.assertFalse(other.invoice_ids)

    def test_vat_charged_against_the_products_own_tax(self):
        # A child's item the seller zero-rates, charged at 20 % by the platform.
        product = self.product_by_sku[self.skus["std"]]
        product.taxes_id = self.taxes[0.0, True]
        sale = self.released(("std", 1))
        self.deliver(sale.picking_ids)
        self.assertEqual(sale.invoice_ids.state, "posted")
        issue = self.open_issues(operation="INVOICE", res_id=sale.id)
        self.assertEqual(len(issue), 1)
        self.assertEqual(issue.category, "mapping")
        self.assertIn("20", issue.message)
        self.assertIn(product.display_name, issue.message)

    def test_a_failing_invoice_never_blocks_the_delivery(self):
        sale = self.released(("std", 1))
        self.backend.receivable_account_id = self.env["account.account"].create(
            {
                "name": "Not reconcilable",
                "code": "MKR002",
                "account_type": "asset_current",
                "company_ids": [(6, 0, self.company.ids)],
            }
        )
        self.deliver(sale.picking_ids)
        self.assertEqual(sale.picking_ids.state, "done")
        self.assertFalse(sale.invoice_ids)
        issue = self.open_issues(operation="INVOICE", mirakl_ref=sale.mirakl_order_id)
        self.assertEqual(issue.category, "data")
        self.assertIn("could not be created", issue.message)
