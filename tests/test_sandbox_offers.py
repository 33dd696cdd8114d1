"""The sandbox's offers and stock: OF21, OF24, OF02, OF03, OF61, STO01,
STO02, STO03, the stock orders take and give back, and the offer control API.

Plain ``requests`` against the sandbox (never the connector's client), as in
``test_sandbox``.
"""

import csv
import io
from datetime import timedelta

import requests

from odoo.tests import tagged

from .test_sandbox import SandboxHttpCase, iso, parse_iso

SEED_OFFERS = 85  # the seed catalogue's products
EXPECTED_OF21_FIELDS = (
    "offer_id",
    "shop_sku",
    "product_sku",
    "product_title",
    "product_references",
    "quantity",
    "price",
    "total_price",
    "active",
    "inactivity_reasons",
    "state_code",
    "currency_iso_code",
    "leadtime_to_ship",
    "logistic_class",
    "description",
    "min_quantity_alert",
    "all_prices",
    "warehouses",
)


def csv_rows(text):
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


class OffersCase(SandboxHttpCase):
    def sto01(self, content, filename="stock.csv"):
        response = self.api(
            "POST",
            "/api/offers/stock/imports",
            files={"file": (filename, content, "text/csv")},
        )
        self.assertEqual(response.status_code, 201, response.text)
        import_id = response.json()["import_id"]
        self.assertIsInstance(import_id, str)
        return import_id

    def sto02(self, import_id):
        response = self.api("GET", "/api/offers/stock/imports/%s/status" % import_id)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def sto03(self, import_id):
        return self.api("GET", "/api/offers/stock/imports/%s/error_report" % import_id)

    def of24(self, *offers):
        response = self.api("POST", "/api/offers", json={"offers": list(offers)})
        self.assertEqual(response.status_code, 201, response.text)
        import_id = response.json()["import_id"]
        self.assertIsInstance(import_id, int)
        return import_id

    def of02(self, import_id):
        response = self.api("GET", "/api/offers/imports/%s" % import_id)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def of03(self, import_id):
        return self.api("GET", "/api/offers/imports/%s/error_report" % import_id)

    def of21(self, **params):
        response = self.api("GET", "/api/offers", params=params)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def offers(self, *skus):
        """``{sku: control entry}`` (every offer when no SKU is given)."""
        params = {"sku": ",".join(skus)} if skus else None
        listed = self.control.call("GET", "offers", params=params)["offers"]
        return {entry["sku"]: entry for entry in listed}

    def quantity(self, sku):
        return self.offers(sku)[sku]["quantity"]

    def set_quantity(self, sku, quantity):
        return self.control.call("PUT", "offers/%s" % sku, json={"quantity": quantity})


def offer(sku, price=10, state_code="11", update_delete="update", **fields):
    """An OF24 offer."""
    return dict(
        fields,
        shop_sku=sku,
        price=price,
        state_code=state_code,
        update_delete=update_delete,
    )


