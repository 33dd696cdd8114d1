"""MiraklClient's offer and stock methods against the sandbox, and the pure
helpers of ``lib.offers`` (stock files, error reports).

The sandbox's call log and control API are the witnesses of what the client
really sent (the multipart upload included).
"""

import logging

from odoo.tests import BaseCase, tagged

from ..lib import (
    ErrorReportLine,
    MiraklNotFoundError,
    MiraklProtocolError,
    MiraklServerError,
    MiraklValidationError,
    build_stock_file,
    parse_error_report,
)
from .common import API_KEY, capture_logs
from .test_client import ClientCase, query_values

CLIENT_LOGGER = "odoo.addons.mirakl_connector.lib.transport"
# Mirakl's own OF03 example (seller OpenAPI), abridged to its first columns.
OF03_EXAMPLE = (
    '"sku";"product-id";"product-id-type";"description";"price";"quantity";'
    '"state";"update-delete";"leadtime-to-ship";"error-line";"error-message"\n'
    '"OFFER_SKU_004";"MKP100000000195360";"SKU";"My Offer Description n\u00b01";'
    '"110.52";"1000000";"11";"update";"15";"2";"The product does not exist"\n'
)


def offer(sku, price=10, **fields):
    """An OF24 offer (state 11, update) with ``fields`` added or replaced."""
    base = {"shop_sku": sku, "price": price, "state_code": "11", "update_delete": ""}
    base.update(fields)
    return base


@tagged("post_install", "-at_install")
class TestClientStock(ClientCase):
    def stock_import(self, import_id):
        return self.control.call("GET", "stock-imports/%s" % import_id)

    def quantity(self, sku):
        entries = self.control.call("GET", "offers", params={"sku": sku})["offers"]
        return entries[0]["quantity"]

    def test_import_stock_is_a_multipart_upload(self):
        client = self.client()
        content = build_stock_file([("WDR-NAV-10", 4), ("MOS-BLU-M", 0)])
        import_id = client.import_stock(content)
        self.assertIsInstance(import_id, str)
        (call,) = self.control.calls(operation="STO01")
        self.assertEqual((call["method"], call["auth"]), ("POST", "valid"))
        self.assertTrue(call["content_type"].startswith("multipart/form-data;"))
        self.assertEqual(query_values(call, "shop_id"), ["2001"])
        (part,) = call["body"]["multipart"]
        self.assertEqual(
            (part["name"], part["filename"], part["content_type"], part["size"]),
            ("file", "stock.csv", "text/csv", len(content)),
        )
        received = self.stock_import(import_id)
        self.assertEqual(
            [(line["sku"], line["quantity"]) for line in received["lines"]],
            [("WDR-NAV-10", "4"), ("MOS-BLU-M", "0")],
        )
        status = client.get_stock_import(import_id)
        self.assertEqual(status["status"], "COMPLETE")
        self.assertEqual(status["import_id"], import_id)
        self.assertEqual(status["lines_in_success"], 2)
        self.assertEqual(self.quantity("WDR-NAV-10"), 4)
        # str content and another file name
        other = client.import_stock(
            '"offer-sku";"quantity"\n"WDR-NAV-10";"6"\n', "x.csv"
        )
        self.assertEqual(self.stock_import(other)["filename"], "x.csv")
        self.assertEqual(self.quantity("WDR-NAV-10"), 6)
        with self.assertRaises(TypeError):
            client.import_stock(None)

    def test_import_stock_retried_on_500_with_bounded_excerpts(self):
        client = self.client(max_retries=1)
        rows = [("WDR-NAV-10", 3)] + [("BULK-%05d" % n, n) for n in range(3000)]
        content = build_stock_file(rows)
        self.control.fault("500", operation="STO01", count=1)
        with capture_logs(level=logging.DEBUG) as logs:
            import_id = client.import_stock(content)
        statuses = [c["status"] for c in self.control.calls(operation="STO01")]
        self.assertEqual(statuses, [500, 201])
        self.assertEqual(len(self.sleeps.waits), 1)
        self.assertEqual(len(self.stock_import(import_id)["lines"]), 3001)
        self.assertIn("[file: stock.csv, %d bytes]" % len(content), logs.text)
        self.assertNotIn("BULK-02999", logs.text)
        self.assertNotIn(API_KEY, logs.text)
        # an error keeps the same short excerpt (name, size, first lines)
        self.control.fault("503", operation="STO01", count=2)
        with self.assertRaises(MiraklServerError) as caught:
            client.import_stock(content)
        excerpt = caught.exception.request_excerpt
        self.assertIn("stock.csv, %d bytes" % len(content), excerpt)
        self.assertIn('"offer-sku";"quantity"', excerpt)
        self.assertNotIn("BULK-00010", excerpt)
        self.assertLess(len(excerpt), 1000)
        self.assertNotIn(API_KEY, excerpt)

    def test_stock_error_report_round_trip(self):
        client = self.client()
        import_id = client.import_stock(
            build_stock_file([("WDR-NAV-10", 2), ('odd;"sku"', 1)])
        )
        status = client.get_stock_import(import_id)
        self.assertEqual(
            (status["lines_in_error"], status["has_error_report"]), (1, True)
        )
        text = client.get_stock_import_error_report(import_id)
        self.assertIsInstance(text, str)
        (line,) = parse_error_report(text)
        self.assertEqual((line.line, line.sku), (3, 'odd;"sku"'))
        self.assertIn("does not exist", line.message)
        self.assertEqual(line.row, {"offer-sku": 'odd;"sku"', "quantity": "1"})
        (call,) = self.control.calls(operation="STO03")
        self.assertEqual(call["status"], 200)
        clean = client.import_stock(build_stock_file([("WDR-NAV-10", 1)]))
        with self.assertRaises(MiraklNotFoundError):
            client.get_stock_import_error_report(clean)
        with self.assertRaises(MiraklNotFoundError):
            client.get_stock_import("no-such-import")

    def test_failed_import_status(self):
        client = self.client()
        import_id = client.import_stock(b"sku;qty\nWDR-NAV-10;1\n")
        status = client.get_stock_import(import_id)
        self.assertEqual(status["status"], "FAILED")
        self.assertIn("offer-sku", status["reason_status"])


