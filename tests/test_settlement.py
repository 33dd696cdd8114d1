"""The settlement entry of a Mirakl payout: balanced, equal to the payout,
reconciled with the customer invoices."""

from datetime import timedelta

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .settlement_common import SettlementCommon


@tagged("post_install", "-at_install")
class TestSettlement(SettlementCommon):
    def test_one_balanced_entry_equal_to_the_payout(self):
        first = self.shipped(("std", 2), ("zero", 1))
        second = self.shipped(("reduced", 1))
        self.control.billing_item("SUBSCRIPTION", "25.00", vat_rate="20")
        result, cycle = self.book()
        self.assertTrue(result["ok"], result["message"])
        self.assertEqual(cycle.state, "booked")
        move = cycle.move_id
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.journal_id, self.backend.settlement_journal_id)
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0, places=2)
        transit = move.line_ids.filtered(
            lambda l: l.account_id == self.backend.transit_account_id
        )
        self.assertAlmostEqual(transit.balance, cycle.amount_transferred, places=2)
        self.assertEqual(transit.partner_id, self.backend.operator_partner_id)
        # One receivable line per order, for what the customer paid.
        for sale in (first, second):
            line = move.line_ids.filtered(lambda l, s=sale: l.mirakl_sale_order_id == s)
            self.assertEqual(len(line), 1)
            self.assertAlmostEqual(-line.balance, sale.mirakl_total_price, places=2)
            self.assertEqual(line.partner_id, sale.partner_id.commercial_partner_id)
            # The invoice is paid by the settlement.
            self.assertEqual(sale.invoice_ids.payment_state, "paid")
        self.assertEqual(self.balance(self.backend.receivable_account_id), 0.0)
        # Charges with their input VAT as a real tax line.
        commission = move.line_ids.filtered(
            lambda l: l.account_id == self.account_of("COMMISSION_FEE")
        )
        expected = first.mirakl_commission_fee + second.mirakl_commission_fee
        self.assertAlmostEqual(sum(commission.mapped("balance")), expected, places=2)
        self.assertEqual(commission.tax_ids, self.fee_tax)
        vat = move.line_ids.filtered("tax_repartition_line_id")
        self.assertEqual(vat.account_id, self.input_vat)
        self.assertAlmostEqual(
            sum(vat.mapped("balance")),
            first.mirakl_commission_vat + second.mirakl_commission_vat + 5.0,
            places=2,
        )
        fees = move.line_ids.filtered(
            lambda l: l.account_id == self.account_of("SUBSCRIPTION_FEE")
        )
        self.assertAlmostEqual(sum(fees.mapped("balance")), 25.0, places=2)
        # The payout is what is left in transit, and the documents are attached.
        self.assertEqual(
            self.balance(self.backend.transit_account_id),
            round(cycle.amount_transferred, 2),
        )
        self.assertTrue(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", "account.move"), ("res_id", "=", move.id)]
            )
        )
        # Orders and commissions agree with what was imported: no drift.
        self.assertFalse(self.open_issues(operation="PAYOUT"))
        # Exactly once.
        self.backend._mirakl_import_payouts()
        self.assertEqual(
            self.env["account.move"].search_count([("mirakl_cycle_id", "=", cycle.id)]),
            1,
        )

    def test_manual_credit_reduces_input_vat(self):
        self.shipped(("std", 1))
        self.control.billing_item("MANUAL_CREDIT", "10.00", vat_rate="20")
        _result, cycle = self.book()
        move = cycle.move_id
        credit = move.line_ids.filtered(
            lambda l: l.account_id == self.account_of("MANUAL_CREDIT")
        )
        self.assertAlmostEqual(credit.balance, -10.0, places=2)
        refund_vat = move.line_ids.filtered(
            lambda l: l.tax_repartition_line_id.document_type == "refund"
        )
        self.assertAlmostEqual(refund_vat.balance, -2.0, places=2)

    def test_not_set_up_then_booked_and_invoice_posted_later(self):
        self.backend.write({"transit_account_id": False, "invoice_policy": "none"})
        sale = self.shipped(("std", 1))
        self.assertFalse(sale.invoice_ids)
        _result, cycle = self.book()
        self.assertEqual(cycle.state, "ready")
        self.assertFalse(cycle.move_id)
        issue = self.open_issues(operation="PAYOUT", mirakl_ref="finance setup")
        self.assertEqual(issue.category, "config")
        self.backend._mirakl_setup_finance()
        cycle.action_recheck()
        self.assertEqual(cycle.state, "booked")
        self.assertEqual(issue.state, "resolved")
        line = cycle.move_id.line_ids.filtered(lambda l: l.mirakl_sale_order_id == sale)
        self.assertFalse(line.reconciled)  # no invoice yet
        # The invoice comes later: it is matched when posted.
        sale._mirakl_invoice()
        self.assertEqual(sale.invoice_ids.payment_state, "paid")
        self.assertTrue(line.reconciled)

    def test_draft_entry_for_review(self):
        self.backend.settlement_auto_post = False
        sale = self.shipped(("std", 1))
        _result, cycle = self.book()
        self.assertEqual(cycle.move_id.state, "draft")
        self.assertEqual(sale.invoice_ids.payment_state, "not_paid")
        # Finance moves commission to another account and rebuilds the draft.
        other = self.env["account.account"].create(
            {
                "name": "Marketplace commission (new)",
                "code": "604099",
                "account_type": "expense",
                "company_ids": [(6, 0, self.company.ids)],
            }
        )
        self.backend.transaction_map_ids.filtered(
            lambda row: row.transaction_type.startswith("COMMISSION_")
        ).account_id = other
        first = cycle.move_id
        cycle.action_rebuild()
        self.assertFalse(first.exists())
        self.assertEqual(cycle.state, "booked")
        commission = cycle.move_id.line_ids.filtered(lambda l: l.account_id == other)
        self.assertAlmostEqual(commission.balance, sale.mirakl_commission_fee, places=2)
        cycle.move_id.action_post()
        self.assertEqual(sale.invoice_ids.payment_state, "paid")
        # A posted entry is never rebuilt behind finance's back.
        with self.assertRaises(UserError):
            cycle.action_rebuild()
        self.assertEqual(cycle.move_id.state, "posted")

    def test_entry_refused_by_odoo_is_an_issue(self):
        transit = self.backend.transit_account_id
        transit.deprecated = True
        self.shipped(("std", 1))
        _result, cycle = self.book()
        self.assertEqual(cycle.state, "ready")
        self.assertFalse(cycle.move_id)
        self.assertFalse(
            self.env["account.move"].search([("mirakl_cycle_id", "=", cycle.id)])
        )
        issue = self.open_issues(operation="PAYOUT", mirakl_ref="booking")
        self.assertEqual(issue.category, "config")
        self.assertIn(
            "%s (%s) is deprecated" % (transit.name, transit.code), issue.message
        )
        # Fixed in Odoo: the issue's Retry books the cycle.
        transit.deprecated = False
        issue.action_retry()
        self.assertEqual(cycle.state, "booked")
        self.assertEqual(cycle.move_id.state, "posted")
        self.assertEqual(issue.state, "resolved")

    def test_orders_sold_before_go_live(self):
        opening = self.env["account.account"].create(
            {
                "name": "Mirakl orders before go-live",
                "code": "110899",
                "account_type": "asset_current",
                "reconcile": True,
                "company_ids": [(6, 0, self.company.ids)],
            }
        )
        self.backend.opening_account_id = opening
        sale = self.shipped(("std", 1))
        # An order accepted and shipped on Mirakl that Odoo never imported.
        (order,) = self.create_orders(self.order_spec(("std2", 1)))
        with self.backend._mirakl_get_client() as client:
            client.accept_order(
                order["order_id"],
                {line["order_line_id"]: True for line in order["order_lines"]},
            )
            client.ship_order(order["order_id"])
        _result, cycle = self.book()
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        move = cycle.move_id
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0, places=2)
        line = move.line_ids.filtered(lambda l: l.mirakl_order_id == order["order_id"])
        self.assertEqual(line.account_id, opening)
        self.assertEqual(line.partner_id, self.backend.operator_partner_id)
        self.assertLess(line.balance, 0)
        self.assertEqual(sale.invoice_ids.payment_state, "paid")
        issue = self.open_issues(operation="PAYOUT", mirakl_ref="orders without sale")
        self.assertEqual(issue.category, "drift")
        self.assertIn(order["order_id"], issue.message)
        self.assertNotIn(sale.mirakl_order_id, issue.message)

    def test_the_documents_vat_is_booked(self):
        self.shipped(("std", 2))
        _result, cycle = self.book(vat_difference_cents=1)  # within tolerance
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        document = cycle.document_ids.filtered(
            lambda d: d.document_type == "AUTO_INVOICE"
        )
        lines_vat = -sum(
            cycle.line_ids.filtered(
                lambda l: l.transaction_type == "COMMISSION_VAT"
            ).mapped("amount")
        )
        self.assertAlmostEqual(document.total_taxes, lines_vat + 0.01, places=2)
        move = cycle.move_id
        vat = move.line_ids.filtered("tax_repartition_line_id")
        self.assertAlmostEqual(
            sum(vat.mapped("balance")), document.total_taxes, places=2
        )
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0, places=2)
        # The gap the tolerance let through is never silent: on the cycle (both
        # figures), in its drift filter and in its chatter.
        self.assertTrue(cycle.tolerated_gap)
        self.assertIn("%.2f" % document.total_taxes, cycle.tolerated_gap_note)
        self.assertIn("%.2f" % lines_vat, cycle.tolerated_gap_note)
        Cycle = self.env["mirakl.billing.cycle"]
        drift = Cycle.search(
            ["|", ("has_drift", "=", True), ("tolerated_gap", "=", True)]
        )
        self.assertIn(cycle, drift)
        self.assertTrue(
            any(
                "within the shop" in (m.body or "") and document.name in m.body
                for m in cycle.message_ids
            )
        )
        # The booked lines are readable from the cycle (no accounting group
        # needed beyond reading it: a Mirakl user who sells).
        user = new_test_user(
            self.env,
            login="mirakl_seller_cycle",
            groups="sales_team.group_sale_salesman,"
            "mirakl_connector.mirakl_connector_group_user",
        )
        lines = cycle.with_user(user).settlement_line_ids
        self.assertEqual(len(lines), len(move.line_ids))
        self.assertTrue(lines.read(["account_id", "name", "debit", "credit"]))

    def test_payout_matched_with_its_bank_line(self):
        self.shipped(("std", 1))
        _result, cycle = self.book()
        transit = self.backend.transit_account_id
        self.assertAlmostEqual(
            self.balance(transit), cycle.amount_transferred, places=2
        )
        bank = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.company.id)], limit=1
        )
        StatementLine = self.env["account.bank.statement.line"]
        # Same amount, unrelated and out of the window: ignored.
        StatementLine.create(
            {
                "journal_id": bank.id,
                "date": "2020-01-01",
                "amount": cycle.amount_transferred,
                "payment_ref": "Old transfer",
            }
        )
        st_line = StatementLine.create(
            {
                "journal_id": bank.id,
                "date": cycle.pay_out_date.date(),
                "amount": cycle.amount_transferred,
                "payment_ref": "MIRAKL %s" % cycle.pay_out_reference,
            }
        )
        cycle.action_match_bank()
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(self.balance(transit), 0.0)
        # The daily run matches the next one by itself.
        self.shipped(("std2", 1))
        self.control.close_cycle()
        self.backend._mirakl_import_payouts()
        second = self.env["mirakl.billing.cycle"].search(
            [("backend_id", "=", self.backend.id), ("id", "!=", cycle.id)]
        )
        StatementLine.create(
            {
                "journal_id": bank.id,
                "date": second.pay_out_date.date(),
                "amount": second.amount_transferred,
                "payment_ref": "MARKETPLACE PAYOUT",
            }
        )
        self.backend._mirakl_import_payouts()
        self.assertEqual(self.balance(transit), 0.0)

    def test_refund_in_a_later_cycle_clears_its_credit_note(self):
        sale = self.shipped(("std", 2))
        self.book()
        line = sale.order_line.filtered("mirakl_line_id")
        self.control.refund(
            sale.mirakl_order_id,
            [{"order_line_id": line.mirakl_line_id, "quantity": 1}],
        )
        self.import_orders()  # REFUNDED: the credit note
        credit_note = sale.mirakl_refund_ids.credit_note_id
        self.assertEqual(credit_note.state, "posted")
        self.control.close_cycle()
        self.backend._mirakl_import_payouts()
        self.env.invalidate_all()
        second = self.env["mirakl.billing.cycle"].search(
            [("backend_id", "=", self.backend.id)], order="id desc", limit=1
        )
        self.assertEqual(second.state, "booked", second.check_message)
        refund_line = second.move_id.line_ids.filtered("mirakl_refund_id")
        self.assertEqual(len(refund_line), 1)
        self.assertAlmostEqual(refund_line.balance, credit_note.amount_total, places=2)
        # Settled: Odoo labels a credit note matched with an entry "Reversed".
        self.assertTrue(credit_note.currency_id.is_zero(credit_note.amount_residual))
        self.assertIn(credit_note.payment_state, ("paid", "reversed"))
        self.assertEqual(self.balance(self.backend.receivable_account_id), 0.0)
        # The refunded commission reduces the commission expense.
        commission = second.move_id.line_ids.filtered(
            lambda l: l.account_id == self.account_of("COMMISSION_FEE")
        )
        self.assertLess(sum(commission.mapped("balance")), 0)
        self.assertAlmostEqual(
            sum(second.move_id.line_ids.mapped("balance")), 0, places=2
        )

    def box(self, number):
        """A VAT return box as Odoo's tax report computes it from tags (the
        tax_tags engine: balance, negated by the tag and by the line)."""
        total = 0.0
        for tag in self.boxes[number].values():
            lines = self.env["account.move.line"].search(
                [("tax_tag_ids", "in", tag.ids), ("parent_state", "=", "posted")]
            )
            total += sum(
                line.balance
                * (-1 if tag.tax_negate else 1)
                * (-1 if line.tax_tag_invert else 1)
                for line in lines
            )
        return round(total, 2)

    def test_vat_return_boxes_follow_the_mirakl_data(self):
        self.shipped(("std", 2), ("zero", 1))
        self.shipped(("reduced", 1))
        for kind, amount in (("SUBSCRIPTION", "25.00"), ("MANUAL_CREDIT", "10.00")):
            self.control.billing_item(kind, amount, vat_rate="20")
        _result, cycle = self.book()
        self.assertEqual(cycle.state, "booked")

        def total(*types):
            lines = cycle.line_ids.filtered(lambda l: l.transaction_type in types)
            return round(sum(lines.mapped("amount")), 2)

        # Output VAT and net sales from the invoices; input VAT and net
        # purchases from the settlement entry.
        self.assertAlmostEqual(
            self.box("1"),
            total("ORDER_AMOUNT_TAX", "ORDER_SHIPPING_AMOUNT_TAX"),
            places=2,
        )
        self.assertAlmostEqual(
            self.box("6"), total("ORDER_AMOUNT", "ORDER_SHIPPING_AMOUNT"), places=2
        )
        # A manual credit from the operator reduces input VAT and purchases.
        self.assertAlmostEqual(
            self.box("4"),
            -total("COMMISSION_VAT", "SUBSCRIPTION_VAT", "MANUAL_CREDIT_VAT"),
            places=2,
        )
        self.assertAlmostEqual(
            self.box("7"),
            -total("COMMISSION_FEE", "SUBSCRIPTION_FEE", "MANUAL_CREDIT"),
            places=2,
        )
        self.assertGreater(self.box("1"), 0)
        self.assertGreater(self.box("4"), 0)

    def test_operator_documents_as_vendor_bills(self):
        self.backend.write(
            {"operator_documents_as": "bill", "settlement_auto_post": False}
        )
        self.shipped(("std", 2), ("zero", 1))
        for kind, amount in (("SUBSCRIPTION", "25.00"), ("MANUAL_CREDIT", "10.00")):
            self.control.billing_item(kind, amount, vat_rate="20")
        _result, cycle = self.book(vat_difference_cents=1)  # within tolerance
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        move = cycle.move_id
        self.assertAlmostEqual(sum(move.line_ids.mapped("balance")), 0.0, places=2)
        # No charge in the entry itself: one payable line per document.
        charges = {self.account_of(k) for k in ("COMMISSION_FEE", "SUBSCRIPTION_FEE")}
        self.assertFalse(move.line_ids.filtered(lambda l: l.account_id in charges))
        self.assertFalse(move.line_ids.filtered("tax_repartition_line_id"))
        payable = move.line_ids.filtered("mirakl_document_id")
        self.assertEqual(len(payable), 2)
        self.assertEqual(payable.mirakl_document_id.bill_id, cycle.bill_ids)
        self.assertEqual(len(cycle.bill_ids), 2)
        for document in cycle.document_ids.filtered("bill_id"):
            bill = document.bill_id
            credit = document.document_type == "MANUAL_CREDIT"
            self.assertEqual(bill.move_type, "in_refund" if credit else "in_invoice")
            self.assertEqual(bill.ref, document.invoice_number)
            self.assertEqual(bill.partner_id, self.backend.operator_partner_id)
            self.assertEqual(bill.state, "draft")
            # The document's own VAT (1p off its lines'), and the total Mirakl
            # took from the payout for it.
            self.assertAlmostEqual(bill.amount_tax, abs(document.total_taxes), places=2)
            taken = cycle.line_ids.filtered(
                lambda l, d=document: l.accounting_document_number == d.invoice_number
            )
            self.assertAlmostEqual(
                bill.amount_total, abs(sum(taken.mapped("amount"))), places=2
            )
        # Rebuilt while in draft: new entry and bills, the old ones gone.
        old = move | cycle.bill_ids
        cycle.action_rebuild()
        self.assertFalse(old.exists())
        self.assertEqual(len(cycle.bill_ids), 2)
        move = cycle.move_id
        payable = move.line_ids.filtered("mirakl_document_id")
        # The entry posted first, the bills later: matched when the bills are.
        move.action_post()
        cycle.bill_ids.action_post()
        self.assertTrue(all(payable.mapped("reconciled")))
        self.assertEqual(cycle.bill_ids.mapped("amount_residual"), [0.0, 0.0])
        # (Odoo labels a refund matched with a journal entry "Reversed".)
        self.assertEqual(
            {(b.move_type, b.payment_state) for b in cycle.bill_ids},
            {("in_invoice", "paid"), ("in_refund", "reversed")},
        )
        self.assertEqual(
            self.balance(payable.account_id, moves=move | cycle.bill_ids), 0.0
        )

        def total(*types):
            lines = cycle.line_ids.filtered(lambda l: l.transaction_type in types)
            return round(sum(lines.mapped("amount")), 2)

        # The same VAT return as with the charges in the entry.
        self.assertAlmostEqual(
            self.box("4"),
            -total("COMMISSION_VAT", "SUBSCRIPTION_VAT", "MANUAL_CREDIT_VAT") + 0.01,
            places=2,
        )
        self.assertAlmostEqual(
            self.box("7"),
            -total("COMMISSION_FEE", "SUBSCRIPTION_FEE", "MANUAL_CREDIT") - 0.01,
            places=2,
        )
        self.assertEqual(
            self.balance(self.backend.transit_account_id),
            round(cycle.amount_transferred, 2),
        )

    def test_commission_drift_and_ageing_alerts(self):
        finance = self.env["res.users"].create(
            {"name": "Finance", "login": "mirakl_finance_user"}
        )
        self.backend.finance_user_id = finance
        sale = self.shipped(("std", 1))
        # The commission expected at import differs from what Mirakl charges.
        line = sale.order_line.filtered("mirakl_line_id")
        line.mirakl_commission_fee += 1.0
        _result, cycle = self.book()
        issue = self.open_issues(
            operation="PAYOUT", mirakl_ref="commission:%s" % sale.mirakl_order_id
        )
        self.assertEqual(issue.category, "drift")
        self.assertEqual(issue.res_id, cycle.id)
        self.assertEqual(issue.activity_ids.user_id, finance)
        # A payout not banked after the alert delay (0 days here: each run
        # re-reads the pay-out date from Mirakl).
        self.backend._mirakl_import_payouts()
        self.assertFalse(self.open_issues(operation="PAYOUT", mirakl_ref="not banked"))
        self.backend.finance_alert_days = 0
        self.backend._mirakl_import_payouts()
        late = self.open_issues(operation="PAYOUT", mirakl_ref="not banked")
        self.assertEqual(late.res_id, cycle.id)
        # A refund still without credit note (the shop does not invoice).
        self.backend.invoice_policy = "none"
        other = self.shipped(("std2", 1))
        mirakl_line = other.order_line.filtered("mirakl_line_id")
        self.control.refund(
            other.mirakl_order_id,
            [{"order_line_id": mirakl_line.mirakl_line_id, "quantity": 1}],
        )
        self.import_orders()
        refund = other.mirakl_refund_ids
        self.assertFalse(refund.credit_note_id)
        self.backend.finance_alert_days = 7
        self.backend._mirakl_import_payouts()
        self.assertFalse(self.open_issues(operation="REFUND"))
        refund.transaction_date = refund.transaction_date - timedelta(days=10)
        self.backend._mirakl_import_payouts()
        ageing = self.open_issues(
            operation="REFUND", mirakl_ref="ageing:%s" % refund.mirakl_refund_id
        )
        self.assertEqual(ageing.category, "drift")

    def test_finance_without_mirakl_rights_reads_payouts(self):
        accountant = new_test_user(
            self.env,
            login="mirakl_accountant",
            groups="base.group_user,account.group_account_invoice",
        )
        self.shipped(("std", 1))
        _result, cycle = self.book()
        mine = cycle.with_user(accountant)
        values = mine.read(
            ["name", "amount_transferred", "state", "backend_id", "move_id"]
        )
        self.assertEqual(values[0]["move_id"][0], cycle.move_id.id)
        mine.get_views([(False, "list"), (False, "form"), (False, "search")])
        mine.line_ids.read(["transaction_type", "amount"])
        menu = self.env.ref("mirakl_connector.mirakl_billing_cycle_finance_menu")
        visible = menu.with_user(accountant)._filter_visible_menus()
        self.assertEqual(visible, menu)
