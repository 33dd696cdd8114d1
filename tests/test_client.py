"""MiraklClient against the sandbox: real HTTP on loopback, nothing patched.

Every failure class is produced by the sandbox (faults, wrong key, wrong
state) or by the network itself (closed port, TLS to a plain-HTTP server);
the sandbox's call log is the witness of what the client really sent.
"""

import logging
import socket
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from odoo.tests import tagged

from ..lib import (
    USER_AGENT,
    MiraklAuthError,
    MiraklClient,
    MiraklConfigError,
    MiraklConnectionError,
    MiraklDeadlineError,
    MiraklError,
    MiraklNotFoundError,
    MiraklProtocolError,
    MiraklRateLimitError,
    MiraklServerError,
    MiraklTimeoutError,
    MiraklTLSError,
    MiraklTransientError,
    MiraklValidationError,
    __version__,
)
from ..lib.redact import excerpt, redact
from .common import API_KEY, SHOP_ID, SandboxCase, capture_logs

CLIENT_LOGGER = "odoo.addons.mirakl_connector.lib.transport"


class SleepRecorder:
    """The client's ``sleep``: records every wait, and really waits."""

    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)
        time.sleep(seconds)


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClientCase(SandboxCase):
    """Builds clients on the sandbox with a recording sleep and tiny backoff."""

    def setUp(self):
        super().setUp()
        self.sleeps = SleepRecorder()

    def client(self, base_url=None, api_key=API_KEY, **kwargs):
        kwargs.setdefault("backoff_base", 0.01)
        kwargs.setdefault("sleep", self.sleeps)
        client = MiraklClient(base_url or self.sandbox_url, api_key, SHOP_ID, **kwargs)
        self.addCleanup(client.close)
        return client

    def waiting_order(self):
        """One new order in WAITING_ACCEPTANCE (as the sandbox creates it)."""
        (order,) = self.control.create_orders(count=1)
        self.control.clear_calls()
        return order

    def accept_all(self, client, order):
        client.accept_order(
            order["order_id"],
            {line["order_line_id"]: True for line in order["order_lines"]},
        )


@tagged("post_install", "-at_install")
class TestClientBasics(ClientCase):
    def test_headers_and_shop_id_on_every_call(self):
        client = self.client()
        order = self.waiting_order()
        client.get_account()
        self.accept_all(client, order)
        client.update_tracking(
            order["order_id"], carrier_code="ROYALMAIL", tracking_number="JX1"
        )
        list(client.iter_orders(order_ids=[order["order_id"]]))
        calls = self.control.calls()
        self.assertEqual(
            [c["method"] for c in calls], ["GET", "PUT", "PUT", "GET"], calls
        )
        for call in calls:
            with self.subTest(path=call["path"]):
                self.assertEqual(call["auth"], "valid")
                self.assertEqual(call["user_agent"], USER_AGENT)
                self.assertIn("mirakl_connector/%s" % __version__, USER_AGENT)
                self.assertEqual(query_values(call, "shop_id"), [str(SHOP_ID)])
        accept, tracking = calls[1], calls[2]
        self.assertIn("application/json", accept["content_type"])
        self.assertEqual(
            accept["body"],
            {
                "order_lines": [
                    {"id": line["order_line_id"], "accepted": True}
                    for line in order["order_lines"]
                ]
            },
        )
        self.assertEqual(
            tracking["body"], {"carrier_code": "ROYALMAIL", "tracking_number": "JX1"}
        )

    def test_reference_endpoints(self):
        client = self.client()
        self.assertEqual(client.get_account()["shop_id"], SHOP_ID)
        self.assertIsInstance(client.get_platform_configuration(), dict)
        client.get_version()
        carriers = client.list_carriers()
        self.assertTrue(carriers and all("code" in c for c in carriers))
        types = client.list_shipping_types()
        self.assertTrue(types and all("code" in t for t in types))
        self.assertEqual(
            [c["operation"] for c in self.control.calls()],
            ["A01", "PC01", "V01", "SH21", "SH12"],
        )

    def test_or11_filters_are_serialised(self):
        client = self.client()
        since = datetime(2025, 3, 1, 9, 0, 0)
        list(
            client.iter_orders(
                order_state_codes=["WAITING_ACCEPTANCE", "SHIPPING"],
                start_update_date=since,
                end_update_date=since.replace(tzinfo=timezone(timedelta(hours=1))),
                customer_debited=False,
            )
        )
        (call,) = self.control.calls(operation="OR11")
        self.assertEqual(
            query_values(call, "order_state_codes"), ["WAITING_ACCEPTANCE,SHIPPING"]
        )
        self.assertEqual(
            query_values(call, "start_update_date"), ["2025-03-01T09:00:00+00:00"]
        )
        self.assertEqual(
            query_values(call, "end_update_date"), ["2025-03-01T08:00:00+00:00"]
        )
        self.assertEqual(query_values(call, "customer_debited"), ["false"])
        self.assertEqual(list(client.iter_orders(order_ids=[])), [])
        with self.assertRaises(ValueError):
            client.iter_orders(order_ids=["X-%d" % i for i in range(101)])
        with self.assertRaises(ValueError):
            client.iter_orders(page_size=101)
        self.assertEqual(len(self.control.calls(operation="OR11")), 1)

    def test_config_errors(self):
        for base_url in (
            "http://mirakl.example.com",
            "ftp://127.0.0.1",
            "https://user:secret@x.mirakl.net",
            "",
        ):
            with self.subTest(base_url=base_url):
                with self.assertRaises(MiraklConfigError) as caught:
                    MiraklClient(base_url, API_KEY)
                self.assertEqual(caught.exception.category, "config")
                self.assertFalse(caught.exception.transient)
        for key in ("", "   ", None, "two words"):
            with self.subTest(key=key), self.assertRaises(MiraklConfigError):
                MiraklClient("https://x.mirakl.net", key)
        for base_url in ("http://localhost:8069", "http://127.0.0.2", "http://[::1]"):
            with self.subTest(base_url=base_url):
                MiraklClient(base_url, API_KEY).close()
        client = MiraklClient("https://x.mirakl.net/api/", API_KEY)
        self.assertEqual(client.base_url, "https://x.mirakl.net")
        client.close()


