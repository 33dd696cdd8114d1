"""Catalogue out: the operator's model, product readiness, product files.

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``); the readiness
check (2. below) is in ``mirakl_backend_readiness.py``.

1. **The operator's model** (H11 categories, PM11 attributes, VL11 value
   lists) is stored per shop, refreshed daily and on a button; what
   disappeared on Mirakl is archived, never deleted.
2. **Readiness**: every offer of a shop that sends products (unless its
   product is already on Mirakl) is checked against its Mirakl category's
   attributes, value lists, types and lengths, in Odoo, without calling
   Mirakl; the result is stored on the offer (``product_ready``,
   ``product_problems``) and counted on the shop.
3. **Sending** (P41): the ready products, in CSV files of at most
   ``product_file_size`` lines, one line per variant, columns the operator's
   attribute codes plus the SKU, category and variant group columns. Each
   file is a ``mirakl.offer.import`` (kind ``product``) followed until its
   final status (P42); its error reports (P44, P47) mark the products
   rejected with Mirakl's reason and a sync issue; its new-product report
   (P45) marks them created on Mirakl, and their offers then go out (OF24,
   stock files), which wait until then.

Incremental sends compare a digest of each product's line with the one
Mirakl last accepted; a rejected product is sent again only once its line
changed. Offers are read in chunks of ``CHUNK_SIZE`` (a template's variants
always in the same chunk), with Odoo's own ``read()`` of the mapped fields
and two queries (variant attribute values, images): memory is bounded by the
chunk and the file size.
"""

import logging
from collections import defaultdict

from odoo import _, api, fields, models

from ...lib.products import (
    build_product_file,
)
from .mirakl_attribute import ROLES

_logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
# Shops with at most this many products re-check readiness at once when a
# mapping changes; bigger ones at the next check (button, send, job).
INSTANT_CHECK_LIMIT = 2000
DEFAULT_COLUMNS = {
    "sku": "shop_sku",
    "category": "category",
    "variant_group": "variant_group_code",
}
_LEVEL_ORDER = {"REQUIRED": 0, "RECOMMENDED": 1, "OPTIONAL": 2, "DISABLED": 3}


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # --- Product settings ---
    product_export_enabled = fields.Boolean(
        string="Send products",
        default=False,
        tracking=True,
        help="Create and update this shop's products on Mirakl (P41) in the "
        "operator's categories and attributes: the operator's model is read "
        "every day, and the products whose data changed are sent every hour. "
        "Offers of products not on Mirakl yet wait until Mirakl created them.",
    )
    product_file_size = fields.Integer(
        string="Products per file",
        default=1000,
        help="A send makes one product file (P41) per this many variants.",
    )
    product_csv_delimiter = fields.Selection(
        [(";", "Semicolon (;)"), (",", "Comma (,)"), ("\t", "Tab"), ("|", "Bar (|)")],
        string="File separator",
        default=";",
        required=True,
        help="Separator of the product file's columns (not published by "
        "Mirakl; the operator's import template tells).",
    )
    product_sku_column = fields.Char(
        string="SKU column",
        help="Column of the product SKU. Empty: the attribute Mirakl gives "
        "the SHOP_SKU role, else shop_sku.",
    )
    product_category_column = fields.Char(
        string="Category column",
        help="Column of the Mirakl category code. Empty: the attribute Mirakl "
        "gives the CATEGORY role, else category.",
    )
    product_group_column = fields.Char(
        string="Variant group column",
        help="Column of the variant group code. Empty: the attribute Mirakl "
        "gives the VARIANT_GROUP_CODE role, else variant_group_code.",
    )
    product_report_message_column = fields.Char(
        string="Report reason column",
        help="Column of the reason in Mirakl's error reports. Empty: the "
        "first of errors, error-message, error, message, reason.",
    )
    product_report_product_column = fields.Char(
        string="Report product column",
        help="Column of the Mirakl product SKU in the new-product report. "
        "Empty: the first of product-sku, product_sku, mirakl-product-sku, "
        "product-id.",
    )
    product_offer_id_type = fields.Char(
        string="Product ID type of created products",
        default="SKU",
        help="OF24 product_id_type of the offers of products created by the "
        "connector: their product ID is then the Mirakl product SKU of the "
        "new-product report.",
    )
    product_image_base_url = fields.Char(
        string="Image links base URL",
        help="Public address of this Odoo for the image links Mirakl "
        "downloads. Empty: the web.base.url system parameter.",
    )
    product_model_date = fields.Datetime(
        string="Model read on", readonly=True, copy=False
    )
    product_model_summary = fields.Char(string="Model", readonly=True, copy=False)
    product_last_send_date = fields.Datetime(
        string="Products sent on", readonly=True, copy=False
    )
    product_last_send_summary = fields.Char(
        string="Last product send", readonly=True, copy=False
    )
    product_check_due = fields.Boolean(readonly=True, copy=False)
    mirakl_category_ids = fields.One2many("mirakl.category", "backend_id")
    mirakl_attribute_ids = fields.One2many("mirakl.attribute", "backend_id")
    mirakl_value_list_ids = fields.One2many("mirakl.value.list", "backend_id")
    category_map_ids = fields.One2many(
        "mirakl.category.map",
        "backend_id",
        domain=[("categ_id", "!=", False)],
        string="Category mapping",
    )
    product_ready_count = fields.Integer(
        string="Ready", compute="_compute_product_counts"
    )
    product_not_ready_count = fields.Integer(
        string="Not ready", compute="_compute_product_counts"
    )
    product_rejected_count = fields.Integer(
        string="Rejected", compute="_compute_product_counts"
    )
    product_on_mirakl_count = fields.Integer(
        string="On Mirakl", compute="_compute_product_counts"
    )
    product_pending_count = fields.Integer(
        string="Waiting for Mirakl", compute="_compute_product_counts"
    )
    unmapped_attribute_count = fields.Integer(
        string="Required attributes without source",
        compute="_compute_product_counts",
    )
    value_map_todo_count = fields.Integer(
        string="Values to map or confirm", compute="_compute_product_counts"
    )

    _sql_constraints = [
        (
            "product_file_size_positive",
            "CHECK(product_file_size > 0)",
            "A product file holds at least one product.",
        ),
    ]

    # === COMPUTE METHODS === #

    def _compute_product_counts(self):
        Offer = self.env["mirakl.offer"]
        ready = defaultdict(int)
        states = defaultdict(int)
        base = [("backend_id", "in", self.ids), ("product_external", "=", False)]
        for backend, value, count in Offer._read_group(
            base, ["backend_id", "product_ready"], ["__count"]
        ):
            ready[backend.id, value] += count
        for backend, value, count in Offer._read_group(
            base + [("product_ready", "!=", False)],
            ["backend_id", "product_state"],
            ["__count"],
        ):
            states[backend.id, value] += count
        unmapped = dict(
            self.env["mirakl.attribute"]._read_group(
                [
                    ("backend_id", "in", self.ids),
                    ("required_somewhere", "=", True),
                    ("has_source", "=", False),
                ],
                ["backend_id"],
                ["__count"],
            )
        )
        todo = dict(
            self.env["mirakl.value.map"]._read_group(
                [("backend_id", "in", self.ids), ("state", "!=", "confirmed")],
                ["backend_id"],
                ["__count"],
            )
        )
        for backend in self:
            backend.product_ready_count = ready[backend.id, "ready"]
            backend.product_not_ready_count = ready[backend.id, "not_ready"]
            backend.product_rejected_count = states[backend.id, "error"]
            backend.product_on_mirakl_count = states[backend.id, "done"]
            backend.product_pending_count = states[backend.id, "pending"]
            backend.unmapped_attribute_count = unmapped.get(backend, 0)
            backend.value_map_todo_count = todo.get(backend, 0)

    # === ACTION METHODS === #

    def action_refresh_product_model(self):
        """Read the operator's categories, attributes and value lists now."""
        self.ensure_one()
        backend = self._mirakl_as_operator()
        ok = backend._mirakl_refresh_product_model()
        return self._mirakl_notification(
            _("Mirakl catalogue model"),
            backend.product_model_summary,
            "success" if ok else "danger",
            sticky=not ok,
        )

    def action_check_products(self):
        """Check every product's readiness now; open the ones not ready."""
        self.ensure_one()
        self._mirakl_as_operator()._mirakl_check_products()
        return self.action_open_products(not_ready=True)

    def action_suggest_values(self):
        """Suggest Mirakl codes for the Odoo values still to map."""
        self.ensure_one()
        backend = self._mirakl_as_operator()
        backend._mirakl_check_products()
        self.env["mirakl.value.map"].sudo().search(
            [("backend_id", "=", backend.id), ("state", "=", "unmapped")]
        )._mirakl_suggest()
        return self.action_open_value_maps()

    def action_send_products(self, full=False):
        """Send the ready products whose data changed (all with ``full``)."""
        results = [
            backend._mirakl_send_products(full=full)
            for backend in self._mirakl_as_operator()
        ]
        return self._mirakl_result_notification(_("Product send"), results)

    def action_send_products_full(self):
        return self.action_send_products(full=True)

    def action_open_products(self, not_ready=False):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mirakl_connector.mirakl_offer_product_action"
        )
        action["domain"] = [
            ("backend_id", "=", self.id),
            ("product_external", "=", False),
        ]
        context = {"default_backend_id": self.id}
        if not_ready:
            context["search_default_not_ready"] = 1
        action["context"] = context
        return action

    def action_open_categories(self):
        return self._mirakl_open("mirakl_connector.mirakl_category_action")

    def action_open_attributes(self):
        return self._mirakl_open("mirakl_connector.mirakl_attribute_action")

    def action_open_value_maps(self):
        return self._mirakl_open(
            "mirakl_connector.mirakl_value_map_action", {"search_default_todo": 1}
        )

    def action_open_category_maps(self):
        return self._mirakl_open("mirakl_connector.mirakl_category_map_action")

    def _mirakl_open(self, xmlid, context=None):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = dict(context or {}, default_backend_id=self.id)
        return action

    # === CRON METHODS === #

    @api.model
    def _cron_mirakl_export_products(self):
        """Hourly: send the products whose data changed (P41), follow the
        product imports, and let the offers of created products go out."""
        self.search([("product_export_enabled", "=", True)])._mirakl_cron_each(
            "P41", lambda backend: backend._mirakl_send_products()
        )

    def _mirakl_refresh_reference_data(self):
        ok = super()._mirakl_refresh_reference_data()
        if self.product_export_enabled:
            ok = self._mirakl_refresh_product_model() and ok
        return ok

    # === BUSINESS METHODS: the operator's model === #

    def _mirakl_product_columns(self):
        """The file's own columns: ``{"sku", "category", "variant_group"}``:
        the shop's settings, else the attributes Mirakl gives those roles,
        else the defaults."""
        self.ensure_one()
        settings = {
            "sku": self.product_sku_column,
            "category": self.product_category_column,
            "variant_group": self.product_group_column,
        }
        columns = {}
        attributes = (
            self.env["mirakl.attribute"]
            .sudo()
            .search([("backend_id", "=", self.id), ("roles", "!=", False)])
            if self.id
            else []
        )
        by_role = {}
        for attribute in attributes:
            for role in (attribute.roles or "").split(","):
                by_role.setdefault(role.strip(), attribute.code)
        for role, key in ROLES.items():
            columns[key] = (
                (settings[key] or "").strip()
                or by_role.get(role)
                or DEFAULT_COLUMNS[key]
            )
        return columns

    def _mirakl_refresh_product_model(self):
        """H11, PM11 and VL11: store the operator's model. True on success;
        on a failure nothing stored changes (each call files its issue)."""
        self.ensure_one()
        ok, nodes = self._mirakl_call("H11", lambda c: c.list_hierarchies())
        if ok:
            ok, attributes = self._mirakl_call(
                "PM11", lambda c: c.list_product_attributes(with_roles=True)
            )
        if ok:
            ok, lists = self._mirakl_call("VL11", lambda c: c.list_values_lists())
        now = fields.Datetime.now()
        if not ok:
            self._mirakl_write_shop(
                {
                    "product_model_summary": _(
                        "Could not read the model (see the shop's sync issues)."
                    )
                }
            )
            return False
        archived = self._mirakl_sync_value_lists(lists)
        archived += self._mirakl_sync_categories(nodes)
        archived += self._mirakl_sync_attributes(attributes)
        leaves = sum(
            1
            for n in nodes
            if not any(m.get("parent_code") == n["code"] for m in nodes)
        )
        summary = _(
            "%(categories)s categories (%(leaves)s leaves), %(attributes)s "
            "attributes, %(lists)s value lists; %(archived)s no longer on "
            "Mirakl (archived).",
            categories=len(nodes),
            leaves=leaves,
            attributes=len({a["code"] for a in attributes}),
            lists=len(lists),
            archived=archived,
        )
        self._mirakl_write_shop(
            {"product_model_date": now, "product_model_summary": summary}
        )
        self._mirakl_mapping_changed()
        _logger.info("Mirakl shop %s: product model read: %s", self.id, summary)
        return True

    def _mirakl_sync_rows(self, model, domain, key, rows):
        """Create or update rows (``{key: vals}``) of ``model`` within
        ``domain``; archive the others. Returns ``(records by key, number
        archived)``."""
        Model = self.env[model].sudo().with_context(active_test=False)
        existing = {record[key] or "": record for record in Model.search(domain)}
        result = {}
        to_create = []
        for value, vals in rows.items():
            record = existing.pop(value, None)
            if record is None:
                to_create.append(dict(vals, active=True))
                continue
            changed = {
                name: new
                for name, new in dict(vals, active=True).items()
                if record._fields[name].convert_to_write(record[name], record) != new
            }
            if changed:
                record.write(changed)
            result[value] = record
        for record in Model.create(to_create):
            result[record[key] or ""] = record
        gone = Model.browse([r.id for r in existing.values() if r.active])
        gone.write({"active": False})
        return result, len(gone)

    def _mirakl_sync_value_lists(self, lists):
        rows = {
            raw["code"]: {
                "backend_id": self.id,
                "code": raw["code"],
                "label": raw.get("label") or raw["code"],
            }
            for raw in lists
        }
        records, archived = self._mirakl_sync_rows(
            "mirakl.value.list", [("backend_id", "=", self.id)], "code", rows
        )
        for raw in lists:
            value_list = records[raw["code"]]
            values = {}
            for sequence, value in enumerate(raw.get("values") or ()):
                if isinstance(value, dict) and value.get("code") is not None:
                    code = str(value["code"])
                    values[code] = {
                        "list_id": value_list.id,
                        "code": code,
                        "label": value.get("label") or code,
                        "sequence": sequence,
                    }
            _values, gone = self._mirakl_sync_rows(
                "mirakl.value", [("list_id", "=", value_list.id)], "code", values
            )
            archived += gone
        return archived

    def _mirakl_sync_categories(self, nodes):
        by_code = {n["code"]: n for n in nodes}
        parents = {}
        for node in nodes:
            parents[node["code"]] = node.get("parent_code") or False
        children = {parent for parent in parents.values() if parent}

        def path(code):
            labels, seen = [], set()
            while code and code in by_code and code not in seen:
                seen.add(code)
                labels.append(by_code[code].get("label") or code)
                code = parents[code]
            return " / ".join(reversed(labels))

        rows = {
            code: {
                "backend_id": self.id,
                "code": code,
                "label": node.get("label") or code,
                "level": node.get("level") or 0,
                "parent_code": parents[code] or False,
                "is_leaf": code not in children,
                "complete_name": path(code),
            }
            for code, node in by_code.items()
        }
        records, archived = self._mirakl_sync_rows(
            "mirakl.category", [("backend_id", "=", self.id)], "code", rows
        )
        for code, record in records.items():
            parent = records.get(parents[code]) if parents[code] else None
            parent_id = parent.id if parent else False
            if record.parent_id.id != parent_id:
                record.parent_id = parent_id
        return archived

    def _mirakl_sync_attributes(self, entries):
        lists = {
            v.code: v
            for v in self.env["mirakl.value.list"]
            .sudo()
            .with_context(active_test=False)
            .search([("backend_id", "=", self.id)])
        }
        definitions = {}
        levels = defaultdict(dict)
        for entry in entries:
            code = entry["code"]
            definitions.setdefault(code, entry)
            level = entry.get("requirement_level") or "OPTIONAL"
            levels[code][entry.get("hierarchy_code") or ""] = level
        rows = {}
        for code, entry in definitions.items():
            params = {
                p.get("name"): p.get("value")
                for p in entry.get("type_parameters") or ()
                if isinstance(p, dict)
            }
            list_code = params.get("LIST_CODE") or entry.get("values_list") or False
            try:
                max_length = int(params.get("MAX_LENGTH") or 0)
            except (TypeError, ValueError):
                max_length = 0
            roles = ",".join(
                r.get("type")
                for r in entry.get("roles") or ()
                if isinstance(r, dict) and r.get("type")
            )
            rows[code] = {
                "backend_id": self.id,
                "code": code,
                "label": entry.get("label") or code,
                "description": entry.get("description") or False,
                "attribute_type": entry.get("type") or False,
                "max_length": max_length,
                "list_code": list_code,
                "value_list_id": lists[list_code].id if list_code in lists else False,
                "variant": bool(entry.get("variant")),
                "roles": roles or False,
                "global_level": levels[code].get("", False),
                "required_somewhere": "REQUIRED" in levels[code].values(),
            }
        records, archived = self._mirakl_sync_attributes_rows(rows)
        categories = {
            c.code: c.id
            for c in self.env["mirakl.category"]
            .sudo()
            .with_context(active_test=False)
            .search([("backend_id", "=", self.id)])
        }
        for code, attribute in records.items():
            requirement_rows = {
                category: {
                    "attribute_id": attribute.id,
                    "category_code": category or False,
                    "category_id": categories.get(category, False),
                    "level": level,
                }
                for category, level in levels[code].items()
            }
            _records, gone = self._mirakl_sync_rows(
                "mirakl.attribute.requirement",
                [("attribute_id", "=", attribute.id)],
                "category_code",
                requirement_rows,
            )
            archived += gone
        return archived

    def _mirakl_sync_attributes_rows(self, rows):
        return self._mirakl_sync_rows(
            "mirakl.attribute", [("backend_id", "=", self.id)], "code", rows
        )

    def _mirakl_category_attributes(self, category):
        """``[(attribute, level)]`` Mirakl expects in ``category`` (active,
        not filled by the connector, not disabled), required first."""
        self.ensure_one()
        chain = []
        node = category
        while node:
            chain.append(node.code)
            node = node.parent_id
        result = []
        attributes = self.env["mirakl.attribute"].search(
            [("backend_id", "=", self.id), ("role", "=", False)]
        )
        for attribute in attributes:
            levels = {r.category_code or "": r.level for r in attribute.requirement_ids}
            level = next(
                (levels[code] for code in chain if code in levels),
                levels.get("", "OPTIONAL"),
            )
            if level != "DISABLED":
                result.append((attribute, level))
        result.sort(key=lambda item: (_LEVEL_ORDER[item[1]], item[0].label or ""))
        return result

    def _mirakl_category_attribute_rows(self, category, samples=5):
        """What the category's mapping form shows: each attribute with its
        requirement, type, source and sample values of its products."""
        attributes = self._mirakl_category_attributes(category)
        offers = self.env["mirakl.offer"].search(
            [("product_category_id", "=", category.id)], limit=samples
        )
        values = defaultdict(list)
        if offers and attributes:
            catalogue = self._mirakl_catalogue()
            for chunk in self._mirakl_product_chunks(
                catalogue, offer_ids=offers.ids, store=False
            ):
                for row in chunk:
                    for code, text in row.raw.items():
                        if text and text not in values[code]:
                            values[code].append(text)
        return [
            {
                "code": attribute.code,
                "label": attribute.label,
                "level": level,
                "type": attribute.type_label or "",
                "source": attribute.source_label,
                "samples": values.get(attribute.code, [])[:samples],
                "unmapped": not attribute.has_source and level == "REQUIRED",
            }
            for attribute, level in attributes
        ]

    def _mirakl_mapping_changed(self):
        """A mapping changed: re-check readiness now when the shop is small,
        else at the next check (button, send, job)."""
        for backend in self.sudo().filtered("product_export_enabled"):
            count = (
                self.env["mirakl.offer"]
                .sudo()
                .search_count(
                    [("backend_id", "=", backend.id), ("product_external", "=", False)]
                )
            )
            if count <= INSTANT_CHECK_LIMIT:
                backend._mirakl_check_products()
            elif not backend.product_check_due:
                backend.product_check_due = True

    # === BUSINESS METHODS: sending === #

    def _mirakl_send_products(self, full=False, offer_ids=None, force=False):
        """Send products with P41: the ready ones whose data changed since
        Mirakl last accepted it, all ready ones (``full``), or the given
        offers (``force``: even unchanged or rejected). One run per shop at a
        time (the stock and offer lock).

        :return: ``{"ok", "message", "files", "products", "not_ready", ...}``
        """
        return self._mirakl_stock_locked(
            self._mirakl_send_products_locked, full, offer_ids, force
        )

    def _mirakl_send_products_locked(self, full, offer_ids, force):
        """The product send under the shop's stock and offer lock: the ready
        products whose line changed (all with ``full``, the given ones with
        ``offer_ids``) in P41 files of at most ``product_file_size`` lines.

        Longer than 80 lines: the batching loop shares its counters and batch
        with the summary written on the shop.
        """
        self._mirakl_check_imports()
        self._mirakl_check_skus()
        catalogue = self._mirakl_catalogue()
        mode = "manual" if offer_ids else "full" if full else "incremental"
        stats = {
            "files": 0,
            "products": 0,
            "not_ready": 0,
            "unchanged": 0,
            "waiting": 0,
            "rejected": 0,
        }
        imports = self.env["mirakl.offer.import"]
        batch = []
        ok = True
        for chunk in self._mirakl_product_chunks(catalogue, offer_ids=offer_ids):
            for row in chunk:
                if not row.ready:
                    stats["not_ready"] += 1
                    continue
                if not force:
                    if row.state == "error" and row.digest == row.error_digest:
                        stats["rejected"] += 1
                        continue
                    if (
                        not full
                        and row.state == "done"
                        and (row.digest == row.accepted_digest)
                    ):
                        stats["unchanged"] += 1
                        continue
                    if (
                        not full
                        and row.state == "pending"
                        and (row.digest == row.pending_digest)
                    ):
                        stats["waiting"] += 1
                        continue
                batch.append(row)
                if len(batch) >= self.product_file_size:
                    record = self._mirakl_send_product_file(catalogue, batch, mode)
                    ok = bool(record)
                    if ok:
                        imports |= record
                        stats["files"] += 1
                        stats["products"] += len(batch)
                        batch = []
                    else:
                        break
            if not ok:
                break
        if ok and batch:
            record = self._mirakl_send_product_file(catalogue, batch, mode)
            ok = bool(record)
            if ok:
                imports |= record
                stats["files"] += 1
                stats["products"] += len(batch)
        self._mirakl_after_check(catalogue, full_check=offer_ids is None)
        if len(imports) == 1:
            # One file (a manual or small send): ask Mirakl once right away.
            # Bigger sends are followed by the next run (product job, offer
            # job, stock push) or Check imports.
            self._mirakl_check_imports(imports.ids)
        message = _(
            "%(shop)s: %(products)s products sent in %(files)s files; "
            "%(not_ready)s not ready, %(unchanged)s unchanged, %(waiting)s "
            "waiting for Mirakl, %(rejected)s rejected and unchanged since.",
            shop=self.name,
            **stats,
        )
        if not ok:
            message = _(
                "%(message)s Stopped: Mirakl refused a file (see the shop's sync "
                "issues).",
                message=message,
            )
        self._mirakl_write_shop(
            {
                "product_last_send_date": fields.Datetime.now(),
                "product_last_send_summary": message,
            }
        )
        _logger.info("Mirakl shop %s: product send (%s): %s", self.id, mode, stats)
        return dict(stats, ok=ok, message=message)

    def _mirakl_send_product_file(self, catalogue, rows, mode):
        """P41 one file; on success record the import and mark its offers
        pending. Returns the import record (None on failure)."""
        header = catalogue.header
        content = build_product_file(
            header,
            ([row.cells.get(column, "") for column in header] for row in rows),
            self.product_csv_delimiter,
        )
        name = "products-%s-%s.csv" % (
            self.id,
            fields.Datetime.now().strftime("%Y%m%d%H%M%S"),
        )
        ok, result = self._mirakl_call(
            "P41", lambda client: client.import_products(content, filename=name)
        )
        if not ok:
            return None
        record = self.env["mirakl.offer.import"]._mirakl_record_sent(
            self, "product", mode, result, [row.offer_id for row in rows], content, name
        )
        self.env["mirakl.offer"].flush_model()
        self.env.cr.execute(
            """
            UPDATE mirakl_offer o
               SET product_state = 'pending', product_pending_digest = v.digest,
                   product_import_id = %s, product_sent_date = %s
              FROM unnest(%s::int[], %s::text[]) AS v(id, digest)
             WHERE o.id = v.id
            """,
            (
                record.id,
                fields.Datetime.now(),
                [row.offer_id for row in rows],
                [row.digest for row in rows],
            ),
        )
        self.env["mirakl.offer"].invalidate_model(
            [
                "product_state",
                "product_pending_digest",
                "product_import_id",
                "product_sent_date",
            ]
        )
        self._mirakl_commit()
        return record

    # === BUSINESS METHODS: after a product import === #

    def _mirakl_after_products_created(self, offer_ids):
        """Products Mirakl accepted: their offers may go out now (OF24 when
        the shop sends offers; stock files send them at the next push)."""
        if self.offer_export_enabled:
            self._mirakl_export_offers()

    # === RETRY === #

    def _mirakl_retry_issue(self, issue):
        if issue.operation in ("H11", "PM11", "VL11"):
            return self._mirakl_refresh_product_model()
        if issue.operation in ("P41", "P42", "P44", "P45", "P47"):
            if issue.mirakl_ref == "readiness":
                self._mirakl_check_products()
                return not self.product_not_ready_count
            return self._mirakl_send_products()["ok"]
        return super()._mirakl_retry_issue(issue)
