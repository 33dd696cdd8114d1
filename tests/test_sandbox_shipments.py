"""The sandbox's multiple shipments (ST01, ST11, ST23, ST24), seller
cancellations (OR29, OR30) and reasons (RE01).

Plain ``requests`` against the sandbox (never the connector's client), as in
``test_sandbox``; penny figures are worked out by hand in the comments.
"""

from odoo.tests import tagged

from .test_sandbox import SandboxHttpCase, money


class ShipmentsCase(SandboxHttpCase):
    sandbox_config = {"multi_shipment": True}

    def order(self, *lines, shipping_type="STD"):
        """A SHIPPING order of ``(sku, quantity)`` lines (debit delay 0)."""
        spec = {
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
            "shipping_type": shipping_type,
        }
        (order,) = self.control.create_orders(orders=[spec])
        self.assertNoContent(self.accept(order))
        order = self.control.order(order["order_id"])
        self.assertEqual(order["order_state"], "SHIPPING")
        return order

    def st01(self, *shipments):
        response = self.api("POST", "/api/shipments", json={"shipments": shipments})
        self.assertEqual(response.status_code, 201, response.text)
        return response.json()

    def st24(self, *ids):
        response = self.api(
            "PUT",
            "/api/shipments/ship",
            json={"shipments": [{"id": i} for i in ids]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def st11(self, **params):
        response = self.api("GET", "/api/shipments", params=params)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def items_to_ship(self):
        data = self.api("GET", "/api/shipments/items_to_ship").json()["data"]
        return {
            line["order_line_id"]: line["quantity"]
            for item in data
            for line in item["shipment_lines"]
        }


def line_ids(order):
    return [line["order_line_id"] for line in order["order_lines"]]


def shipment(order_id, *lines, **fields):
    fields["order_id"] = order_id
    fields["shipment_lines"] = [
        {"order_line_id": line_id, "quantity": qty} for line_id, qty in lines
    ]
    return fields


@tagged("post_install", "-at_install")
class TestSandboxShipments(ShipmentsCase):
    def test_partial_shipments_then_st24_then_tracking(self):
        order = self.order(("WDR-NAV-10", 3), ("MCH-KHA-32", 1))
        order_id = order["order_id"]
        first, second = line_ids(order)
        self.assertTrue(order["can_cancel"])
        self.control.advance(60)
        # shipped at once, with a registered carrier
        body = self.st01(
            shipment(
                order_id,
                (first, 2),
                tracking={"carrier_code": "ROYALMAIL", "tracking_number": "JX1"},
                shipped=True,
                invoice_reference="INV-0001",
            )
        )
        self.assertEqual(body["shipment_errors"], [])
        (parcel,) = body["shipment_success"]
        self.assertEqual(
            (parcel["order_id"], parcel["status"], parcel["invoice_reference"]),
            (order_id, "SHIPPED", "INV-0001"),
        )
        self.assertEqual(parcel["shipped_date"], parcel["created_date"])
        self.assertEqual(
            parcel["shipment_lines"],
            [
                {
                    "order_line_id": first,
                    "offer_sku": "WDR-NAV-10",
                    "package_reference": None,
                    "quantity": 2,
                }
            ],
        )
        tracking = parcel["tracking"]
        self.assertEqual(tracking["carrier_name"], "Royal Mail")
        self.assertTrue(tracking["tracking_url"].endswith("/JX1"))
        partly = self.control.order(order_id)
        self.assertEqual(partly["order_state"], "SHIPPING")
        self.assertFalse(partly["can_cancel"])
        self.assertEqual(partly["order_lines"][0]["order_line_state"], "SHIPPING")
        self.assertIsNone(partly["order_lines"][0]["shipped_date"])
        self.assertGreater(partly["last_updated_date"], order["last_updated_date"])
        self.assertEqual(self.items_to_ship(), {first: 1, second: 1})
        response = self.api("PUT", "/api/orders/%s/ship" % order_id)
        self.assertError(response, 400, "ORDER_HAS_SHIPMENTS")

        # the rest, not shipped yet: nothing left to ship, order still SHIPPING
        self.control.advance(60)
        (pending,) = self.st01(shipment(order_id, (first, 1), (second, 1)))[
            "shipment_success"
        ]
        self.assertEqual((pending["status"], pending["tracking"]), ("SHIPPING", None))
        self.assertIsNone(pending["shipped_date"])
        self.assertEqual(self.items_to_ship(), {})
        self.assertEqual(self.control.order(order_id)["order_state"], "SHIPPING")

        self.control.advance(60)
        answer = self.st24(pending["id"], "no-such-id")
        self.assertEqual(answer["shipment_success"], [{"id": pending["id"]}])
        (error,) = answer["shipment_errors"]
        self.assertEqual(error["id"], "no-such-id")
        self.assertIn("No shipment", error["message"])
        shipped = self.control.order(order_id)
        self.assertEqual(shipped["order_state"], "SHIPPED")
        self.assertFalse(shipped["can_shop_ship"])
        for line in shipped["order_lines"]:
            self.assertEqual(line["order_line_state"], "SHIPPED")
            self.assertEqual(line["shipped_date"], shipped["last_updated_date"])
            self.assertTrue(line["can_refund"])
        (error,) = self.st24(pending["id"])["shipment_errors"]
        self.assertIn("'SHIPPED'", error["message"])
        (error,) = self.st01(shipment(order_id, (first, 1)))["shipment_errors"]
        self.assertEqual(
            error,
            {
                "order_id": order_id,
                "message": "The order status must be 'SHIPPING' but it is 'SHIPPED'.",
            },
        )

        # ST11: both, in creation order, with filters and seek paging
        listed = self.st11(order_id=order_id)["data"]
        self.assertEqual([s["id"] for s in listed], [parcel["id"], pending["id"]])
        self.assertEqual(listed[1]["status"], "SHIPPED")
        self.assertEqual(listed[1]["shipped_date"], shipped["last_updated_date"])
        page = self.st11(limit=1, order_id=order_id, shipment_state_code="SHIPPED")
        self.assertEqual([s["id"] for s in page["data"]], [parcel["id"]])
        last = self.st11(limit=1, page_token=page["next_page_token"])
        self.assertEqual([s["id"] for s in last["data"]], [pending["id"]])
        self.assertNotIn("next_page_token", last)
        since = self.st11(last_updated_from=listed[1]["last_updated_date"])["data"]
        self.assertEqual([s["id"] for s in since], [pending["id"]])
        self.assertEqual(self.st11(shipment_state_code="SHIPPING")["data"], [])
        self.assertError(self.api("GET", "/api/shipments", params={"sort": "x"}), 400)
        response = self.api(
            "GET", "/api/shipments", params={"shipment_state_code": "X"}
        )
        self.assertError(response, 400)

        # ST23: tracking of a shipped shipment; only the shipment moves
        self.control.advance(60)
        body = {
            "shipments": [
                {
                    "id": pending["id"],
                    "tracking": {
                        "carrier_name": "Acme Couriers",
                        "tracking_number": "A1",
                        "tracking_url": "https://acme.example/A1",
                    },
                },
                {"id": "no-such-id", "tracking": {"carrier_code": "DPD"}},
            ]
        }
        response = self.api("POST", "/api/shipments/tracking", json=body)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["shipment_success"], [{"id": pending["id"]}])
        self.assertEqual(
            [e["id"] for e in response.json()["shipment_errors"]], ["no-such-id"]
        )
        tracked = self.st11(order_id=order_id)["data"][1]
        self.assertEqual(tracked["tracking"]["carrier_name"], "Acme Couriers")
        self.assertIsNone(tracked["tracking"]["carrier_code"])
        self.assertEqual(tracked["tracking"]["tracking_url"], "https://acme.example/A1")
        self.assertGreater(tracked["last_updated_date"], listed[1]["last_updated_date"])
        self.assertEqual(
            self.control.order(order_id)["last_updated_date"],
            shipped["last_updated_date"],
        )
        self.assertEqual(
            [c["operation"] for c in self.control.calls() if c["method"] != "GET"],
            ["OR21", "ST01", "OR24", "ST01", "ST24", "ST24", "ST01", "ST23"],
        )

    def test_st01_refusals(self):
        order = self.order(("WDR-NAV-10", 2), ("MCH-KHA-32", 1))
        order_id = order["order_id"]
        first, second = line_ids(order)
        express = self.order(("ABL-BRN-SM", 1), shipping_type="EXP")
        express_line = line_ids(express)[0]
        waiting = self.control.create_orders(
            orders=[{"lines": [{"sku": "ASC-NAV-OS"}]}]
        )[0]
        self.control.cancel(order_id, {second: 1})
        self.control.config(disable_seller_alternative_carrier=True)
        for bad, expected in (
            (shipment("MKP-999999-A", ("MKP-999999-A-1", 1)), "not found"),
            (
                shipment(waiting["order_id"], (line_ids(waiting)[0], 1)),
                "must be 'SHIPPING' but it is 'WAITING_ACCEPTANCE'",
            ),
            (shipment(order_id, ("%s-9" % order_id, 1)), "not found in order"),
            (shipment(order_id, (first, 0)), "Shipment quantity is invalid"),
            (shipment(order_id, (first, 3)), "Shipment quantity is invalid"),
            (shipment(order_id, (first, 1), (first, 1)), "given twice"),
            (shipment(order_id, (second, 1)), "it is 'CANCELED'"),
            (
                {"order_id": order_id, "shipment_lines": [{"quantity": 1}]},
                "order_line_id is required",
            ),
            (
                shipment(order_id, (first, 1), tracking={"carrier_code": "OWL"}),
                "Unknown carrier code",
            ),
            (
                shipment(order_id, (first, 1), tracking={"carrier_code": "DPD"}),
                "needs a tracking number",
            ),
            (
                shipment(order_id, (first, 1), tracking={"carrier_name": "Acme"}),
                "outside the platform list",
            ),
            (
                shipment(order_id, (first, 1), tracking={"tracking_number": "1"}),
                "carrier_code or carrier_name",
            ),
            (
                shipment(express["order_id"], (express_line, 1), shipped=True),
                "needs a tracking number before shipment",
            ),
        ):
            with self.subTest(expected=expected):
                body = self.st01(bad)
                self.assertEqual(body["shipment_success"], [])
                (error,) = body["shipment_errors"]
                self.assertEqual(error["order_id"], bad["order_id"])
                self.assertIn(expected, error["message"])
        # each shipment sees what the previous ones of the call left
        body = self.st01(shipment(order_id, (first, 2)), shipment(order_id, (first, 1)))
        self.assertEqual(len(body["shipment_success"]), 1)
        (error,) = body["shipment_errors"]
        self.assertIn("has 0 left to ship", error["message"])
        # an EXP shipment is shipped only once it has a tracking number
        (parcel,) = self.st01(shipment(express["order_id"], (express_line, 1)))[
            "shipment_success"
        ]
        (error,) = self.st24(parcel["id"])["shipment_errors"]
        self.assertIn("needs a tracking number", error["message"])
        tracking = {"carrier_code": "DPD", "tracking_number": "15501"}
        self.api(
            "POST",
            "/api/shipments/tracking",
            json={"shipments": [{"id": parcel["id"], "tracking": tracking}]},
        )
        self.assertEqual(self.st24(parcel["id"])["shipment_errors"], [])
        self.assertEqual(
            self.control.order(express["order_id"])["order_state"], "SHIPPED"
        )
        self.assertEqual(len(self.st11()["data"]), 2)  # nothing else was created
        # malformed bodies are refused as a whole
        good = shipment(order_id, (first, 1))
        for body in (
            {},
            {"shipments": []},
            {"shipments": [good] * 1001},
            {"shipments": [dict(good, order_id=None)]},
            {"shipments": [dict(good, shipment_lines=[])]},
            {"shipments": [shipment(order_id, (first, "1"))]},
            {"shipments": [dict(good, shipped="yes")]},
            {"shipments": [dict(good, tracking="DPD")]},
            {"shipments": [dict(good, invoice_reference="INV 1")]},
        ):
            with self.subTest(body=str(body)[:80]):
                response = self.api("POST", "/api/shipments", json=body)
                self.assertError(response, 400, "VALIDATION_ERROR")
        for path in ("/api/shipments/ship", "/api/shipments/tracking"):
            method = "PUT" if path.endswith("ship") else "POST"
            for body in ({"shipments": []}, {"shipments": [{"id": 1}]}):
                with self.subTest(path=path, body=body):
                    response = self.api(method, path, json=body)
                    self.assertError(response, 400, "VALIDATION_ERROR")

    def test_multi_shipment_off_refuses_every_shipment(self):
        order = self.order(("WDR-NAV-10", 1), ("MCH-KHA-32", 1))
        self.control.config(multi_shipment=False)
        features = self.api("GET", "/api/platform/configuration").json()["features"]
        self.assertFalse(features["shipment"]["multi_shipment"])
        body = self.st01(
            shipment(order["order_id"], (line_ids(order)[0], 1)),
            shipment(order["order_id"], (line_ids(order)[1], 1)),
        )
        self.assertEqual(body["shipment_success"], [])
        self.assertEqual(len(body["shipment_errors"]), 2)
        for error in body["shipment_errors"]:
            self.assertIn("multi_shipment", error["message"])
        self.assertTrue(self.control.order(order["order_id"])["can_cancel"])
        self.assertNoContent(self.api("PUT", "/api/orders/%s/ship" % order["order_id"]))


@tagged("post_install", "-at_install")
class TestSandboxSellerCancellations(ShipmentsCase):
    def or30(self, *cancelations, **body):
        body["cancelations"] = list(cancelations)
        return self.api("PUT", "/api/orders/cancel", json=body)

    def test_or29_whole_order(self):
        order = self.order(("WDR-NAV-10", 2), ("MCH-KHA-32", 1))
        order_id = order["order_id"]
        self.control.advance(60)
        self.assertNoContent(self.api("PUT", "/api/orders/%s/cancel" % order_id))
        cancelled = self.control.order(order_id)
        self.assertEqual(
            (cancelled["order_state"], cancelled["order_state_reason_code"]),
            ("CANCELED", "SHOP_CANCELED"),
        )
        self.assertFalse(cancelled["can_cancel"])
        self.assertGreater(cancelled["last_updated_date"], order["last_updated_date"])
        for line in cancelled["order_lines"]:
            self.assertEqual(line["order_line_state"], "CANCELED")
            (cancelation,) = line["cancelations"]
            self.assertEqual(cancelation["reason_code"], "SHOP_CANCELED")
            self.assertEqual(cancelation["quantity"], line["quantity"])
            self.assertEqual(money(cancelation["amount"]), money(line["price"]))
        response = self.api("PUT", "/api/orders/%s/cancel" % order_id)
        self.assertError(response, 400, "ORDER_CANCEL_NOT_ALLOWED")
        # refused: not SHIPPING yet, or shipments made; unknown order: 404
        (waiting,) = self.control.create_orders(count=1)
        shipped = self.order(("ASC-NAV-OS", 2))
        self.st01(shipment(shipped["order_id"], (line_ids(shipped)[0], 1)))
        self.assertFalse(self.control.order(shipped["order_id"])["can_cancel"])
        for other in (waiting, shipped):
            response = self.api("PUT", "/api/orders/%s/cancel" % other["order_id"])
            self.assertError(response, 400, "ORDER_CANCEL_NOT_ALLOWED")
        response = self.api("PUT", "/api/orders/MKP-999999-A/cancel")
        self.assertError(response, 404, "ORDER_NOT_FOUND")
        self.assertEqual(
            self.control.order(shipped["order_id"])["order_state"], "SHIPPING"
        )

    def test_or30_partial_then_full_line(self):
        order = self.order(("WDR-NAV-10", 3), ("MCH-KHA-32", 1))
        order_id = order["order_id"]
        first, second = line_ids(order)
        self.control.advance(60)
        # line: 177.00 + 3.95 shipping, VAT 29.50 + 0.66, commission 27.14 + 5.43
        response = self.or30(
            {
                "order_line_id": first,
                "quantity": 1,
                "amount": 59.00,
                "shipping_amount": 1.32,
                "reason_code": "OUT_OF_STOCK",
                "taxes": [{"code": "GB_VAT_STD", "amount": 9.83}],
                "shipping_taxes": [{"code": "GB_VAT_STD", "amount": 0.22}],
            }
        )
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["order_tax_mode"], "TAX_INCLUDED")
        (created,) = body["cancelations"]
        self.assertEqual(
            (created["order_line_id"], created["quantity"], created["reason_code"]),
            (first, 1, "OUT_OF_STOCK"),
        )
        self.assertEqual(
            (money(created["amount"]), money(created["shipping_amount"])),
            (money("59.00"), money("1.32")),
        )
        self.assertEqual(created["taxes"][0]["rate"], 20)
        # commission: 27.14 x 60.32 / 180.95 = 9.05, 5.43 x 60.32 / 180.95 = 1.81
        self.assertEqual(money(created["commission_amount"]), money("9.05"))
        self.assertEqual(money(created["commission_total_amount"]), money("10.86"))
        partly = self.control.order(order_id)
        line = partly["order_lines"][0]
        self.assertEqual(line["order_line_state"], "SHIPPING")
        (seen,) = line["cancelations"]
        self.assertEqual(seen["id"], created["cancelation_id"])
        self.assertEqual(seen["created_date"], partly["last_updated_date"])
        self.assertGreater(partly["last_updated_date"], order["last_updated_date"])
        self.assertEqual(self.items_to_ship(), {first: 2, second: 1})

        # the rest, stated without tax: 118.00 - 19.67 and 2.63 - 0.44
        self.control.advance(60)
        response = self.or30(
            {
                "order_line_id": first,
                "quantity": 2,
                "amount": 98.33,
                "shipping_amount": 2.19,
                "reason_code": "DAMAGED_ITEM",
                "taxes": [{"code": "GB_VAT_STD", "amount": 19.67}],
                "shipping_taxes": [{"code": "GB_VAT_STD", "amount": 0.44}],
            },
            order_tax_mode="TAX_EXCLUDED",
        )
        self.assertEqual(response.status_code, 200, response.text)
        (created,) = response.json()["cancelations"]
        self.assertEqual(response.json()["order_tax_mode"], "TAX_EXCLUDED")
        self.assertEqual(money(created["amount"]), money("98.33"))
        # the last one takes the commission left: 18.09 + 3.62
        self.assertEqual(money(created["commission_total_amount"]), money("21.71"))
        line = self.control.order(order_id)["order_lines"][0]
        self.assertEqual(
            (line["order_line_state"], line["order_line_state_reason_code"]),
            ("CANCELED", "DAMAGED_ITEM"),
        )
        self.assertEqual(money(line["cancelations"][1]["amount"]), money("118.00"))
        self.assertEqual(
            sum(money(c["shipping_amount"]) for c in line["cancelations"]),
            money("3.95"),
        )
        # the last live line: the order is CANCELED with its reason
        response = self.or30(
            {
                "order_line_id": second,
                "quantity": 1,
                "amount": 42,
                "shipping_amount": 0,
                "reason_code": "PRICING_ERROR",
                "taxes": [{"code": "GB_VAT_STD", "amount": 7}],
            }
        )
        self.assertEqual(response.status_code, 200, response.text)
        cancelled = self.control.order(order_id)
        self.assertEqual(
            (cancelled["order_state"], cancelled["order_state_reason_code"]),
            ("CANCELED", "PRICING_ERROR"),
        )

    def test_or30_rest_shipped_makes_the_order_shipped(self):
        order = self.order(("WDR-NAV-10", 2))
        (line_id,) = line_ids(order)
        self.st01(shipment(order["order_id"], (line_id, 1), shipped=True))
        cancelation = {
            "order_line_id": line_id,
            "quantity": 1,
            "amount": 59,
            "shipping_amount": 0,
            "reason_code": "OUT_OF_STOCK",
            "taxes": [{"code": "GB_VAT_STD", "amount": 9.83}],
        }
        response = self.or30(dict(cancelation, quantity=2))
        self.assertError(response, 400, "CANCELATION_QUANTITY_INVALID")
        self.assertEqual(self.or30(cancelation).status_code, 200)
        shipped = self.control.order(order["order_id"])
        self.assertEqual(shipped["order_state"], "SHIPPED")
        self.assertEqual(shipped["order_lines"][0]["order_line_state"], "SHIPPED")

    def test_or30_refusals(self):
        order = self.order(("WDR-NAV-10", 3), ("KPJ-STR-4-5Y", 1))
        first, kids = line_ids(order)
        (waiting,) = self.control.create_orders(count=1)
        good = {
            "order_line_id": first,
            "quantity": 1,
            "amount": 10,
            "shipping_amount": 0,
            "reason_code": "OUT_OF_STOCK",
            "taxes": [{"code": "GB_VAT_STD", "amount": 1.67}],
        }
        unknown_line = dict(good, order_line_id="MKP-999999-A-1")
        for cancelations, body, code in (
            ([], {}, "VALIDATION_ERROR"),
            ([dict(good, amount=None)], {}, "VALIDATION_ERROR"),
            ([dict(good, quantity="1")], {}, "VALIDATION_ERROR"),
            ([good], {"order_tax_mode": "GROSS"}, "VALIDATION_ERROR"),
            ([dict(good, currency_iso_code="EUR")], {}, "VALIDATION_ERROR"),
            ([unknown_line], {}, "ORDER_LINE_NOT_FOUND"),
            ([good, good], {}, "ORDER_LINE_DUPLICATE_ID"),
            (
                [dict(good, order_line_id=waiting["order_lines"][0]["order_line_id"])],
                {},
                "ORDER_LINE_INVALID_STATE",
            ),
            ([dict(good, quantity=0)], {}, "CANCELATION_QUANTITY_INVALID"),
            ([dict(good, quantity=4)], {}, "CANCELATION_QUANTITY_INVALID"),
            ([dict(good, reason_code="NOPE")], {}, "REASON_CODE_INVALID"),
            ([dict(good, reason_code="RETURNED")], {}, "REASON_CODE_INVALID"),
            (
                [dict(good, reason_code="CUSTOMER_CANCELED")],
                {},
                "REASON_CODE_NOT_ALLOWED",
            ),
            ([dict(good, amount=-1)], {}, "CANCELATION_AMOUNT_INVALID"),
            ([dict(good, amount=177.01)], {}, "CANCELATION_AMOUNT_INVALID"),
            (
                [dict(good, shipping_amount=3.96, shipping_taxes=[])],
                {},
                "CANCELATION_TAXES_REQUIRED",
            ),
            (
                [
                    dict(
                        good,
                        shipping_amount=3.96,
                        shipping_taxes=[{"code": "GB_VAT_STD", "amount": 0}],
                    )
                ],
                {},
                "CANCELATION_AMOUNT_INVALID",
            ),
            (
                [dict(good, fees=[{"code": "F", "amount": 1}])],
                {},
                "CANCELATION_AMOUNT_INVALID",
            ),
            ([dict(good, taxes=None)], {}, "CANCELATION_TAXES_REQUIRED"),
            (
                [dict(good, order_line_id=kids, taxes=[])],
                {},
                "CANCELATION_TAXES_REQUIRED",
            ),
            (
                [dict(good, taxes=[{"code": "ECO", "amount": 0}])],
                {},
                "CANCELATION_TAX_INVALID",
            ),
            (
                [dict(good, amount=1, taxes=[{"code": "GB_VAT_STD", "amount": 2}])],
                {},
                "CANCELATION_TAX_INVALID",
            ),
            (
                [dict(good, taxes=[{"code": "GB_VAT_STD", "amount": 29.51}])],
                {"order_tax_mode": "TAX_EXCLUDED"},
                "CANCELATION_TAX_INVALID",
            ),
            # all or nothing: the good one is not created either
            ([good, unknown_line], {}, "ORDER_LINE_NOT_FOUND"),
        ):
            with self.subTest(code=code, cancelations=cancelations, body=body):
                self.assertError(self.or30(*cancelations, **body), 400, code)
        self.assertError(
            self.api("PUT", "/api/orders/cancel", json=[good]), 400, "VALIDATION_ERROR"
        )
        lines = self.control.order(order["order_id"])["order_lines"]
        self.assertEqual([line["cancelations"] for line in lines], [[], []])
        # a zero-rated line states its 0.00 tax
        zero = dict(good, order_line_id=kids, amount=5)
        zero["taxes"] = [{"code": "GB_VAT_ZERO", "amount": 0}]
        self.assertEqual(self.or30(zero).status_code, 200)


