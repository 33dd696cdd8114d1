"""MiraklClient's payout reads (TL02, SBC11, IV01, IV02) against the sandbox.

The sandbox's call log is the witness of what the client really sent.
"""

from datetime import datetime, timezone
from decimal import Decimal

from odoo.tests import tagged

from ..lib import MiraklNotFoundError, MiraklProtocolError
from .test_client import ClientCase, query_values


@tagged("post_install", "-at_install")
class TestClientBilling(ClientCase):
    def shipped_order(self, client, lines=(("WDR-NAV-10", 1), ("MOS-BLU-M", 2))):
        spec = {"lines": [{"sku": sku, "quantity": qty} for sku, qty in lines]}
        (order,) = self.control.create_orders(orders=[spec])
        self.accept_all(client, order)
        client.ship_order(order["order_id"])
        return self.control.order(order["order_id"])

    def test_transaction_lines_pages_and_filters(self):
        client = self.client()
        orders = [self.shipped_order(client) for _index in range(2)]
        cycle = self.control.close_cycle()["cycle"]
        self.control.clear_calls()
        lines = list(client.iter_transaction_lines(cycle["id"], page_size=3))
        calls = self.control.calls(operation="TL02")
        self.assertGreater(len(calls), 2)
        self.assertEqual(
            query_values(calls[0], "seller_billing_cycle_id"), [cycle["id"]]
        )
        self.assertEqual(query_values(calls[0], "limit"), ["3"])
        self.assertIn("page_token", calls[1]["query"])
        self.assertEqual(len({line["id"] for line in lines}), len(lines))
        payment = [line for line in lines if line["type"] == "PAYMENT"]
        others = [line for line in lines if line["type"] != "PAYMENT"]
        transferred = Decimal(str(cycle["amount_transferred_to_seller"]))
        self.assertEqual(
            sum(Decimal(str(line["amount"])) for line in others), transferred
        )
        self.assertEqual(Decimal(str(payment[0]["amount"])), -transferred)
        # list filters go as repeated parameters; datetimes as ISO-8601
        self.control.clear_calls()
        since = datetime(2000, 1, 1, tzinfo=timezone.utc)
        found = list(
            client.iter_transaction_lines(
                order_id=[o["order_id"] for o in orders],
                transaction_type=("COMMISSION_FEE", "COMMISSION_VAT"),
                last_updated_from=since,
                sort="lastUpdated,ASC",
            )
        )
        (call,) = self.control.calls(operation="TL02")
        self.assertEqual(
            query_values(call, "order_id"), [o["order_id"] for o in orders]
        )
        self.assertEqual(
            query_values(call, "transaction_type"), ["COMMISSION_FEE", "COMMISSION_VAT"]
        )
        self.assertEqual(
            query_values(call, "last_updated_from"), ["2000-01-01T00:00:00+00:00"]
        )
        self.assertEqual(query_values(call, "limit"), ["2000"])
        self.assertEqual(
            {line["type"] for line in found}, {"COMMISSION_FEE", "COMMISSION_VAT"}
        )
        self.assertEqual(len(found), 8)  # 2 orders x 2 lines x 2 types
        with self.assertRaises(ValueError):
            client.iter_transaction_lines(page_size=2001)

    def test_billing_cycles(self):
        client = self.client()
        self.shipped_order(client)
        paid = self.control.close_cycle()["cycle"]
        failed = self.control.close_cycle(pay_out_state="FAILED")["cycle"]
        self.control.clear_calls()
        cycles = list(client.iter_billing_cycles(page_size=1))
        self.assertEqual([c["id"] for c in cycles], [paid["id"], failed["id"]])
        self.assertEqual(len(self.control.calls(operation="SBC11")), 2)
        self.assertEqual(cycles[0]["pay_out"]["state"], "PAID")
        self.assertGreater(cycles[0]["amount_transferred_to_seller"], 0)
        only = list(client.iter_billing_cycles(pay_out_state=["FAILED"]))
        self.assertEqual([c["id"] for c in only], [failed["id"]])
        by_id = list(client.iter_billing_cycles(id=[paid["id"]]))
        self.assertEqual([c["id"] for c in by_id], [paid["id"]])
        with self.assertRaises(ValueError):
            client.iter_billing_cycles(page_size=1001)

    def test_accounting_documents_and_download(self):
        client = self.client()
        self.shipped_order(client)
        self.control.billing_item("MANUAL_INVOICE", 15)
        first = self.control.close_cycle()
        self.control.close_cycle()
        self.control.clear_calls()
        documents = list(client.iter_accounting_documents(page_size=1))
        self.assertEqual(
            [d["type"] for d in documents],
            ["MANUAL_INVOICE", "AUTO_INVOICE", "AUTO_INVOICE"],
        )
        calls = self.control.calls(operation="IV01")
        self.assertEqual(query_values(calls[0], "type"), ["ALL"])
        self.assertEqual(query_values(calls[0], "max"), ["1"])
        (auto,) = client.iter_accounting_documents(
            "AUTO_INVOICE", seller_billing_cycle_id=first["cycle"]["id"]
        )
        self.assertEqual(auto["invoice_id"], first["document"]["invoice_id"])
        self.assertEqual(
            auto["summary"]["amount_transferred"],
            first["cycle"]["amount_transferred_to_seller"],
        )
        (manual,) = client.iter_accounting_documents("MANUAL_INVOICE")
        self.assertEqual(manual["seller_billing_cycle_id"], first["cycle"]["id"])
        content = client.download_accounting_document(auto["invoice_id"])
        self.assertIsInstance(content, bytes)
        self.assertTrue(content.startswith(b"%PDF-"))
        self.assertIn(str(auto["invoice_id"]).encode(), content)
        (call,) = self.control.calls(operation="IV02")
        self.assertEqual(call["path"], "/api/invoices/%s" % auto["invoice_id"])
        with self.assertRaises(MiraklNotFoundError):
            client.download_accounting_document(1)
        with self.assertRaises(ValueError):
            client.iter_accounting_documents(page_size=101)

    def test_unexpected_shapes(self):
        client = self.client()
        # an answer that is not the documented page (a fault's HTML page)
        self.control.fault("html", operation="TL02")
        with self.assertRaises(MiraklProtocolError):
            list(client.iter_transaction_lines())
        # a page whose elements are not objects: the sandbox's OR11 orders
        # list read as IV01 (no ``type``) is refused element by element
        self.control.create_orders(count=1)
        documents = client._checked_items(
            iter([{"order_id": "x"}]), "IV01", "/api/invoices", ("type",)
        )
        with self.assertRaises(MiraklProtocolError):
            list(documents)
