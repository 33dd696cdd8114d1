"""The sandbox's payout data: TL02 transaction lines, SBC11 billing cycles,
IV01/IV02 accounting documents, order refunds and the billing control API.

Plain ``requests`` against the sandbox (never the connector's client), as in
``test_sandbox``. Every expected figure is derived from the order as OR11
shows it, so the payout data is checked against the orders to the penny.
"""

from decimal import Decimal

from odoo.tests import tagged

from .test_sandbox import SandboxHttpCase, money, parse_iso

TL02 = "/api/sellerpayment/transactions_logs"
SBC11 = "/api/seller-billing-cycles"
IV01 = "/api/invoices"
ZERO = Decimal("0.00")
ORDER_TYPES = (
    "ORDER_AMOUNT",
    "ORDER_AMOUNT_TAX",
    "ORDER_SHIPPING_AMOUNT",
    "ORDER_SHIPPING_AMOUNT_TAX",
    "COMMISSION_FEE",
    "COMMISSION_VAT",
)


def total(lines):
    return sum((money(line["amount"]) for line in lines), ZERO)


class BillingCase(SandboxHttpCase):
    def order(self, lines, **spec):
        """A new order of ``lines`` ``[(sku, quantity)]`` (control API)."""
        spec["lines"] = [{"sku": sku, "quantity": qty} for sku, qty in lines]
        (order,) = self.control.create_orders(orders=[spec])
        return order

    def debit(self, order):
        self.assertEqual(self.accept(order).status_code, 204)
        return self.control.order(order["order_id"])

    def ship(self, order):
        if order["shipping_type_code"] == "EXP":  # mandatory tracking
            self.assertNoContent(
                self.api(
                    "PUT",
                    "/api/orders/%s/tracking" % order["order_id"],
                    json={"carrier_code": "ROYALMAIL", "tracking_number": "RM1"},
                )
            )
        self.assertNoContent(self.api("PUT", "/api/orders/%s/ship" % order["order_id"]))
        return self.control.order(order["order_id"])

    def shipped(self, lines=(("WDR-NAV-10", 1),), **spec):
        return self.ship(self.debit(self.order(lines, **spec)))

    def tl02(self, **params):
        params.setdefault("limit", 2000)
        response = self.api("GET", TL02, params=params)
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertNotIn("next_page_token", body)
        return body["data"]

    def sbc11(self, **params):
        response = self.api("GET", SBC11, params=params)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["data"]

    def iv01(self, **params):
        response = self.api("GET", IV01, params=params)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def or11_excluded(self, order_id):
        """The order as OR11 shows it in TAX_EXCLUDED (net prices)."""
        body = self.get_orders(order_ids=order_id, order_tax_mode="TAX_EXCLUDED")
        return body["orders"][0]

    def expected_lines(self, order_id):
        """{(line id, type, tax code or None): amount} the debit should make."""
        order = self.or11_excluded(order_id)
        expected = {}
        for line in order["order_lines"]:
            if line["order_line_state"] in ("REFUSED", "CANCELED"):
                continue
            line_id = line["order_line_id"]
            cancels = line["cancelations"]

            def left(value, key, cancels=cancels):
                return money(value) - sum((money(c[key]) for c in cancels), ZERO)

            def tax_left(tax, key, cancels=cancels):
                return money(tax["amount"]) - sum(
                    (
                        money(t["amount"])
                        for c in cancels
                        for t in c[key]
                        if t["code"] == tax["code"]
                    ),
                    ZERO,
                )

            figures = [
                ("ORDER_AMOUNT", None, left(line["price"], "amount")),
                (
                    "ORDER_SHIPPING_AMOUNT",
                    None,
                    left(line["shipping_price"], "shipping_amount"),
                ),
                (
                    "COMMISSION_FEE",
                    None,
                    -left(line["commission_fee"], "commission_amount"),
                ),
                (
                    "COMMISSION_VAT",
                    None,
                    -(
                        money(line["commission_vat"])
                        - sum(
                            (
                                money(c["commission_taxes"][0]["amount"])
                                for c in cancels
                            ),
                            ZERO,
                        )
                    ),
                ),
            ]
            figures += [
                ("ORDER_AMOUNT_TAX", t["code"], tax_left(t, "taxes"))
                for t in line["taxes"]
            ]
            figures += [
                ("ORDER_SHIPPING_AMOUNT_TAX", t["code"], tax_left(t, "shipping_taxes"))
                for t in line["shipping_taxes"]
            ]
            for kind, code, amount in figures:
                if amount:
                    expected[(line_id, kind, code)] = amount
        return expected

    def actual_lines(self, order_id, types=ORDER_TYPES):
        found = {}
        for line in self.tl02(order_id=order_id):
            if line["type"] not in types:
                continue
            tax = line["entities"].get("order_tax") or {}
            key = (line["entities"]["order_line"]["id"], line["type"], tax.get("code"))
            self.assertNotIn(key, found)
            found[key] = money(line["amount"])
        return found

    def assertIdentity(self, cycle_id):
        """TL02 lines (less PAYMENT) = SBC11 = IV01 summary = -PAYMENT."""
        lines = self.tl02(seller_billing_cycle_id=cycle_id)
        payments = [line for line in lines if line["type"] == "PAYMENT"]
        others = [line for line in lines if line["type"] != "PAYMENT"]
        (cycle,) = self.sbc11(id=cycle_id)
        (document,) = self.iv01(seller_billing_cycle_id=cycle_id)["invoices"]
        transferred = money(cycle["amount_transferred_to_seller"])
        self.assertEqual(total(others), transferred)
        self.assertEqual(money(document["summary"]["amount_transferred"]), transferred)
        if others:
            (payment,) = payments
            self.assertEqual(money(payment["amount"]), -transferred)
            self.assertEqual(payment["payment_state"], "PAID")
            self.assertEqual(payment["seller_billing_cycle_id"], cycle_id)
        else:
            self.assertEqual(payments, [])
        for line in lines:
            self.assertEqual(line["payment_state"], "PAID")
        return cycle, document, lines


