"""Catalogue out, in Odoo against the sandbox over HTTP: the operator's model
(H11, PM11, VL11), the mapping rules, readiness, product files (P41) followed
to their final status (P42, P44, P45, P47), and offers going out once Mirakl
created their products."""

import ast
import copy

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .catalogue_common import CatalogueCommon

DRESS_SKUS = ("LSD-BLA-10", "LSD-BLA-8", "LSD-NAV-10", "LSD-NAV-8")


@tagged("post_install", "-at_install")
class TestOperatorModel(CatalogueCommon):
    def test_model_is_stored_per_shop(self):
        shop = [("backend_id", "=", self.backend.id)]
        categories = self.env["mirakl.category"].search(shop)
        self.assertEqual(len(categories), 19)
        self.assertEqual(len(categories.filtered("is_leaf")), 14)
        dresses = self.mirakl_categories["WOMEN_DRESSES"]
        self.assertEqual(dresses.parent_id.code, "WOMENSWEAR")
        self.assertEqual(dresses.complete_name, "Womenswear / Dresses")
        colour = self.attributes["colour"]
        self.assertEqual(colour.attribute_type, "LIST")
        self.assertEqual(colour.value_list_id.code, "COLOUR")
        self.assertTrue(colour.variant)
        self.assertTrue(colour.required_somewhere)
        levels = {r.category_code or "": r.level for r in colour.requirement_ids}
        self.assertEqual(levels["WOMENSWEAR"], "REQUIRED")
        self.assertEqual(levels[""], "OPTIONAL")
        self.assertEqual(self.attributes["title"].max_length, 80)
        # The SKU, category and variant group columns come from PM11's roles.
        self.assertEqual(self.attributes["shop_sku"].role, "sku")
        self.assertEqual(self.attributes["category"].role, "category")
        self.assertEqual(self.attributes["variant_group_code"].role, "variant_group")
        lists = self.env["mirakl.value.list"].search(shop)
        self.assertEqual(sorted(lists.mapped("code")), ["COLOUR", "SIZE"])
        self.assertIn("BLUE_NAVY", lists.value_ids.mapped("code"))
        self.assertIn("19 categories (14 leaves)", self.backend.product_model_summary)
        # The mapping form of a category shows its attributes, sources, samples.
        rows = {
            row["code"]: row
            for row in self.backend._mirakl_category_attribute_rows(dresses)
        }
        self.assertEqual(rows["care_instructions"]["level"], "REQUIRED")
        self.assertIn("Product attribute", rows["colour"]["source"])
        self.assertIn("BLUE_NAVY", rows["colour"]["samples"][0] + "BLUE_NAVY")
        self.assertNotIn("max_child_weight", rows)  # disabled outside car seats
        self.assertIn("Care instructions", dresses.attribute_table)

    def test_what_disappeared_on_mirakl_is_archived_not_deleted(self):
        model = self.control.call("GET", "product-model")
        changed = copy.deepcopy(model)
        changed["hierarchies"] = [
            h for h in changed["hierarchies"] if h["code"] != "ACC_HATS"
        ]
        changed["attributes"] = [
            a for a in changed["attributes"] if a["code"] != "material"
        ]
        for value_list in changed["values_lists"]:
            if value_list["code"] == "COLOUR":
                value_list["values"] = [
                    v for v in value_list["values"] if v["code"] != "CAMEL"
                ]
        self.control.call("PUT", "product-model", json=changed)
        self.assertTrue(self.backend._mirakl_refresh_product_model())
        Category = self.env["mirakl.category"].with_context(active_test=False)
        hats = Category.search(
            [("backend_id", "=", self.backend.id), ("code", "=", "ACC_HATS")]
        )
        self.assertEqual(len(hats), 1)
        self.assertFalse(hats.active)
        material = (
            self.env["mirakl.attribute"]
            .with_context(active_test=False)
            .search([("backend_id", "=", self.backend.id), ("code", "=", "material")])
        )
        self.assertFalse(material.active)
        camel = (
            self.env["mirakl.value"]
            .with_context(active_test=False)
            .search([("backend_id", "=", self.backend.id), ("code", "=", "CAMEL")])
        )
        self.assertFalse(camel.active)
        self.assertIn("3 no longer on Mirakl", self.backend.product_model_summary)
        # The hat's mapping is kept, and the hat is not ready any more.
        hat = self.offer("CBN-CAM")
        self.assertEqual(hat.product_ready, "not_ready")
        self.assertIn("no longer on Mirakl", hat.product_problems)
        # Back on Mirakl: active again, the mapping works again.
        self.control.call("PUT", "product-model", json=model)
        self.assertTrue(self.backend._mirakl_refresh_product_model())
        self.assertTrue(hats.active)
        self.assertEqual(hat.product_ready, "ready")

    @mute_logger("odoo.addons.mirakl_connector.lib.transport")
    def test_a_failed_read_keeps_the_model(self):
        self.control.fault("500", operation="PM11", count=10)
        before = self.env["mirakl.attribute"].search_count(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertFalse(self.backend._mirakl_refresh_product_model())
        self.assertEqual(
            self.env["mirakl.attribute"].search_count(
                [("backend_id", "=", self.backend.id)]
            ),
            before,
        )
        self.assertTrue(self.open_issues(operation="PM11"))

    def test_daily_refresh_reads_the_model(self):
        self.control.clear_calls()
        self.env["mirakl.backend"]._cron_mirakl_refresh_platform()
        operations = [c["operation"] for c in self.control.calls()]
        for operation in ("H11", "PM11", "VL11"):
            self.assertIn(operation, operations)


@tagged("post_install", "-at_install")
class TestMapping(CatalogueCommon):
    def test_category_mapping_subcategories_and_override(self):
        dress = self.offer("LSD-NAV-8")
        self.assertEqual(dress.product_category_id.code, "WOMEN_DRESSES")
        # A subcategory follows its parent's mapping.
        sub = self.env["product.category"].create(
            {"name": "Maxi dresses", "parent_id": self.categ_dresses.id}
        )
        self.dress.categ_id = sub
        self.assertEqual(dress.product_category_id.code, "WOMEN_DRESSES")
        # A product override wins.
        self.env["mirakl.category.map"].create(
            {
                "backend_id": self.backend.id,
                "product_tmpl_id": self.dress.id,
                "mirakl_category_id": self.mirakl_categories["WOMEN_COATS"].id,
            }
        )
        self.backend._mirakl_check_products()
        self.assertEqual(dress.product_category_id.code, "WOMEN_COATS")
        # An unmapped category says what to do.
        self.hat.categ_id = self.env.ref("product.product_category_all")
        hat = self.offer("CBN-CAM")
        self.assertEqual(hat.product_ready, "not_ready")
        self.assertIn("no Mirakl category", hat.product_problems)
        self.assertIn("All", hat.product_problems)

    def test_products_go_in_leaf_categories_only(self):
        with self.assertRaises(ValidationError):
            self.env["mirakl.category.map"].create(
                {
                    "backend_id": self.backend.id,
                    "categ_id": self.categ_fashion.id,
                    "mirakl_category_id": self.mirakl_categories["WOMENSWEAR"].id,
                }
            )

    def test_each_source_kind_fills_its_column(self):
        self.set_source("weight", "field", field="weight")
        self.dress.product_variant_ids.write({"weight": 0.45})
        self.assertTrue(self.send()["ok"])
        lines = self.import_lines()
        values = lines["LSD-NAV-8"]["values"]
        self.assertEqual(values["title"], "Linen shirt dress")  # product field
        self.assertEqual(values["care_instructions"], "Machine wash at 30 degrees.")
        self.assertEqual(values["brand"], "Hartley & Finch")  # fixed value
        self.assertEqual(values["colour"], "BLUE_NAVY")  # attribute, list code
        self.assertEqual(values["size"], "UK8")
        self.assertEqual(values["weight"], "0.45")
        self.assertEqual(values["category"], "WOMEN_DRESSES")
        self.assertEqual(values["variant_group_code"], "PT%s" % self.dress.id)
        self.assertNotIn("material", values)  # no source: no column
        self.assertEqual(lines["CBN-CAM"]["values"]["size"], "")  # not a dress

    def test_value_suggestion_is_only_used_once_confirmed(self):
        colours = {v.name: v for v in self.colour.value_ids}
        # Sage is not in the list as such: suggested as Sage green, not sent.
        self.dress.attribute_line_ids.filtered(
            lambda line: line.attribute_id == self.colour
        ).value_ids = [(4, colours["Sage"].id)]
        sage = self.dress.product_variant_ids.filtered(
            lambda p: "Sage" in p.product_template_attribute_value_ids.mapped("name")
        )
        sage[0].default_code = "LSD-SAG-8"
        sage[1].default_code = "LSD-SAG-10"
        offers = self.env["mirakl.offer"].create(
            [{"backend_id": self.backend.id, "product_id": p.id} for p in sage]
        )
        self.assertEqual(set(offers.mapped("product_ready")), {"not_ready"})
        self.assertIn("value 'Sage' not in list COLOUR", offers[0].product_problems)
        row = self.env["mirakl.value.map"].search(
            [("backend_id", "=", self.backend.id), ("odoo_value", "=", "Sage")]
        )
        self.assertEqual(row.state, "suggested")
        self.assertEqual(row.value_id.code, "GREEN_SAGE")
        self.send()
        self.assertNotIn("LSD-SAG-8", self.import_lines())
        row.action_confirm()
        self.assertEqual(set(offers.mapped("product_ready")), {"ready"})
        self.send()
        self.assertEqual(
            self.import_lines()["LSD-SAG-8"]["values"]["colour"], "GREEN_SAGE"
        )

    def test_a_value_equal_to_a_code_needs_no_mapping(self):
        self.set_source("colour", "fixed", fixed="MULTI")
        hat = self.offer("CBN-CAM")
        self.assertEqual(hat.product_ready, "ready")
        # (the dress's variants now share their colour: told apart by size)
        self.assertIn("same variant values", self.offer("LSD-NAV-10").product_problems)
        self.set_source("colour", "fixed", fixed="Multi colour")
        self.assertIn("value 'Multi colour' not in list COLOUR", hat.product_problems)


@tagged("post_install", "-at_install")
class TestReadiness(CatalogueCommon):
    def test_ready_products_and_shop_counts(self):
        self.assertEqual(set(self.range_offers.mapped("product_ready")), {"ready"})
        # The screens list them: the shop's products, the menu's, a category's.
        for action in (
            self.backend.action_open_products(),
            self.env["ir.actions.act_window"]._for_xml_id(
                "mirakl_connector.mirakl_offer_product_action"
            ),
            self.mirakl_categories["WOMEN_DRESSES"].action_open_products(),
        ):
            domain = action["domain"]
            if isinstance(domain, str):
                domain = ast.literal_eval(domain)
            found = self.env["mirakl.offer"].search(domain)
            self.assertTrue(found)
            self.assertLessEqual(set(found.ids), set(self.range_offers.ids))
        attributes = self.mirakl_categories["WOMEN_DRESSES"].action_open_attributes()
        levels = {
            a.code: a.category_level
            for a in self.env["mirakl.attribute"]
            .with_context(**attributes["context"])
            .search(attributes["domain"])
        }
        self.assertEqual(levels["colour"], "REQUIRED")
        self.assertEqual(levels["description"], "RECOMMENDED")
        self.assertNotIn("shop_sku", levels)
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.product_ready_count, 5)
        self.assertEqual(self.backend.product_not_ready_count, 0)
        self.assertFalse(self.open_issues(operation="P41", mirakl_ref="readiness"))

    def test_missing_required_attributes(self):
        self.dress.description = False
        self.attributes["colour"].write({"source": "none"})
        dress = self.offer("LSD-NAV-8")
        self.assertEqual(dress.product_ready, "not_ready")
        self.assertEqual(dress.product_problems, "missing: Care instructions, Colour")
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.product_not_ready_count, 5)
        issue = self.open_issues(operation="P41", mirakl_ref="readiness")
        self.assertIn("5 products are not ready", issue.message)
        self.assertEqual(self.offer("CBN-CAM").product_problems, "missing: Colour")
        # Shown on the product too.
        variant = dress.product_id
        self.assertEqual(variant.mirakl_not_ready_count, 1)
        self.assertEqual(self.dress.mirakl_not_ready_count, 4)
        # Fixed: ready again, the shop's issue closes.
        self.dress.description = "<p>Hand wash.</p>"
        self.set_source("colour", "attribute", attribute=self.colour)
        self.assertEqual(dress.product_ready, "ready")
        self.assertFalse(self.open_issues(operation="P41", mirakl_ref="readiness"))

    def test_types_and_lengths(self):
        self.set_source("weight", "field", field="default_code")
        self.dress.name = "Linen shirt dress" + " with a very long name" * 4
        dress = self.offer("LSD-NAV-8")
        self.assertIn(
            "Shipping weight (kg): 'LSD-NAV-8' is not a number",
            dress.product_problems,
        )
        self.assertIn("Title: 105 characters, at most 80", dress.product_problems)

    def test_sku_problems_and_archived_products(self):
        first, second = self.offer("LSD-NAV-8"), self.offer("LSD-NAV-10")
        second.product_id.default_code = "LSD-NAV-8"
        self.backend._mirakl_check_products()
        self.assertIn("SKU problem", first.product_problems)
        second.product_id.default_code = "LSD-NAV-10"
        self.hat.active = False
        self.backend._mirakl_check_products()
        self.assertIn("archived", self.offer("CBN-CAM").product_problems)

    def test_variants_with_the_same_axis_values_are_not_ready(self):
        self.set_source("size", "fixed", fixed="UK8")
        dresses = self.range_offers.filtered(
            lambda o: o.product_id.product_tmpl_id == self.dress
        )
        problems = [p for p in dresses.mapped("product_problems") if p]
        # Two variants per colour collide: the later of each pair is held.
        self.assertEqual(len(problems), 2)
        self.assertTrue(all("same variant values as SKU" in p for p in problems))
        self.assertIn("colour=BLUE_NAVY, size=UK8", " ".join(problems))

    def test_a_category_that_gained_subcategories_is_not_a_leaf(self):
        model = self.control.call("GET", "product-model")
        model["hierarchies"].append(
            {
                "code": "ACC_HATS_WINTER",
                "label": "Winter hats",
                "level": 3,
                "parent_code": "ACC_HATS",
            }
        )
        self.control.call("PUT", "product-model", json=model)
        self.backend._mirakl_refresh_product_model()
        self.assertIn("has subcategories", self.offer("CBN-CAM").product_problems)