@tagged("post_install", "-at_install")
class TestClientErrors(ClientCase):
    def test_auth_errors(self):
        with self.assertRaises(MiraklAuthError) as caught:
            self.client(api_key="not-the-key").get_account()
        error = caught.exception
        self.assertEqual((error.status, error.category), (401, "auth"))
        self.assertEqual((error.operation, error.method), ("A01", "GET"))
        self.assertEqual(self.control.calls()[-1]["auth"], "invalid")
        self.assertEqual(self.sleeps.waits, [])
        self.control.fault("401", operation="PC01", count=1)
        with self.assertRaises(MiraklAuthError):
            self.client().get_platform_configuration()
        # A shop the key cannot access (the sandbox answers 403).
        client = MiraklClient(self.sandbox_url, API_KEY, SHOP_ID + 1)
        self.addCleanup(client.close)
        with self.assertRaises(MiraklAuthError) as caught:
            client.get_account()
        self.assertEqual(caught.exception.status, 403)
        self.assertEqual(self.control.calls()[-1]["query"]["shop_id"], str(SHOP_ID + 1))

    def test_not_found(self):
        with self.assertRaises(MiraklNotFoundError) as caught:
            self.client().ship_order("NO-SUCH-ORDER/../x")
        self.assertEqual(caught.exception.status, 404)
        self.assertEqual(caught.exception.category, "not_found")
        (call,) = self.control.calls(operation="OR24")
        self.assertEqual(call["path"], "/api/orders/NO-SUCH-ORDER%2F..%2Fx/ship")

    def test_validation_error_carries_mirakl_code(self):
        client = self.client()
        order = self.waiting_order()
        self.accept_all(client, order)
        with self.assertRaises(MiraklValidationError) as caught:
            self.accept_all(client, order)
        error = caught.exception
        self.assertEqual((error.status, error.code), (400, "ORDER_INVALID_STATE"))
        self.assertEqual(error.category, "validation")
        self.assertTrue(error.message)
        self.assertIn("ORDER_INVALID_STATE", str(error))
        self.assertIn("OR21 PUT /api/orders/", str(error))
        self.assertIn('"accepted": true', error.request_excerpt)
        self.assertIn("ORDER_INVALID_STATE", error.response_excerpt)

    def test_protocol_errors(self):
        client = self.client()
        for kind in ("malformed", "html"):
            with self.subTest(kind=kind):
                self.control.fault(kind, operation="A01", count=1)
                with self.assertRaises(MiraklProtocolError) as caught:
                    client.get_account()
                self.assertEqual(caught.exception.status, 200)
                self.assertEqual(caught.exception.category, "protocol")
                self.assertTrue(caught.exception.response_excerpt)
        self.assertEqual(self.sleeps.waits, [])

    def test_tls_error(self):
        https_url = self.sandbox_url.replace("http://", "https://", 1)
        with self.assertRaises(MiraklTLSError) as caught:
            self.client(https_url).get_account()
        self.assertEqual(caught.exception.category, "tls")
        self.assertFalse(caught.exception.transient)
        self.assertEqual(self.sleeps.waits, [])

    def test_unreachable_host_is_retried_even_for_unsafe_calls(self):
        """Nothing was sent, so even OR24 may be repeated."""
        client = self.client("http://127.0.0.1:%d" % closed_port(), max_retries=2)
        with self.assertRaises(MiraklConnectionError) as caught:
            client.ship_order("X-1")
        error = caught.exception
        self.assertNotIsInstance(error, MiraklTimeoutError)
        self.assertIsNone(error.status)
        self.assertEqual(error.category, "connection")
        self.assertTrue(error.transient)
        self.assertIsInstance(error, MiraklTransientError)
        self.assertEqual(len(self.sleeps.waits), 2)

    def test_dropped_connection(self):
        client = self.client()
        order = self.waiting_order()
        # A GET is repeated after a drop...
        self.control.fault("drop", operation="A01", count=1)
        self.assertEqual(client.get_account()["shop_id"], SHOP_ID)
        self.assertEqual(len(self.control.calls(operation="A01")), 2)
        # ...OR21 is not: Mirakl may have processed it before the drop.
        self.control.fault("drop", operation="OR21", count=1)
        with self.assertRaises(MiraklConnectionError) as caught:
            self.accept_all(client, order)
        self.assertEqual(caught.exception.category, "connection")
        self.assertEqual(len(self.control.calls(operation="OR21")), 1)

    def test_read_timeout(self):
        client = self.client(read_timeout=0.3, max_retries=1)
        self.control.fault("slow", operation="A01", count=1, delay=1)
        self.assertEqual(client.get_account()["shop_id"], SHOP_ID)
        self.assertEqual(len(self.control.calls(operation="A01")), 2)
        self.assertEqual(len(self.sleeps.waits), 1)
        self.control.fault("slow", operation="A01", count=2, delay=1)
        with self.assertRaises(MiraklTimeoutError) as caught:
            client.get_account()
        self.assertEqual(caught.exception.category, "timeout")
        self.assertIsInstance(caught.exception, MiraklConnectionError)
        self.assertEqual(len(self.control.calls(operation="A01")), 4)

    def test_read_timeout_on_unsafe_call_is_not_retried(self):
        client = self.client(read_timeout=0.3)
        order = self.waiting_order()
        self.control.fault("slow", operation="OR21", count=1, delay=1)
        with self.assertRaises(MiraklTimeoutError):
            self.accept_all(client, order)
        self.assertEqual(self.sleeps.waits, [])
        self.assertEqual(len(self.control.calls(operation="OR21")), 1)


