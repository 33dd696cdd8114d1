"""The sandbox's richer orders: OR04, tax sets, cancellations, raw orders.

Plain ``requests`` against the sandbox (never the connector's client), as in
``test_sandbox``; penny figures are worked out by hand in the comments.
"""

import copy
from datetime import timedelta

import requests

from odoo.tests import tagged

from .test_sandbox import SandboxHttpCase, iso, money, parse_iso


class OrdersCase(SandboxHttpCase):
    def assertControlError(self, status, call, *args, **kwargs):
        with self.assertRaises(requests.HTTPError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.response.status_code, status)

    def or04(self, orders):
        return self.api("PUT", "/api/orders", json={"orders": orders})

    def order_view(self, order_id, **params):
        (order,) = self.get_orders(order_ids=order_id, **params)["orders"]
        return order


def taxes_of(entries):
    return [(t["code"], money(t["amount"])) for t in entries]


@tagged("post_install", "-at_install")
class TestSandboxSellerReferences(OrdersCase):
    def test_or04_sets_the_seller_reference(self):
        waiting = self.new_order()
        shipping = self.shipping_order()
        self.control.advance(60)
        response = self.or04(
            [
                {
                    "order_id": waiting["order_id"],
                    "references": {"order_reference_for_seller": "S00042"},
                },
                {"order_id": "MKP-999999-A", "references": {}},
                {
                    "order_id": shipping["order_id"],
                    "references": {"order_reference_for_seller": "S00043"},
                },
            ]
        )
        self.assertEqual(response.status_code, 200, response.text)
        first, unknown, second = response.json()["updated_orders"]
        self.assertEqual(
            first,
            {
                "order_id": waiting["order_id"],
                "errors": [],
                "updated": {"references": {"order_reference_for_seller": "S00042"}},
            },
        )
        self.assertEqual(second["errors"], [])
        self.assertEqual(unknown["order_id"], "MKP-999999-A")
        (error,) = unknown["errors"]
        self.assertEqual(
            (error["code"], error["field"]), ("ORDER_NOT_FOUND", "order_id")
        )
        self.assertTrue(error["message"])

        updated = self.order_view(waiting["order_id"])
        self.assertEqual(updated["references"]["order_reference_for_seller"], "S00042")
        self.assertGreater(updated["last_updated_date"], waiting["last_updated_date"])
        found = self.get_orders(order_references_for_seller="S00043,S00042")
        self.assertEqual(
            sorted(o["order_id"] for o in found["orders"]),
            sorted((waiting["order_id"], shipping["order_id"])),
        )
        self.assertEqual(
            self.get_orders(order_references_for_seller="S0")["total_count"], 0
        )
        (item,) = self.api("GET", "/api/shipments/items_to_ship").json()["data"]
        self.assertEqual(item["references"]["order_reference_for_seller"], "S00043")
        # the same value again changes nothing; null removes it
        self.control.advance(60)
        self.or04(
            [
                {
                    "order_id": waiting["order_id"],
                    "references": {"order_reference_for_seller": "S00042"},
                }
            ]
        )
        again = self.control.order(waiting["order_id"])
        self.assertEqual(again["last_updated_date"], updated["last_updated_date"])
        self.or04(
            [
                {
                    "order_id": waiting["order_id"],
                    "references": {"order_reference_for_seller": None},
                }
            ]
        )
        removed = self.control.order(waiting["order_id"])
        self.assertIsNone(removed["references"]["order_reference_for_seller"])
        self.assertGreater(removed["last_updated_date"], again["last_updated_date"])
        self.assertEqual(
            [c["operation"] for c in self.control.calls(operation="OR04")],
            ["OR04"] * 3,
        )

    def test_or04_refusals(self):
        order_id = self.new_order()["order_id"]
        too_many = [{"order_id": "X-%d" % n} for n in range(101)]
        self.assertError(self.or04(too_many), 400, "VALIDATION_ERROR")
        self.assertEqual(self.or04(too_many[:100]).status_code, 200)
        for body in (
            {},
            {"orders": []},
            {"orders": ["MKP-100001-A"]},
            {"orders": [{"references": {"order_reference_for_seller": "S1"}}]},
            {"orders": [{"order_id": order_id, "references": "S1"}]},
            {
                "orders": [
                    {
                        "order_id": order_id,
                        "references": {"order_reference_for_seller": " "},
                    }
                ]
            },
            {"orders": [{"order_id": order_id, "order_lines": []}]},
        ):
            with self.subTest(body=body):
                response = self.api("PUT", "/api/orders", json=body)
                self.assertError(response, 400, "VALIDATION_ERROR")
        response = self.api(
            "PUT", "/api/orders", data="{", headers={"Content-Type": "application/json"}
        )
        self.assertError(response, 400, "VALIDATION_ERROR")
        unchanged = self.control.order(order_id)
        self.assertIsNone(unchanged["references"]["order_reference_for_seller"])


