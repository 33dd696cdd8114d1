"""Catalogue out, readiness: each offer's product checked against its Mirakl
category's attributes, value lists, types and lengths, in Odoo, without
calling Mirakl (see ``mirakl_backend_catalogue.py`` for the whole flow).

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``). ``_Catalogue``
is one shop's model and mappings, loaded once per check or send
(``_mirakl_catalogue``); the rows of a chunk of offers are built from Odoo's
own ``read()`` of the mapped fields and two queries (variant attribute
values, images); the result is stored on the offer (``product_ready``,
``product_problems``) and counted on the shop.

Over 800 lines on purpose: the readiness rules are one pass over a chunk of
offers (loader, rows, cells, variant groups, images, stored result) whose
steps share ``_Catalogue``; cutting them across files would make a reader
of one rule chase its helpers through several.
"""

import hashlib
import logging
import re
import secrets
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field

from odoo import _, api, fields, models
from odoo.tools import html2plaintext

from .mirakl_backend_catalogue import CHUNK_SIZE

_logger = logging.getLogger(__name__)

MULTI_SEPARATOR = "|"
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_URL = re.compile(r"https?://[^\s/]+\S*", re.IGNORECASE)

ProductRow = namedtuple(
    "ProductRow",
    "offer_id product_id tmpl_id sku category_id ready summary cells raw digest "
    "state accepted_digest pending_digest error_digest",
)


@dataclass
class _Attribute:
    """What the readiness check needs of one mapped Mirakl attribute."""

    id: int
    code: str
    label: str
    kind: str
    max_length: int
    list_id: int
    list_code: str
    list_active: bool
    variant: bool
    source: str
    field_name: str = None
    field_type: str = None
    selection: dict = None
    attribute_id: int = None
    fixed: str = None
    levels: dict = field(default_factory=dict)  # category code ("": all) -> level


@dataclass
class _Catalogue:
    """One shop's model and mappings, loaded once per check or send."""

    columns: dict
    header: list
    attributes: list  # _Attribute, mapped or required somewhere
    categories: dict  # id -> (code, label, leaf, active, ancestor codes)
    category_by_code: dict
    categ_map: dict  # product.category id -> mirakl.category id
    overrides: dict  # product.template id -> mirakl.category id
    list_codes: dict  # list id -> set of codes
    value_maps: dict  # (list id, odoo value) -> code (confirmed)
    known_maps: set  # (list id, odoo value) rows that exist
    image_base: str
    texts: dict  # translated message templates
    unmapped: set = field(default_factory=set)  # (list id, odoo value) met
    _by_category: dict = field(default_factory=dict)

    def level(self, attribute, category_id):
        levels = attribute.levels
        for code in self.categories[category_id][4]:
            if code in levels:
                return levels[code]
        return levels.get("", "OPTIONAL")

    def specs_for(self, category_id):
        """``[(attribute, level)]`` of a category, disabled ones left out
        (computed once per category)."""
        found = self._by_category.get(category_id)
        if found is None:
            found = [
                (spec, level)
                for spec in self.attributes
                for level in (self.level(spec, category_id),)
                if level != "DISABLED"
            ]
            self._by_category[category_id] = found
        return found