@tagged("post_install", "-at_install")
class TestClientRetries(ClientCase):
    def test_429_waits_retry_after(self):
        client = self.client()
        self.control.fault("429", operation="A01", count=1, retry_after=1)
        self.assertEqual(client.get_account()["shop_id"], SHOP_ID)
        self.assertEqual(self.sleeps.waits, [1.0])
        first, second = self.control.calls(operation="A01")
        self.assertEqual((first["status"], second["status"]), (429, 200))
        self.assertGreaterEqual(call_gap(first, second), 0.95)

    def test_429_is_retried_for_unsafe_calls(self):
        """A 429 was refused, not processed: OR21 may be repeated."""
        client = self.client()
        order = self.waiting_order()
        self.control.fault("429", operation="OR21", count=1, retry_after=0)
        self.accept_all(client, order)
        statuses = [c["status"] for c in self.control.calls(operation="OR21")]
        self.assertEqual(statuses, [429, 204])

    def test_429_beyond_bound_is_not_waited(self):
        client = self.client(retry_after_max=60)
        self.control.fault("429", operation="A01", count=1, retry_after=120)
        with self.assertRaises(MiraklRateLimitError) as caught:
            client.get_account()
        error = caught.exception
        self.assertEqual((error.status, error.retry_after), (429, 120.0))
        self.assertEqual(error.category, "rate_limit")
        self.assertTrue(error.transient)
        self.assertEqual(self.sleeps.waits, [])
        self.assertEqual(len(self.control.calls(operation="A01")), 1)

    def test_429_exhausted(self):
        client = self.client(max_retries=2)
        self.control.fault("429", operation="A01", count=5, retry_after=0)
        with self.assertRaises(MiraklRateLimitError):
            client.get_account()
        self.assertEqual(self.sleeps.waits, [0.0, 0.0])
        self.assertEqual(len(self.control.calls(operation="A01")), 3)

    def test_deadline_bounds_waits_and_timeouts(self):
        """A client with a deadline never outlasts it, whatever Mirakl does."""
        # A Retry-After ending after the deadline is not waited for.
        client = self.client(deadline=time.monotonic() + 2)
        self.control.fault("429", operation="A01", count=1, retry_after=30)
        with self.assertRaises(MiraklRateLimitError):
            client.get_account()
        self.assertEqual(self.sleeps.waits, [])
        # A slow answer is cut at the deadline: a budget error, not a timeout.
        client = self.client(read_timeout=30, deadline=time.monotonic() + 1)
        self.control.fault("slow", operation="A01", count=1, delay=3)
        started = time.monotonic()
        with self.assertRaises(MiraklDeadlineError) as caught:
            client.get_account()
        self.assertLess(time.monotonic() - started, 2)
        self.assertEqual(caught.exception.category, "budget")
        self.assertTrue(caught.exception.transient)
        # Past the deadline nothing is sent at all.
        self.control.clear_calls()
        with self.assertRaises(MiraklDeadlineError):
            client.get_account()
        self.assertEqual(self.control.calls(operation="A01"), [])
        # Time left: calls go through as usual.
        client = self.client(deadline=time.monotonic() + 60)
        self.assertEqual(client.get_account()["shop_id"], SHOP_ID)

    def test_503_honours_retry_after(self):
        client = self.client()
        self.control.fault("503", operation="A01", count=1, retry_after=0)
        client.get_account()
        self.assertEqual(self.sleeps.waits, [0.0])

    def test_5xx_retried_then_success(self):
        client = self.client()
        for kind in ("500", "503"):
            with self.subTest(kind=kind):
                self.control.clear_calls()
                self.sleeps.waits.clear()
                self.control.fault(kind, operation="PC01", count=2)
                self.assertIsInstance(client.get_platform_configuration(), dict)
                statuses = [c["status"] for c in self.control.calls(operation="PC01")]
                self.assertEqual(statuses, [int(kind), int(kind), 200])
                self.assertEqual(len(self.sleeps.waits), 2)

    def test_5xx_exhausted(self):
        client = self.client(max_retries=2)
        self.control.fault("500", operation="A01", count=10)
        with self.assertRaises(MiraklServerError) as caught:
            client.get_account()
        self.assertEqual(
            (caught.exception.status, caught.exception.category), (500, "server")
        )
        self.assertEqual(len(self.control.calls(operation="A01")), 3)

    def test_5xx_on_unsafe_calls(self):
        """OR21 and OR24 are never repeated on a 5xx; OR23 (idempotent) is."""
        client = self.client()
        order = self.waiting_order()
        self.control.fault("500", operation="OR21", count=1)
        with self.assertRaises(MiraklServerError):
            self.accept_all(client, order)
        self.assertEqual(len(self.control.calls(operation="OR21")), 1)
        self.assertEqual(self.sleeps.waits, [])
        self.accept_all(client, order)  # debit_delay_seconds 0: now SHIPPING
        self.control.fault("500", operation="OR23", count=1)
        client.update_tracking(
            order["order_id"], carrier_name="Acme", tracking_number="1"
        )
        statuses = [c["status"] for c in self.control.calls(operation="OR23")]
        self.assertEqual(statuses, [500, 204])
        self.control.fault("500", operation="OR24", count=1)
        with self.assertRaises(MiraklServerError):
            client.ship_order(order["order_id"])
        self.assertEqual(len(self.control.calls(operation="OR24")), 1)
        self.assertEqual(len(self.sleeps.waits), 1)

    def test_backoff_is_bounded(self):
        client = self.client(backoff_base=10.0, backoff_max=0.05, max_retries=3)
        self.control.fault("500", operation="A01", count=3)
        client.get_account()
        self.control.fault("429", operation="A01", count=1)  # no Retry-After
        client.get_account()
        self.assertEqual(len(self.sleeps.waits), 4)
        for wait in self.sleeps.waits:
            self.assertTrue(0 <= wait <= 0.05, wait)