@tagged("post_install", "-at_install")
class TestSending(CatalogueCommon):
    def test_send_follow_and_create(self):
        self.control.config(product_integration_delay_seconds=600)
        result = self.send()
        self.assertTrue(result["ok"], result["message"])
        self.assertEqual((result["files"], result["products"]), (1, 5))
        record = self.env["mirakl.offer.import"].search(
            [("backend_id", "=", self.backend.id), ("kind", "=", "product")]
        )
        self.assertEqual(record.state, "sent")
        self.assertEqual(record.mirakl_status, "SENT")
        self.assertEqual(set(self.range_offers.mapped("product_state")), {"pending"})
        # Variants land as one product group on Mirakl.
        self.control.advance(601)
        self.check()
        self.assertEqual(record.state, "done")
        self.assertEqual(record.mirakl_status, "COMPLETE")
        self.assertTrue(record.new_product_report)
        self.assertEqual(set(self.range_offers.mapped("product_state")), {"done"})
        products = self.sandbox_products()
        groups = {products[sku]["variant_group"] for sku in DRESS_SKUS}
        self.assertEqual(groups, {"PT%s" % self.dress.id})
        dress = self.offer("LSD-NAV-8")
        self.assertEqual(dress.mirakl_product_sku, products["LSD-NAV-8"]["product_sku"])
        self.assertTrue(dress.product_created_date)

    def test_incremental_and_full(self):
        self.assertEqual(self.send()["products"], 5)
        self.check()
        again = self.send()
        self.assertEqual((again["products"], again["unchanged"]), (0, 5))
        self.hat.description_sale = "A softer cashmere beanie."
        result = self.send()
        self.assertEqual(result["products"], 1)
        self.assertEqual(list(self.import_lines()), ["CBN-CAM"])
        full = self.send(full=True)
        self.assertEqual(full["products"], 5)
        # Files are bounded: 2 lines each; bigger sends are followed later.
        self.backend.product_file_size = 2
        self.assertEqual(self.send(full=True)["files"], 3)
        waiting = self.env["mirakl.offer.import"].search(
            [("backend_id", "=", self.backend.id), ("state", "=", "sent")]
        )
        self.assertEqual(len(waiting), 3)
        self.check()
        self.assertEqual(set(waiting.mapped("state")), {"done"})

    def test_rejected_then_corrected(self):
        # The operator makes Material required after the model was read:
        # Odoo thinks the dress ready, Mirakl rejects it.
        model = self.control.call("GET", "product-model")
        model["attributes"].append(
            {
                "code": "material",
                "label": "Material",
                "hierarchy_code": "WOMEN_DRESSES",
                "type": "TEXT",
                "type_parameters": [],
                "requirement_level": "REQUIRED",
                "variant": False,
                "roles": [],
            }
        )
        self.control.call("PUT", "product-model", json=model)
        self.send()
        self.check()
        dress = self.offer("LSD-NAV-8")
        self.assertEqual(dress.product_state, "error")
        self.assertIn("'material' is required", dress.product_error)
        issue = self.open_issues(operation="P41", mirakl_ref="LSD-NAV-8")
        self.assertIn("'material' is required", issue.message)
        self.assertEqual(self.offer("CBN-CAM").product_state, "done")
        # Unchanged, it is not sent again, not even by a full send.
        self.assertEqual(self.send()["rejected"], 4)
        self.assertEqual(self.send(full=True)["products"], 1)
        # Corrected: the new data goes, Mirakl accepts it, the issue closes.
        self.set_source("material", "fixed", fixed="Linen")
        result = self.send()
        self.assertEqual(result["products"], 5)  # the hat's line changed too
        self.check()
        self.assertEqual(dress.product_state, "done")
        self.assertFalse(self.open_issues(operation="P41", mirakl_ref="LSD-NAV-8"))

    def test_only_ready_products_are_sent(self):
        self.hat.description_sale = False
        self.set_source("description", "field", field="description_sale")
        self.hat.categ_id = self.env.ref("product.product_category_all")
        result = self.send()
        self.assertEqual((result["products"], result["not_ready"]), (4, 1))
        self.assertNotIn("CBN-CAM", self.import_lines())

    @mute_logger("odoo.addons.mirakl_connector.lib.transport")
    def test_a_file_mirakl_cannot_read_is_sent_again(self):
        self.backend.product_csv_delimiter = ","
        self.send()
        self.check()
        record = self.env["mirakl.offer.import"].search(
            [("backend_id", "=", self.backend.id), ("kind", "=", "product")]
        )
        self.assertEqual(record.state, "failed")
        self.assertEqual(record.mirakl_status, "TRANSFORMATION_FAILED")
        self.assertTrue(record.transformation_report)
        dress = self.offer("LSD-NAV-8")
        self.assertEqual(dress.product_state, "error")
        self.assertIn("no column", dress.product_error)
        self.backend.product_csv_delimiter = ";"
        self.assertEqual(self.send()["products"], 5)
        self.check()
        self.assertEqual(dress.product_state, "done")

    @mute_logger("odoo.addons.mirakl_connector.lib.transport")
    def test_a_refused_upload_keeps_the_products_unsent(self):
        self.control.fault("500", operation="P41", count=5)
        result = self.send()
        self.assertFalse(result["ok"])
        self.assertEqual(set(self.range_offers.mapped("product_state")), {"new"})
        self.assertTrue(self.open_issues(operation="P41", mirakl_ref=False))
        self.control.clear_faults()
        self.assertEqual(self.send()["products"], 5)

    def test_scheduled_action_sends_changed_products(self):
        self.env["mirakl.backend"]._cron_mirakl_export_products()
        self.assertEqual(len(self.product_imports()), 1)
        self.env["mirakl.backend"]._cron_mirakl_export_products()
        self.assertEqual(len(self.product_imports()), 1)  # nothing changed