@tagged("post_install", "-at_install")
class TestSandboxReasons(SandboxHttpCase):
    def test_re01(self):
        response = self.api("GET", "/api/reasons", params={"locale": "en_GB"})
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        reasons = {r["code"]: r for r in body["reasons"]}
        self.assertEqual(body["total_count"], len(body["reasons"]))
        for reason in body["reasons"]:
            self.assertEqual(reason.keys(), {"code", "label", "type", "is_shop_right"})
        types = [r["type"] for r in body["reasons"]]
        self.assertEqual(types, sorted(types))
        self.assertTrue(
            {"CANCELATION", "REFUND", "INCIDENT_OPEN", "INCIDENT_CLOSE"} <= set(types)
        )
        for code, shop_right in (
            ("OUT_OF_STOCK", True),
            ("DAMAGED_ITEM", True),
            ("SHOP_CANCELED", True),
            ("CUSTOMER_CANCELED", False),  # the control API's default
        ):
            with self.subTest(code=code):
                self.assertEqual(reasons[code]["type"], "CANCELATION")
                self.assertIs(reasons[code]["is_shop_right"], shop_right)
        self.assertEqual(self.control.catalogue()["reasons"], body["reasons"])
        self.assertEqual([c["operation"] for c in self.control.calls()], ["RE01"])