@tagged("post_install", "-at_install")
class TestClientPaging(ClientCase):
    def test_offset_paging_over_260_orders(self):
        created = {o["order_id"] for o in self.control.create_orders(count=260)}
        self.control.clear_calls()
        client = self.client()
        orders = client.iter_orders()
        first = next(orders)
        self.assertEqual(len(self.control.calls(operation="OR11")), 1)
        seen = [first["order_id"]] + [o["order_id"] for o in orders]
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), created)
        calls = self.control.calls(operation="OR11")
        self.assertEqual(
            [(query_values(c, "max"), query_values(c, "offset")) for c in calls],
            [(["100"], ["0"]), (["100"], ["100"]), (["100"], ["200"])],
        )

    def test_get_orders_batches_ids(self):
        created = [o["order_id"] for o in self.control.create_orders(count=150)]
        self.control.clear_calls()
        orders = self.client().get_orders(created + created[:10] + ["UNKNOWN-1"])
        self.assertEqual(sorted(o["order_id"] for o in orders), sorted(created))
        calls = self.control.calls(operation="OR11")
        self.assertEqual(len(calls), 2)
        self.assertEqual(query_values(calls[0], "order_ids"), [",".join(created[:100])])

    def test_seek_paging_on_items_to_ship(self):
        self.control.config(debit_delay_seconds=0)
        orders = self.control.create_orders(count=5)
        client = self.client()
        for order in orders:
            self.accept_all(client, order)
        self.control.clear_calls()
        wanted = [o["order_id"] for o in orders[:4]]
        items = list(client.iter_items_to_ship(order_ids=wanted, page_size=2))
        self.assertEqual(sorted(i["order_id"] for i in items), sorted(wanted))
        calls = self.control.calls(operation="ST12")
        self.assertEqual(len(calls), 2)
        self.assertEqual(query_values(calls[0], "page_token"), [])
        self.assertTrue(query_values(calls[1], "page_token"))
        for call in calls:
            self.assertEqual(query_values(call, "limit"), ["2"])
            self.assertEqual(sorted(query_values(call, "order_id")), sorted(wanted))

    def test_pages_of_the_wrong_shape(self):
        client = self.client()
        with self.assertRaises(MiraklProtocolError):
            list(client.iter_offset("/api/account", "A01", "orders"))
        with self.assertRaises(MiraklProtocolError):
            list(client.iter_seek("/api/account", "A01"))