@tagged("post_install", "-at_install")
class TestSandboxTaxes(OrdersCase):
    SPEC = {
        "lines": [
            {
                "sku": "WDR-NAV-10",  # 59.00
                "quantity": 2,
                "taxes": [
                    {"code": "GB_VAT_STD", "rate": 20},
                    {"code": "ECO", "rate": 2.5},
                ],
            },
            {"sku": "CCS-GRY-OS"},  # 129.00, 5 %
        ],
        "shipping_price": 7.35,
    }

    def test_several_taxes_to_the_penny_in_both_modes(self):
        (included,) = self.control.create_orders(orders=[self.SPEC])
        (excluded,) = self.control.create_orders(
            orders=[dict(self.SPEC, order_tax_mode="TAX_EXCLUDED")]
        )
        # TAX_INCLUDED: tax_i = round(price x r_i / (100 + 22.5))
        first, second = included["order_lines"]
        self.assertEqual(money(first["price"]), money("118.00"))
        self.assertEqual(money(first["shipping_price"]), money("7.35"))
        self.assertEqual(
            taxes_of(first["taxes"]),
            [("GB_VAT_STD", money("19.27")), ("ECO", money("2.41"))],
        )
        self.assertEqual([t["rate"] for t in first["taxes"]], [20, 2.5])
        self.assertEqual(
            taxes_of(first["shipping_taxes"]),
            [("GB_VAT_STD", money("1.20")), ("ECO", money("0.15"))],
        )
        self.assertEqual(taxes_of(second["taxes"]), [("GB_VAT_RED", money("6.14"))])
        self.assertEqual(second["shipping_taxes"], [])
        # commission: 125.35 x 15 % = 18.80 + 3.76; 129.00 x 10 % = 12.90 + 2.58
        self.assertEqual(money(first["total_commission"]), money("22.56"))
        self.assertEqual(money(second["total_commission"]), money("15.48"))
        self.assertEqual(
            [money(included[k]) for k in ("price", "shipping_price", "total_price")],
            [money("247.00"), money("7.35"), money("254.35")],
        )
        # seen TAX_EXCLUDED: every tax comes off
        view = self.order_view(included["order_id"], order_tax_mode="TAX_EXCLUDED")
        first, second = view["order_lines"]
        self.assertEqual(money(first["price"]), money("96.32"))
        self.assertEqual(money(first["shipping_price"]), money("6.00"))
        self.assertEqual(money(second["price"]), money("122.86"))
        self.assertEqual(money(view["total_price"]), money("225.18"))

        # TAX_EXCLUDED: tax_i = round(price x r_i / 100)
        view = self.order_view(excluded["order_id"], order_tax_mode="TAX_EXCLUDED")
        first, second = view["order_lines"]
        self.assertEqual(money(first["price"]), money("118.00"))
        self.assertEqual(
            taxes_of(first["taxes"]),
            [("GB_VAT_STD", money("23.60")), ("ECO", money("2.95"))],
        )
        self.assertEqual(
            taxes_of(first["shipping_taxes"]),
            [("GB_VAT_STD", money("1.47")), ("ECO", money("0.18"))],
        )
        self.assertEqual(taxes_of(second["taxes"]), [("GB_VAT_RED", money("6.45"))])
        self.assertEqual(money(first["total_commission"]), money("22.56"))
        # ... and seen TAX_INCLUDED (the platform's default view)
        first, second = excluded["order_lines"]
        self.assertEqual(money(first["price"]), money("144.55"))
        self.assertEqual(money(first["shipping_price"]), money("9.00"))
        self.assertEqual(money(second["price"]), money("135.45"))

    def test_reduced_rate_untaxed_and_custom_customer(self):
        catalogue = self.control.catalogue()
        (seats,) = [c for c in catalogue["categories"] if c["code"] == "CAR_SEATS"]
        self.assertEqual((seats["tax_code"], seats["vat_rate"]), ("GB_VAT_RED", 5))
        self.assertIn("CBS-BLK-OS", {p["sku"] for p in catalogue["products"]})
        customer = copy.deepcopy(catalogue["customers"][0])
        customer["customer_id"] = "C-OUTSIDE"
        customer["shipping_address"].update(country_iso_code="XKX", street_1=None)
        del customer["billing_address"]["street_1"]
        (order,) = self.control.create_orders(
            orders=[
                {
                    "lines": [
                        {"sku": "CBS-BLK-OS", "quantity": 3},
                        {"sku": "ASC-NAV-OS", "taxes": []},
                    ],
                    "shipping_type": "EXP",
                    "customer": customer,
                }
            ]
        )
        seat, scarf = order["order_lines"]
        # 179.97 x 5 / 105 = 8.570 -> 8.57; shipping 6.95 x 5 / 105 = 0.331
        self.assertEqual(taxes_of(seat["taxes"]), [("GB_VAT_RED", money("8.57"))])
        self.assertEqual(
            taxes_of(seat["shipping_taxes"]), [("GB_VAT_RED", money("0.33"))]
        )
        self.assertEqual((scarf["taxes"], scarf["shipping_taxes"]), ([], []))
        view = self.order_view(order["order_id"], order_tax_mode="TAX_EXCLUDED")
        self.assertEqual(view["order_lines"][1]["price"], scarf["price"])
        self.assertEqual(order["customer"], customer)
        self.control.config(details_before_acceptance=False)
        hidden = self.control.order(order["order_id"])["customer"]
        self.assertEqual(hidden["customer_id"], "C-OUTSIDE")
        self.assertIsNone(hidden["shipping_address"])
        for bad in (
            {"taxes": "GB_VAT_STD"},
            {"taxes": [{"code": "A", "rate": -1}]},
            {"taxes": [{"code": "", "rate": 5}]},
            {"taxes": [{"code": "A", "rate": 5}, {"code": "A", "rate": 1}]},
            {"taxes": [{"code": "A", "rate": True}]},
        ):
            with self.subTest(line=bad):
                spec = {"lines": [dict(bad, sku="ASC-NAV-OS")]}
                self.assertControlError(400, self.control.create_orders, orders=[spec])
        for spec in (
            {"shipping_price": -1},
            {"customer": "C-55101"},
            {"customer": customer, "customer_id": "C-55101"},
        ):
            with self.subTest(spec=spec):
                spec = dict(spec, lines=[{"sku": "ASC-NAV-OS"}])
                self.assertControlError(400, self.control.create_orders, orders=[spec])