@tagged("post_install", "-at_install")
class TestClientOffers(ClientCase):
    def test_import_offers_status_and_report(self):
        client = self.client()
        catalogue = {p["sku"]: p for p in self.control.catalogue()["products"]}
        import_id = client.import_offers(
            [
                offer(
                    "NEW-1",
                    12.5,
                    product_id=catalogue["MOS-BLU-M"]["ean"],
                    product_id_type="EAN",
                    quantity=5,
                ),
                offer("NEW-2"),  # no product: refused
                offer("WDR-NAV-10", 61, quantity=2),
            ]
        )
        self.assertIsInstance(import_id, int)
        (call,) = self.control.calls(operation="OF24")
        self.assertEqual(call["body"]["offers"][0]["shop_sku"], "NEW-1")
        self.assertIn("application/json", call["content_type"])
        status = client.get_offer_import(import_id)
        self.assertEqual(status["status"], "COMPLETE")
        self.assertEqual(
            (
                status["offer_inserted"],
                status["offer_updated"],
                status["lines_in_error"],
            ),
            (1, 1, 1),
        )
        text = client.get_offer_import_error_report(import_id)
        (line,) = parse_error_report(text)
        self.assertEqual((line.line, line.sku), (2, "NEW-2"))
        self.assertIn("product_id", line.message)
        self.assertEqual(line.row["price"], "10")
        self.assertNotIn("error-line", line.row)
        with self.assertRaises(MiraklNotFoundError):
            client.get_offer_import(999999)
        with self.assertRaises(ValueError):
            client.import_offers([])
        with self.assertRaises(TypeError):
            client.import_offers([{"price": 1}])
        self.control.config(max_offers_per_call=1)
        with self.assertRaises(MiraklValidationError) as caught:
            client.import_offers([offer("A"), offer("B")])
        self.assertEqual(caught.exception.code, "VALIDATION_ERROR")

    def test_import_offers_retried_on_500(self):
        client = self.client()
        self.control.fault("500", operation="OF24", count=1)
        import_id = client.import_offers([offer("WDR-NAV-10", 50, quantity=1)])
        statuses = [c["status"] for c in self.control.calls(operation="OF24")]
        self.assertEqual(statuses, [500, 201])
        self.assertEqual(client.get_offer_import(import_id)["offer_updated"], 1)

    def test_iter_offers_and_states(self):
        client = self.client()
        offers = list(client.iter_offers(page_size=7))
        self.assertEqual(len(offers), 85)
        self.assertEqual(len({o["offer_id"] for o in offers}), 85)
        calls = self.control.calls(operation="OF21")
        self.assertEqual(len(calls), 13)
        self.assertEqual(query_values(calls[1], "offset"), ["7"])
        self.assertEqual(query_values(calls[0], "max"), ["7"])
        (one,) = client.iter_offers(sku="WDR-NAV-10")
        self.assertEqual(one["shop_sku"], "WDR-NAV-10")
        client.import_offers([offer("WDR-NAV-10", 59, quantity=1, state_code="10")])
        used = list(client.iter_offers(offer_state_codes=["10", "4"]))
        self.assertEqual([o["shop_sku"] for o in used], ["WDR-NAV-10"])
        self.assertEqual(
            query_values(self.control.calls(operation="OF21")[-1], "offer_state_codes"),
            ["10,4"],
        )
        with self.assertRaises(ValueError):
            list(client.iter_offers(page_size=101))
        states = client.list_offer_states()
        self.assertEqual(states[0], {"code": "11", "label": "New"})

    def test_protocol_errors_on_bad_shapes(self):
        client = self.client()
        self.control.fault("malformed", operation="STO01", count=1)
        with self.assertRaises(MiraklProtocolError):
            client.import_stock(build_stock_file([("WDR-NAV-10", 1)]))
        self.control.fault("html", operation="OF24", count=1)
        with self.assertRaises(MiraklProtocolError):
            client.import_offers([offer("WDR-NAV-10")])
        self.control.fault("html", operation="OF61", count=1)
        with self.assertRaises(MiraklProtocolError):
            client.list_offer_states()
        path = "/api/offers"
        for answer, kind in (
            (None, int),
            ({}, int),
            ({"import_id": None}, str),
            ({"import_id": True}, int),
            ({"import_id": "abc"}, int),
            ({"import_id": ""}, str),
            ([1], str),
        ):
            with (
                self.subTest(answer=answer),
                self.assertRaises(MiraklProtocolError) as caught,
            ):
                client._import_id(answer, "OF24", path, "POST", kind)
            self.assertEqual(caught.exception.operation, "OF24")
        self.assertEqual(
            client._import_id({"import_id": "42"}, "OF24", path, "POST", int), 42
        )
        self.assertEqual(
            client._import_id({"import_id": 7}, "STO01", path, "POST", str), "7"
        )
        for answer in (None, {}, {"status": 3}, ["COMPLETE"]):
            with self.subTest(answer=answer), self.assertRaises(MiraklProtocolError):
                client._import_status(answer, "STO02", path)


