"""Images by public links: the route serves one variant's image for its
token and nothing else, and the sandbox, like an operator, downloads every
image link of a product file from this Odoo over real HTTP (an unreachable
link rejects the product)."""

import base64
import socket
import threading

from werkzeug.serving import make_server
from werkzeug.test import Client

import odoo
from odoo.tests import tagged

from .catalogue_common import CatalogueCommon, png_bytes


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestImageLinks(CatalogueCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Requests served by Odoo's WSGI application use this test's cursor.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.server = make_server("127.0.0.1", 0, odoo.http.root, threaded=True)
        thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        thread.start()
        cls.addClassCleanup(cls.server.shutdown)
        cls.odoo_url = "http://127.0.0.1:%d" % cls.server.server_port
        cls.set_source("main_image", "image")
        cls.hat.image_1920 = png_bytes()

    def setUp(self):
        super().setUp()
        self.backend.product_image_base_url = self.odoo_url
        self.env.flush_all()

    def client(self):
        client = Client(odoo.http.root)
        session = odoo.http.root.session_store.new()
        session.update(odoo.http.get_default_session(), db=self.env.cr.dbname)
        odoo.http.root.session_store.save(session)
        client.set_cookie("session_id", session.sid)
        return client

    def link(self, sku):
        self.backend._mirakl_check_products()
        self.env.flush_all()
        return self.import_link(sku)

    def import_link(self, sku):
        catalogue = self.backend._mirakl_catalogue()
        (chunk,) = self.backend._mirakl_product_chunks(
            catalogue, offer_ids=self.offer(sku).ids, store=False
        )
        return chunk[0].cells.get("main_image")

    def test_the_link_serves_that_image_only(self):
        link = self.link("CBN-CAM")
        self.assertTrue(link.startswith(self.odoo_url + "/mirakl/image/"))
        path = link[len(self.odoo_url) :]
        client = self.client()
        response = client.get(path)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.mimetype, "image/png")
        self.assertEqual(
            response.get_data(),
            base64.b64decode(self.hat.product_variant_id.image_1920),
        )
        token = path.split("/")[3]
        # Anything else: 404, no login page, no other record.
        for wrong in (
            "/mirakl/image/%s/0" % ("x" * len(token)),
            "/mirakl/image/short/0",
            "/mirakl/image/%s" % token,
            "/mirakl/image/%s/0/extra" % token,
        ):
            with self.subTest(path=wrong):
                self.assertEqual(client.get(wrong).status_code, 404)
        # A variant without image has no link; an archived one serves nothing.
        self.assertIsNone(self.link("LSD-NAV-8"))
        self.hat.product_variant_id.active = False
        self.env.flush_all()
        self.assertEqual(client.get(path).status_code, 404)

    def test_a_new_image_changes_the_link_and_the_product_is_sent_again(self):
        first = self.link("CBN-CAM")
        self.assertEqual(self.send()["products"], 5)
        self.check()
        self.hat.image_1920 = png_bytes((10, 120, 10))
        second = self.link("CBN-CAM")
        self.assertNotEqual(first, second)
        self.assertEqual(first.split("/")[-2], second.split("/")[-2])  # same token
        self.assertEqual(self.send()["products"], 1)

    def test_the_operator_downloads_the_image(self):
        self.send()
        self.check()
        hat = self.offer("CBN-CAM")
        self.assertEqual(hat.product_state, "done", hat.product_error)
        sent = self.import_lines()["CBN-CAM"]["values"]["main_image"]
        self.assertTrue(sent.startswith(self.odoo_url + "/mirakl/image/"))

    def test_an_image_mirakl_cannot_download_rejects_the_product(self):
        self.backend.product_image_base_url = "http://127.0.0.1:%d" % closed_port()
        self.send()
        self.check()
        hat = self.offer("CBN-CAM")
        self.assertEqual(hat.product_state, "error")
        self.assertIn("could not be downloaded", hat.product_error)
        self.assertEqual(self.offer("LSD-NAV-8").product_state, "done")
        # The link is fixed: the line changed, the product goes again.
        self.backend.product_image_base_url = self.odoo_url
        self.assertEqual(self.send()["products"], 1)
        self.check()
        self.assertEqual(hat.product_state, "done", hat.product_error)