@tagged("post_install", "-at_install")
class TestSandboxCancellations(OrdersCase):
    def new_order(self, *lines, **spec):
        spec["lines"] = [{"sku": sku, "quantity": qty} for sku, qty in lines]
        (order,) = self.control.create_orders(orders=[spec])
        return order

    def assertCancelation(self, cancelation, quantity, reason, **figures):
        self.assertEqual(cancelation["quantity"], quantity)
        self.assertEqual(cancelation["reason_code"], reason)
        self.assertEqual(cancelation["fees"], [])
        self.assertRegex(cancelation["id"], r"^\S+$")
        for name, value in figures.items():
            if name.endswith("taxes"):
                self.assertEqual(taxes_of(cancelation[name]), value, name)
            else:
                self.assertEqual(money(cancelation[name]), money(value), name)

    def test_partial_then_full_line_then_whole_order(self):
        order = self.new_order(("WDR-NAV-10", 3), ("MCH-KHA-32", 1))
        self.assertNoContent(self.accept(order))  # debit delay 0: SHIPPING
        order_id = order["order_id"]
        first_id, second_id = (line["order_line_id"] for line in order["order_lines"])
        self.control.advance(60)
        # line: 177.00 + 3.95 shipping, VAT 29.50 + 0.66, commission 27.14 + 5.43
        partial = self.control.cancel(order_id, {first_id: 1})
        self.assertEqual(partial["order_state"], "SHIPPING")
        line = partial["order_lines"][0]
        self.assertEqual(line["order_line_state"], "SHIPPING")
        self.assertEqual((line["quantity"], money(line["price"])), (3, money(177)))
        (cancelation,) = line["cancelations"]
        self.assertCancelation(
            cancelation,
            1,
            "CUSTOMER_CANCELED",
            amount="59.00",
            shipping_amount="1.32",  # 3.95 / 3
            taxes=[("GB_VAT_STD", money("9.83"))],
            shipping_taxes=[("GB_VAT_STD", money("0.22"))],
            commission_amount="9.05",
            commission_taxes=[("GB_VAT", money("1.81"))],
            commission_total_amount="10.86",
        )
        self.assertEqual(cancelation["created_date"], partial["last_updated_date"])
        self.assertGreater(partial["last_updated_date"], order["last_updated_date"])
        self.assertEqual(line["last_updated_date"], partial["last_updated_date"])
        self.assertLess(  # the other line is untouched
            partial["order_lines"][1]["last_updated_date"], partial["last_updated_date"]
        )
        excluded = self.order_view(order_id, order_tax_mode="TAX_EXCLUDED")
        (seen,) = excluded["order_lines"][0]["cancelations"]
        self.assertEqual(money(seen["amount"]), money("49.17"))
        self.assertEqual(money(seen["shipping_amount"]), money("1.10"))
        (item,) = self.api("GET", "/api/shipments/items_to_ship").json()["data"]
        self.assertEqual([s["quantity"] for s in item["shipment_lines"]], [2, 1])

        # the rest of the line: what is left, so both add up to the line
        self.control.advance(60)
        line = self.control.cancel(order_id, {first_id: 2})["order_lines"][0]
        self.assertEqual(
            (line["order_line_state"], line["order_line_state_reason_code"]),
            ("CANCELED", "CUSTOMER_CANCELED"),
        )
        self.assertCancelation(
            line["cancelations"][1],
            2,
            "CUSTOMER_CANCELED",
            amount="118.00",
            shipping_amount="2.63",
            taxes=[("GB_VAT_STD", money("19.67"))],
            shipping_taxes=[("GB_VAT_STD", money("0.44"))],
            commission_total_amount="21.71",
        )
        self.assertNotEqual(
            line["cancelations"][0]["id"], line["cancelations"][1]["id"]
        )
        for lines in ({first_id: 1}, {second_id: 2}, {"%s-9" % order_id: 1}):
            with self.subTest(lines=lines):
                self.assertControlError(400, self.control.cancel, order_id, lines)
        self.assertControlError(
            400, self.control.cancel, order_id, [{"order_line_id": second_id}]
        )
        self.assertControlError(400, self.control.cancel, order_id, {second_id: 0})

        # no lines: the whole order, with the reason given
        self.control.advance(60)
        cancelled = self.control.cancel(order_id, reason_code="OPERATOR_CANCELED")
        self.assertEqual(cancelled["order_state"], "CANCELED")
        self.assertEqual(cancelled["order_state_reason_code"], "OPERATOR_CANCELED")
        self.assertFalse(cancelled["can_shop_ship"])
        first, second = cancelled["order_lines"]
        self.assertEqual(len(first["cancelations"]), 2)
        self.assertEqual(second["order_line_state"], "CANCELED")
        (cancelation,) = second["cancelations"]
        self.assertCancelation(
            cancelation,
            1,
            "OPERATOR_CANCELED",
            amount="42.00",
            shipping_amount="0",
            taxes=[("GB_VAT_STD", money("7.00"))],
            shipping_taxes=[],
            commission_amount="6.30",
            commission_total_amount="7.56",
        )
        self.assertEqual(money(cancelled["total_price"]), money("222.95"))  # as ordered
        self.assertEqual(
            self.api("GET", "/api/shipments/items_to_ship").json()["data"], []
        )
        self.assertError(self.ship(order_id), 400, "ORDER_INVALID_STATE")
        self.assertControlError(400, self.control.cancel, order_id)
        self.assertEqual(
            self.get_orders(order_state_codes="CANCELED")["total_count"], 1
        )

    def ship(self, order_id):
        return self.api("PUT", "/api/orders/%s/ship" % order_id)

    def test_cancel_before_acceptance_and_refusals(self):
        self.control.config(debit_delay_seconds=600)
        order = self.new_order(("WDR-NAV-10", 1), ("MCH-KHA-32", 2))
        order_id = order["order_id"]
        first_id, second_id = (line["order_line_id"] for line in order["order_lines"])
        self.control.cancel(order_id, {first_id: 1})
        # a decision is needed for live lines only
        response = self.api(
            "PUT",
            "/api/orders/%s/accept" % order_id,
            json={"order_lines": [{"id": second_id, "accepted": True}]},
        )
        self.assertNoContent(response)
        self.control.advance(600)
        shipping = self.control.order(order_id)
        self.assertEqual(shipping["order_state"], "SHIPPING")
        self.assertEqual(
            [line["order_line_state"] for line in shipping["order_lines"]],
            ["CANCELED", "SHIPPING"],
        )
        self.assertIsNone(shipping["order_lines"][0]["debited_date"])

        waiting = self.new_order(("ABL-BRN-SM", 1))
        cancelled = self.control.cancel(waiting["order_id"])
        self.assertEqual(cancelled["order_state"], "CANCELED")
        self.assertEqual(cancelled["order_state_reason_code"], "CUSTOMER_CANCELED")
        self.assertError(self.accept(waiting), 400, "ORDER_INVALID_STATE")

        self.control.config(partial_acceptance=True, debit_delay_seconds=0)
        mixed = self.new_order(("WDR-NAV-10", 1), ("MCH-KHA-32", 1))
        self.assertNoContent(self.accept(mixed, {0: False}))
        refused_id = mixed["order_lines"][0]["order_line_id"]
        self.assertControlError(
            400, self.control.cancel, mixed["order_id"], {refused_id: 1}
        )
        self.assertNoContent(self.ship(mixed["order_id"]))
        self.assertControlError(400, self.control.cancel, mixed["order_id"])
        self.assertControlError(404, self.control.cancel, "MKP-999999-A")
        self.assertControlError(400, self.control.cancel, order_id, reason_code="")