@tagged("post_install", "-at_install")
class TestClientSellerReferences(ClientCase):
    def test_or04_in_batches_with_per_order_errors(self):
        created = [o["order_id"] for o in self.control.create_orders(count=100)]
        self.control.clear_calls()
        client = self.client()
        wanted = {order_id: "SO%04d" % n for n, order_id in enumerate(created)}
        wanted["MKP-999999-A"] = "SO9999"
        results = client.update_seller_references(wanted)
        self.assertEqual(list(results), list(wanted))
        (error,) = results.pop("MKP-999999-A")
        self.assertEqual(
            (error["code"], error["field"]), ("ORDER_NOT_FOUND", "order_id")
        )
        self.assertEqual({len(errors) for errors in results.values()}, {0})
        calls = self.control.calls(operation="OR04")
        self.assertEqual([len(c["body"]["orders"]) for c in calls], [100, 1])
        self.assertEqual(
            calls[0]["body"]["orders"][0],
            {
                "order_id": created[0],
                "references": {"order_reference_for_seller": "SO0000"},
            },
        )
        self.assertEqual([c["method"] for c in calls], ["PUT", "PUT"])
        (order,) = client.get_orders([created[99]])
        self.assertEqual(order["references"]["order_reference_for_seller"], "SO0099")
        self.assertEqual(client.update_seller_references({}), {})
        for references, error in (
            ({"X-1": " "}, ValueError),
            ({"X-1": "x" * 2001}, ValueError),
            ({"X-1": 12}, TypeError),
        ):
            with self.subTest(references=references), self.assertRaises(error):
                client.update_seller_references(references)
        self.assertEqual(len(self.control.calls(operation="OR04")), 2)

    def test_or04_is_retried_and_its_answer_checked(self):
        order_id = self.waiting_order()["order_id"]
        client = self.client()
        for kind in ("500", "drop"):
            with self.subTest(kind=kind):
                self.control.clear_calls()
                self.control.fault(kind, operation="OR04", count=1)
                self.assertEqual(
                    client.update_seller_references([(order_id, "S1")]),
                    {order_id: []},
                )
                statuses = [c["status"] for c in self.control.calls(operation="OR04")]
                self.assertEqual(statuses, [None if kind == "drop" else 500, 200])
        self.control.fault("html", operation="OR04", count=1)
        with self.assertRaises(MiraklProtocolError):
            client.update_seller_references({order_id: "S1"})
        # a 2xx answer that does not account for the orders sent
        for answer in (
            {"orders": []},
            None,
            {"updated_orders": []},
            {"updated_orders": [{"errors": []}]},
            {"updated_orders": [{"order_id": order_id, "errors": "none"}]},
        ):
            with (
                self.subTest(answer=answer),
                self.assertRaises(MiraklProtocolError) as caught,
            ):
                client._or04_errors(answer, [order_id])
            self.assertEqual(caught.exception.method, "PUT")