@tagged("post_install", "-at_install")
class TestSandboxOfferList(OffersCase):
    def test_seed_offers_and_of21_shape(self):
        catalogue = {p["sku"]: p for p in self.control.catalogue()["products"]}
        body = self.of21()
        self.assertEqual(body["total_count"], SEED_OFFERS)
        self.assertEqual(len(body["offers"]), 10)  # default page size
        first = body["offers"][0]
        for name in EXPECTED_OF21_FIELDS:
            self.assertIn(name, first)
        product = catalogue[first["shop_sku"]]
        self.assertEqual(first["offer_id"], product["offer_id"])
        self.assertEqual(first["product_sku"], product["product_sku"])
        self.assertEqual(
            first["product_references"],
            [{"reference_type": "EAN", "reference": product["ean"]}],
        )
        self.assertEqual(first["price"], product["price"])
        self.assertEqual(first["total_price"], first["price"])
        self.assertEqual((first["quantity"], first["active"]), (0, False))
        self.assertEqual(first["inactivity_reasons"], ["ZERO_QUANTITY"])
        self.assertEqual(
            (first["state_code"], first["currency_iso_code"]), ("11", "GBP")
        )
        self.assertEqual(first["warehouses"], [])
        self.assertEqual(first["all_prices"][0]["price"], first["price"])
        self.assertEqual(self.api("GET", "/api/account").json()["offers_count"], 85)

    def test_of21_paging_sort_and_filters(self):
        seen = []
        for offset in range(0, SEED_OFFERS, 7):
            page = self.of21(max=7, offset=offset)
            self.assertEqual(page["total_count"], SEED_OFFERS)
            seen.extend(page["offers"])
        self.assertEqual(len({o["offer_id"] for o in seen}), SEED_OFFERS)
        keys = [(o["total_price"], o["offer_id"]) for o in seen]
        self.assertEqual(keys, sorted(keys))
        desc = self.of21(max=100, sort="price", order="desc")["offers"]
        self.assertEqual(
            [(o["price"], o["offer_id"]) for o in desc],
            sorted(((o["price"], o["offer_id"]) for o in desc), reverse=True),
        )
        titles = self.of21(max=100, sort="productTitle")["offers"]
        self.assertEqual(
            [o["product_title"] for o in titles],
            sorted(o["product_title"] for o in titles),
        )
        # filters
        (one,) = self.of21(sku="WDR-NAV-10")["offers"]
        self.assertEqual(one["shop_sku"], "WDR-NAV-10")
        self.assertEqual(self.of21(sku="NOPE")["total_count"], 0)
        by_product = self.of21(product_id=one["product_sku"])
        self.assertEqual([o["shop_sku"] for o in by_product["offers"]], ["WDR-NAV-10"])
        self.of24(
            offer(
                "WDR-NAV-10",
                59,
                "10",
                product_id=one["product_sku"],
                product_id_type="SKU",
            )
        )
        used = self.of21(offer_state_codes="10,4")
        self.assertEqual([o["shop_sku"] for o in used["offers"]], ["WDR-NAV-10"])
        self.assertEqual(self.of21(offer_state_codes="11")["total_count"], 84)
        # limits
        self.assertError(self.api("GET", "/api/offers", params={"max": 101}), 400)
        self.assertError(self.api("GET", "/api/offers", params={"sort": "x"}), 400)
        everything = self.of21(paginate="false")
        self.assertEqual(len(everything["offers"]), SEED_OFFERS)

    def test_config_seed_offers_and_initial_quantity(self):
        self.control.reset(seed_offers=False)
        self.assertEqual(self.of21()["total_count"], 0)
        self.assertEqual(self.offers(), {})
        self.control.reset(initial_offer_quantity=5)
        entry = self.offers("WDR-NAV-10")["WDR-NAV-10"]
        self.assertEqual((entry["quantity"], entry["active"]), (5, True))
        (listed,) = self.of21(sku="WDR-NAV-10")["offers"]
        self.assertEqual(listed["inactivity_reasons"], [])
        with self.assertRaises(requests.HTTPError):
            self.control.reset(initial_offer_quantity=-1)

    def test_of61_states(self):
        response = self.api("GET", "/api/offers/states")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        codes = [state["code"] for state in body["offer_states"]]
        self.assertEqual(codes[0], "11")
        self.assertEqual(body["offer_states"][0]["label"], "New")
        self.assertIn("10", codes)
        self.assertEqual(body["total_count"], len(codes))