@tagged("post_install", "-at_install")
class TestSandboxTransactionLines(BillingCase):
    def test_lines_at_debit_then_payable_at_shipment(self):
        order = self.order([("WDR-NAV-10", 2), ("MOS-BLU-M", 1)])
        self.assertEqual(self.tl02(), [])  # nothing before the debit
        order = self.debit(order)
        lines = self.tl02(order_id=order["order_id"])
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual(line["payment_state"], "PENDING")
            self.assertEqual(line["currency_iso_code"], "GBP")
            self.assertIsNone(line["seller_billing_cycle_id"])
            self.assertEqual(len(line["id"]), 36)
            self.assertEqual(line["date_created"], order["customer_debited_date"])
            amount = money(line["amount"])
            self.assertEqual(money(line["amount_credited"]), max(amount, ZERO))
            self.assertEqual(money(line["amount_debited"]), max(-amount, ZERO))
            entities = line["entities"]
            self.assertEqual(entities["order"]["id"], order["order_id"])
            self.assertEqual(entities["order"]["commercial_id"], order["commercial_id"])
            if line["type"] == "COMMISSION_VAT":
                self.assertEqual(entities["shop_tax"], {"code": "GB_VAT", "rate": 20})
            if line["type"].endswith("_TAX"):
                self.assertEqual(entities["order_tax"]["rate"], 20)
        self.assertEqual(
            self.actual_lines(order["order_id"]),
            self.expected_lines(order["order_id"]),
        )
        # the debit: order price incl. tax less the commissions incl. VAT
        self.assertEqual(
            total(lines),
            money(order["total_price"]) - money(order["total_commission"]),
        )
        # the running balance: the newest line (first, dateCreated DESC)
        self.assertEqual(money(lines[0]["balance"]), total(lines))
        order = self.ship(order)
        for line in self.tl02(order_id=order["order_id"]):
            self.assertEqual(line["payment_state"], "PAYABLE")
            self.assertGreaterEqual(
                parse_iso(line["last_updated"]),
                parse_iso(order["customer_debited_date"]),
            )

    def test_tax_excluded_and_untaxed_lines(self):
        excluded = self.debit(
            self.order([("WDR-NAV-10", 1)], order_tax_mode="TAX_EXCLUDED")
        )
        untaxed = self.debit(
            self.control.create_orders(
                orders=[{"lines": [{"sku": "MOS-BLU-M", "taxes": []}]}]
            )[0]
        )
        for order in (excluded, untaxed):
            self.assertEqual(
                self.actual_lines(order["order_id"]),
                self.expected_lines(order["order_id"]),
            )
        # TAX_EXCLUDED: ORDER_AMOUNT is the price as charged (excl. tax)
        (amount,) = self.tl02(
            order_id=excluded["order_id"], transaction_type="ORDER_AMOUNT"
        )
        net = self.or11_excluded(excluded["order_id"])["order_lines"][0]["price"]
        self.assertEqual(money(amount["amount"]), money(net))
        # no taxes: no tax line, ORDER_AMOUNT is the price
        types = {line["type"] for line in self.tl02(order_id=untaxed["order_id"])}
        self.assertNotIn("ORDER_AMOUNT_TAX", types)
        (amount,) = self.tl02(
            order_id=untaxed["order_id"], transaction_type="ORDER_AMOUNT"
        )
        self.assertEqual(
            money(amount["amount"]), money(untaxed["order_lines"][0]["price"])
        )

    def test_cancelled_quantities_before_debit_produce_nothing(self):
        order = self.order([("WDR-NAV-10", 3), ("MOS-BLU-M", 1)])
        line_1, line_2 = (line["order_line_id"] for line in order["order_lines"])
        self.control.cancel(order["order_id"], {line_1: 1, line_2: 1})
        order = self.debit(self.control.order(order["order_id"]))
        lines = self.tl02(order_id=order["order_id"])
        self.assertEqual(
            {line["entities"]["order_line"]["id"] for line in lines}, {line_1}
        )
        self.assertEqual(
            self.actual_lines(order["order_id"]),
            self.expected_lines(order["order_id"]),
        )

    def test_identity_over_several_orders_in_both_tax_modes(self):
        orders = [
            self.shipped([("WDR-NAV-10", 2), ("MOS-BLU-M", 1)]),
            self.shipped([("MOS-BLU-M", 3)], order_tax_mode="TAX_EXCLUDED"),
            self.shipped([("WDR-NAV-10", 1)], shipping_type="EXP"),
        ]
        not_shipped = self.debit(self.order([("WDR-NAV-10", 1)]))
        self.control.billing_item("SUBSCRIPTION", 25)
        close = self.control.close_cycle()
        cycle_id = close["cycle"]["id"]
        cycle, document, lines = self.assertIdentity(cycle_id)
        self.assertEqual(close["document"]["invoice_id"], document["invoice_id"])
        expected = sum(
            (money(o["total_price"]) - money(o["total_commission"]) for o in orders),
            ZERO,
        ) - Decimal("30.00")
        self.assertEqual(money(cycle["amount_transferred_to_seller"]), expected)
        self.assertEqual(cycle["pay_out"]["state"], "PAID")
        self.assertTrue(cycle["pay_out"]["reference"])
        self.assertEqual(cycle["pay_out"]["transaction_date"], cycle["date_created"])
        self.assertEqual(len(cycle["payment_voucher_number"]), 10)
        # the order still SHIPPING stays out, PENDING
        for line in self.tl02(order_id=not_shipped["order_id"]):
            self.assertEqual(line["payment_state"], "PENDING")
            self.assertIsNone(line["seller_billing_cycle_id"])
        # summary signs and figures
        summary = cycle["summary"]
        self.assertGreater(summary["total_payable_orders_incl_tax"], 0)
        self.assertLess(summary["total_commissions_incl_tax"], 0)
        self.assertEqual(summary["total_subscription_incl_tax"], -30.0)
        self.assertEqual(
            money(summary["total_payable_orders_incl_tax"])
            + money(summary["total_commissions_incl_tax"])
            + money(summary["total_subscription_incl_tax"]),
            money(cycle["amount_transferred_to_seller"]),
        )
        # the AUTO_INVOICE: commissions + subscription as positive charges,
        # its VAT = the VAT lines, its number on the fee lines
        fee_types = ("COMMISSION_FEE", "SUBSCRIPTION_FEE")
        vat_types = ("COMMISSION_VAT", "SUBSCRIPTION_VAT")
        fees = [line for line in lines if line["type"] in fee_types]
        vats = [line for line in lines if line["type"] in vat_types]
        self.assertEqual(money(document["total_amount_excl_taxes"]), -total(fees))
        (tax,) = document["total_taxes"]
        self.assertEqual(money(tax["amount"]), -total(vats))
        self.assertEqual(
            money(document["total_amount_incl_taxes"]), -total(fees) - total(vats)
        )
        self.assertEqual(
            sum((money(d["amount_excl_taxes"]) for d in document["details"]), ZERO),
            money(document["total_amount_excl_taxes"]),
        )
        self.assertEqual(
            {d.get("order_id") for d in document["details"]},
            {o["order_id"] for o in orders} | {None},
        )
        self.assertEqual(document["type"], "AUTO_INVOICE")
        self.assertEqual(document["state"], "COMPLETE")
        self.assertEqual(document["seller_billing_cycle_id"], cycle_id)
        self.assertEqual(document["payment"]["state"], "PAID")
        for line in fees + vats:
            self.assertEqual(
                line["accounting_document_id"], str(document["invoice_id"])
            )
            self.assertEqual(
                line["accounting_document_number"], str(document["invoice_id"])
            )
        for line in lines:
            if line["type"].startswith("ORDER_"):
                self.assertIsNone(line["accounting_document_number"])
        # the PAYMENT line brings the running balance back to what is not
        # paid yet (the PENDING lines of the order still SHIPPING)
        pending = total(self.tl02(payment_state="PENDING"))
        newest = self.api("GET", TL02, params={"limit": 1}).json()["data"][0]
        self.assertEqual(newest["type"], "PAYMENT")
        self.assertEqual(money(newest["balance"]), pending)