@tagged("post_install", "-at_install")
class TestClientShipments(ClientCase):
    sandbox_config = {"multi_shipment": True}

    def shipping_order(self, client, count=1):
        orders = self.control.create_orders(count=count)
        for order in orders:
            self.accept_all(client, order)  # debit delay 0: SHIPPING
        self.control.clear_calls()
        return orders

    def test_st01_st23_st24_st11(self):
        client = self.client()
        (order,) = self.shipping_order(client)
        order_id = order["order_id"]
        line = order["order_lines"][0]
        results = client.create_shipments(
            [
                {
                    "order_id": order_id,
                    "shipment_lines": [
                        {"order_line_id": line["order_line_id"], "quantity": 1}
                    ],
                },
                {
                    "order_id": "MKP-999999-A",
                    "shipment_lines": [{"order_line_id": "X", "quantity": 1}],
                },
            ]
        )
        (created,) = results["success"]
        (refused,) = results["errors"]
        self.assertEqual(
            (created["order_id"], created["status"]), (order_id, "SHIPPING")
        )
        self.assertEqual(refused["order_id"], "MKP-999999-A")
        self.assertTrue(refused["message"])
        self.assertEqual(client.create_shipments([]), {"success": [], "errors": []})
        tracked = client.update_shipment_tracking(
            {created["id"]: {"carrier_code": "DPD", "tracking_number": "1", "x": None}}
        )
        self.assertEqual(tracked, {"success": [{"id": created["id"]}], "errors": []})
        shipped = client.ship_shipments([created["id"], created["id"], "nope"])
        self.assertEqual(shipped["success"], [{"id": created["id"]}])
        self.assertEqual([e["id"] for e in shipped["errors"]], ["nope"])
        (listed,) = client.iter_shipments(order_ids=[order_id], states=["SHIPPED"])
        self.assertEqual(listed["id"], created["id"])
        self.assertEqual(listed["tracking"]["tracking_number"], "1")
        self.assertEqual(list(client.iter_shipments(order_ids=[])), [])
        calls = self.control.calls()
        self.assertEqual(
            [(c["operation"], c["method"]) for c in calls],
            [("ST01", "POST"), ("ST23", "POST"), ("ST24", "PUT"), ("ST11", "GET")],
        )
        self.assertEqual(
            calls[1]["body"],
            {
                "shipments": [
                    {
                        "id": created["id"],
                        "tracking": {"carrier_code": "DPD", "tracking_number": "1"},
                    }
                ]
            },
        )
        self.assertEqual(
            calls[2]["body"], {"shipments": [{"id": created["id"]}, {"id": "nope"}]}
        )
        self.assertEqual(query_values(calls[3], "order_id"), [order_id])
        self.assertEqual(query_values(calls[3], "shipment_state_code"), ["SHIPPED"])

    def test_st01_and_st24_not_retried_st23_retried(self):
        client = self.client()
        (order,) = self.shipping_order(client)
        line_id = order["order_lines"][0]["order_line_id"]
        shipment = {
            "order_id": order["order_id"],
            "shipment_lines": [{"order_line_id": line_id, "quantity": 1}],
        }
        self.control.fault("500", operation="ST01", count=1)
        with self.assertRaises(MiraklServerError):
            client.create_shipments([shipment])
        self.assertEqual(len(self.control.calls(operation="ST01")), 1)
        self.assertEqual(self.sleeps.waits, [])
        (created,) = client.create_shipments([shipment])["success"]
        self.control.fault("500", operation="ST23", count=1)
        client.update_shipment_tracking({created["id"]: {"carrier_name": "Acme"}})
        statuses = [c["status"] for c in self.control.calls(operation="ST23")]
        self.assertEqual(statuses, [500, 200])
        self.control.fault("drop", operation="ST24", count=1)
        with self.assertRaises(MiraklConnectionError):
            client.ship_shipments([created["id"]])
        self.assertEqual(len(self.control.calls(operation="ST24")), 1)

    def test_st_answers_of_the_wrong_shape(self):
        client = self.client()
        path = "/api/shipments"
        for answer, sent in (
            (None, None),
            ({"shipment_success": []}, None),
            ({"shipment_success": [{"order_id": "A"}], "shipment_errors": []}, None),
            ({"shipment_success": "none", "shipment_errors": []}, None),
            ({"shipment_errors": [{"id": "a", "message": "m"}]}, ["a", "b"]),
            ({"shipment_success": [1]}, ["a"]),
        ):
            with (
                self.subTest(answer=answer),
                self.assertRaises(MiraklProtocolError) as caught,
            ):
                client._st_results(answer, "ST24", path, "PUT", sent)
            self.assertEqual(caught.exception.operation, "ST24")
        self.control.fault("html", operation="ST01", count=1)
        with self.assertRaises(MiraklProtocolError):
            client.create_shipments([{"order_id": "X", "shipment_lines": []}])


