"""MiraklClient's catalogue methods (H11, PM11, VL11, P41, P42, P44, P45,
P47) against the sandbox, and the pure helpers of ``lib.products``."""

from odoo.tests import BaseCase, tagged
from odoo.tools import mute_logger

from ..lib import (
    MiraklNotFoundError,
    MiraklProtocolError,
    MiraklServerError,
    NewProduct,
    build_product_file,
    parse_new_product_report,
    parse_product_error_report,
)
from .test_client import ClientCase, query_values

CLIENT_LOGGER = "odoo.addons.mirakl_connector.lib.transport"
COLUMNS = ["shop_sku", "category", "title", "brand", "colour", "size"]


def dress(sku, colour="BLACK", **changes):
    row = dict(
        zip(COLUMNS, [sku, "ACC_SCARVES", "Scarf", "HF", colour, "M"], strict=True)
    )
    row.update(changes)
    return [row[c] for c in COLUMNS]


@tagged("post_install", "-at_install")
class TestClientCatalogue(ClientCase):
    def test_model_reads(self):
        client = self.client()
        nodes = client.list_hierarchies()
        self.assertEqual(len(nodes), 19)
        self.assertEqual(
            len(client.list_hierarchies(hierarchy="MENSWEAR", max_level=1)), 4
        )
        attributes = client.list_product_attributes()
        self.assertTrue(any(a.get("roles") for a in attributes))
        (call,) = self.control.calls(operation="PM11")[-1:]
        self.assertEqual(query_values(call, "with_roles"), ["true"])
        self.assertEqual(query_values(call, "shop_id"), ["2001"])
        lists = client.list_values_lists()
        self.assertEqual([v["code"] for v in lists], ["COLOUR", "SIZE"])
        self.assertEqual(client.list_values_lists(code="SIZE")[0]["code"], "SIZE")
        with self.assertRaises(MiraklNotFoundError):
            client.list_hierarchies(hierarchy="NOPE")

    @mute_logger(CLIENT_LOGGER)
    def test_model_answers_of_another_shape_are_refused(self):
        client = self.client()
        self.control.fault("malformed", operation="H11")
        with self.assertRaises(MiraklProtocolError):
            client.list_hierarchies()
        self.control.fault("html", operation="VL11")
        with self.assertRaises(MiraklProtocolError):
            client.list_values_lists()

    def test_product_import_round_trip(self):
        client = self.client()
        content = build_product_file(
            COLUMNS, [dress("J1"), dress("J2", colour="Navy"), dress("J3", size="S")]
        )
        import_id = client.import_products(content, filename="range.csv")
        self.assertIsInstance(import_id, int)
        (call,) = self.control.calls(operation="P41")
        self.assertTrue(call["content_type"].startswith("multipart/form-data;"))
        parts = {part["name"]: part for part in call["body"]["multipart"]}
        self.assertEqual(parts["file"]["filename"], "range.csv")
        self.assertEqual(parts["file"]["lines"], 4)
        self.assertEqual(parts["operator_format"]["head"], ["true"])
        status = client.get_product_import(import_id)
        self.assertEqual(status["import_status"], "COMPLETE")
        errors = parse_product_error_report(
            client.get_product_import_error_report(import_id), "shop_sku"
        )
        self.assertEqual([e.sku for e in errors], ["J2"])
        self.assertIn("not in the list 'COLOUR'", errors[0].message)
        created = parse_new_product_report(
            client.get_product_import_new_product_report(import_id), "shop_sku"
        )
        self.assertEqual([p.sku for p in created], ["J1", "J3"])
        self.assertTrue(created[0].product_sku.startswith("MKPP"))
        with self.assertRaises(MiraklNotFoundError):
            client.get_product_import_transformation_error_report(import_id)
        with self.assertRaises(MiraklNotFoundError):
            client.get_product_import(999999)

    @mute_logger(CLIENT_LOGGER)
    def test_a_product_file_is_not_sent_twice_on_a_server_error(self):
        client = self.client()
        self.control.fault("500", operation="P41", count=3)
        with self.assertRaises(MiraklServerError):
            client.import_products(build_product_file(COLUMNS, [dress("J1")]))
        self.assertEqual(len(self.control.calls(operation="P41")), 1)

    @mute_logger(CLIENT_LOGGER)
    def test_a_status_without_import_status_is_refused(self):
        client = self.client()
        import_id = client.import_products(build_product_file(COLUMNS, [dress("J1")]))
        self.control.fault("malformed", operation="P42")
        with self.assertRaises(MiraklProtocolError):
            client.get_product_import(import_id)


@tagged("post_install", "-at_install")
class TestProductFiles(BaseCase):
    def test_build_product_file(self):
        content = build_product_file(
            ["sku", "title"], [["A;1", 'Say "hi"'], ["B", None]], delimiter=";"
        )
        self.assertEqual(
            content.decode(),
            '"sku";"title"\n"A;1";"Say ""hi"""\n"B";""\n',
        )
        self.assertEqual(
            build_product_file(["a", "b"], [["1", "2"]], delimiter="\t"),
            b'"a"\t"b"\n"1"\t"2"\n',
        )
        with self.assertRaises(ValueError):
            build_product_file(["a"], [["1", "2"]])
        with self.assertRaises(ValueError):
            build_product_file(["a", "a"], [])
        with self.assertRaises(ValueError):
            build_product_file(["a"], [], delimiter=":")

    def test_error_reports_by_column_name(self):
        report = (
            "\ufeffSKU_Code;title;Problems;warnings\r\n"
            "A1;Dress;Colour is required;\r\n"
            "\r\n"
            "A2;Coat;Too long\r\n"
        )
        lines = parse_product_error_report(report, "sku_code", "problems")
        self.assertEqual(
            [(e.sku, e.message) for e in lines],
            [
                ("A1", "Colour is required"),
                ("A2", "Too long"),
            ],
        )
        self.assertIsNone(lines[0].line)
        # Default reason columns; a line number when the report has one.
        lines = parse_product_error_report(
            '"error-line";"error-message";"shop_sku"\n"3";"Bad line";""\n',
            "shop_sku",
        )
        self.assertEqual(
            (lines[0].line, lines[0].sku, lines[0].message), (3, None, "Bad line")
        )
        self.assertEqual(parse_product_error_report("", "sku"), [])

    def test_new_product_reports(self):
        report = "sku,Product-SKU,category\nA1,MKP1,DRESSES\n,MKP2,DRESSES\nA3,,X\n"
        self.assertEqual(
            parse_new_product_report(report, "sku"),
            [
                NewProduct(
                    "A1",
                    "MKP1",
                    {"sku": "A1", "Product-SKU": "MKP1", "category": "DRESSES"},
                ),
                NewProduct(
                    "A3", None, {"sku": "A3", "Product-SKU": "", "category": "X"}
                ),
            ],
        )
        self.assertEqual(
            [
                p.product_sku
                for p in parse_new_product_report(
                    "ref;mirakl_id\nA1;M9\n", "ref", "mirakl_id"
                )
            ],
            ["M9"],
        )