@tagged("post_install", "-at_install")
class TestOfferFiles(BaseCase):
    def test_build_stock_file_quotes(self):
        content = build_stock_file(
            [("PLAIN", 3), ('with "quotes"', 0), ("semi;colon", 12), ("née", 1)]
        )
        self.assertEqual(
            content.decode("utf-8"),
            '"offer-sku";"quantity"\n'
            '"PLAIN";"3"\n'
            '"with ""quotes""";"0"\n'
            '"semi;colon";"12"\n'
            '"née";"1"\n',
        )
        self.assertEqual(build_stock_file([]), b'"offer-sku";"quantity"\n')
        for rows in ([("A", -1)], [("A", True)], [("A", 1.5)], [("", 1)], [(None, 1)]):
            with self.subTest(rows=rows), self.assertRaises(ValueError):
                build_stock_file(rows)

    def test_parse_sto03_report(self):
        text = (
            '\ufeff"error-line";"error-message";"offer-sku";"quantity"\r\n'
            '"3";"The offer with sku \'X;1\' does not exist";"X;1";"2"\r\n'
            "\r\n"
            '"5";"Bad quantity";"Y";"-1"\r\n'
        )
        first, second = parse_error_report(text.encode("utf-8"))
        self.assertEqual(
            first,
            ErrorReportLine(
                3,
                "X;1",
                "The offer with sku 'X;1' does not exist",
                {"offer-sku": "X;1", "quantity": "2"},
            ),
        )
        self.assertEqual(
            (second.line, second.sku, second.message), (5, "Y", "Bad quantity")
        )

    def test_parse_sto03_by_position(self):
        """Unknown names for the first two columns: read by position."""
        text = "Ligne;Motif;offer-sku;quantity\n7;Unknown offer;Z\n"
        (line,) = parse_error_report(text)
        self.assertEqual((line.line, line.message, line.sku), (7, "Unknown offer", "Z"))
        self.assertEqual(line.row, {"offer-sku": "Z", "quantity": ""})

    def test_parse_of03_report(self):
        (line,) = parse_error_report(OF03_EXAMPLE)
        self.assertEqual(line.line, 2)
        self.assertEqual(line.sku, "OFFER_SKU_004")
        self.assertEqual(line.message, "The product does not exist")
        self.assertEqual(line.row["product-id"], "MKP100000000195360")
        self.assertEqual(line.row["leadtime-to-ship"], "15")
        self.assertNotIn("error-message", line.row)

    def test_parse_tolerates_odd_reports(self):
        self.assertEqual(parse_error_report(""), [])
        self.assertEqual(parse_error_report(b"\xef\xbb\xbf"), [])
        self.assertEqual(parse_error_report('"error-line";"error-message"\n'), [])
        (line,) = parse_error_report("error-message;sku\nno line number;S1\n")
        self.assertEqual(
            (line.line, line.sku, line.message), (None, "S1", "no line number")
        )
        (line,) = parse_error_report("error-line;error-message\nx;\n")
        self.assertEqual((line.line, line.sku, line.message), (None, None, ""))