@tagged("post_install", "-at_install")
class TestClientCancellations(ClientCase):
    def test_or29_cancel_order(self):
        client = self.client()
        order, other = self.control.create_orders(count=2)
        self.accept_all(client, order)
        self.accept_all(client, other)
        self.control.fault("500", operation="OR29", count=1)
        with self.assertRaises(MiraklServerError):
            client.cancel_order(order["order_id"])
        self.assertEqual(len(self.control.calls(operation="OR29")), 1)
        client.cancel_order(order["order_id"])
        cancelled = self.control.order(order["order_id"])
        self.assertEqual(cancelled["order_state"], "CANCELED")
        with self.assertRaises(MiraklValidationError) as caught:
            client.cancel_order(order["order_id"])
        self.assertEqual(caught.exception.code, "ORDER_CANCEL_NOT_ALLOWED")
        self.assertEqual(
            self.control.order(other["order_id"])["order_state"], "SHIPPING"
        )

    def test_or30_cancel_lines_and_re01(self):
        client = self.client()
        (order,) = self.control.create_orders(
            orders=[{"lines": [{"sku": "WDR-NAV-10", "quantity": 2}]}]
        )
        self.accept_all(client, order)
        line_id = order["order_lines"][0]["order_line_id"]
        reasons = client.list_reasons(reason_type="CANCELATION", locale="en_GB")
        self.assertEqual({r["type"] for r in reasons}, {"CANCELATION"})
        reason = next(r["code"] for r in reasons if r["is_shop_right"])
        (call,) = self.control.calls(operation="RE01")
        self.assertEqual(query_values(call, "locale"), ["en_GB"])
        self.assertGreater(len(client.list_reasons()), len(reasons))
        cancelation = {
            "order_line_id": line_id,
            "quantity": 1,
            "amount": Decimal("49.17"),  # 59.00 without its 9.83 VAT
            "shipping_amount": Decimal(0),
            "reason_code": "CUSTOMER_CANCELED",  # not the shop's to use
            "taxes": [{"code": "GB_VAT_STD", "amount": Decimal("9.83")}],
        }
        with self.assertRaises(MiraklValidationError) as caught:
            client.cancel_lines([cancelation], order_tax_mode="TAX_EXCLUDED")
        self.assertEqual(caught.exception.code, "REASON_CODE_NOT_ALLOWED")
        self.control.fault("500", operation="OR30", count=1)
        cancelation["reason_code"] = reason
        with self.assertRaises(MiraklServerError):
            client.cancel_lines([cancelation], order_tax_mode="TAX_EXCLUDED")
        (created,) = client.cancel_lines([cancelation], order_tax_mode="TAX_EXCLUDED")
        self.assertEqual(created["order_line_id"], line_id)
        self.assertEqual(created["amount"], 49.17)
        calls = self.control.calls(operation="OR30")
        self.assertEqual([c["status"] for c in calls], [400, 500, 200])
        self.assertEqual(calls[-1]["body"]["cancelations"][0]["amount"], 49.17)
        self.assertEqual(calls[-1]["body"]["order_tax_mode"], "TAX_EXCLUDED")
        line = self.control.order(order["order_id"])["order_lines"][0]
        self.assertEqual(line["cancelations"][0]["id"], created["cancelation_id"])
        self.assertEqual(client.cancel_lines([]), [])
        for answer in (
            {"cancelations": [{"order_line_id": line_id}]},
            {"cancelations": []},
            {},
        ):
            with self.subTest(answer=answer), self.assertRaises(MiraklProtocolError):
                client._or30_created(answer, [cancelation])


