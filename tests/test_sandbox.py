"""The Mirakl sandbox itself, over real HTTP with plain ``requests``.

These tests never use the connector's client (``lib/``): they speak the API
document's contract directly (raw key in ``Authorization``, JSON bodies), so
the sandbox is checked against the document and not against the client.
"""

import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import requests

from odoo.tests import tagged

from ..sandbox import SandboxServer
from .common import API_KEY, SHOP_ID, SandboxCase

TIMEOUT = 10
REPO_ROOT = Path(__file__).resolve().parent.parent
CENT = Decimal("0.01")
ISO_SECOND = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

REQUIRED_ORDER_FIELDS = (
    "order_id",
    "commercial_id",
    "created_date",
    "last_updated_date",
    "leadtime_to_ship",
    "order_state",
    "can_cancel",
    "can_shop_ship",
    "has_incident",
    "has_customer_message",
    "has_invoice",
    "fully_refunded",
    "currency_iso_code",
    "order_tax_mode",
    "price",
    "shipping_price",
    "total_price",
    "total_commission",
    "shipping_type_code",
    "shipping_type_label",
    "shipping_zone_code",
    "shipping_zone_label",
    "fulfillment",
    "customer",
    "order_lines",
)
REQUIRED_LINE_FIELDS = (
    "order_line_id",
    "order_line_index",
    "order_line_state",
    "created_date",
    "last_updated_date",
    "offer_id",
    "offer_sku",
    "offer_state_code",
    "product_sku",
    "product_title",
    "category_code",
    "category_label",
    "description",
    "quantity",
    "price_unit",
    "price",
    "shipping_price",
    "total_price",
    "taxes",
    "shipping_taxes",
    "commission_fee",
    "commission_vat",
    "commission_rate_vat",
    "total_commission",
    "cancelations",
    "refunds",
    "can_refund",
    "order_line_additional_fields",
)
REQUIRED_ADDRESS_FIELDS = (
    "lastname",
    "street_1",
    "city",
    "country",
    "country_iso_code",
)