@tagged("post_install", "-at_install")
class TestOffersOfCreatedProducts(CatalogueCommon):
    def test_offers_wait_for_their_product_then_go_out(self):
        self.backend.offer_export_enabled = True
        for product in self.variants:
            self.set_stock(product, 7)
        push = self.backend._mirakl_push_stock(full=True)
        self.assertEqual(push["held"], 5)
        export = self.backend._mirakl_export_offers()
        self.assertEqual(export["held"], 5)
        self.assertFalse(self.control.calls(operation="OF24"))
        self.control.config(product_integration_delay_seconds=60)
        self.send()
        self.assertFalse(self.control.calls(operation="OF24"))
        self.control.advance(61)
        # The hourly job follows the import; the created products' offers
        # go out with OF24 in the same run, no second step.
        self.env["mirakl.backend"]._cron_mirakl_export_products()
        (call,) = self.control.calls(operation="OF24")
        sent = {o["shop_sku"]: o for o in call["body"]["offers"]}
        self.assertEqual(set(sent), set(self.offer_by_sku))
        products = self.sandbox_products()
        self.assertEqual(
            sent["LSD-NAV-8"]["product_id"], products["LSD-NAV-8"]["product_sku"]
        )
        self.assertEqual(sent["LSD-NAV-8"]["product_id_type"], "SKU")
        self.backend._mirakl_check_imports()
        offers = {
            o["sku"]: o
            for o in self.control.call("GET", "offers", params={"sku": "LSD-NAV-8"})[
                "offers"
            ]
        }
        self.assertEqual(offers["LSD-NAV-8"]["quantity"], 7)
        self.assertTrue(offers["LSD-NAV-8"]["active"])
        self.assertEqual(self.offer("LSD-NAV-8").export_state, "done")

    def test_products_already_on_mirakl_are_not_sent(self):
        self.offer("CBN-CAM").action_mark_product_external()
        push = self.backend._mirakl_push_stock(full=True)
        self.assertEqual((push["held"], push["lines"]), (4, 1))
        result = self.send()
        self.assertEqual(result["products"], 4)
        self.assertNotIn("CBN-CAM", self.import_lines())