@tagged("post_install", "-at_install")
class TestSandboxRefunds(BillingCase):
    def test_refund_lines_and_or11_refunds_in_a_later_cycle(self):
        order = self.shipped([("WDR-NAV-10", 2)])
        first = self.control.close_cycle()["cycle"]["id"]
        (line,) = order["order_lines"]
        before = order["last_updated_date"]
        self.control.advance(60)
        answer = self.control.refund(
            order["order_id"],
            [{"order_line_id": line["order_line_id"], "quantity": 1}],
        )
        (refund,) = answer["refunds"]
        order = answer["order"]
        self.assertGreater(order["last_updated_date"], before)
        (view,) = order["order_lines"][0]["refunds"]
        self.assertEqual(view["id"], refund["id"])
        self.assertEqual(len(view["id"]), 36)
        self.assertEqual(view["refund_state"], "REFUNDED")
        self.assertEqual(view["state"], "REFUNDED")
        self.assertEqual(view["quantity"], 1)
        self.assertEqual(view["reason_code"], "RETURNED")
        self.assertEqual(money(view["amount"]), money(line["price_unit"]))
        self.assertEqual(money(view["shipping_amount"]), ZERO)
        self.assertEqual(view["transaction_date"], order["last_updated_date"])
        (tax,) = view["taxes"]
        self.assertEqual(
            money(tax["amount"]), money(money(line["taxes"][0]["amount"]) / 2)
        )
        # commission prorated to the share of the line's total price
        share = money(view["amount"]) / money(line["total_price"])
        self.assertEqual(
            money(view["commission_amount"]),
            money(money(line["commission_fee"]) * share),
        )
        self.assertEqual(
            money(view["commission_tax_amount"]),
            money(money(line["commission_vat"]) * share),
        )
        self.assertEqual(
            money(view["commission_total_amount"]),
            money(view["commission_amount"]) + money(view["commission_tax_amount"]),
        )
        self.assertEqual(view["commission_taxes"][0]["code"], "GB_VAT")
        # TL02 lines of the refund
        lines = [
            tl
            for tl in self.tl02(order_id=order["order_id"])
            if tl["entities"].get("refund")
        ]
        by_type = {tl["type"]: tl for tl in lines}
        self.assertEqual(
            set(by_type),
            {
                "REFUND_ORDER_AMOUNT",
                "REFUND_ORDER_AMOUNT_TAX",
                "REFUND_COMMISSION_FEE",
                "REFUND_COMMISSION_VAT",
            },
        )
        for tl in lines:
            self.assertEqual(tl["entities"]["refund"]["id"], refund["id"])
            self.assertEqual(tl["payment_state"], "PAYABLE")
        self.assertEqual(
            money(by_type["REFUND_ORDER_AMOUNT"]["amount"]),
            -(money(view["amount"]) - money(tax["amount"])),
        )
        self.assertEqual(
            money(by_type["REFUND_ORDER_AMOUNT_TAX"]["amount"]), -money(tax["amount"])
        )
        self.assertEqual(
            money(by_type["REFUND_COMMISSION_FEE"]["amount"]),
            money(view["commission_amount"]),
        )
        self.assertEqual(
            money(by_type["REFUND_COMMISSION_VAT"]["amount"]),
            money(view["commission_tax_amount"]),
        )
        # settled in the next cycle, netting the commission on the document
        second = self.control.close_cycle()["cycle"]["id"]
        cycle, document, _lines = self.assertIdentity(second)
        self.assertNotEqual(first, second)
        self.assertEqual(
            money(cycle["amount_transferred_to_seller"]),
            -money(view["amount"]) + money(view["commission_total_amount"]),
        )
        self.assertEqual(
            money(cycle["summary"]["total_refund_orders_incl_tax"]),
            -money(view["amount"]),
        )
        self.assertEqual(
            money(cycle["summary"]["total_refund_commissions_incl_tax"]),
            money(view["commission_total_amount"]),
        )
        self.assertEqual(
            money(document["total_amount_excl_taxes"]),
            -money(view["commission_amount"]),
        )

    def test_refund_with_shipping_amount_tax_excluded_and_delay(self):
        self.control.config(refund_delay_seconds=3600)
        order = self.shipped([("WDR-NAV-10", 1)], order_tax_mode="TAX_EXCLUDED")
        own = self.or11_excluded(order["order_id"])["order_lines"][0]
        answer = self.control.refund(
            order["order_id"],
            [
                {
                    "order_line_id": own["order_line_id"],
                    "quantity": 1,
                    "amount": own["price"],
                    "shipping_amount": own["shipping_price"],
                }
            ],
            reason_code="GOODWILL",
        )
        (refund,) = answer["refunds"]
        self.assertEqual(refund["refund_state"], "WAITING_REFUND")
        self.assertIsNone(refund["transaction_date"])
        self.assertEqual(self.tl02(transaction_type="REFUND_ORDER_AMOUNT"), [])
        self.control.advance(3600)
        order = self.control.order(order["order_id"])
        (view,) = order["order_lines"][0]["refunds"]
        self.assertEqual(view["refund_state"], "REFUNDED")
        self.assertEqual(view["reason_code"], "GOODWILL")
        # everything refunded: the whole commission comes back
        self.assertEqual(
            money(view["commission_total_amount"]),
            money(order["order_lines"][0]["total_commission"]),
        )
        lines = [
            tl
            for tl in self.tl02(order_id=order["order_id"])
            if tl["entities"].get("refund")
        ]
        types = {tl["type"] for tl in lines}
        self.assertIn("REFUND_ORDER_SHIPPING_AMOUNT", types)
        self.assertIn("REFUND_ORDER_SHIPPING_AMOUNT_TAX", types)
        # a full refund nets the order's lines to zero
        self.assertEqual(total(self.tl02(order_id=order["order_id"])), ZERO)

    def test_refund_refusals(self):
        order = self.debit(self.order([("WDR-NAV-10", 1)]))
        line_id = order["order_lines"][0]["order_line_id"]
        url = self.control._url("orders/%s/refund" % order["order_id"])
        body = {"lines": [{"order_line_id": line_id, "quantity": 1}]}
        self.assertEqual(self.http.post(url, json=body).status_code, 400)  # SHIPPING
        self.ship(order)
        for bad in (
            {"lines": []},
            {"lines": [{"order_line_id": "nope", "quantity": 1}]},
            {"lines": [{"order_line_id": line_id, "quantity": 2}]},
            {"lines": [{"order_line_id": line_id, "quantity": 1, "amount": 1000}]},
            {"lines": [{"order_line_id": line_id, "quantity": 0}]},
        ):
            self.assertEqual(self.http.post(url, json=bad).status_code, 400, bad)
        self.assertEqual(self.http.post(url, json=body).status_code, 200)
        # nothing left
        self.assertEqual(self.http.post(url, json=body).status_code, 400)