def money(value):
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_iso(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SandboxHttpCase(SandboxCase):
    """Plain-requests access to the sandbox's /api/ endpoints."""

    def setUp(self):
        super().setUp()
        self.http = requests.Session()
        self.addCleanup(self.http.close)

    def api(self, method, path, key=API_KEY, timeout=TIMEOUT, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = key
        return self.http.request(
            method, self.sandbox_url + path, headers=headers, timeout=timeout, **kwargs
        )

    def get_orders(self, **params):
        response = self.api("GET", "/api/orders", params=params)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def accept(self, order, decisions=None):
        """OR21 with a decision for every line (True unless ``decisions`` says)."""
        decisions = decisions or {}
        lines = [
            {"id": line["order_line_id"], "accepted": decisions.get(index, True)}
            for index, line in enumerate(order["order_lines"])
        ]
        return self.api(
            "PUT",
            "/api/orders/%s/accept" % order["order_id"],
            json={"order_lines": lines},
        )

    def new_order(self, skus=("WDR-NAV-10",), shipping_type="STD", **spec):
        lines = [{"sku": sku, "quantity": 1} for sku in skus]
        spec.update(lines=lines, shipping_type=shipping_type)
        (order,) = self.control.create_orders(orders=[spec])
        return order

    def shipping_order(self, **kwargs):
        """A new order accepted and debited (SHIPPING, debit delay 0)."""
        order = self.new_order(**kwargs)
        self.assertEqual(self.accept(order).status_code, 204)
        order = self.control.order(order["order_id"])
        self.assertEqual(order["order_state"], "SHIPPING")
        return order

    def assertError(self, response, status, code=None):
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        self.assertEqual(body["status"], status)
        self.assertTrue(body["message"])
        self.assertEqual(body.get("code"), code)

    def assertNoContent(self, response):
        self.assertEqual(response.status_code, 204, response.text)
        self.assertEqual(response.content, b"")


@tagged("post_install", "-at_install")
class TestSandboxAccess(SandboxHttpCase):
    sandbox_orders = 2

    def test_missing_or_wrong_key_is_401(self):
        for key in (None, "wrong-key", "Bearer %s" % API_KEY, API_KEY + " "):
            with self.subTest(key=key):
                self.assertError(self.api("GET", "/api/orders", key=key), 401)
        self.assertEqual(
            [c["auth"] for c in self.control.calls()],
            ["missing", "invalid", "invalid", "invalid"],
        )
        self.assertEqual(self.api("GET", "/api/orders").status_code, 200)

    def test_shop_id_other_than_the_sandbox_shop_is_403(self):
        own = self.api("GET", "/api/account", params={"shop_id": SHOP_ID})
        self.assertEqual(own.json()["shop_id"], SHOP_ID)
        for shop_id in (SHOP_ID + 1, "abc"):
            with self.subTest(shop_id=shop_id):
                response = self.api("GET", "/api/orders", params={"shop_id": shop_id})
                self.assertError(response, 403)

    def test_unknown_path_404_and_wrong_method_405(self):
        self.assertError(self.api("GET", "/api/nothing/here"), 404)
        self.assertError(self.api("GET", "/api/orders/X-A/accept"), 405)
        self.assertError(self.api("DELETE", "/api/orders"), 405)
        self.assertEqual(
            [(c["operation"], c["status"]) for c in self.control.calls()],
            [(None, 404), (None, 405), (None, 405)],
        )
        with self.assertRaises(requests.HTTPError) as caught:
            self.control.call("GET", "nothing")
        self.assertEqual(caught.exception.response.status_code, 404)

    def test_reference_endpoints(self):
        account = self.api("GET", "/api/account").json()
        self.assertEqual(account["shop_id"], SHOP_ID)
        self.assertEqual(account["shop_state"], "OPEN")
        self.assertEqual(account["currency_iso_code"], "GBP")
        self.assertEqual(account["orders_count"], 2)
        self.assertIn("lead_time_to_ship", account["shipping"])
        self.assertEqual(self.api("GET", "/api/version").json().keys(), {"version"})
        features = self.api("GET", "/api/platform/configuration").json()["features"]
        self.assertEqual(features["order_tax_mode"], "TAX_INCLUDED")
        self.assertEqual(
            features["order_workflows"],
            {"order_acceptance": "NOT_AUTOMATIC", "partial_acceptance": False},
        )
        self.assertTrue(features["shipping_and_billing_details_before_acceptance"])
        self.control.config(
            partial_acceptance=True,
            multi_shipment=True,
            details_before_acceptance=False,
        )
        features = self.api("GET", "/api/platform/configuration").json()["features"]
        self.assertTrue(features["order_workflows"]["partial_acceptance"])
        self.assertTrue(features["shipment"]["multi_shipment"])
        self.assertFalse(features["shipping_and_billing_details_before_acceptance"])
        self.assertEqual(
            features["platform_configuration"]["timezone"], "Europe/London"
        )

        carriers = self.api("GET", "/api/shipping/carriers").json()["carriers"]
        labels = [c["label"] for c in carriers]
        self.assertEqual(labels, sorted(labels))
        self.assertIn("ROYALMAIL", [c["code"] for c in carriers])
        for carrier in carriers:
            self.assertEqual(
                carrier.keys(), {"code", "label", "standard_code", "tracking_url"}
            )
        types = self.api("GET", "/api/shipping/types").json()["shipping_types"]
        tracking = {t["code"]: t["mandatory_tracking"] for t in types}
        self.assertEqual(tracking, {"STD": False, "EXP": True})

    def test_server_binds_loopback_only(self):
        for host in ("0.0.0.0", "192.0.2.10", "example.com"):
            with self.subTest(host=host), self.assertRaises(ValueError):
                SandboxServer(api_key=API_KEY, host=host)


@tagged("post_install", "-at_install")
class TestSandboxOrders(SandboxHttpCase):
    sandbox_orders = 30

    def test_order_shapes(self):
        body = self.get_orders(max=100)
        self.assertEqual(body["total_count"], 30)
        self.assertEqual(len(body["orders"]), 30)
        now = parse_iso(self.control.now())
        window = timedelta(hours=72)
        for order in body["orders"]:
            with self.subTest(order=order["order_id"]):
                self.assertEqual(
                    [f for f in REQUIRED_ORDER_FIELDS if f not in order], []
                )
                self.assertRegex(order["order_id"], r"^MKP-\d{6}-A$")
                self.assertEqual(order["order_id"], order["commercial_id"] + "-A")
                self.assertEqual(order["order_state"], "WAITING_ACCEPTANCE")
                self.assertEqual(order["currency_iso_code"], "GBP")
                self.assertEqual(order["payment_workflow"], "PAY_ON_ACCEPTANCE")
                self.assertEqual(order["fulfillment"]["center"]["code"], "DEFAULT")
                created = parse_iso(order["created_date"])
                self.assertTrue(now - window < created <= now)
                self.assertGreaterEqual(
                    order["last_updated_date"], order["created_date"]
                )
                self.assertRegex(order["shipping_deadline"], ISO_SECOND)
                self.assertIsNone(order["acceptance_decision_date"])
                for kind in ("billing_address", "shipping_address"):
                    address = order["customer"][kind]
                    self.assertEqual(
                        [f for f in REQUIRED_ADDRESS_FIELDS if not address.get(f)], []
                    )
                    self.assertEqual(address["country_iso_code"], "GBR")
                self.assertTrue(1 <= len(order["order_lines"]) <= 5)
                for index, line in enumerate(order["order_lines"], start=1):
                    self.assertEqual(
                        [f for f in REQUIRED_LINE_FIELDS if f not in line], []
                    )
                    self.assertEqual(line["order_line_index"], index)
                    self.assertEqual(
                        line["order_line_id"], "%s-%d" % (order["order_id"], index)
                    )
                    self.assertEqual(line["order_line_state"], "WAITING_ACCEPTANCE")
        customers = Counter(o["customer"]["customer_id"] for o in body["orders"])
        self.assertGreater(max(customers.values()), 1)

    def test_amounts_add_up_to_the_penny(self):
        catalogue = self.control.catalogue()
        products = {p["sku"]: p for p in catalogue["products"]}
        shipping = {s["code"]: money(s["price"]) for s in catalogue["shipping_types"]}
        kids, adult = "KPJ-STR-4-5Y", "WTC-STN-12"
        self.assertEqual(products[kids]["vat_rate"], 0)
        self.assertEqual(products[adult]["vat_rate"], 20)
        self.control.create_orders(
            orders=[
                {"lines": [{"sku": kids, "quantity": 3}, {"sku": adult}]},
                {"lines": [{"sku": adult, "quantity": 2}], "shipping_type": "EXP"},
            ]
        )
        orders = self.get_orders(paginate="false")["orders"]
        self.assertEqual(len(orders), 32)
        for order in orders:
            with self.subTest(order=order["order_id"]):
                self.assertOrderAddsUp(order, products, shipping)

    def assertOrderAddsUp(self, order, products, shipping):
        totals = {"price": 0, "shipping_price": 0, "total_commission": 0}
        for index, line in enumerate(order["order_lines"]):
            product = products[line["offer_sku"]]
            self.assertEqual(line["product_sku"], product["product_sku"])
            self.assertEqual(line["offer_id"], product["offer_id"])
            self.assertEqual(line["category_code"], product["category_code"])
            rate = money(product["vat_rate"])
            price = money(line["price"])
            self.assertEqual(money(line["price_unit"]), money(product["price"]))
            self.assertEqual(price, money(line["price_unit"]) * line["quantity"])
            line_shipping = money(line["shipping_price"])
            expected_shipping = (
                shipping[order["shipping_type_code"]] if not index else 0
            )
            self.assertEqual(line_shipping, expected_shipping)
            self.assertEqual(money(line["total_price"]), price + line_shipping)
            (tax,) = line["taxes"]
            self.assertEqual(money(tax["rate"]), rate)
            self.assertEqual(tax["code"], "GB_VAT_STD" if rate else "GB_VAT_ZERO")
            self.assertEqual(tax["tax_calculation_rule"], "PROPORTIONAL_TO_AMOUNT")
            self.assertEqual(money(tax["amount"]), money(price * rate / (100 + rate)))
            if line_shipping:
                (shipping_tax,) = line["shipping_taxes"]
                self.assertEqual(
                    money(shipping_tax["amount"]),
                    money(line_shipping * rate / (100 + rate)),
                )
            else:
                self.assertEqual(line["shipping_taxes"], [])
            fee = money(
                money(line["total_price"]) * money(product["commission_rate"]) / 100
            )
            self.assertEqual(money(line["commission_fee"]), fee)
            (commission_tax,) = line["commission_taxes"]
            self.assertEqual(commission_tax["rate"], 20)
            self.assertEqual(money(commission_tax["amount"]), money(fee / 5))
            self.assertEqual(money(line["commission_vat"]), money(fee / 5))
            self.assertEqual(line["commission_rate_vat"], 20)
            self.assertEqual(money(line["total_commission"]), fee + money(fee / 5))
            totals["price"] += price
            totals["shipping_price"] += line_shipping
            totals["total_commission"] += money(line["total_commission"])
        for name, value in totals.items():
            self.assertEqual(money(order[name]), value, name)
        self.assertEqual(
            money(order["total_price"]), totals["price"] + totals["shipping_price"]
        )

    def test_same_seed_same_orders(self):
        def snapshot(seed):
            self.control.reset(orders=8, seed=seed)
            return [
                (
                    o["order_id"],
                    o["customer"]["customer_id"],
                    o["shipping_type_code"],
                    o["total_price"],
                    [
                        (line["offer_sku"], line["quantity"])
                        for line in o["order_lines"]
                    ],
                )
                for o in self.get_orders(max=100)["orders"]
            ]

        self.assertEqual(snapshot(7), snapshot(7))
        self.assertNotEqual(snapshot(7), snapshot(8))

    def test_tax_excluded_view(self):
        included = {o["order_id"]: o for o in self.get_orders(max=100)["orders"]}
        excluded = self.get_orders(max=100, order_tax_mode="TAX_EXCLUDED")["orders"]
        for order in excluded:
            with self.subTest(order=order["order_id"]):
                self.assertEqual(order["order_tax_mode"], "TAX_EXCLUDED")
                source = included[order["order_id"]]
                price = shipping_price = 0
                for line, incl in zip(
                    order["order_lines"], source["order_lines"], strict=True
                ):
                    self.assertEqual(line["taxes"], incl["taxes"])
                    tax = money(line["taxes"][0]["amount"])
                    self.assertEqual(money(line["price"]), money(incl["price"]) - tax)
                    shipping_tax = sum(
                        (money(t["amount"]) for t in line["shipping_taxes"]), Decimal()
                    )
                    self.assertEqual(
                        money(line["shipping_price"]),
                        money(incl["shipping_price"]) - shipping_tax,
                    )
                    self.assertEqual(line["total_commission"], incl["total_commission"])
                    price += money(line["price"])
                    shipping_price += money(line["shipping_price"])
                self.assertEqual(money(order["price"]), price)
                self.assertEqual(money(order["total_price"]), price + shipping_price)
        response = self.api("GET", "/api/orders", params={"order_tax_mode": "GROSS"})
        self.assertError(response, 400)

    def test_filters(self):
        orders = self.get_orders(max=100)["orders"]
        ids = [o["order_id"] for o in orders[:3]]
        body = self.get_orders(order_ids=",".join(ids))
        self.assertEqual([o["order_id"] for o in body["orders"]], ids)
        self.assertEqual(body["total_count"], 3)
        self.assertEqual(
            self.get_orders(order_state_codes="SHIPPING")["total_count"], 0
        )
        both = self.get_orders(order_state_codes="WAITING_ACCEPTANCE,SHIPPING")
        self.assertEqual(both["total_count"], 30)
        middle = orders[15]["created_date"]
        created = [o["created_date"] for o in orders]
        before = self.get_orders(end_date=middle)["total_count"]
        after = self.get_orders(start_date=middle)["total_count"]
        self.assertEqual(before, sum(1 for c in created if c <= middle))
        self.assertEqual(after, sum(1 for c in created if c >= middle))
        self.assertEqual(self.get_orders(customer_debited="true")["total_count"], 0)
        self.assertEqual(self.get_orders(customer_debited="false")["total_count"], 30)
        latest = max(o["last_updated_date"] for o in orders)
        # start_update_date is moved back by update_date_delta_seconds (5 s)
        just_after = iso(parse_iso(latest) + timedelta(seconds=4))
        self.assertGreaterEqual(
            self.get_orders(start_update_date=just_after)["total_count"], 1
        )
        much_later = iso(parse_iso(latest) + timedelta(seconds=6))
        self.assertEqual(
            self.get_orders(start_update_date=much_later)["total_count"], 0
        )
        desc = self.get_orders(max=100, order="desc")["orders"]
        self.assertEqual(
            [o["order_id"] for o in desc], [o["order_id"] for o in orders][::-1]
        )
        for params in (
            {"start_date": "yesterday"},
            {"start_update_date": "2025-03-01"},
            {"customer_debited": "yes"},
            {"order_state_codes": "WAITING"},
            {"order_ids": ",".join("X-%d" % n for n in range(101))},
            {"max": 0},
            {"max": "ten"},
            {"offset": -1},
            {"sort": "price"},
            {"paginate": "no"},
        ):
            with self.subTest(params=params):
                self.assertError(self.api("GET", "/api/orders", params=params), 400)

    def test_details_hidden_before_acceptance_when_configured(self):
        self.control.config(details_before_acceptance=False)
        order = self.get_orders(max=1)["orders"][0]
        self.assertIsNone(order["customer"]["billing_address"])
        self.assertIsNone(order["customer"]["shipping_address"])
        self.assertTrue(order["customer"]["lastname"])
        self.assertNoContent(self.accept(order))
        order = self.control.order(order["order_id"])
        self.assertEqual(
            order["customer"]["shipping_address"]["country_iso_code"], "GBR"
        )

    def test_control_creates_the_orders_asked_for(self):
        customer = self.control.catalogue()["customers"][3]["customer_id"]
        created = "2025-03-03T10:12:00Z"
        order = self.new_order(
            skus=("MOS-BLU-M", "ASC-CAM-OS"),
            shipping_type="EXP",
            customer_id=customer,
            created_date=created,
        )
        self.assertEqual(order["customer"]["customer_id"], customer)
        self.assertEqual(order["created_date"], created)
        self.assertEqual(order["shipping_type_code"], "EXP")
        self.assertEqual(
            [line["offer_sku"] for line in order["order_lines"]],
            ["MOS-BLU-M", "ASC-CAM-OS"],
        )
        self.assertEqual(
            self.control.order(order["order_id"])["order_id"], order["order_id"]
        )
        for bad in (
            {"lines": [{"sku": "NOPE-1"}]},
            {"lines": []},
            {"lines": [{"sku": "MOS-BLU-M"}], "colour": "red"},
            {"lines": [{"sku": "MOS-BLU-M"}], "customer_id": "C-0"},
        ):
            with (
                self.subTest(spec=bad),
                self.assertRaises(requests.HTTPError) as caught,
            ):
                self.control.create_orders(orders=[bad])
            self.assertEqual(caught.exception.response.status_code, 400)
        with self.assertRaises(requests.HTTPError) as caught:
            self.control.order("MKP-999999-A")
        self.assertEqual(caught.exception.response.status_code, 404)


@tagged("post_install", "-at_install")
class TestSandboxPaging(SandboxHttpCase):
    def test_offset_pagination_over_260_orders(self):
        created = self.control.reset(orders=260)["orders"]
        seen = []
        for offset in (0, 100, 200):
            body = self.get_orders(max=100, offset=offset)
            self.assertEqual(body["total_count"], 260)
            seen += [o["order_id"] for o in body["orders"]]
            dates = [o["created_date"] for o in body["orders"]]
            self.assertEqual(dates, sorted(dates))
        self.assertEqual(len(seen), 260)
        self.assertEqual(seen, created)  # dateCreated ascending = creation order
        self.assertEqual(len(self.get_orders()["orders"]), 10)  # default max
        self.assertEqual(self.get_orders(offset=300)["orders"], [])
        self.assertEqual(len(self.get_orders(paginate="false")["orders"]), 260)
        self.assertError(self.api("GET", "/api/orders", params={"max": 101}), 400)

    def test_seek_pagination_on_items_to_ship(self):
        orders = self.control.create_orders(count=25)
        for order in orders:
            self.assertNoContent(self.accept(order))
        self.control.create_orders(count=2)  # still waiting: not to ship
        pages, params = [], {"limit": 10}
        while True:
            response = self.api("GET", "/api/shipments/items_to_ship", params=params)
            self.assertEqual(response.status_code, 200, response.text)
            pages.append(response.json())
            if "next_page_token" not in pages[-1]:
                break
            params = {"limit": 10, "page_token": pages[-1]["next_page_token"]}
        self.assertEqual([len(p["data"]) for p in pages], [10, 10, 5])
        self.assertNotIn("previous_page_token", pages[0])
        self.assertIn("previous_page_token", pages[2])
        for page in pages[:2]:
            self.assertIsInstance(page["next_page_token"], str)
            self.assertNotIn("offset", page["next_page_token"])
        items = [item for page in pages for item in page["data"]]
        self.assertEqual(
            sorted(i["order_id"] for i in items), sorted(o["order_id"] for o in orders)
        )
        for item, order in zip(items, orders, strict=True):
            self.assertEqual(item["order_id"], order["order_id"])
            self.assertEqual(
                [
                    (s["order_line_id"], s["offer_sku"], s["quantity"])
                    for s in item["shipment_lines"]
                ],
                [
                    (line["order_line_id"], line["offer_sku"], line["quantity"])
                    for line in order["order_lines"]
                ],
            )
        back = self.api(
            "GET",
            "/api/shipments/items_to_ship",
            params={"limit": 10, "page_token": pages[1]["previous_page_token"]},
        ).json()
        self.assertEqual(back["data"], pages[0]["data"])
        wanted = [orders[3]["order_id"], orders[20]["order_id"]]
        filtered = self.api(
            "GET", "/api/shipments/items_to_ship", params={"order_id": wanted}
        ).json()
        self.assertEqual([i["order_id"] for i in filtered["data"]], wanted)
        self.assertNotIn("next_page_token", filtered)
        shipping_date = items[0]["shipping_date"]
        first = self.control.order(orders[0]["order_id"])
        self.assertEqual(shipping_date, first["customer_debited_date"])
        later = iso(parse_iso(shipping_date) + timedelta(days=1))
        for params, count in (
            ({"shipping_date_from": shipping_date}, 10),
            ({"shipping_date_from": later}, 0),
            ({"shipping_date_to": later, "limit": 100}, 25),
        ):
            with self.subTest(params=params):
                page = self.api("GET", "/api/shipments/items_to_ship", params=params)
                self.assertEqual(len(page.json()["data"]), count)
        for params in ({"limit": 101}, {"limit": 0}, {"page_token": "not-a-token"}):
            with self.subTest(params=params):
                response = self.api(
                    "GET", "/api/shipments/items_to_ship", params=params
                )
                self.assertError(response, 400)


@tagged("post_install", "-at_install")
class TestSandboxAcceptance(SandboxHttpCase):
    def test_every_acceptance_refusal(self):
        order = self.new_order(skus=("WDR-NAV-10", "KHD-PNK-5-6Y"))
        path = "/api/orders/%s/accept" % order["order_id"]
        first, second = (line["order_line_id"] for line in order["order_lines"])
        cases = (
            ({"data": "not json"}, "VALIDATION_ERROR"),
            ({"json": {}}, "VALIDATION_ERROR"),
            ({"json": {"order_lines": []}}, "VALIDATION_ERROR"),
            ({"json": {"order_lines": [{"id": first}]}}, "ORDER_LINE_NULL_ELEMENT"),
            (
                {"json": {"order_lines": [{"id": None, "accepted": True}]}},
                "ORDER_LINE_NULL_ELEMENT",
            ),
            (
                {"json": {"order_lines": [{"id": first, "accepted": "yes"}]}},
                "VALIDATION_ERROR",
            ),
            (
                {"json": {"order_lines": [{"id": "X-1", "accepted": True}]}},
                "ORDER_LINE_NOT_FOUND",
            ),
            (
                {
                    "json": {
                        "order_lines": [
                            {"id": first, "accepted": True},
                            {"id": first, "accepted": True},
                        ]
                    }
                },
                "ORDER_LINE_DUPLICATE_ID",
            ),
            (
                {"json": {"order_lines": [{"id": first, "accepted": True}]}},
                "ORDER_LINE_ACCEPTANCE_DECISION_MISSING",
            ),
            (
                {
                    "json": {
                        "order_lines": [
                            {"id": first, "accepted": True},
                            {"id": second, "accepted": False},
                        ]
                    }
                },
                "ORDER_PARTIAL_ACCEPTANCE_DISABLED",
            ),
        )
        for kwargs, code in cases:
            with self.subTest(code=code, body=kwargs):
                headers = {"Content-Type": "application/json"}
                response = self.api("PUT", path, headers=headers, **kwargs)
                self.assertError(response, 400, code)
        response = self.api(
            "PUT", path, data="{}", headers={"Content-Type": "text/plain"}
        )
        self.assertError(response, 415)
        unchanged = self.control.order(order["order_id"])
        self.assertEqual(unchanged["order_state"], "WAITING_ACCEPTANCE")
        self.assertEqual(unchanged["last_updated_date"], order["last_updated_date"])
        self.assertError(
            self.api(
                "PUT", "/api/orders/MKP-999999-A/accept", json={"order_lines": []}
            ),
            404,
            "ORDER_NOT_FOUND",
        )
        self.assertNoContent(self.accept(order))
        self.assertError(self.accept(order), 400, "ORDER_INVALID_STATE")

    def test_accept_then_debit_then_shipping(self):
        self.control.config(debit_delay_seconds=600)
        order = self.new_order(skus=("WDR-NAV-10", "MCH-KHA-32"))
        self.control.advance(60)
        self.assertNoContent(self.accept(order))
        accepted = self.control.order(order["order_id"])
        self.assertEqual(accepted["order_state"], "WAITING_DEBIT")
        decided = parse_iso(accepted["acceptance_decision_date"])
        self.assertEqual(
            accepted["last_updated_date"], accepted["acceptance_decision_date"]
        )
        self.assertGreater(accepted["last_updated_date"], order["last_updated_date"])
        for line in accepted["order_lines"]:
            self.assertEqual(line["order_line_state"], "WAITING_DEBIT")
            self.assertEqual(line["last_updated_date"], accepted["last_updated_date"])
        self.assertFalse(accepted["can_shop_ship"])
        self.assertIsNone(accepted["customer_debited_date"])

        self.control.advance(300)
        paying = self.control.order(order["order_id"])
        self.assertEqual(paying["order_state"], "WAITING_DEBIT_PAYMENT")
        self.assertEqual(
            paying["last_updated_date"], iso(decided + timedelta(seconds=300))
        )

        self.control.advance(300)
        shipping = self.control.order(order["order_id"])
        self.assertEqual(shipping["order_state"], "SHIPPING")
        debited = iso(decided + timedelta(seconds=600))
        self.assertEqual(shipping["customer_debited_date"], debited)
        self.assertEqual(shipping["last_updated_date"], debited)
        self.assertTrue(shipping["can_shop_ship"])
        for line in shipping["order_lines"]:
            self.assertEqual(line["order_line_state"], "SHIPPING")
            self.assertEqual(line["debited_date"], debited)
        # incremental sync: the last change is found from the previous watermark
        found = self.get_orders(start_update_date=paying["last_updated_date"])
        self.assertEqual([o["order_id"] for o in found["orders"]], [order["order_id"]])

    def test_refuse_every_line(self):
        order = self.new_order(skus=("WDR-NAV-10", "MCH-KHA-32"))
        self.assertNoContent(self.accept(order, {0: False, 1: False}))
        refused = self.control.order(order["order_id"])
        self.assertEqual(refused["order_state"], "REFUSED")
        self.assertIsNotNone(refused["acceptance_decision_date"])
        self.assertEqual(
            {line["order_line_state"] for line in refused["order_lines"]}, {"REFUSED"}
        )

    def test_partial_acceptance_when_enabled(self):
        self.control.config(partial_acceptance=True)
        order = self.new_order(skus=("WDR-NAV-10", "MCH-KHA-32", "ABL-BRN-SM"))
        self.assertNoContent(self.accept(order, {1: False}))
        order = self.control.order(order["order_id"])
        self.assertEqual(order["order_state"], "SHIPPING")  # debit delay 0
        self.assertEqual(
            [line["order_line_state"] for line in order["order_lines"]],
            ["SHIPPING", "REFUSED", "SHIPPING"],
        )
        (item,) = self.api("GET", "/api/shipments/items_to_ship").json()["data"]
        self.assertEqual(
            [s["order_line_id"] for s in item["shipment_lines"]],
            [
                order["order_lines"][0]["order_line_id"],
                order["order_lines"][2]["order_line_id"],
            ],
        )

    def test_auto_refusal_past_the_window(self):
        self.control.reset(orders=4, acceptance_window_hours=2)  # within the last hour
        self.control.advance(1800)
        self.assertEqual(self.get_orders()["total_count"], 4)
        self.assertEqual(
            self.get_orders(order_state_codes="WAITING_ACCEPTANCE")["total_count"], 4
        )
        self.control.advance(3 * 3600)
        refused = self.get_orders(order_state_codes="REFUSED")["orders"]
        self.assertEqual(len(refused), 4)
        for order in refused:
            self.assertEqual(order["order_state_reason_code"], "AUTO_REFUSED")
            self.assertIsNone(order["acceptance_decision_date"])
            deadline = parse_iso(order["created_date"]) + timedelta(hours=2)
            self.assertEqual(order["last_updated_date"], iso(deadline))
            self.assertEqual(order["order_lines"][0]["order_line_state"], "REFUSED")
        self.assertError(self.accept(refused[0]), 400, "ORDER_INVALID_STATE")

    def test_new_orders_are_found_by_update_date(self):
        watermark = self.control.now()
        self.control.advance(30)
        order = self.new_order()
        found = self.get_orders(start_update_date=watermark)["orders"]
        self.assertEqual([o["order_id"] for o in found], [order["order_id"]])


@tagged("post_install", "-at_install")
class TestSandboxShipping(SandboxHttpCase):
    def tracking(self, order_id, body):
        return self.api("PUT", "/api/orders/%s/tracking" % order_id, json=body)

    def ship(self, order_id):
        return self.api("PUT", "/api/orders/%s/ship" % order_id)

    def test_tracking_refusals(self):
        waiting = self.new_order()
        body = {"carrier_code": "ROYALMAIL", "tracking_number": "JX1"}
        self.assertError(
            self.tracking(waiting["order_id"], body), 400, "ORDER_INVALID_STATE"
        )
        self.assertError(self.tracking("MKP-999999-A", body), 404, "ORDER_NOT_FOUND")
        order_id = self.shipping_order()["order_id"]
        for bad, code in (
            ({"carrier_code": "OWL-POST", "tracking_number": "1"}, "CARRIER_NOT_FOUND"),
            ({"tracking_number": "JX1"}, "VALIDATION_ERROR"),
            ({"carrier_code": "ROYALMAIL"}, "TRACKING_NUMBER_REQUIRED"),
            ({"carrier_code": 12}, "VALIDATION_ERROR"),
        ):
            with self.subTest(body=bad):
                self.assertError(self.tracking(order_id, bad), 400, code)
        self.control.config(disable_seller_alternative_carrier=True)
        response = self.tracking(
            order_id, {"carrier_name": "Acme", "tracking_number": "1"}
        )
        self.assertError(response, 400, "ALTERNATIVE_CARRIER_DISABLED")
        self.assertIsNone(self.control.order(order_id)["shipping_tracking"])

    def test_ship_refusals(self):
        waiting = self.new_order()
        self.assertError(self.ship(waiting["order_id"]), 400, "ORDER_INVALID_STATE")
        self.assertError(self.ship("MKP-999999-A"), 404, "ORDER_NOT_FOUND")
        express = self.shipping_order(shipping_type="EXP")
        self.assertError(self.ship(express["order_id"]), 400, "TRACKING_MANDATORY")
        self.assertEqual(
            self.control.order(express["order_id"])["order_state"], "SHIPPING"
        )

    def test_tracking_then_ship(self):
        order = self.shipping_order(
            skus=("WDR-RED-12", "KRC-YEL-5-6Y"), shipping_type="EXP"
        )
        order_id = order["order_id"]
        self.control.advance(120)
        body = {"carrier_code": "ROYALMAIL", "tracking_number": "JX123456789GB"}
        self.assertNoContent(self.tracking(order_id, body))
        tracked = self.control.order(order_id)
        self.assertEqual(tracked["shipping_carrier_code"], "ROYALMAIL")
        self.assertEqual(tracked["shipping_company"], "Royal Mail")
        self.assertEqual(tracked["shipping_tracking"], "JX123456789GB")
        self.assertTrue(tracked["shipping_tracking_url"].endswith("/JX123456789GB"))
        self.assertGreater(tracked["last_updated_date"], order["last_updated_date"])
        self.control.advance(60)
        self.assertNoContent(self.ship(order_id))
        shipped = self.control.order(order_id)
        self.assertEqual(shipped["order_state"], "SHIPPED")
        self.assertFalse(shipped["can_shop_ship"])
        self.assertGreater(shipped["last_updated_date"], tracked["last_updated_date"])
        for line in shipped["order_lines"]:
            self.assertEqual(line["order_line_state"], "SHIPPED")
            self.assertEqual(line["shipped_date"], shipped["last_updated_date"])
            self.assertTrue(line["can_refund"])
        self.assertError(self.ship(order_id), 400, "ORDER_INVALID_STATE")
        self.assertEqual(
            self.api("GET", "/api/shipments/items_to_ship").json()["data"], []
        )
        # tracking can still be corrected on a shipped order
        body = {
            "carrier_name": "Acme Couriers",
            "carrier_url": "https://acme.example/1",
        }
        self.assertNoContent(self.tracking(order_id, dict(body, tracking_number="1")))
        corrected = self.control.order(order_id)
        self.assertIsNone(corrected["shipping_carrier_code"])
        self.assertEqual(corrected["shipping_company"], "Acme Couriers")
        self.assertEqual(corrected["shipping_tracking_url"], "https://acme.example/1")

    def test_standard_delivery_ships_without_tracking(self):
        order_id = self.shipping_order()["order_id"]
        self.assertNoContent(self.tracking(order_id, {"carrier_code": "LOCAL"}))
        self.assertNoContent(self.ship(order_id))
        self.assertEqual(self.control.order(order_id)["order_state"], "SHIPPED")


@tagged("post_install", "-at_install")
class TestSandboxFaults(SandboxHttpCase):
    def test_status_faults_fire_once_then_clear(self):
        for kind, status in (("429", 429), ("500", 500), ("503", 503), ("401", 401)):
            with self.subTest(kind=kind):
                self.control.fault(kind, operation="V01", count=1)
                response = self.api("GET", "/api/version")
                self.assertError(response, status)
                self.assertNotIn("Retry-After", response.headers)
                self.assertEqual(self.api("GET", "/api/version").status_code, 200)
        self.control.fault("429", operation="V01", retry_after=3)
        response = self.api("GET", "/api/version")
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.headers["Retry-After"], "3")
        self.control.fault("503", operation="V01", retry_after=1.2)
        self.assertEqual(self.api("GET", "/api/version").headers["Retry-After"], "2")

    def test_faults_come_before_authentication(self):
        self.control.fault("503", operation="V01")
        self.assertError(self.api("GET", "/api/version", key="wrong"), 503)
        (call,) = self.control.calls()
        self.assertEqual(
            (call["auth"], call["status"], call["fault"]), ("invalid", 503, "503")
        )

    def test_slow(self):
        self.control.fault("slow", operation="V01", delay=0.3)
        started = time.monotonic()
        self.assertEqual(self.api("GET", "/api/version").status_code, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.control.fault("slow", operation="V01", delay=0.5)
        with self.assertRaises(requests.Timeout):
            self.api("GET", "/api/version", timeout=0.1)
        calls = self.control.calls()
        self.assertEqual([c["fault"] for c in calls], ["slow", "slow"])
        self.assertEqual(calls[0]["status"], 200)

    def test_malformed_html_and_drop(self):
        self.control.fault("malformed", operation="OR11")
        response = self.api("GET", "/api/orders")
        self.assertEqual(response.status_code, 200)
        self.assertIn("application/json", response.headers["Content-Type"])
        with self.assertRaises(ValueError):
            json.loads(response.text)
        self.control.fault("html", operation="OR11")
        response = self.api("GET", "/api/orders")
        self.assertEqual(response.status_code, 200)
        self.assertIn("text/html", response.headers["Content-Type"])
        self.assertIn("<html>", response.text)
        self.control.fault("drop", operation="OR11")
        with self.assertRaises(requests.ConnectionError):
            self.api("GET", "/api/orders")
        self.assertEqual(self.api("GET", "/api/orders").status_code, 200)
        self.assertEqual(
            [(c["fault"], c["status"]) for c in self.control.calls()],
            [("malformed", 200), ("html", 200), ("drop", None), (None, 200)],
        )

    def test_drop_after_applies_the_write_and_loses_the_answer(self):
        order = self.new_order()
        self.control.fault("drop_after", operation="OR21")
        with self.assertRaises(requests.ConnectionError):
            self.accept(order)
        # Mirakl carried the acceptance out: only its answer was lost.
        state = self.control.order(order["order_id"])["order_state"]
        self.assertNotEqual(state, "WAITING_ACCEPTANCE")
        self.assertError(self.accept(order), 400, "ORDER_INVALID_STATE")
        (lost, again) = self.control.calls(operation="OR21")
        self.assertEqual(
            (lost["fault"], lost["status"], lost["applied_status"]),
            ("drop_after", None, 204),
        )
        self.assertEqual((again["fault"], again["status"]), (None, 400))

    def test_malformed_orders_are_served_verbatim(self):
        self.new_order()
        odd = {"order_state": "ODD", "order_lines": [{"order_line_id": "L"}] * 2}
        self.control.add_malformed_order(odd)
        self.control.add_malformed_order(dict(odd, order_id="ODD-1-A"))
        body = self.api("GET", "/api/orders", params={"max": 2}).json()
        self.assertEqual(body["total_count"], 3)
        self.assertEqual(body["orders"][1], odd)
        listed = self.control.call("GET", "orders")["orders"]
        self.assertEqual(len(listed), 1)  # the sandbox's own orders only
        by_id = self.api("GET", "/api/orders", params={"order_ids": "ODD-1-A"}).json()
        self.assertEqual([o["order_id"] for o in by_id["orders"]], ["ODD-1-A"])
        self.control.reset()
        self.assertEqual(self.api("GET", "/api/orders").json()["total_count"], 0)

    def test_match_by_method_and_path(self):
        order = self.new_order()
        self.control.fault("500", method="PUT", path=r"/accept$", count=2)
        self.assertEqual(self.api("GET", "/api/orders").status_code, 200)
        self.assertError(self.accept(order), 500)
        self.assertError(self.accept(order), 500)
        self.assertNoContent(self.accept(order))
        (fault,) = self.control.faults()
        self.assertEqual((fault["hits"], fault["remaining"]), (2, 0))
        self.control.clear_faults()
        self.assertEqual(self.control.faults(), [])

    def test_rate_is_random_but_seeded(self):
        def run():
            self.control.reset(seed=5)
            self.control.fault("500", operation="V01", rate=0.5)
            return [self.api("GET", "/api/version").status_code for _ in range(20)]

        statuses = run()
        self.assertEqual(set(statuses), {200, 500})
        self.assertEqual(run(), statuses)
        (fault,) = self.control.faults()
        self.assertEqual(fault["hits"], statuses.count(500))

    def test_bad_fault_specs_are_refused(self):
        for spec in (
            {"kind": "teapot"},
            {"kind": "500", "operation": "OR99"},
            {"kind": "500", "path": "("},
            {"kind": "500", "retry_after": 5},
            {"kind": "429", "rate": 2},
            {"kind": "500", "when": "always"},
        ):
            with self.subTest(spec=spec), self.assertRaises(requests.HTTPError):
                self.control.call("POST", "faults", json=spec)


@tagged("post_install", "-at_install")
class TestSandboxCallLog(SandboxHttpCase):
    sandbox_orders = 1

    def test_call_log_records_what_was_sent(self):
        (order,) = self.get_orders()["orders"]
        self.accept(order)
        self.api(
            "GET",
            "/api/shipments/items_to_ship",
            params={"order_id": ["A", "B"], "shop_id": SHOP_ID},
            headers={"User-Agent": "sandbox-test/1"},
        )
        self.api("GET", "/api/orders", key="not-the-key-4c1d")
        self.api("GET", "/api/unknown")
        self.control.order(order["order_id"])  # control calls are not logged
        calls = self.control.calls()
        self.assertEqual(
            [c["operation"] for c in calls], ["OR11", "OR21", "ST12", "OR11", None]
        )
        self.assertEqual([c["seq"] for c in calls], sorted(c["seq"] for c in calls))
        for call in calls:
            self.assertRegex(call["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        listing, accept, items, wrong, unknown = calls
        self.assertEqual(
            (listing["method"], listing["path"], listing["auth"], listing["status"]),
            ("GET", "/api/orders", "valid", 200),
        )
        self.assertIsNone(listing["body"])
        self.assertEqual(accept["path"], "/api/orders/%s/accept" % order["order_id"])
        self.assertEqual(accept["content_type"], "application/json")
        self.assertEqual(
            accept["body"]["order_lines"][0],
            {"id": order["order_lines"][0]["order_line_id"], "accepted": True},
        )
        self.assertEqual((accept["status"], accept["fault"]), (204, None))
        self.assertEqual(
            items["query"], {"order_id": ["A", "B"], "shop_id": str(SHOP_ID)}
        )
        self.assertEqual(items["user_agent"], "sandbox-test/1")
        self.assertEqual((wrong["auth"], wrong["status"]), ("invalid", 401))
        self.assertEqual((unknown["path"], unknown["status"]), ("/api/unknown", 404))
        text = json.dumps(calls)
        self.assertNotIn(API_KEY, text)
        self.assertNotIn("not-the-key-4c1d", text)
        self.assertEqual(
            [c["seq"] for c in self.control.calls(operation="OR11")],
            [listing["seq"], wrong["seq"]],
        )
        self.control.clear_calls()
        self.assertEqual(self.control.calls(), [])


@tagged("post_install", "-at_install")
class TestSandboxControl(SandboxHttpCase):
    def test_clock(self):
        before = parse_iso(self.control.now())
        moved = self.control.advance(3600)
        self.assertEqual(moved["offset_seconds"], 3600)
        self.assertLess(
            abs(parse_iso(moved["now"]) - before - timedelta(hours=1)),
            timedelta(seconds=5),
        )
        target = "2030-01-01T12:00:00Z"
        clock = self.control.set_clock(target)
        self.assertLess(
            parse_iso(clock["now"]) - parse_iso(target), timedelta(seconds=5)
        )

    def test_config_and_reset(self):
        config = self.control.config()
        self.assertEqual(
            config,
            {
                "partial_acceptance": False,
                "debit_delay_seconds": 0,
                "acceptance_window_hours": 72,
                "update_date_delta_seconds": 5,
                "order_tax_mode": "TAX_INCLUDED",
                "multi_shipment": False,
                "details_before_acceptance": True,
                "disable_seller_alternative_carrier": False,
                "max_page_size": 100,
                "seed_offers": True,
                "initial_offer_quantity": 0,
                "import_delay_seconds": 0,
                "max_offers_per_call": 10000,
                "billing_cycle_days": 0,
                "refund_delay_seconds": 0,
                "product_integration_delay_seconds": 0,
                "product_csv_delimiter": ";",
                "product_image_check": True,
                "image_timeout_seconds": 5,
            },
        )
        changed = self.control.config(max_page_size=20, partial_acceptance=True)
        self.assertEqual(
            changed, dict(config, max_page_size=20, partial_acceptance=True)
        )
        self.assertError(self.api("GET", "/api/orders", params={"max": 21}), 400)
        for bad in (
            {"colour": "red"},
            {"max_page_size": 0},
            {"partial_acceptance": "yes"},
            {"product_csv_delimiter": ":"},
            {"product_image_check": 1},
        ):
            with self.subTest(config=bad), self.assertRaises(requests.HTTPError):
                self.control.config(**bad)
        self.control.fault("500", operation="V01")
        self.control.advance(600)
        self.api("GET", "/api/account")
        reset = self.control.reset(orders=2, partial_acceptance=True)
        self.assertEqual(reset, {"orders": ["MKP-100001-A", "MKP-100002-A"]})
        self.assertEqual(self.control.config(), dict(config, partial_acceptance=True))
        self.assertEqual(self.control.call("GET", "clock")["offset_seconds"], 0)
        self.assertEqual(self.control.calls(), [])
        self.assertEqual(self.api("GET", "/api/version").status_code, 200)


@tagged("post_install", "-at_install")
class TestSandboxCommandLine(SandboxCase):
    def test_cli_serves_seeded_orders_until_terminated(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "--port",
                str(port),
                "--api-key",
                "k",
                "--orders",
                "3",
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(process.kill)
        url = "http://127.0.0.1:%d/api/orders" % port
        deadline = time.monotonic() + 20
        while True:
            self.assertIsNone(process.poll(), "the sandbox exited")
            try:
                response = requests.get(url, headers={"Authorization": "k"}, timeout=2)
                break
            except requests.ConnectionError:
                self.assertLess(
                    time.monotonic(), deadline, "the sandbox never answered"
                )
                time.sleep(0.1)
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(body["total_count"], 3)
        self.assertEqual(
            {o["order_state"] for o in body["orders"]}, {"WAITING_ACCEPTANCE"}
        )
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 0)
        self.assertEqual(
            stdout.strip(), "Mirakl sandbox listening on http://127.0.0.1:%d" % port
        )
        self.assertIn("GET /api/orders -> 200", stderr)
