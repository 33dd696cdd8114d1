"""The money flow on a company with the real UK chart of accounts (l10n_uk):
"Set up accounts" finds the 20% services purchase VAT, and the UK VAT
return (boxes 1, 4, 6 and 7, from the report's own tax tags) equals the
Mirakl data."""

from unittest import SkipTest

from odoo import Command
from odoo.tests import tagged

from .order_common import RATES, OrderCommon

# The chart's sale taxes by rate (all price-excluded in l10n_uk).
UK_SALE_TAXES = {20.0: "ST11", 5.0: "ST5", 0.0: "ST0"}


@tagged("post_install", "-at_install")
class TestUkChart(OrderCommon):
    @classmethod
    def _mirakl_test_company(cls):
        if "l10n_uk" not in cls.env["ir.module.module"]._installed():
            raise SkipTest("l10n_uk is not installed (scripts/test.py installs it)")
        company = cls.env["res.company"].create(
            {
                "name": "Mirakl UK seller",
                "country_id": cls.env.ref("base.uk").id,
                "currency_id": cls.env.ref("base.GBP").id,
            }
        )
        cls.env.user.company_ids |= company
        cls.env.user.company_id = company
        cls.env = cls.env(
            context=dict(cls.env.context, allowed_company_ids=[company.id])
        )
        cls.env["account.chart.template"].try_loading(
            "uk", company=company, install_demo=False
        )
        return company

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Mirakl prices include VAT: the chart's sale taxes, copied as
        # price-included (tags and accounts kept), on the products.
        chart = cls.env["account.chart.template"].with_company(cls.company)
        cls.env["account.tax"].union(*cls.taxes.values()).active = False
        for rate in RATES:
            tax = chart.ref(UK_SALE_TAXES[rate])
            cls.taxes[rate, False] = tax
            cls.taxes[rate, True] = tax.copy(
                {
                    "name": "%s (incl.)" % tax.name,
                    "price_include_override": "tax_included",
                }
            )
        for product in cls.products:
            rate = float(cls.catalogue[product.default_code]["vat_rate"])
            product.taxes_id = [Command.set(cls.taxes[rate, True].ids)]
        cls.backend._mirakl_setup_finance()
        cls.backend.settlement_auto_post = True

    def box(self, number):
        """Box ``number`` of the UK VAT return as the report's tax_tags
        engine computes it: the balance of the lines carrying its "+N" or
        "-N" tag, negated by the tag and by the line."""
        report = self.env.ref("l10n_uk.tax_report")
        expression = report.line_ids.expression_ids.filtered(
            lambda e: (
                e.engine == "tax_tags" and e.report_line_id.code == "UKTAX_%s" % number
            )
        )
        self.assertEqual(expression.formula, number)
        tags = self.env["account.account.tag"]._get_tax_tags(
            expression.formula, self.env.ref("base.uk").id
        )
        self.assertEqual(len(tags), 2)
        lines = self.env["account.move.line"].search(
            [
                ("company_id", "=", self.company.id),
                ("tax_tag_ids", "in", tags.ids),
                ("parent_state", "=", "posted"),
            ]
        )
        return round(
            sum(
                line.balance
                * (-1 if (line.tax_tag_ids & tags).tax_negate else 1)
                * (-1 if line.tax_tag_invert else 1)
                for line in lines
            ),
            2,
        )

    def test_vat_return_on_the_uk_chart(self):
        # Set-up found the chart's 20% services purchase VAT for the fees.
        services = self.env["account.chart.template"].with_company(self.company)
        fee_tax = services.ref("PT_20_S")
        commission = self.backend.transaction_map_ids.filtered(
            lambda row: row.transaction_type == "COMMISSION_VAT"
        )
        self.assertEqual(commission.tax_id, fee_tax)
        first = self.shipped(("std", 2), ("zero", 1))
        second = self.shipped(("reduced", 1))
        for kind, amount in (("SUBSCRIPTION", "25.00"), ("MANUAL_CREDIT", "10.00")):
            self.control.billing_item(kind, amount, vat_rate="20")
        self.control.close_cycle()
        self.assertTrue(self.backend._mirakl_import_payouts()["ok"])
        self.env.invalidate_all()
        cycle = self.env["mirakl.billing.cycle"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        self.assertEqual(cycle.move_id.state, "posted")
        for sale in (first, second):
            self.assertEqual(sale.invoice_ids.payment_state, "paid")
            self.assertEqual(sale.invoice_ids.amount_total, sale.mirakl_total_price)
        # Fee VAT on the chart's purchase VAT account (2201).
        vat_lines = cycle.move_id.line_ids.filtered("tax_repartition_line_id")
        self.assertEqual(vat_lines.tax_line_id, fee_tax)
        self.assertEqual(vat_lines.account_id.code, "220100")

        def total(*types):
            lines = cycle.line_ids.filtered(lambda l: l.transaction_type in types)
            return round(sum(lines.mapped("amount")), 2)

        expected = {
            "1": total("ORDER_AMOUNT_TAX", "ORDER_SHIPPING_AMOUNT_TAX"),
            "6": total("ORDER_AMOUNT", "ORDER_SHIPPING_AMOUNT"),
            "4": -total("COMMISSION_VAT", "SUBSCRIPTION_VAT", "MANUAL_CREDIT_VAT"),
            "7": -total("COMMISSION_FEE", "SUBSCRIPTION_FEE", "MANUAL_CREDIT"),
        }
        for number, amount in expected.items():
            with self.subTest(box=number):
                self.assertAlmostEqual(self.box(number), amount, places=2)
        self.assertGreater(expected["1"], 0)
        self.assertGreater(expected["4"], 0)