@tagged("post_install", "-at_install")
class TestSandboxStockImports(OffersCase):
    def test_sto01_happy_path(self):
        content = (
            '\ufeff"offer-sku";"quantity";"warehouse-code";"update-delete";"note"\r\n'
            '"WDR-NAV-10";"5";"";"update";"x"\r\n'
            "MOS-BLU-M;12;;;\r\n"
            "\r\n"
            '"ASC-NAV-OS";" 0 ";"";"";"y"\r\n'
        ).encode()
        self.set_quantity("ASC-NAV-OS", 9)
        import_id = self.sto01(content, "levels.csv")
        status = self.sto02(import_id)
        self.assertEqual(status["status"], "COMPLETE")
        self.assertEqual(status["import_id"], import_id)
        self.assertEqual((status["lines_in_success"], status["lines_in_error"]), (3, 0))
        self.assertFalse(status["has_error_report"])
        self.assertEqual(status["shop_id"], 2001)
        self.assertNotIn("reason_status", status)
        parse_iso(status["date_created"])
        quantities = self.offers("WDR-NAV-10", "MOS-BLU-M", "ASC-NAV-OS")
        self.assertEqual(
            {sku: entry["quantity"] for sku, entry in quantities.items()},
            {"WDR-NAV-10": 5, "MOS-BLU-M": 12, "ASC-NAV-OS": 0},
        )
        self.assertTrue(quantities["WDR-NAV-10"]["active"])
        self.assertFalse(quantities["ASC-NAV-OS"]["active"])
        self.assertEqual(self.sto03(import_id).status_code, 404)
        # what the sandbox received, line by line (header = line 1)
        details = self.control.call("GET", "stock-imports/%s" % import_id)
        self.assertEqual(details["filename"], "levels.csv")
        self.assertEqual(details["size"], len(content))
        self.assertEqual(details["header"][:2], ["offer-sku", "quantity"])
        self.assertEqual(
            [(li["line"], li["sku"], li["quantity"]) for li in details["lines"]],
            [(2, "WDR-NAV-10", "5"), (3, "MOS-BLU-M", "12"), (5, "ASC-NAV-OS", " 0 ")],
        )
        listed = self.control.call("GET", "stock-imports")["imports"]
        self.assertEqual([i["import_id"] for i in listed], [import_id])
        # the call log keeps a bounded summary of the upload
        (call,) = self.control.calls(operation="STO01")
        (part,) = call["body"]["multipart"]
        self.assertEqual(
            (part["name"], part["filename"], part["size"]),
            ("file", "levels.csv", len(content)),
        )
        self.assertIn("multipart/form-data", call["content_type"])
        self.assertEqual(part["lines"], 5)
        self.assertLessEqual(len(part["head"]), 5)

    def test_sto01_line_errors(self):
        self.set_quantity("WDR-BLK-8", 4)
        lines = [
            "offer-sku;quantity;warehouse-code;update-delete",
            "WDR-NAV-10;3;;",  # 2: fine
            "NO-SUCH;2;;",  # 3: unknown SKU
            "WDR-BLK-8;-1;;",  # 4: negative
            "WDR-BLK-10;2.5;;",  # 5: not an integer
            "WDR-NAV-10;7;;",  # 6: repeated SKU (the later line)
            "MOS-BLU-M;1;PARIS-1;",  # 7: warehouse
            "MOS-BLU-L;1;;delete",  # 8: update-delete
            ";1;;",  # 9: no SKU
            "MCH-KHA-32;1;;;extra",  # 10: more values than the header
            "WDR-BLK-12;abc;;",  # 11: not a number
            "KPJ-STR-2-3Y;6",  # 12: fine (short row)
        ]
        content = "\n".join(lines)
        import_id = self.sto01(content)
        status = self.sto02(import_id)
        self.assertEqual(status["status"], "COMPLETE")
        self.assertEqual((status["lines_in_success"], status["lines_in_error"]), (2, 9))
        self.assertTrue(status["has_error_report"])
        self.assertEqual(self.quantity("WDR-NAV-10"), 3)
        self.assertEqual(self.quantity("KPJ-STR-2-3Y"), 6)
        self.assertEqual(self.quantity("WDR-BLK-8"), 4)  # untouched
        report = self.sto03(import_id)
        self.assertEqual(report.status_code, 200)
        self.assertTrue(report.headers["Content-Type"].startswith("text/csv"))
        rows = csv_rows(report.text)
        self.assertEqual(
            rows[0],
            [
                "error-line",
                "error-message",
                "offer-sku",
                "quantity",
                "warehouse-code",
                "update-delete",
            ],
        )
        self.assertTrue(report.text.startswith('"error-line";"error-message"'))
        by_line = {int(row[0]): row for row in rows[1:]}
        self.assertEqual(sorted(by_line), [3, 4, 5, 6, 7, 8, 9, 10, 11])
        self.assertIn("The offer with sku 'NO-SUCH' does not exist", by_line[3][1])
        self.assertEqual(by_line[3][2:], ["NO-SUCH", "2", "", ""])
        self.assertIn("quantity", by_line[4][1])
        self.assertIn("'2.5'", by_line[5][1])
        self.assertIn("more than once", by_line[6][1])
        self.assertIn("PARIS-1", by_line[7][1])
        self.assertIn("update-delete", by_line[8][1])
        self.assertIn("offer-sku", by_line[9][1])
        self.assertEqual(by_line[10][2:], ["MCH-KHA-32", "1", "", "", "extra"])
        self.assertIn("'abc'", by_line[11][1])
        details = self.control.call("GET", "stock-imports/%s" % import_id)
        errors = {li["line"]: li["error"] for li in details["lines"]}
        self.assertIsNone(errors[2])
        self.assertEqual(errors[3], by_line[3][1])

    def test_sto01_failed_files(self):
        for content, reason in (
            (b"offer-sku;qty\nWDR-NAV-10;1\n", "quantity"),
            (b"sku;quantity\nWDR-NAV-10;1\n", "offer-sku"),
            (b"", "empty"),
            (b"offer-sku;quantity\n\xff\xfe;1\n", "UTF-8"),
            (b'offer-sku;quantity\n"WDR-NAV-10;1\n', "CSV"),
        ):
            with self.subTest(content=content):
                import_id = self.sto01(content)
                status = self.sto02(import_id)
                self.assertEqual(status["status"], "FAILED")
                self.assertIn(reason, status["reason_status"])
                self.assertFalse(status["has_error_report"])
                self.assertEqual(self.sto03(import_id).status_code, 404)
        self.assertEqual(self.quantity("WDR-NAV-10"), 0)

    def test_sto01_bad_requests(self):
        path = "/api/offers/stock/imports"
        self.assertError(self.api("POST", path, json={"file": "x"}), 400)
        self.assertError(
            self.api("POST", path, files={"other": ("a.csv", b"offer-sku;quantity")}),
            400,
        )
        self.assertError(self.api("GET", path + "/nope/status"), 404)
        self.assertError(self.api("GET", path + "/nope/error_report"), 404)
        self.assertError(self.api("DELETE", path), 405)

    def test_import_delay_on_the_sandbox_clock(self):
        self.control.config(import_delay_seconds=60)
        import_id = self.sto01("offer-sku;quantity\nWDR-NAV-10;8\n")
        self.assertEqual(self.sto02(import_id)["status"], "WAITING")
        self.assertEqual(self.quantity("WDR-NAV-10"), 0)
        self.assertEqual(self.sto03(import_id).status_code, 404)
        self.control.advance(59)
        self.assertEqual(self.sto02(import_id)["status"], "WAITING")
        self.control.advance(1)
        self.assertEqual(self.sto02(import_id)["status"], "COMPLETE")
        self.assertEqual(self.quantity("WDR-NAV-10"), 8)

    def test_faults_on_offer_operations(self):
        self.control.fault("500", operation="STO01", count=1)
        self.control.fault("503", operation="OF21", count=1)
        files = {"file": ("s.csv", b"offer-sku;quantity\nWDR-NAV-10;2\n")}
        failed = self.api("POST", "/api/offers/stock/imports", files=files)
        self.assertEqual(failed.status_code, 500)
        self.assertEqual(self.control.call("GET", "stock-imports")["imports"], [])
        self.assertEqual(self.api("GET", "/api/offers").status_code, 503)
        self.assertEqual(self.of21()["total_count"], SEED_OFFERS)
        self.sto01(b"offer-sku;quantity\nWDR-NAV-10;2\n")
        self.assertEqual(self.quantity("WDR-NAV-10"), 2)
        statuses = [c["status"] for c in self.control.calls(operation="STO01")]
        self.assertEqual(statuses, [500, 201])

    def test_fifty_thousand_offers_and_lines(self):
        """Functional check of the benchmark sizes (no timing asserted)."""
        created = self.control.call(
            "POST",
            "offers",
            json={"generate": {"prefix": "BENCH-", "count": 50000, "quantity": 0}},
        )
        self.assertEqual(
            created, {"created": 50000, "skus": ["BENCH-000001", "BENCH-050000"]}
        )
        lines = ["offer-sku;quantity"]
        lines += ["BENCH-%06d;%d" % (n, n % 13) for n in range(1, 50001)]
        import_id = self.sto01("\n".join(lines) + "\n")
        status = self.sto02(import_id)
        self.assertEqual(status["status"], "COMPLETE")
        self.assertEqual(
            (status["lines_in_success"], status["lines_in_error"]), (50000, 0)
        )
        entries = self.offers("BENCH-000001", "BENCH-025000", "BENCH-050000")
        self.assertEqual(
            [entries[sku]["quantity"] for sku in sorted(entries)],
            [1, 25000 % 13, 50000 % 13],
        )
        total = SEED_OFFERS + 50000
        last = self.of21(max=100, offset=total - 5)
        self.assertEqual((last["total_count"], len(last["offers"])), (total, 5))
        middle = self.of21(max=100, offset=30000)["offers"]
        self.assertEqual(len(middle), 100)
        (call,) = self.control.calls(operation="STO01")
        (part,) = call["body"]["multipart"]
        self.assertEqual(part["lines"], 50001)
        self.assertEqual(len(part["head"]), 5)