@tagged("post_install", "-at_install")
class TestSandboxBackOfficeShipping(OrdersCase):
    def test_ship_outside_the_api(self):
        order = self.shipping_order()
        order_id = order["order_id"]
        self.control.advance(60)
        shipped = self.control.ship(order_id)
        self.assertEqual(shipped["order_state"], "SHIPPED")
        self.assertEqual(
            {line["order_line_state"] for line in shipped["order_lines"]}, {"SHIPPED"}
        )
        self.assertGreater(shipped["last_updated_date"], order["last_updated_date"])
        self.assertEqual(self.order_view(order_id)["order_state"], "SHIPPED")
        # Mirakl's rules hold: a shipped order cannot be shipped again...
        self.assertControlError(400, self.control.ship, order_id)
        # ... nor one still waiting for acceptance; unknown orders are 404.
        waiting = self.new_order()
        self.assertControlError(400, self.control.ship, waiting["order_id"])
        self.assertControlError(404, self.control.ship, "NO-SUCH-ORDER")
        self.assertControlError(
            400,
            self.control.call,
            "POST",
            "orders/%s/ship" % waiting["order_id"],
            json={"tracking": "X"},
        )
        # The control API is not a call to the seller API.
        self.assertEqual(self.control.calls(operation="OR24"), [])