@tagged("post_install", "-at_install")
class TestSandboxBillingCycles(BillingCase):
    def test_operator_items(self):
        expected = {
            "SUBSCRIPTION": (("SUBSCRIPTION_FEE", -10), ("SUBSCRIPTION_VAT", -2)),
            "MANUAL_INVOICE": (("MANUAL_INVOICE", -10), ("MANUAL_INVOICE_VAT", -2)),
            "MANUAL_CREDIT": (("MANUAL_CREDIT", 10), ("MANUAL_CREDIT_VAT", 2)),
            "ONE_OFF_DEBIT": (
                ("INVOICEABLE_ONE_OFF_DEBIT", -10),
                ("INVOICEABLE_ONE_OFF_DEBIT_TAX", -2),
            ),
        }
        documents = {}
        for kind, figures in expected.items():
            answer = self.control.billing_item(kind, 10, description="%s item" % kind)
            self.assertEqual(
                [(line["type"], line["amount"]) for line in answer["lines"]],
                list(figures),
            )
            for line in answer["lines"]:
                self.assertEqual(line["payment_state"], "PAYABLE")
            self.assertEqual(
                answer["lines"][1]["entities"]["shop_tax"],
                {"code": "GB_VAT", "rate": 20},
            )
            if kind.startswith("MANUAL"):
                document = answer["document"]
                documents[kind] = document
                self.assertEqual(document["type"], kind)
                self.assertIsNone(document["seller_billing_cycle_id"])
                for line in answer["lines"]:
                    self.assertEqual(
                        line["entities"]["manual_accounting_document"]["number"],
                        str(document["invoice_id"]),
                    )
                    self.assertEqual(
                        line["accounting_document_id"], str(document["invoice_id"])
                    )
            else:
                self.assertIsNone(answer["document"])
        one_off = self.tl02(transaction_type="INVOICEABLE_ONE_OFF_DEBIT")[0]
        self.assertEqual(
            one_off["entities"]["one_off_item"]["description"], "ONE_OFF_DEBIT item"
        )
        self.assertEqual(self.iv01()["total_count"], 0)  # AUTO_INVOICE only
        manual = self.iv01(type="ALL")["invoices"]
        self.assertEqual({d["type"] for d in manual}, set(documents))
        self.assertEqual(
            self.iv01(type="MANUAL_CREDIT")["invoices"][0]["invoice_id"],
            documents["MANUAL_CREDIT"]["invoice_id"],
        )
        cycle_id = self.control.close_cycle()["cycle"]["id"]
        cycle, document, _lines = self.assertIdentity(cycle_id)
        self.assertEqual(money(cycle["amount_transferred_to_seller"]), Decimal(-24))
        summary = cycle["summary"]
        self.assertEqual(summary["total_other_credits_incl_tax"], 12.0)
        self.assertEqual(summary["total_other_invoices_incl_tax"], -24.0)
        self.assertEqual(summary["total_subscription_incl_tax"], -12.0)
        # the AUTO_INVOICE charges subscription and one-off, not manual items
        self.assertEqual(document["total_amount_excl_taxes"], 20.0)
        for kind in ("MANUAL_INVOICE", "MANUAL_CREDIT"):
            (settled,) = self.iv01(type=kind)["invoices"]
            self.assertEqual(settled["seller_billing_cycle_id"], cycle_id)
            self.assertEqual(settled["payment"]["state"], "PAID")

    def test_zero_cycle_and_failed_pay_out(self):
        zero = self.control.close_cycle()
        cycle, document, lines = self.assertIdentity(zero["cycle"]["id"])
        self.assertEqual(cycle["amount_transferred_to_seller"], 0.0)
        self.assertEqual(lines, [])
        self.assertEqual(document["total_amount_incl_taxes"], 0.0)
        self.shipped()
        failed = self.control.close_cycle(
            pay_out_state="FAILED", failure_reason="AWAITING_INVOICE_CHECK"
        )["cycle"]
        self.assertEqual(
            failed["pay_out"],
            {
                "state": "FAILED",
                "reference": None,
                "transaction_date": None,
                "failure_reason": "AWAITING_INVOICE_CHECK",
            },
        )
        self.assertIdentity(failed["id"])
        to_pay = self.control.close_cycle(pay_out_state="TO_PAY")["cycle"]
        self.assertEqual(
            [c["id"] for c in self.sbc11(pay_out_state="FAILED")], [failed["id"]]
        )
        self.assertEqual(
            [c["id"] for c in self.sbc11(pay_out_state="TO_PAY,PAID")],
            [zero["cycle"]["id"], to_pay["id"]],
        )
        self.assertEqual(len(self.sbc11()), 3)
        self.assertError(self.api("GET", SBC11, params={"pay_out_state": "LOST"}), 400)

    def test_unknown_type_raw_line(self):
        self.shipped()
        raw = self.control.billing_item(
            "RAW", transaction_type="SELLER_PENALTY_FEE_XYZ", amount=-4.5
        )["lines"][0]
        self.assertEqual((raw["type"], raw["amount"]), ("SELLER_PENALTY_FEE_XYZ", -4.5))
        cycle_id = self.control.close_cycle()["cycle"]["id"]
        cycle, _document, lines = self.assertIdentity(cycle_id)
        self.assertIn("SELLER_PENALTY_FEE_XYZ", {line["type"] for line in lines})
        (only,) = self.tl02(transaction_type="SELLER_PENALTY_FEE_XYZ")
        self.assertEqual(only["id"], raw["id"])
        # the known summary totals no longer add up to the transfer
        summary = cycle["summary"]
        known = money(summary["total_payable_orders_incl_tax"]) + money(
            summary["total_commissions_incl_tax"]
        )
        self.assertEqual(
            known - Decimal("4.50"), money(cycle["amount_transferred_to_seller"])
        )

    def test_missing_page(self):
        for _index in range(3):
            self.shipped([("WDR-NAV-10", 1), ("MOS-BLU-M", 1)])
        cycle = self.control.close_cycle(missing_page=True)["cycle"]
        everything = self.tl02(seller_billing_cycle_id=cycle["id"])
        seen, token, pages = [], None, 0
        while True:
            params = {"seller_billing_cycle_id": cycle["id"], "limit": 5}
            if token:
                params["page_token"] = token
            body = self.api("GET", TL02, params=params).json()
            seen += body["data"]
            pages += 1
            token = body.get("next_page_token")
            if not token:
                break
        self.assertEqual(len(seen), len(everything) - 5)
        self.assertEqual(len({line["id"] for line in seen}), len(seen))
        self.assertNotEqual(
            total([line for line in seen if line["type"] != "PAYMENT"]),
            money(cycle["amount_transferred_to_seller"]),
        )

    def test_vat_difference_on_the_document_only(self):
        self.shipped()
        close = self.control.close_cycle(vat_difference_cents=1)
        _cycle, document, lines = self.assertIdentity(close["cycle"]["id"])
        vat = total([line for line in lines if line["type"] == "COMMISSION_VAT"])
        (tax,) = document["total_taxes"]
        self.assertEqual(money(tax["amount"]), -vat + Decimal("0.01"))
        self.assertEqual(
            money(document["total_amount_incl_taxes"]),
            money(document["total_amount_excl_taxes"]) + money(tax["amount"]),
        )

    def test_automatic_close_with_the_clock(self):
        self.control.config(billing_cycle_days=10)
        self.shipped()
        self.assertEqual(self.sbc11(), [])
        start = parse_iso(self.control.now())
        self.control.advance(10 * 86400 + 5)
        (cycle,) = self.sbc11()
        created = parse_iso(cycle["date_created"])
        self.assertLessEqual(created, start + (parse_iso(self.control.now()) - start))
        self.assertIdentity(cycle["id"])
        self.assertGreater(cycle["amount_transferred_to_seller"], 0)
        # two more periods: two more (zero) cycles
        self.control.advance(20 * 86400)
        cycles = self.sbc11()
        self.assertEqual(len(cycles), 3)
        self.assertEqual(
            [c["amount_transferred_to_seller"] for c in cycles[1:]], [0, 0]
        )

    def test_iv02_pdf_and_iv01_paging(self):
        self.shipped()
        document = self.control.close_cycle()["document"]
        response = self.api("GET", "/api/invoices/%s" % document["invoice_id"])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/octet-stream")
        pdf = response.content
        self.assertTrue(pdf.startswith(b"%PDF-1."))
        self.assertTrue(pdf.rstrip().endswith(b"%%EOF"))
        self.assertIn(str(document["invoice_id"]).encode(), pdf)
        self.assertIn(("%.2f" % document["total_amount_incl_taxes"]).encode(), pdf)
        self.assertEqual(self.api("GET", "/api/invoices/999999").status_code, 404)
        self.assertEqual(self.api("GET", "/api/invoices/abc").status_code, 400)
        for _index in range(2):
            self.control.close_cycle()
        body = self.iv01(max=2, offset=1)
        self.assertEqual(body["total_count"], 3)
        self.assertEqual(len(body["invoices"]), 2)
        self.assertError(self.api("GET", IV01, params={"max": 101}), 400)
        self.assertEqual(self.iv01(max=100)["total_count"], 3)
        self.assertError(self.api("GET", IV01, params={"type": "OTHER"}), 400)

    def test_paging_limits_sort_and_faults(self):
        self.shipped([("WDR-NAV-10", 1), ("MOS-BLU-M", 1)])
        self.control.close_cycle()
        self.assertError(self.api("GET", TL02, params={"limit": 2001}), 400)
        self.assertEqual(self.api("GET", TL02, params={"limit": 2000}).status_code, 200)
        self.assertError(self.api("GET", SBC11, params={"limit": 1001}), 400)
        self.assertEqual(
            self.api("GET", SBC11, params={"limit": 1000}).status_code, 200
        )
        self.assertError(self.api("GET", TL02, params={"sort": "amount,ASC"}), 400)
        self.assertError(self.api("GET", TL02, params={"payment_state": "LOST"}), 400)
        everything = self.tl02()
        # default sort: dateCreated,DESC; seek paging in both directions
        first = self.api("GET", TL02, params={"limit": 4}).json()
        self.assertEqual(first["data"], everything[:4])
        self.assertNotIn("previous_page_token", first)
        second = self.api(
            "GET", TL02, params={"limit": 4, "page_token": first["next_page_token"]}
        ).json()
        self.assertEqual(second["data"], everything[4:8])
        self.assertIn("previous_page_token", second)
        ascending = self.tl02(sort="dateCreated,ASC")
        self.assertEqual(ascending, list(reversed(everything)))
        by_update = self.tl02(sort="lastUpdated,ASC")
        self.assertEqual(
            [line["last_updated"] for line in by_update],
            sorted(line["last_updated"] for line in everything),
        )
        self.assertEqual(self.tl02(payment_state="PENDING"), [])
        self.assertEqual(len(self.tl02(payment_state="PAID")), len(everything))
        self.control.fault("503", operation="TL02")
        self.assertEqual(self.api("GET", TL02).status_code, 503)
        self.control.fault("503", operation="IV02")
        self.assertEqual(self.api("GET", "/api/invoices/1").status_code, 503)

    def test_control_billing_view(self):
        self.shipped()
        self.control.close_cycle(missing_page=True)
        view = self.control.billing()
        self.assertEqual(
            set(view), {"lines", "cycles", "documents", "refunds", "last_close"}
        )
        self.assertTrue(view["cycles"][0]["missing_page"])
        self.assertEqual(view["lines"][-1]["type"], "PAYMENT")
        self.assertEqual(len(view["documents"]), 1)