@tagged("post_install", "-at_install")
class TestSandboxOfferImports(OffersCase):
    def test_of24_insert_update_delete(self):
        catalogue = {p["sku"]: p for p in self.control.catalogue()["products"]}
        dress, shirt = catalogue["WDR-NAV-10"], catalogue["MOS-BLU-M"]
        self.control.reset(seed_offers=False)
        full = offer(
            "MY-DRESS",
            60.00,
            product_id=dress["ean"],
            product_id_type="EAN",
            quantity=14,
            description="Jersey dress",
            internal_description="aisle 4",
            leadtime_to_ship=2,
            logistic_class="S",
            min_quantity_alert=3,
            discount={"price": 48.0, "start_date": "2025-03-10T00:00:00Z"},
            offer_additional_fields=[{"code": "season", "value": "SS25"}],
        )
        import_id = self.of24(
            full,
            offer(
                "MY-SHIRT",
                "39.50",
                product_id=shirt["product_sku"],
                product_id_type="SKU",
                quantity="7",
                update_delete="",
            ),
        )
        status = self.of02(import_id)
        self.assertEqual(status["status"], "COMPLETE")
        self.assertEqual(
            {
                k: status[k]
                for k in ("lines_read", "lines_in_success", "lines_in_error")
            },
            {"lines_read": 2, "lines_in_success": 2, "lines_in_error": 0},
        )
        self.assertEqual(
            (
                status["offer_inserted"],
                status["offer_updated"],
                status["offer_deleted"],
            ),
            (2, 0, 0),
        )
        self.assertEqual((status["lines_in_pending"], status["mode"]), (0, "NORMAL"))
        self.assertFalse(status["has_error_report"])
        self.assertEqual(self.of03(import_id).status_code, 404)
        (listed,) = self.of21(sku="MY-DRESS")["offers"]
        self.assertGreater(
            listed["offer_id"], max(p["offer_id"] for p in catalogue.values())
        )
        self.assertEqual(listed["product_sku"], dress["product_sku"])
        self.assertEqual(
            (listed["price"], listed["quantity"], listed["active"]), (60.0, 14, True)
        )
        self.assertEqual(
            (
                listed["description"],
                listed["leadtime_to_ship"],
                listed["min_quantity_alert"],
            ),
            ("Jersey dress", 2, 3),
        )
        self.assertEqual(listed["logistic_class"], {"code": "S", "label": "S"})
        self.assertEqual(listed["offer_additional_fields"][0]["value"], "SS25")
        self.assertEqual(self.quantity("MY-SHIRT"), 7)
        # full replace: what is not sent goes back to its default
        update = self.of24(offer("MY-DRESS", 55))
        self.assertEqual(self.of02(update)["offer_updated"], 1)
        (listed_again,) = self.of21(sku="MY-DRESS")["offers"]
        self.assertEqual(listed_again["offer_id"], listed["offer_id"])
        self.assertEqual((listed_again["quantity"], listed_again["price"]), (0, 55.0))
        self.assertEqual(listed_again["inactivity_reasons"], ["ZERO_QUANTITY"])
        for name in ("description", "leadtime_to_ship", "logistic_class", "discount"):
            self.assertIsNone(listed_again[name], name)
        self.assertEqual(listed_again["offer_additional_fields"], [])
        stored = self.offers("MY-DRESS")["MY-DRESS"]["offer"]
        self.assertIsNone(stored["internal_description"])
        # delete, then create again: a new offer id
        deleted = self.of24(offer("MY-DRESS", update_delete="delete"))
        self.assertEqual(self.of02(deleted)["offer_deleted"], 1)
        self.assertEqual(self.of21(sku="MY-DRESS")["total_count"], 0)
        again = self.of24(dict(full, quantity=1))
        self.assertEqual(self.of02(again)["offer_inserted"], 1)
        (recreated,) = self.of21(sku="MY-DRESS")["offers"]
        self.assertGreater(recreated["offer_id"], listed["offer_id"])
        details = self.control.call("GET", "offer-imports/%s" % again)
        self.assertEqual(details["offers"][0]["outcome"], "inserted")
        self.assertEqual(details["offers"][0]["offer"]["quantity"], 1)
        listed_imports = self.control.call("GET", "offer-imports")["imports"]
        self.assertEqual(
            [i["import_id"] for i in listed_imports],
            [import_id, update, deleted, again],
        )

    def test_of24_offer_errors_and_of03(self):
        catalogue = {p["sku"]: p for p in self.control.catalogue()["products"]}
        ean = catalogue["MOS-BLU-M"]["ean"]
        offers = [
            offer("NEW-1", product_id=ean, product_id_type="EAN", quantity=3),  # 1 ok
            {"price": 1, "state_code": "11", "update_delete": "update"},  # 2
            offer("NEW-2", product_id=ean, product_id_type="EAN", price=-1),  # 3
            offer("NEW-3", product_id=ean, product_id_type="EAN", price="abc"),  # 4
            offer("NEW-4", product_id=ean, product_id_type="EAN", state_code="99"),  # 5
            offer("NEW-5"),  # 6: no product at creation
            offer("NEW-6", product_id="123", product_id_type="UPC"),  # 7
            offer("NEW-7", product_id="0000000000000", product_id_type="EAN"),  # 8
            offer("NO-SUCH", update_delete="delete"),  # 9
            offer("NEW-1", product_id=ean, product_id_type="EAN"),  # 10: twice
            offer("WDR-NAV-10", product_id=ean, product_id_type="EAN"),  # 11
            offer("WDR-NAV-12", quantity=-2),  # 12
            offer("WDR-NAV-14", update_delete="remove"),  # 13
            dict(offer("WDR-NAV-16"), update_delete=None),  # 14
            offer("WDR-NAV-8", available_started="yesterday"),  # 15
            offer("WDR-BLK-8", quantity=4, leadtime_to_ship=1),  # 16 ok (update)
        ]
        import_id = self.of24(*offers)
        status = self.of02(import_id)
        self.assertEqual(
            (
                status["lines_read"],
                status["lines_in_success"],
                status["lines_in_error"],
            ),
            (16, 2, 14),
        )
        self.assertEqual((status["offer_inserted"], status["offer_updated"]), (1, 1))
        self.assertTrue(status["has_error_report"])
        self.assertEqual(self.quantity("NEW-1"), 3)
        self.assertEqual(self.quantity("WDR-BLK-8"), 4)
        report = self.of03(import_id)
        self.assertEqual(report.status_code, 200)
        self.assertEqual(report.headers["Content-Type"], "application/octet-stream")
        self.assertTrue(report.text.startswith('"sku";"product-id";"product-id-type"'))
        rows = csv_rows(report.text)
        self.assertEqual(
            rows[0],
            [
                "sku",
                "product-id",
                "product-id-type",
                "price",
                "quantity",
                "state",
                "update-delete",
                "error-line",
                "error-message",
            ],
        )
        messages = {int(row[7]): row[8] for row in rows[1:]}
        self.assertEqual(sorted(messages), list(range(2, 16)))
        for line, words in (
            (2, "shop_sku"),
            (3, "price"),
            (4, "price"),
            (5, "'99'"),
            (6, "product_id"),
            (7, "UPC"),
            (8, "does not exist"),
            (9, "'NO-SUCH' does not exist"),
            (10, "more than once"),
            (11, "cannot change"),
            (12, "quantity"),
            (13, "remove"),
            (14, "update_delete"),
            (15, "available_started"),
        ):
            with self.subTest(line=line):
                self.assertIn(words, messages[line])
        row_3 = next(row for row in rows[1:] if row[7] == "3")
        self.assertEqual(row_3[:7], ["NEW-2", ean, "EAN", "-1", "", "11", "update"])
        details = self.control.call("GET", "offer-imports/%s" % import_id)["offers"]
        self.assertEqual(
            [d["outcome"] for d in details],
            ["inserted"] + ["error"] * 14 + ["updated"],
        )
        self.assertEqual(details[2]["error"], messages[3])
        self.assertEqual(details[1]["offer"], offers[1])

    def test_of24_malformed_bodies(self):
        self.control.config(max_offers_per_call=2)
        one = offer("WDR-NAV-10")
        for body in (
            [one],
            {"offers": []},
            {"offers": one},
            {"offers": [one, "x"]},
            {"offers": [one, one, one]},
            {},
        ):
            with self.subTest(body=body):
                self.assertError(
                    self.api("POST", "/api/offers", json=body), 400, "VALIDATION_ERROR"
                )
        self.assertError(
            self.api(
                "POST",
                "/api/offers",
                data=b"{",
                headers={"Content-Type": "application/json"},
            ),
            400,
            "VALIDATION_ERROR",
        )
        self.assertError(
            self.api(
                "POST",
                "/api/offers",
                data=b"offers",
                headers={"Content-Type": "text/plain"},
            ),
            415,
        )
        self.assertEqual(self.control.call("GET", "offer-imports")["imports"], [])
        self.assertError(self.api("GET", "/api/offers/imports/999"), 404)
        self.assertError(self.api("GET", "/api/offers/imports/abc"), 400)
        self.assertError(self.api("GET", "/api/offers/imports/999/error_report"), 404)

    def test_of24_delay_and_duplicate_requests(self):
        self.control.config(import_delay_seconds=120)
        first = self.of24(offer("WDR-NAV-10", 61, quantity=2))
        same = self.of24(offer("WDR-NAV-10", 61, quantity=2))
        other = self.of24(offer("WDR-NAV-10", 62, quantity=3))
        self.assertEqual(same, first)
        self.assertNotEqual(other, first)
        status = self.of02(first)
        self.assertEqual(status["status"], "WAITING")
        self.assertEqual((status["lines_read"], status["offer_updated"]), (0, 0))
        details = self.control.call("GET", "offer-imports/%s" % first)
        self.assertIsNone(details["offers"][0]["outcome"])
        self.assertEqual(self.quantity("WDR-NAV-10"), 0)
        self.control.advance(120)
        self.assertEqual(self.of02(first)["status"], "COMPLETE")
        self.assertEqual(self.of02(other)["status"], "COMPLETE")
        entry = self.offers("WDR-NAV-10")["WDR-NAV-10"]
        self.assertEqual((entry["quantity"], entry["price"]), (3, 62.0))  # in order
        # once processed, the same request is a new import
        self.assertNotEqual(self.of24(offer("WDR-NAV-10", 61, quantity=2)), first)
        # created_date is the sandbox time of the request
        created = parse_iso(status["date_created"])
        self.assertLess(
            abs(created - parse_iso(self.control.now())), timedelta(seconds=130)
        )