@tagged("post_install", "-at_install")
class TestSandboxRawOrders(OrdersCase):
    def raw_order(self, created, state="WAITING_ACCEPTANCE", order_id="FR-7731-A"):
        """An order as a real marketplace sent it (abridged), in ``state``."""
        return {
            "order_id": order_id,
            "commercial_id": "FR-7731",
            "references": {"order_reference_for_customer": "CMD-1"},
            "channel": {"code": "FR", "label": "France"},
            "created_date": iso(created),
            "last_updated_date": iso(created + timedelta(seconds=40)),
            "acceptance_decision_date": None,
            "customer_debited_date": None,
            "order_state": state,
            "order_state_reason_code": None,
            "order_tax_mode": "TAX_EXCLUDED",
            "currency_iso_code": "EUR",
            "price": 41.5,
            "shipping_price": 4.99,
            "total_price": 46.49,
            "shipping_type_code": "COLISSIMO",
            "can_shop_ship": False,
            "customer": {
                "customer_id": "c-1",
                "firstname": "Zoé",
                "lastname": "Martin",
                "shipping_address": {
                    "lastname": "Martin",
                    "city": "Pristina",
                    "country": "Kosovo",
                    "country_iso_code": "XKX",
                },
            },
            "order_lines": [
                {
                    "order_line_id": "%s-1" % order_id,
                    "order_line_state": state,
                    "offer_sku": "WDR-NAV-10",
                    "quantity": 1,
                    "price": 41.5,
                    "taxes": [{"code": "TVA", "amount": 8.3, "rate": 20}],
                    "last_updated_date": iso(created + timedelta(seconds=40)),
                },
                {
                    "order_line_id": "%s-2" % order_id,
                    "order_line_state": "REFUSED",
                    "offer_sku": "MOS-BLU-M",
                    "quantity": 1,
                    "price": 0,
                },
            ],
        }

    def test_raw_order_is_served_accepted_and_moved(self):
        self.control.config(debit_delay_seconds=600)
        older = self.new_order(created_date=iso(parse_iso(self.control.now())))
        created = parse_iso(self.control.now()) - timedelta(hours=1)
        payload = self.raw_order(created)
        stored = self.control.add_raw_order(payload)
        self.assertEqual(stored, payload)
        self.assertEqual(self.control.order("FR-7731-A"), payload)
        listed = self.get_orders(order_tax_mode="TAX_INCLUDED")
        self.assertEqual(
            [o["order_id"] for o in listed["orders"]], ["FR-7731-A", older["order_id"]]
        )
        self.assertEqual(listed["orders"][0], payload)  # served as given
        for params, count in (
            ({"order_state_codes": "WAITING_ACCEPTANCE"}, 2),
            ({"order_references_for_customer": "CMD-1"}, 1),
            ({"end_date": iso(created)}, 1),
            ({"start_update_date": iso(created + timedelta(seconds=50))}, 1),
        ):
            with self.subTest(params=params):
                self.assertEqual(self.get_orders(**params)["total_count"], count)

        self.assertEqual(
            self.or04(
                [
                    {
                        "order_id": "FR-7731-A",
                        "references": {"order_reference_for_seller": "S9"},
                    }
                ]
            ).json()["updated_orders"][0]["errors"],
            [],
        )
        self.assertEqual(
            self.get_orders(order_references_for_seller="S9")["total_count"], 1
        )
        # the live line needs a decision, the refused one is ignored
        response = self.api(
            "PUT",
            "/api/orders/FR-7731-A/accept",
            json={"order_lines": [{"id": "FR-7731-A-1", "accepted": True}]},
        )
        self.assertNoContent(response)
        accepted = self.control.order("FR-7731-A")
        self.assertEqual(accepted["order_state"], "WAITING_DEBIT")
        decided = accepted["acceptance_decision_date"]
        self.assertEqual(accepted["last_updated_date"], decided)
        self.assertEqual(
            [line["order_line_state"] for line in accepted["order_lines"]],
            ["WAITING_DEBIT", "REFUSED"],
        )
        self.assertEqual(accepted["order_lines"][0]["last_updated_date"], decided)
        self.assertEqual(accepted["references"]["order_reference_for_seller"], "S9")
        self.assertEqual(accepted["channel"], payload["channel"])
        self.assertEqual(accepted["customer"], payload["customer"])
        self.control.advance(300)
        self.assertEqual(
            self.control.order("FR-7731-A")["order_state"], "WAITING_DEBIT_PAYMENT"
        )
        self.control.advance(300)
        shipping = self.control.order("FR-7731-A")
        debited = iso(parse_iso(decided) + timedelta(seconds=600))
        self.assertEqual(
            (shipping["order_state"], shipping["customer_debited_date"]),
            ("SHIPPING", debited),
        )
        self.assertTrue(shipping["can_shop_ship"])
        self.assertEqual(shipping["order_lines"][0]["debited_date"], debited)
        self.assertNotIn("debited_date", shipping["order_lines"][1])
        self.assertEqual(
            self.api("GET", "/api/shipments/items_to_ship").json()["data"], []
        )
        self.assertControlError(400, self.control.cancel, "FR-7731-A")
        body = {"carrier_name": "La Poste", "tracking_number": "6A123"}
        self.assertNoContent(
            self.api("PUT", "/api/orders/FR-7731-A/tracking", json=body)
        )
        self.assertNoContent(self.api("PUT", "/api/orders/FR-7731-A/ship"))
        shipped = self.control.order("FR-7731-A")
        self.assertEqual(shipped["order_state"], "SHIPPED")
        self.assertEqual(shipped["shipping_company"], "La Poste")
        self.assertEqual(shipped["shipping_tracking"], "6A123")
        line = shipped["order_lines"][0]
        self.assertEqual(
            (line["order_line_state"], line["can_refund"]), ("SHIPPED", True)
        )

    def test_raw_refusals_and_auto_refusal(self):
        now = parse_iso(self.control.now())
        payload = self.raw_order(now - timedelta(hours=1))
        for change in (
            {"order_id": ""},
            {"order_state": "LOST"},
            {"created_date": "yesterday"},
            {"last_updated_date": None},
            {"order_lines": []},
            {"order_lines": [{"order_line_id": "L1"}]},
            {"order_lines": payload["order_lines"][:1] * 2},
        ):
            with self.subTest(change=change):
                self.assertControlError(
                    400, self.control.add_raw_order, dict(payload, **change)
                )
        self.assertControlError(400, self.control.add_raw_order, [payload])
        self.assertEqual(self.get_orders()["total_count"], 0)

        stale = self.raw_order(now - timedelta(hours=80), order_id="FR-1-A")
        self.control.add_raw_order(stale)
        refused = self.control.order("FR-1-A")
        self.assertEqual(refused["order_state"], "REFUSED")
        self.assertEqual(refused["order_state_reason_code"], "AUTO_REFUSED")
        self.assertEqual(refused["last_updated_date"], iso(now - timedelta(hours=8)))
        fresh = self.control.add_raw_order(payload)
        self.assertNoContent(
            self.api(
                "PUT",
                "/api/orders/FR-7731-A/accept",
                json={"order_lines": [{"id": "FR-7731-A-1", "accepted": False}]},
            )
        )
        refused = self.control.order("FR-7731-A")
        self.assertEqual(refused["order_state"], "REFUSED")
        self.assertIsNotNone(refused["acceptance_decision_date"])
        self.assertEqual(refused["order_lines"][0]["order_line_state"], "REFUSED")
        # storing it again replaces it
        self.assertEqual(self.control.add_raw_order(fresh), fresh)
        self.assertEqual(
            self.control.order("FR-7731-A")["order_state"], "WAITING_ACCEPTANCE"
        )