def _number(value):
    if isinstance(value, float):
        text = ("%.6f" % value).rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    return str(value)


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # === BUSINESS METHODS: readiness === #

    def _mirakl_catalogue(self):
        """Load the shop's model and mappings for a check or a send."""
        self.ensure_one()
        columns = self._mirakl_product_columns()
        categories, by_code = self._mirakl_catalogue_categories()
        attributes = self._mirakl_catalogue_attributes(columns)
        value_maps, known, categ_map, overrides = self._mirakl_catalogue_maps()
        header = [columns["sku"], columns["category"], columns["variant_group"]]
        header += sorted(a.code for a in attributes if a.source != "none")
        base = (
            self.product_image_base_url
            or self.env["ir.config_parameter"].sudo().get_param("web.base.url")
            or ""
        ).rstrip("/")
        return _Catalogue(
            columns=columns,
            header=header,
            attributes=attributes,
            categories=categories,
            category_by_code=by_code,
            categ_map=categ_map,
            overrides=overrides,
            list_codes=self._mirakl_catalogue_lists(),
            value_maps=value_maps,
            known_maps=known,
            image_base=base,
            texts=self._mirakl_readiness_texts(),
        )

    def _mirakl_catalogue_categories(self):
        """``({id: (code, label, leaf, active, ancestor codes)}, {code: id})``
        of the shop's Mirakl categories, archived ones included."""
        categories = {}
        by_code = {}
        records = (
            self.env["mirakl.category"]
            .sudo()
            .with_context(active_test=False)
            .search([("backend_id", "=", self.id)])
        )
        parents = {r.id: r.parent_id.id for r in records}
        codes = {r.id: r.code for r in records}
        for record in records:
            chain, node = [], record.id
            while node:
                chain.append(codes[node])
                node = parents.get(node)
            categories[record.id] = (
                record.code,
                record.complete_name or record.code,
                record.is_leaf,
                record.active,
                tuple(chain),
            )
            by_code[record.code] = record.id
        return categories, by_code

    def _mirakl_catalogue_lists(self):
        """``{value list id: codes of its active values}``."""
        lists = (
            self.env["mirakl.value.list"]
            .sudo()
            .with_context(active_test=False)
            .search([("backend_id", "=", self.id)])
        )
        list_codes = {}
        for value_list in lists:
            list_codes[value_list.id] = {
                v.code for v in value_list.value_ids if v.active
            }
        return list_codes

    def _mirakl_catalogue_attributes(self, columns):
        """The ``_Attribute`` of every attribute mapped or required somewhere
        (the role columns SKU, category and variant group left out)."""
        env = self.env
        role_columns = set(columns.values())
        attributes = []
        for record in (
            env["mirakl.attribute"].sudo().search([("backend_id", "=", self.id)])
        ):
            if record.code in role_columns:
                continue
            if record.source == "none" and not record.required_somewhere:
                continue
            spec = _Attribute(
                id=record.id,
                code=record.code,
                label=record.label or record.code,
                kind=record.attribute_type or "TEXT",
                max_length=record.max_length,
                list_id=record.value_list_id.id,
                list_code=record.list_code or "",
                list_active=bool(record.value_list_id.active),
                variant=record.variant,
                source=record.source,
                levels={r.category_code or "": r.level for r in record.requirement_ids},
            )
            if record.source == "field" and record.source_field_id:
                name = record.source_field_id.name
                product_field = env["product.product"]._fields.get(name)
                if product_field is None:
                    spec.source = "none"
                else:
                    spec.field_name = name
                    spec.field_type = product_field.type
                    if product_field.type == "selection":
                        spec.selection = dict(product_field._description_selection(env))
            elif record.source == "attribute":
                spec.attribute_id = record.source_attribute_id.id
            elif record.source == "fixed":
                spec.fixed = (record.fixed_value or "").strip()
            attributes.append(spec)
        return attributes

    def _mirakl_catalogue_maps(self):
        """``(value maps, known value-map keys, category maps, template
        overrides)``: the confirmed value maps as ``{(list id, odoo value):
        code}``, every existing row's key, ``{product.category id: mirakl
        category id}`` and ``{product.template id: mirakl category id}``."""
        maps = (
            self.env["mirakl.value.map"].sudo().search([("backend_id", "=", self.id)])
        )
        value_maps, known = {}, set()
        for row in maps:
            known.add((row.value_list_id.id, row.odoo_value))
            if row.state == "confirmed" and row.value_id.active:
                value_maps[row.value_list_id.id, row.odoo_value] = row.value_id.code
        categ_map, overrides = {}, {}
        for row in (
            self.env["mirakl.category.map"]
            .sudo()
            .search([("backend_id", "=", self.id)])
        ):
            if row.product_tmpl_id:
                overrides[row.product_tmpl_id.id] = row.mirakl_category_id.id
            else:
                categ_map[row.categ_id.id] = row.mirakl_category_id.id
        return value_maps, known, categ_map, overrides

    def _mirakl_readiness_texts(self):
        """The readiness problems' message templates, translated once."""
        return {
            "missing": _("missing: %(attributes)s"),
            "not_in_list": _("value '%(value)s' not in list %(list)s"),
            "list_gone": _("list %(list)s of %(attribute)s is no longer on Mirakl"),
            "several": _("%(attribute)s takes one value, not %(values)s"),
            "integer": _("%(attribute)s: '%(value)s' is not a whole number"),
            "decimal": _("%(attribute)s: '%(value)s' is not a number"),
            "boolean": _("%(attribute)s: '%(value)s' is not true or false"),
            "date": _("%(attribute)s: '%(value)s' is not a date"),
            "url": _("%(attribute)s: '%(value)s' is not a link"),
            "length": _("%(attribute)s: %(length)s characters, at most %(max)s"),
            "no_category": _("no Mirakl category: map the product category %(categ)s"),
            "category_gone": _("Mirakl category %(category)s is no longer on Mirakl"),
            "not_leaf": _(
                "Mirakl category %(category)s has subcategories: choose a leaf"
            ),
            "archived": _("archived or not for sale in Odoo"),
            "sku": _("SKU problem: %(problem)s"),
            "same_variant": _(
                "same variant values as SKU %(sku)s (%(values)s): Mirakl "
                "could not tell them apart"
            ),
        }

    def _mirakl_check_products(self, offer_ids=None):
        """Check the readiness of the shop's products (or the given offers)
        and store it on the offers; file or close the shop's readiness
        issue. Returns ``{"ready", "not_ready"}``."""
        self.ensure_one()
        catalogue = self._mirakl_catalogue()
        counts = {"ready": 0, "not_ready": 0}
        for chunk in self._mirakl_product_chunks(catalogue, offer_ids=offer_ids):
            for row in chunk:
                counts["ready" if row.ready else "not_ready"] += 1
        self._mirakl_after_check(catalogue, full_check=offer_ids is None)
        return counts

    def _mirakl_after_check(self, catalogue, full_check=True):
        """Rows for the Odoo values met that need a mapping (with a
        suggestion), the shop's readiness issue."""
        Map = self.env["mirakl.value.map"].sudo()
        new = [
            {"value_list_id": list_id, "odoo_value": value}
            for list_id, value in sorted(catalogue.unmapped - catalogue.known_maps)
        ]
        if new:
            Map.with_context(mirakl_no_recheck=True).create(new)._mirakl_suggest()
        if full_check and self.product_check_due:
            self.product_check_due = False
        not_ready = self.env["mirakl.offer"].search_count(
            [
                ("backend_id", "=", self.id),
                ("product_external", "=", False),
                ("product_ready", "=", "not_ready"),
            ]
        )
        Issue = self.env["mirakl.sync.issue"]
        if not_ready:
            message = _(
                "%(count)s products are not ready for Mirakl and are not sent: "
                "open the shop's products filtered on 'Not ready' to see why "
                "(missing attributes, values outside the operator's lists, "
                "unmapped categories...).",
                count=not_ready,
            )
            current = Issue.sudo().search(
                Issue._mirakl_key_domain(self, "P41", mirakl_ref="readiness"), limit=1
            )
            if current.message != message:
                Issue._mirakl_record(
                    self, "P41", message, category="mapping", mirakl_ref="readiness"
                )
        else:
            Issue._mirakl_resolve(self, "P41", mirakl_ref="readiness")

    def _mirakl_product_chunks(
        self, catalogue, offer_ids=None, store=True, chunk_size=CHUNK_SIZE
    ):
        """Yield lists of ``ProductRow``, one per active offer of the shop
        whose product the connector sends, a template's variants together.

        With ``store``, each offer's readiness is written (only when it
        changed)."""
        self.ensure_one()
        for model in ("mirakl.offer", "product.product", "product.template"):
            self.env[model].flush_model()
        cr = self.env.cr
        last = (0, 0)
        query = """
            SELECT o.id, o.product_id, o.shop_sku, o.sku_state, o.sku_problem,
                   o.product_state, o.product_digest, o.product_pending_digest,
                   o.product_error_digest, o.product_ready, o.product_problems,
                   o.product_category_id, pp.product_tmpl_id, pt.categ_id,
                   pp.active AND pt.active AND pt.sale_ok, pt.mirakl_variant_group
              FROM mirakl_offer o
              JOIN product_product pp ON pp.id = o.product_id
              JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE o.backend_id = %(backend)s AND o.active
               AND NOT COALESCE(o.product_external, FALSE)
               AND (%(ids)s::int[] IS NULL OR o.id = ANY(%(ids)s::int[]))
               AND {condition}
             ORDER BY pp.product_tmpl_id, o.id
        """
        while True:
            params = {
                "backend": self.id,
                "ids": offer_ids,
                "tmpl": last[0],
                "offer": last[1],
                "limit": chunk_size,
            }
            cr.execute(
                query.format(
                    condition="(pp.product_tmpl_id, o.id) > (%(tmpl)s, %(offer)s)"
                )
                + " LIMIT %(limit)s",
                params,
            )
            offers = cr.fetchall()
            if not offers:
                return
            if len(offers) == chunk_size:
                # the last template's other variants join this chunk
                params.update(tmpl=offers[-1][12], offer=offers[-1][0])
                cr.execute(
                    query.format(
                        condition="pp.product_tmpl_id = %(tmpl)s AND o.id > %(offer)s"
                    ),
                    params,
                )
                offers += cr.fetchall()
            last = (offers[-1][12], offers[-1][0])
            rows = self._mirakl_product_rows(catalogue, offers)
            if store:
                self._mirakl_store_readiness(offers, rows)
            yield rows

    def _mirakl_product_rows(self, catalogue, offers):
        """The ``ProductRow`` of each offer of one chunk."""
        env = self.env
        product_ids = [row[1] for row in offers]
        tmpl_ids = sorted({row[12] for row in offers})
        specs = catalogue.attributes
        values = self._mirakl_field_values(
            {a.field_name for a in specs if a.field_name},
            [(row[1], row[12]) for row in offers],
        )
        axes = [a.attribute_id for a in specs if a.attribute_id]
        variant_values, template_values = self._mirakl_attribute_values(
            product_ids, tmpl_ids, axes
        )
        images = {}
        if any(a.source == "image" for a in specs):
            images = self._mirakl_image_links(catalogue, product_ids, tmpl_ids)
        categ_names = {}
        for row in offers:
            if (
                row[13]
                and self._mirakl_category_of(catalogue, row[12], row[13]) is None
            ):
                categ_names[row[13]] = None
        if categ_names:
            for categ in env["product.category"].browse(list(categ_names)):
                categ_names[categ.id] = categ.complete_name
        data = {
            "values": values,
            "variant": variant_values,
            "template": template_values,
            "images": images,
            "categ_names": categ_names,
        }
        result = []
        groups = defaultdict(list)
        for offer in offers:
            row = self._mirakl_product_row(catalogue, offer, data)
            result.append(row)
            if row.category_id in catalogue.categories:
                groups[row.tmpl_id].append(row)
        return self._mirakl_check_variant_groups(catalogue, result, groups)

    def _mirakl_field_values(self, field_names, products):
        """``{product id: {field: value}}`` (as ``read()`` gives them) of the
        ``(product id, template id)`` pairs. Fields the variants inherit
        from their template are read once per template."""
        if not field_names:
            return {}
        Product = self.env["product.product"]
        own = sorted(f for f in field_names if not Product._fields[f].inherited)
        shared = sorted(f for f in field_names if Product._fields[f].inherited)
        values = {product_id: {} for product_id, _tmpl in products}
        if own:
            for row in Product.browse(list(values)).read(own):
                values[row.pop("id")].update(row)
        if shared:
            templates = {}
            for row in (
                self.env["product.template"]
                .browse(sorted({tmpl for _product, tmpl in products}))
                .read(shared)
            ):
                templates[row.pop("id")] = row
            for product_id, tmpl_id in products:
                values[product_id].update(templates[tmpl_id])
        return values

    def _mirakl_product_row(self, catalogue, offer, data):
        """The ``ProductRow`` of one offer (a row of the chunk query).

        Longer than 80 lines: the row's cells and its problems are built in
        one pass over the category's attributes, on the hot path of a send.
        """
        (
            offer_id,
            product_id,
            sku,
            sku_state,
            sku_problem,
            state,
            accepted,
            pending,
            error_digest,
            _ready,
            _problems,
            _category,
            tmpl_id,
            categ_id,
            saleable,
            group_code,
        ) = offer
        texts = catalogue.texts
        columns = catalogue.columns
        problems, missing = [], []
        cells, raw = {}, {}
        category_id = self._mirakl_category_of(catalogue, tmpl_id, categ_id)
        if not saleable:
            problems.append(texts["archived"])
        if sku_state != "ok" or not sku:
            problems.append(texts["sku"] % {"problem": sku_problem or _("no SKU")})
        category = catalogue.categories.get(category_id)
        if category is None:
            problems.append(
                texts["no_category"]
                % {"categ": data["categ_names"].get(categ_id) or _("(none)")}
            )
        elif not category[3]:
            problems.append(texts["category_gone"] % {"category": category[1]})
        elif not category[2]:
            problems.append(texts["not_leaf"] % {"category": category[1]})
        else:
            for spec, level in catalogue.specs_for(category_id):
                found = self._mirakl_source_values(
                    spec,
                    data["values"].get(product_id),
                    data["variant"].get(product_id, {}),
                    data["template"].get(tmpl_id, {}),
                    data["images"].get(product_id),
                )
                if not found:
                    if level == "REQUIRED":
                        missing.append(spec.label)
                    continue
                raw[spec.code] = ", ".join(found)
                cell, problem = self._mirakl_cell(catalogue, spec, found)
                if problem:
                    problems.append(problem)
                else:
                    cells[spec.code] = cell
        cells[columns["sku"]] = sku or ""
        cells[columns["category"]] = category[0] if category else ""
        cells[columns["variant_group"]] = group_code or "PT%s" % tmpl_id
        if missing:
            problems.insert(0, texts["missing"] % {"attributes": ", ".join(missing)})
        # Separators that no CSV cell of a product file holds as such.
        digest = hashlib.sha1(
            "\x1e".join(
                "%s\x1f%s" % item for item in sorted(cells.items()) if item[1]
            ).encode()
        ).hexdigest()
        return ProductRow(
            offer_id,
            product_id,
            tmpl_id,
            sku,
            category_id,
            not problems,
            "; ".join(problems),
            cells,
            raw,
            digest,
            state,
            accepted,
            pending,
            error_digest,
        )

    def _mirakl_check_variant_groups(self, catalogue, rows, groups):
        """Variants of one template must differ on the category's variant
        axes: the later ones that do not are not ready."""
        spoiled = {}
        for tmpl_rows in groups.values():
            # Variants not ready anyway (a missing axis...) are left out.
            tmpl_rows = [row for row in tmpl_rows if row.ready]
            if len(tmpl_rows) < 2:
                continue
            category_id = tmpl_rows[0].category_id
            axes = [
                spec.code
                for spec in catalogue.attributes
                if spec.variant and catalogue.level(spec, category_id) != "DISABLED"
            ]
            if not axes:
                continue
            seen = {}
            for row in tmpl_rows:
                key = tuple(row.cells.get(code, "") for code in axes)
                if not any(key):
                    continue
                if key in seen:
                    problem = catalogue.texts["same_variant"] % {
                        "sku": seen[key],
                        "values": ", ".join(
                            "%s=%s" % (code, value or "-")
                            for code, value in zip(axes, key, strict=True)
                        ),
                    }
                    spoiled[row.offer_id] = problem
                else:
                    seen[key] = row.sku
        if not spoiled:
            return rows
        return [
            row._replace(
                ready=False,
                summary="; ".join(p for p in (row.summary, spoiled[row.offer_id]) if p),
            )
            if row.offer_id in spoiled
            else row
            for row in rows
        ]

    @api.model
    def _mirakl_category_of(self, catalogue, tmpl_id, categ_id):
        """The Mirakl category id of a product: its override, else the
        mapping of its product category or the nearest mapped parent."""
        if tmpl_id in catalogue.overrides:
            return catalogue.overrides[tmpl_id]
        if not categ_id:
            return None
        cache = catalogue.categ_map
        if categ_id in cache:
            return cache[categ_id]
        categ = self.env["product.category"].browse(categ_id)
        found = None
        for parent_id in reversed([int(i) for i in categ.parent_path.split("/") if i]):
            if parent_id in catalogue.categ_map:
                found = catalogue.categ_map[parent_id]
                break
        cache[categ_id] = found
        return found

    @api.model
    def _mirakl_source_values(self, spec, values, variant, template, image):
        """The Odoo values of one attribute for one product (texts; empty:
        nothing)."""
        source = spec.source
        if source == "fixed":
            return [spec.fixed] if spec.fixed else []
        if source == "attribute":
            return (
                variant.get(spec.attribute_id) or template.get(spec.attribute_id) or []
            )
        if source == "image":
            return [image] if image else []
        if source != "field" or values is None:
            return []
        value = values.get(spec.field_name)
        kind = spec.field_type
        if kind == "boolean":
            return ["true" if value else "false"]
        if value is False or value is None:
            return []
        if kind == "many2one":
            text = value[1] if isinstance(value, tuple | list) else str(value)
        elif kind == "selection":
            text = spec.selection.get(value, value)
        elif kind == "html":
            text = html2plaintext(value, include_references=False)
        elif kind in ("float", "monetary", "integer"):
            text = _number(value)
        elif kind in ("date", "datetime"):
            text = (
                fields.Datetime.to_string(value)
                if kind == "datetime"
                else (fields.Date.to_string(value))
            )
        else:
            text = str(value)
        text = text.strip()
        if not text:
            return []
        if spec.kind == "LIST_MULTIPLE_VALUES":
            return [part.strip() for part in text.split(",") if part.strip()]
        return [text]

    @api.model
    def _mirakl_cell(self, catalogue, spec, found):
        """``(cell, problem)``: the value as the file carries it, or why it
        cannot be sent."""
        texts = catalogue.texts
        kind = spec.kind
        if kind in ("LIST", "LIST_MULTIPLE_VALUES"):
            if not spec.list_active:
                return None, texts["list_gone"] % {
                    "list": spec.list_code,
                    "attribute": spec.label,
                }
            if kind == "LIST" and len(found) > 1:
                return None, texts["several"] % {
                    "attribute": spec.label,
                    "values": ", ".join(found),
                }
            codes = catalogue.list_codes.get(spec.list_id, set())
            sent = []
            for value in found:
                code = (
                    value
                    if value in codes
                    else catalogue.value_maps.get((spec.list_id, value))
                )
                if code is None:
                    catalogue.unmapped.add((spec.list_id, value))
                    return None, texts["not_in_list"] % {
                        "value": value,
                        "list": spec.list_code,
                    }
                sent.append(code)
            return MULTI_SEPARATOR.join(sent), None
        value = ", ".join(found)
        args = {"attribute": spec.label, "value": value}
        if kind == "INTEGER" and not _INTEGER.fullmatch(value):
            return None, texts["integer"] % args
        if kind == "DECIMAL" and not _DECIMAL.fullmatch(value):
            return None, texts["decimal"] % args
        if kind == "BOOLEAN" and value not in ("true", "false"):
            return None, texts["boolean"] % args
        if kind == "DATE":
            if not _DATE.match(value):
                return None, texts["date"] % args
            value = value[:10]
        if kind in ("LINK", "MEDIA") and not _URL.fullmatch(value):
            return None, texts["url"] % args
        if spec.max_length and len(value) > spec.max_length:
            return None, texts["length"] % dict(
                args, length=len(value), max=spec.max_length
            )
        return value, None

    def _mirakl_attribute_values(self, product_ids, tmpl_ids, attribute_ids):
        """``({product: {attribute: [names]}}, {template: {attribute:
        [names]}})``: the variants' values, and the template's values of
        attributes that make no variant."""
        if not attribute_ids:
            return {}, {}
        cr = self.env.cr
        lang = self.env.lang or "en_US"
        self.env["product.template.attribute.value"].flush_model()
        self.env["product.template.attribute.line"].flush_model()
        cr.execute(
            """
            SELECT c.product_product_id, pav.attribute_id,
                   COALESCE(pav.name->>%(lang)s, pav.name->>'en_US')
              FROM product_variant_combination c
              JOIN product_template_attribute_value ptav
                ON ptav.id = c.product_template_attribute_value_id
              JOIN product_attribute_value pav
                ON pav.id = ptav.product_attribute_value_id
             WHERE c.product_product_id = ANY(%(products)s)
               AND pav.attribute_id = ANY(%(attributes)s)
             ORDER BY pav.sequence, pav.id
            """,
            {"lang": lang, "products": product_ids, "attributes": attribute_ids},
        )
        variant = defaultdict(lambda: defaultdict(list))
        for product_id, attribute_id, name in cr.fetchall():
            variant[product_id][attribute_id].append(name)
        cr.execute(
            """
            SELECT l.product_tmpl_id, l.attribute_id,
                   COALESCE(pav.name->>%(lang)s, pav.name->>'en_US')
              FROM product_template_attribute_line l
              JOIN product_attribute_value_product_template_attribute_line_rel r
                ON r.product_template_attribute_line_id = l.id
              JOIN product_attribute_value pav ON pav.id = r.product_attribute_value_id
              JOIN product_attribute a ON a.id = l.attribute_id
             WHERE l.product_tmpl_id = ANY(%(templates)s) AND l.active
               AND l.attribute_id = ANY(%(attributes)s)
               AND a.create_variant = 'no_variant'
             ORDER BY pav.sequence, pav.id
            """,
            {"lang": lang, "templates": tmpl_ids, "attributes": attribute_ids},
        )
        template = defaultdict(lambda: defaultdict(list))
        for tmpl_id, attribute_id, name in cr.fetchall():
            template[tmpl_id][attribute_id].append(name)
        return variant, template

    def _mirakl_image_links(self, catalogue, product_ids, tmpl_ids):
        """``{product id: public link}`` of the products with an image (the
        variant's own, else the template's); the link changes with the
        image, so a new image is sent again."""
        cr = self.env.cr
        cr.execute(
            """
            SELECT res_model, res_id, checksum FROM ir_attachment
             WHERE (res_model = 'product.product' AND res_field = 'image_variant_1920'
                    AND res_id = ANY(%s))
                OR (res_model = 'product.template' AND res_field = 'image_1920'
                    AND res_id = ANY(%s))
            """,
            (product_ids, tmpl_ids),
        )
        own, shared = {}, {}
        for model, res_id, checksum in cr.fetchall():
            (own if model == "product.product" else shared)[res_id] = checksum or ""
        cr.execute(
            "SELECT id, product_tmpl_id, mirakl_image_token FROM product_product "
            "WHERE id = ANY(%s)",
            (product_ids,),
        )
        links, missing = {}, []
        tokens = {}
        for product_id, tmpl_id, token in cr.fetchall():
            checksum = own.get(product_id) or shared.get(tmpl_id)
            if checksum is None:
                continue
            if not token:
                token = secrets.token_urlsafe(24)
                missing.append((product_id, token))
            tokens[product_id] = (token, checksum)
        if missing:
            cr.execute(
                """
                UPDATE product_product p SET mirakl_image_token = v.token
                  FROM unnest(%s::int[], %s::text[]) AS v(id, token)
                 WHERE p.id = v.id AND p.mirakl_image_token IS NULL
                """,
                ([m[0] for m in missing], [m[1] for m in missing]),
            )
            self.env["product.product"].invalidate_model(["mirakl_image_token"])
        for product_id, (token, checksum) in tokens.items():
            links[product_id] = "%s/mirakl/image/%s/%s" % (
                catalogue.image_base,
                token,
                (checksum or "0")[:12],
            )
        return links

    def _mirakl_store_readiness(self, offers, rows):
        """Write each offer's readiness when it changed (one query)."""
        changed = [
            row
            for offer, row in zip(offers, rows, strict=True)
            if (offer[9], offer[10] or "", offer[11])
            != ("ready" if row.ready else "not_ready", row.summary, row.category_id)
        ]
        if not changed:
            return
        self.env.cr.execute(
            """
            UPDATE mirakl_offer o
               SET product_ready = v.ready, product_problems = NULLIF(v.problems, ''),
                   product_category_id = v.category, product_checked_date = %s
              FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[])
                   AS v(id, ready, problems, category)
             WHERE o.id = v.id
            """,
            (
                fields.Datetime.now(),
                [row.offer_id for row in changed],
                ["ready" if row.ready else "not_ready" for row in changed],
                [row.summary for row in changed],
                [row.category_id for row in changed],
            ),
        )
        self.env["mirakl.offer"].invalidate_model(
            [
                "product_ready",
                "product_problems",
                "product_category_id",
                "product_checked_date",
            ]
        )