@tagged("post_install", "-at_install")
class TestSandboxOrderStock(OffersCase):
    sandbox_config = {"initial_offer_quantity": 10}

    def order(self, *lines, **spec):
        spec["lines"] = [{"sku": sku, "quantity": qty} for sku, qty in lines]
        (order,) = self.control.create_orders(orders=[spec])
        return order

    def levels(self, *skus):
        return tuple(self.quantity(sku) for sku in skus)

    def test_orders_take_stock_refusals_give_it_back(self):
        refused = self.order(("WDR-NAV-10", 3), ("MOS-BLU-M", 1))
        self.assertEqual(self.levels("WDR-NAV-10", "MOS-BLU-M"), (7, 9))
        self.assertNoContent(self.accept(refused, {0: False, 1: False}))
        self.assertEqual(self.levels("WDR-NAV-10", "MOS-BLU-M"), (10, 10))
        # control-API cancellation (customer side), partly then wholly
        waiting = self.order(("WDR-NAV-10", 4))
        line_id = waiting["order_lines"][0]["order_line_id"]
        self.control.cancel(waiting["order_id"], {line_id: 1})
        self.assertEqual(self.quantity("WDR-NAV-10"), 7)
        self.control.cancel(waiting["order_id"])
        self.assertEqual(self.quantity("WDR-NAV-10"), 10)
        # never below 0
        self.order(("WDR-NAV-10", 25))
        self.assertEqual(self.quantity("WDR-NAV-10"), 0)
        self.set_quantity("WDR-NAV-10", 10)
        # automatic refusal
        self.control.config(acceptance_window_hours=1)
        self.order(("ASC-NAV-OS", 2), created_date=iso(parse_iso(self.control.now())))
        self.assertEqual(self.quantity("ASC-NAV-OS"), 8)
        self.control.advance(3601)
        self.assertEqual(self.quantity("ASC-NAV-OS"), 10)

    def test_shop_cancellations_give_stock_back(self):
        order = self.order(("WDR-NAV-10", 3), ("MCH-KHA-32", 1))
        self.assertNoContent(self.accept(order))
        self.assertEqual(self.levels("WDR-NAV-10", "MCH-KHA-32"), (7, 9))
        first = order["order_lines"][0]["order_line_id"]
        response = self.api(
            "PUT",
            "/api/orders/cancel",
            json={
                "cancelations": [
                    {
                        "order_line_id": first,
                        "quantity": 1,
                        "amount": 59.00,
                        "shipping_amount": 1.32,
                        "reason_code": "OUT_OF_STOCK",
                        "taxes": [{"code": "GB_VAT_STD", "amount": 9.83}],
                        "shipping_taxes": [{"code": "GB_VAT_STD", "amount": 0.22}],
                    }
                ]
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.quantity("WDR-NAV-10"), 8)
        self.assertNoContent(
            self.api("PUT", "/api/orders/%s/cancel" % order["order_id"])
        )
        self.assertEqual(self.levels("WDR-NAV-10", "MCH-KHA-32"), (10, 10))

    def test_raw_orders_and_skus_without_offer(self):
        created = parse_iso(self.control.now()) - timedelta(minutes=5)
        line = {
            "order_line_id": "RAW-1-A-1",
            "order_line_state": "WAITING_ACCEPTANCE",
            "offer_sku": "WDR-NAV-10",
            "quantity": 2,
        }
        raw = {
            "order_id": "RAW-1-A",
            "order_state": "WAITING_ACCEPTANCE",
            "created_date": iso(created),
            "last_updated_date": iso(created),
            "order_lines": [
                line,
                dict(line, order_line_id="RAW-1-A-2", offer_sku="ZZ"),
            ],
        }
        self.control.add_raw_order(raw)
        self.assertEqual(self.quantity("WDR-NAV-10"), 8)
        self.assertNoContent(
            self.api(
                "PUT",
                "/api/orders/RAW-1-A/accept",
                json={
                    "order_lines": [
                        {"id": "RAW-1-A-1", "accepted": False},
                        {"id": "RAW-1-A-2", "accepted": False},
                    ]
                },
            )
        )
        self.assertEqual(self.quantity("WDR-NAV-10"), 10)
        # an order for a SKU whose offer was deleted takes nothing
        self.of24(offer("MOS-BLU-M", update_delete="delete"))
        self.order(("MOS-BLU-M", 1))
        self.assertNotIn("MOS-BLU-M", self.offers())


@tagged("post_install", "-at_install")
class TestSandboxOfferControl(OffersCase):
    def test_put_and_add_offers(self):
        entry = self.set_quantity("WDR-NAV-10", 6)
        self.assertEqual((entry["quantity"], entry["active"]), (6, True))
        (listed,) = self.of21(sku="WDR-NAV-10")["offers"]
        self.assertEqual(listed["quantity"], 6)
        entry = self.control.call("PUT", "offers/WDR-NAV-10", json={"price": "12.50"})
        self.assertEqual(entry["price"], 12.5)
        for body in ({"quantity": -1}, {"quantity": "3"}, {"colour": "red"}):
            with self.subTest(body=body), self.assertRaises(requests.HTTPError):
                self.control.call("PUT", "offers/WDR-NAV-10", json=body)
        with self.assertRaises(requests.HTTPError):
            self.control.call("PUT", "offers/NOPE", json={"quantity": 1})
        added = self.control.call(
            "POST",
            "offers",
            json={
                "offers": [
                    {"sku": "EXTRA-1", "quantity": 4, "price": 9.5, "title": "Extra"},
                    {"sku": "EXTRA-2", "quantity": 0},
                ]
            },
        )
        self.assertEqual(added, {"created": 2, "skus": ["EXTRA-1", "EXTRA-2"]})
        extra = self.offers("EXTRA-1", "EXTRA-2")
        self.assertEqual(
            (extra["EXTRA-1"]["quantity"], extra["EXTRA-1"]["price"]), (4, 9.5)
        )
        self.assertEqual(extra["EXTRA-2"]["price"], 10.0)
        self.assertTrue(extra["EXTRA-1"]["ean"].startswith("2"))
        (listed,) = self.of21(sku="EXTRA-1")["offers"]
        self.assertEqual(listed["product_title"], "Extra")
        # the new catalogue product is known to OF24 and to order specs
        import_id = self.of24(
            offer(
                "EXTRA-1-B",
                product_id=extra["EXTRA-1"]["ean"],
                product_id_type="EAN",
                quantity=1,
            )
        )
        self.assertEqual(self.of02(import_id)["offer_inserted"], 1)
        self.control.create_orders(
            orders=[{"lines": [{"sku": "EXTRA-1", "quantity": 3}]}]
        )
        self.assertEqual(self.quantity("EXTRA-1"), 1)
        for body in (
            {"offers": [{"sku": "EXTRA-1", "quantity": 1}]},  # exists
            {"offers": [{"sku": "EXTRA-3"}]},  # no quantity
            {"offers": [{"sku": "E", "quantity": 1}, {"sku": "E", "quantity": 1}]},
            {"generate": {"prefix": "G-", "count": 0}},
            {"generate": {"prefix": "G-", "count": 2}, "offers": []},
        ):
            with self.subTest(body=body), self.assertRaises(requests.HTTPError):
                self.control.call("POST", "offers", json=body)
        self.assertNotIn("E", self.offers())
        generated = self.control.call(
            "POST",
            "offers",
            json={"generate": {"prefix": "G-", "count": 3, "quantity": 2, "price": 5}},
        )
        self.assertEqual(generated["skus"], ["G-000001", "G-000003"])
        self.assertEqual(
            {
                sku: e["quantity"]
                for sku, e in self.offers("G-000001", "G-000003").items()
            },
            {"G-000001": 2, "G-000003": 2},
        )
        self.assertEqual(self.of21()["total_count"], SEED_OFFERS + 2 + 1 + 3)
