"""The sandbox's operator model (H11, PM11, VL11) and product imports (P41,
P42, P44, P45, P47): validation like an operator, integration after a delay,
offers accepted on the products it created.

Plain ``requests`` against the sandbox (never the connector's client), as in
``test_sandbox``.
"""

import csv
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.tests import tagged

from .test_sandbox import SandboxHttpCase

HEADER = (
    "shop_sku",
    "category",
    "variant_group_code",
    "title",
    "brand",
    "colour",
    "size",
    "care_instructions",
)


def product_file(*rows, header=HEADER, delimiter=";"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def dress(sku, colour="BLUE_NAVY", size="UK8", group="G1", **changes):
    row = {
        "shop_sku": sku,
        "category": "WOMEN_DRESSES",
        "variant_group_code": group,
        "title": "Linen dress",
        "brand": "Hartley & Finch",
        "colour": colour,
        "size": size,
        "care_instructions": "Wash at 30",
    }
    row.update(changes)
    return [row[column] for column in HEADER]


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/image"):
            body, kind = b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png"
        elif self.path.startswith("/page"):
            body, kind = b"<html></html>", "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        return


@tagged("post_install", "-at_install")
class TestSandboxModel(SandboxHttpCase):
    def get(self, path, **params):
        response = self.api("GET", path, params=params)
        return response.status_code, response.json()

    def test_h11_tree(self):
        status, body = self.get("/api/hierarchies")
        self.assertEqual(status, 200)
        nodes = {n["code"]: n for n in body["hierarchies"]}
        self.assertEqual(len(nodes), 19)
        self.assertEqual(nodes["WOMEN_DRESSES"]["parent_code"], "WOMENSWEAR")
        self.assertEqual(nodes["WOMEN_DRESSES"]["level"], 2)
        self.assertIsNone(nodes["WOMENSWEAR"]["parent_code"])
        status, body = self.get("/api/hierarchies", hierarchy="KIDSWEAR", max_level=1)
        self.assertEqual(
            [n["code"] for n in body["hierarchies"]],
            ["KIDSWEAR", "KIDS_TOPS", "KIDS_OUTERWEAR", "KIDS_NIGHTWEAR"],
        )
        status, _body = self.get("/api/hierarchies", hierarchy="NOPE")
        self.assertEqual(status, 404)

    def test_pm11_attributes_levels_and_roles(self):
        status, body = self.get("/api/products/attributes")
        self.assertEqual(status, 200)
        self.assertNotIn("roles", body["attributes"][0])
        _status, body = self.get("/api/products/attributes", with_roles="true")
        entries = body["attributes"]
        roles = {r["type"]: a["code"] for a in entries for r in a.get("roles") or ()}
        self.assertEqual(roles["SHOP_SKU"], "shop_sku")
        self.assertEqual(roles["CATEGORY"], "category")
        self.assertEqual(roles["VARIANT_GROUP_CODE"], "variant_group_code")
        colour = [a for a in entries if a["code"] == "colour"]
        levels = {a["hierarchy_code"]: a["requirement_level"] for a in colour}
        self.assertEqual(levels[""], "OPTIONAL")
        self.assertEqual(levels["WOMENSWEAR"], "REQUIRED")
        self.assertTrue(colour[0]["variant"])
        self.assertEqual(
            colour[0]["type_parameters"], [{"name": "LIST_CODE", "value": "COLOUR"}]
        )
        # For one category: its ancestors' and the global entries only.
        _status, body = self.get("/api/products/attributes", hierarchy="CAR_SEATS")
        hierarchies = {a["hierarchy_code"] for a in body["attributes"]}
        self.assertEqual(hierarchies, {"", "CAR_SEATS"})
        status, _body = self.get("/api/products/attributes", hierarchy="NOPE")
        self.assertEqual(status, 404)

    def test_vl11_value_lists(self):
        _status, body = self.get("/api/values_lists")
        self.assertEqual([v["code"] for v in body["values_lists"]], ["COLOUR", "SIZE"])
        _status, body = self.get("/api/values_lists", code="SIZE")
        (sizes,) = body["values_lists"]
        self.assertIn({"code": "UK8", "label": "8"}, sizes["values"])
        status, _body = self.get("/api/values_lists", code="NOPE")
        self.assertEqual(status, 404)

    def test_the_model_can_be_replaced_but_must_hold_together(self):
        model = self.control.call("GET", "product-model")
        model["hierarchies"] = [
            h for h in model["hierarchies"] if h["code"] != "ACC_BELTS"
        ]
        self.control.call("PUT", "product-model", json=model)
        _status, body = self.get("/api/hierarchies")
        self.assertNotIn("ACC_BELTS", [n["code"] for n in body["hierarchies"]])
        model["attributes"][0]["hierarchy_code"] = "NOPE"
        response = self.control.session.put(
            self.control._url("product-model"), json=model, timeout=10
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("NOPE", response.json()["message"])


@tagged("post_install", "-at_install")
class TestSandboxProductImports(SandboxHttpCase):
    def p41(self, content, filename="products.csv"):
        response = self.api(
            "POST",
            "/api/products/imports",
            files={"file": (filename, content, "text/csv")},
        )
        self.assertEqual(response.status_code, 201, response.text)
        import_id = response.json()["import_id"]
        self.assertIsInstance(import_id, int)
        return import_id

    def p42(self, import_id):
        response = self.api("GET", "/api/products/imports/%s" % import_id)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def report(self, import_id, name):
        return self.api("GET", "/api/products/imports/%s/%s" % (import_id, name))

    def errors(self, import_id):
        response = self.report(import_id, "error_report")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(response.headers["Content-Type"].startswith("text/csv"))
        return {row["shop_sku"]: row["errors"] for row in csv_rows(response.text)}

    def test_p41_needs_a_multipart_file(self):
        response = self.api("POST", "/api/products/imports", json={"file": "x"})
        self.assertEqual(response.status_code, 400)
        response = self.api(
            "POST", "/api/products/imports", files={"other": ("a.csv", b"x")}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            self.api("GET", "/api/products/imports/999999").status_code, 404
        )
        self.assertEqual(self.api("GET", "/api/products/imports/abc").status_code, 400)

    def test_statuses_delays_and_integration(self):
        self.control.config(
            import_delay_seconds=30, product_integration_delay_seconds=600
        )
        import_id = self.p41(product_file(dress("D1"), dress("D2", size="UK10")))
        status = self.p42(import_id)
        self.assertEqual(status["import_status"], "TRANSFORMATION_WAITING")
        self.assertEqual(self.report(import_id, "new_product_report").status_code, 404)
        self.control.advance(31)
        status = self.p42(import_id)
        self.assertEqual(status["import_status"], "SENT")
        self.assertFalse(status["has_error_report"])
        self.assertFalse(status["has_new_product_report"])
        self.assertEqual(status["integration_details"]["products_not_synchronized"], 2)
        self.control.advance(600)
        status = self.p42(import_id)
        self.assertEqual(status["import_status"], "COMPLETE")
        self.assertTrue(status["has_new_product_report"])
        report = csv_rows(self.report(import_id, "new_product_report").text)
        self.assertEqual([r["shop_sku"] for r in report], ["D1", "D2"])
        self.assertTrue(all(r["product-sku"].startswith("MKPP") for r in report))
        self.assertEqual(report[0]["category"], "WOMEN_DRESSES")
        products = {
            p["sku"]: p for p in self.control.call("GET", "products")["products"]
        }
        self.assertEqual(products["D1"]["variant_group"], "G1")
        # The same SKU again updates the product: no new-product report line.
        again = self.p41(product_file(dress("D1", title="Linen dress, new")))
        self.control.advance(31)
        self.assertEqual(self.p42(again)["import_status"], "SENT")
        self.control.advance(600)
        status = self.p42(again)
        self.assertEqual(status["import_status"], "COMPLETE")
        self.assertFalse(status["has_new_product_report"])
        products = {
            p["sku"]: p for p in self.control.call("GET", "products")["products"]
        }
        self.assertEqual(products["D1"]["values"]["title"], "Linen dress, new")
        self.assertEqual(products["D1"]["product_sku"], report[0]["product-sku"])

    def test_validation_like_an_operator(self):
        import_id = self.p41(
            product_file(
                dress("OK1"),
                dress("NOCAT", category="HATS_ON_MARS"),
                dress("NOLEAF", category="WOMENSWEAR"),
                dress("MISSING", care_instructions=""),
                dress("NAVY", colour="Navy"),
                dress("LONG", title="x" * 81),
                dress("OK1", size="UK10"),
                dress("SAME", colour="BLUE_NAVY", size="UK8"),
                dress("OTHERCAT", group="G1", category="WOMEN_COATS", size="UK12"),
                dress("", size="UK14"),
            )
        )
        self.assertEqual(self.p42(import_id)["import_status"], "COMPLETE")
        errors = self.errors(import_id)
        self.assertNotIn("OK1", [sku for sku in errors if errors[sku] == ""])
        self.assertIn("'HATS_ON_MARS' does not exist", errors["NOCAT"])
        self.assertIn("not a leaf category", errors["NOLEAF"])
        self.assertIn(
            "'care_instructions' is required for category 'Dresses'", errors["MISSING"]
        )
        self.assertIn(
            "value 'Navy' of attribute 'colour' is not in the list 'COLOUR'",
            errors["NAVY"],
        )
        self.assertIn("81 characters long, at most 80", errors["LONG"])
        self.assertIn("given more than once in the file", errors["OK1"])
        self.assertIn("same variant values", errors["SAME"])
        self.assertIn("holds products of category", errors["OTHERCAT"])
        self.assertIn("The product SKU (shop_sku) is required", errors[""])
        products = self.control.call("GET", "products")["products"]
        self.assertEqual([p["sku"] for p in products], ["OK1"])

    def test_types_and_disabled_attributes(self):
        header = ("shop_sku", "category", "title", "brand", "max_child_weight", "size")
        import_id = self.p41(
            product_file(
                ("SEAT1", "CAR_SEATS_INFANT", "Seat", "HF", "13", ""),
                ("SEAT2", "CAR_SEATS_INFANT", "Seat", "HF", "13 kg", ""),
                ("SEAT3", "CAR_SEATS_INFANT", "Seat", "HF", "13", "UK8"),
                header=header,
            )
        )
        self.p42(import_id)
        errors = self.errors(import_id)
        self.assertEqual(sorted(errors), ["SEAT2", "SEAT3"])
        self.assertIn(
            "'13 kg' of attribute 'max_child_weight' is not an integer", errors["SEAT2"]
        )
        self.assertIn("'size' is disabled for category", errors["SEAT3"])

    def test_transformation_reports(self):
        # Another delimiter than the operator's: the file cannot be read.
        import_id = self.p41(product_file(dress("D1"), delimiter=","))
        status = self.p42(import_id)
        self.assertEqual(status["import_status"], "TRANSFORMATION_FAILED")
        self.assertIn("no column 'shop_sku'", status["reason_status"])
        self.assertTrue(status["has_transformation_error_report"])
        report = csv_rows(self.report(import_id, "transformation_error_report").text)
        self.assertIn("no column", report[0]["error-message"])
        # An unknown column is ignored, a line too long is left out.
        content = product_file(
            dress("D1") + ["cotton"],
            dress("D2", size="UK10") + ["wool", "extra"],
            header=HEADER + ("fabric",),
        )
        import_id = self.p41(content)
        status = self.p42(import_id)
        self.assertEqual(status["import_status"], "COMPLETE")
        self.assertEqual(status["transform_lines_in_error"], 1)
        report = csv_rows(self.report(import_id, "transformation_error_report").text)
        self.assertEqual(
            [(r["error-line"], r["error-message"][:24]) for r in report],
            [("1", "The column 'fabric' is n"), ("3", "The line has 10 values, ")],
        )
        self.assertEqual(self.report(import_id, "error_report").status_code, 404)

    def test_images_are_downloaded(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        base = "http://127.0.0.1:%d" % server.server_port
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = "http://127.0.0.1:%d/image" % sock.getsockname()[1]
        header = HEADER + ("main_image",)
        import_id = self.p41(
            product_file(
                dress("IMG", size="UK8") + [base + "/image/1.png"],
                dress("PAGE", size="UK10") + [base + "/page"],
                dress("GONE", size="UK12") + [base + "/missing.png"],
                dress("DOWN", size="UK14") + [closed],
                dress("NOURL", size="UK16") + ["not a link"],
                header=header,
            )
        )
        self.p42(import_id)
        errors = self.errors(import_id)
        self.assertNotIn("IMG", errors)
        self.assertIn("not an image", errors["PAGE"])
        self.assertIn("HTTP 404", errors["GONE"])
        self.assertIn("could not be downloaded", errors["DOWN"])
        self.assertIn("is not an http(s) URL", errors["NOURL"])
        # Switched off, links are only checked for their form.
        self.control.config(product_image_check=False)
        import_id = self.p41(
            product_file(dress("DOWN", size="UK14") + [closed], header=header)
        )
        self.p42(import_id)
        self.assertEqual(self.report(import_id, "error_report").status_code, 404)

    def test_offers_are_accepted_on_created_products(self):
        header = HEADER + ("ean",)
        import_id = self.p41(
            product_file(dress("D1") + ["5069876500017"], header=header)
        )
        self.p42(import_id)
        product_sku = csv_rows(self.report(import_id, "new_product_report").text)[0][
            "product-sku"
        ]
        offers = [
            {
                "shop_sku": "D1",
                "product_id": product_sku,
                "product_id_type": "SKU",
                "price": 59,
                "state_code": "11",
                "update_delete": "",
                "quantity": 4,
            },
            {
                "shop_sku": "D1-EAN",
                "product_id": "5069876500017",
                "product_id_type": "EAN",
                "price": 59,
                "state_code": "11",
                "update_delete": "",
                "quantity": 2,
            },
            {
                "shop_sku": "D2",
                "product_id": "MKPP999999",
                "product_id_type": "SKU",
                "price": 59,
                "state_code": "11",
                "update_delete": "",
            },
        ]
        response = self.api("POST", "/api/offers", json={"offers": offers})
        offer_import = response.json()["import_id"]
        status = self.api("GET", "/api/offers/imports/%s" % offer_import).json()
        self.assertEqual((status["offer_inserted"], status["lines_in_error"]), (2, 1))
        listed = {o["sku"]: o for o in self.control.call("GET", "offers")["offers"]}
        self.assertEqual(listed["D1"]["product_sku"], product_sku)
        self.assertTrue(listed["D1"]["active"])