@tagged("post_install", "-at_install")
class TestClientSecrets(ClientCase):
    def test_key_never_logged_nor_in_errors(self):
        client = self.client(read_timeout=0.3, max_retries=1)
        order = self.waiting_order()
        errors = []
        with capture_logs(level=logging.DEBUG) as logs:
            client.get_account()
            list(client.iter_orders())
            self.accept_all(client, order)
            for kind, spec in (
                ("500", {}),
                ("429", {"retry_after": 600}),
                ("malformed", {}),
                ("html", {}),
                ("401", {}),
                ("slow", {"delay": 1}),
            ):
                self.control.fault(kind, operation="A01", count=2, **spec)
                with self.assertRaises(MiraklError) as caught:
                    client.get_account()
                errors.append(caught.exception)
                self.control.clear_faults()
            with self.assertRaises(MiraklValidationError) as caught:
                self.accept_all(client, order)
            errors.append(caught.exception)
            # Even echoed back by Mirakl ("Order <id> not found"), it is masked.
            with self.assertRaises(MiraklNotFoundError) as caught:
                client.ship_order("ORDER-%s" % API_KEY)
            errors.append(caught.exception)
            self.assertIn("ORDER-***", caught.exception.response_excerpt)
        calls = self.control.calls()
        info = [
            line for line in logs.lines if line.startswith("INFO %s" % CLIENT_LOGGER)
        ]
        self.assertEqual(len(info), len(calls))
        self.assertIn("DEBUG %s" % CLIENT_LOGGER, logs.text)
        self.assertIn("retry 1/1 in", logs.text)
        self.assertNotIn(API_KEY, logs.text)
        for error in errors:
            with self.subTest(error=type(error).__name__):
                self.assertNotIn(API_KEY, str(error))
                self.assertNotIn(API_KEY, repr(error))
                self.assertNotIn(API_KEY, repr(vars(error)))
                self.assertIsNone(error.__cause__)

    def test_redact_and_excerpt(self):
        text = "Authorization: %s; again %s" % (API_KEY, API_KEY)
        self.assertEqual(redact(text, [API_KEY]), "Authorization: ***; again ***")
        self.assertEqual(redact("a%2Fb", ["a/b"]), "***")
        self.assertIsNone(redact(None, [API_KEY]))
        self.assertEqual(excerpt("abcdef", 4), "abcd... [2 more characters]")


def query_values(call, name):
    """All values of query parameter ``name`` in a call-log entry."""
    value = call["query"].get(name, [])
    return value if isinstance(value, list) else [value]


def call_gap(first, second):
    """Seconds between two call-log entries (ISO-8601 ``time``)."""
    first_time, second_time = (
        datetime.fromisoformat(c["time"].replace("Z", "+00:00"))
        for c in (first, second)
    )
    return (second_time - first_time).total_seconds()