@tagged("post_install", "-at_install")
class TestIssuesAndRetry(CatalogueCommon):
    def test_retry_of_a_rejected_product_sends_it_again(self):
        self.hat.name = "Cashmere beanie " * 6
        self.backend._mirakl_check_products()
        hat = self.offer("CBN-CAM")
        self.assertEqual(hat.product_ready, "not_ready")
        issue = self.open_issues(operation="P41", mirakl_ref="readiness")
        self.assertFalse(issue.action_retry()["params"]["type"] == "success")
        self.hat.name = "Cashmere beanie"
        self.assertEqual(hat.product_ready, "ready")
        self.assertFalse(self.open_issues(operation="P41", mirakl_ref="readiness"))


@tagged("post_install", "-at_install")
class TestCatalogueRights(CatalogueCommon):
    def test_a_mirakl_user_maps_and_sends_but_does_not_edit_mirakl_data(self):
        user = new_test_user(
            self.env,
            "catalogue_manager",
            groups="mirakl_connector.mirakl_connector_group_user",
        )
        env = self.env(user=user)
        attribute = env["mirakl.attribute"].browse(self.attributes["material"].id)
        attribute.write({"source": "fixed", "fixed_value": "Linen"})
        env["mirakl.category.map"].create(
            {
                "backend_id": self.backend.id,
                "product_tmpl_id": self.hat.id,
                "mirakl_category_id": self.mirakl_categories["ACC_SCARVES"].id,
            }
        )
        row = env["mirakl.value.map"].search([("odoo_value", "=", "Navy")])
        row.write(
            {
                "value_id": self.env["mirakl.value"]
                .search([("backend_id", "=", self.backend.id), ("code", "=", "BLUE")])
                .id
            }
        )
        self.assertEqual(row.state, "confirmed")
        result = env["mirakl.backend"].browse(self.backend.id).action_send_products()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(self.import_lines()["LSD-NAV-8"]["values"]["colour"], "BLUE")
        with self.assertRaises(AccessError):
            env["mirakl.category"].browse(self.mirakl_categories["ACC_HATS"].id).write(
                {"label": "Caps"}
            )
        with self.assertRaises(AccessError):
            env["mirakl.value"].create(
                {"list_id": row.value_list_id.id, "code": "NEW", "label": "New"}
            )
