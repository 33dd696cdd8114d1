"""The sandbox operator's product model (H11, PM11, VL11) and its product
imports (P41, P42, P44, P45, P47).

**The operator's model** (``MODEL``, a UK fashion marketplace; the control
API can replace it, ``PUT /_sandbox/product-model``):

* hierarchies (H11): ``{code, label, level, parent_code}``; a product goes in
  a *leaf* (a hierarchy without children);
* attributes (PM11): one entry per attribute *and* hierarchy where its
  requirement level is set (``hierarchy_code`` ``""``: every category), with
  ``code``, ``label``, ``description``, ``type`` (``TEXT``, ``LONG_TEXT``,
  ``INTEGER``, ``DECIMAL``, ``BOOLEAN``, ``DATE``, ``LINK``, ``MEDIA``,
  ``LIST``, ``LIST_MULTIPLE_VALUES``), ``type_parameters`` (``MAX_LENGTH``,
  ``LIST_CODE``), ``values_list`` (deprecated copy of the list code),
  ``requirement_level`` (``REQUIRED``, ``RECOMMENDED``, ``OPTIONAL``,
  ``DISABLED``), ``variant`` (a variation axis) and, with ``with_roles``,
  ``roles`` ``[{type, parameters}]``. The level that applies to a product is
  the one set on its category or the nearest ancestor, else the global one
  (sandbox convention; how Mirakl nests requirement levels is UNCONFIRMED).
  Three attributes carry the roles naming the file's special columns:
  ``shop_sku`` (``SHOP_SKU``), ``category`` (``CATEGORY``) and
  ``variant_group_code`` (``VARIANT_GROUP_CODE``);
* value lists (VL11): ``{code, label, values [{code, label}]}``.

**P41** (multipart, part ``file``; ``operator_format`` and
``conversion_type`` are accepted and ignored) answers 201 ``{"import_id":
<int>}``. The file is CSV, UTF-8 (a BOM is dropped), separated by the
``product_csv_delimiter`` of the configuration (default ``;``), a header line
naming columns by attribute code. An import goes:

* ``TRANSFORMATION_WAITING`` until its creation plus ``import_delay_seconds``,
  then, at the next request, transformed and validated at once:
* *transformation* (P47): a file that is not UTF-8 or CSV, empty, or whose
  header lacks the SKU (``SHOP_SKU`` role) or category (``CATEGORY`` role)
  column ends ``TRANSFORMATION_FAILED`` with the reason in P47; otherwise a
  header column that is no attribute is ignored (one P47 line, line 1) and a
  line with more values than the header is left out (a P47 line);
* *validation* (P44), per line, every problem listed: SKU missing or given
  earlier in the file, category missing, unknown or not a leaf, a
  ``REQUIRED`` attribute empty, a value on a ``DISABLED`` one, a value outside
  its list (``LIST``; ``|`` separates the values of ``LIST_MULTIPLE_VALUES``),
  a bad ``INTEGER``/``DECIMAL``/``BOOLEAN``/``DATE``, a text longer than its
  ``MAX_LENGTH``, a ``MEDIA``/``LINK`` that is no http(s) URL, an image that
  cannot be downloaded (a ``GET`` must answer 200 with an ``image/*`` type
  within ``image_timeout_seconds``; ``product_image_check`` turns it off), a
  variant group whose products are in different categories or share the
  same values on every variant axis (the later line is in error);
* then ``SENT`` (the valid products are with the operator) until
  ``product_integration_delay_seconds`` later, when they are *integrated*: a
  new shop SKU becomes a product with a Mirakl product SKU (``MKPP`` and six
  digits; OF24 then accepts offers on it by ``product_id_type`` ``SKU``, and
  by ``EAN`` when the ``ean`` attribute is filled), a known one is updated;
  the import is ``COMPLETE``. With no valid product it is ``COMPLETE`` at
  once.

**P42** answers ``{import_id, import_status, date_created, shop_id,
has_error_report, has_new_product_report, has_transformation_error_report,
has_transformed_file (false), transform_lines_read,
transform_lines_in_success, transform_lines_in_error,
transform_lines_with_warning, integration_details {invalid_products,
products_successfully_synchronized, products_not_synchronized,
rejected_products}, reason_status?}``.

**Reports** (``text/csv``, ``;``, every field quoted; sandbox conventions,
Mirakl's layouts are UNCONFIRMED): P44 (error report) = the file's columns
as sent, then ``errors`` (the line's problems, ``; ``-separated) and
``warnings``; P45 (new product report, once integrated) = the SKU column,
``product-sku``, the category column; P47 (transformation error report) =
``error-line``, ``error-message``, then the file's columns. Each answers 404
while the import has no such report.
"""

import copy
import csv
import io
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from . import seed
from .catalogue_model import (
    ROLE_CATEGORY,
    ROLE_SKU,
    ROLE_VARIANT_GROUP,
    _list_code,
    _parameter,
    check_model,
    default_model,
)
from .common import SandboxError, bad_request, iso, to_second

TRANSFORMATION_WAITING = "TRANSFORMATION_WAITING"
TRANSFORMATION_FAILED = "TRANSFORMATION_FAILED"
SENT = "SENT"
COMPLETE = "COMPLETE"
FIRST_PRODUCT_IMPORT_ID = 5001
MULTI_SEPARATOR = "|"
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_URL = re.compile(r"https?://[^\s/]+\S*", re.IGNORECASE)

# --- imports --- #


@dataclass(eq=False)
class ProductImport:
    import_id: int
    created: object
    due: object
    filename: str = None
    size: int = 0
    status: str = TRANSFORMATION_WAITING
    reason_status: str = None
    header: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # [(line number, [values])]
    content: bytes = b""
    transformation_errors: list = field(default_factory=list)  # (line, msg, row)
    errors: dict = field(default_factory=dict)  # row index -> [messages]
    valid: list = field(default_factory=list)  # row indexes
    integrate_at: object = None
    new_products: list = field(default_factory=list)  # [(sku, product_sku, cat)]
    updated: int = 0

    @property
    def finished(self):
        return self.status in (COMPLETE, TRANSFORMATION_FAILED)

    def status_view(self, shop_id):
        """The P42 answer."""
        read = len(self.rows) + sum(1 for e in self.transformation_errors if e[0] > 1)
        body = {
            "import_id": self.import_id,
            "import_status": self.status,
            "date_created": iso(to_second(self.created)),
            "shop_id": shop_id,
            "has_error_report": bool(self.errors),
            "has_new_product_report": self.status == COMPLETE
            and bool(self.new_products),
            "has_transformation_error_report": bool(self.transformation_errors),
            "has_transformed_file": False,
            "transform_lines_read": read,
            "transform_lines_in_success": len(self.rows),
            "transform_lines_in_error": read - len(self.rows),
            "transform_lines_with_warning": 0,
            "integration_details": {
                "invalid_products": len(self.errors),
                "products_successfully_synchronized": len(self.new_products)
                + self.updated,
                "products_not_synchronized": len(self.valid)
                if self.status == SENT
                else 0,
                "rejected_products": 0,
            },
        }
        if self.reason_status:
            body["reason_status"] = self.reason_status
        return body


@dataclass(eq=False)
class CatalogueProduct:
    sku: str
    product_sku: str
    category: str
    variant_group: str
    values: dict
    import_id: int
    created: object
    updated: object


def _csv_text(rows, delimiter=";"):
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n"
    )
    writer.writerows(rows)
    return buffer.getvalue()


class ProductStore:
    """The operator's model, the product imports and the products they
    created. Every method expects the state's lock held."""

    def __init__(self, state):
        self.state = state
        self.model = default_model()
        self.imports = {}  # import_id -> ProductImport
        self.products = {}  # shop sku -> CatalogueProduct, in creation order
        self.next_import_id = FIRST_PRODUCT_IMPORT_ID
        self.next_product_number = 1
        self._index()

    def set_model(self, model):
        check_model(model)
        self.model = copy.deepcopy(model)
        self._index()

    def _index(self):
        model = self.model
        self.nodes = {node["code"]: node for node in model["hierarchies"]}
        self.children = {code: [] for code in self.nodes}
        for node in model["hierarchies"]:
            if node.get("parent_code"):
                self.children[node["parent_code"]].append(node["code"])
        self.lists = {
            v["code"]: {value["code"] for value in v.get("values") or ()}
            for v in model["values_lists"]
        }
        self.definitions = {}  # code -> the first entry (type, list, ...)
        self.levels = {}  # code -> {hierarchy: level}
        for attribute in model["attributes"]:
            self.definitions.setdefault(attribute["code"], attribute)
            self.levels.setdefault(attribute["code"], {})[
                attribute.get("hierarchy_code") or ""
            ] = attribute["requirement_level"]
        self.role_columns = {}
        for attribute in model["attributes"]:
            for role in attribute.get("roles") or ():
                self.role_columns.setdefault(role.get("type"), attribute["code"])

    # --- H11, PM11, VL11 --- #

    def ancestors(self, code):
        """``code`` and its ancestors, nearest first."""
        chain = []
        while code:
            chain.append(code)
            code = self.nodes[code].get("parent_code")
        return chain

    def hierarchies(self, hierarchy=None, max_level=None):
        if hierarchy is not None and hierarchy not in self.nodes:
            raise SandboxError(404, "The hierarchy '%s' does not exist" % hierarchy)
        if hierarchy is None:
            roots = [c for c, n in self.nodes.items() if not n.get("parent_code")]
            found, frontier, depth = [], roots, 1
        else:
            found, frontier, depth = [hierarchy], self.children[hierarchy], 1
        while frontier and (max_level is None or depth <= max_level):
            found += frontier
            frontier = [child for code in frontier for child in self.children[code]]
            depth += 1
        wanted = set(found)
        return [copy.deepcopy(n) for c, n in self.nodes.items() if c in wanted]

    def attributes(self, hierarchy=None, max_level=None, with_roles=False):
        if hierarchy is not None and hierarchy not in self.nodes:
            raise SandboxError(404, "The hierarchy '%s' does not exist" % hierarchy)
        wanted = None
        if hierarchy is not None:
            below = {n["code"] for n in self.hierarchies(hierarchy, max_level)}
            wanted = {""} | set(self.ancestors(hierarchy)) | below
        result = []
        for attribute in self.model["attributes"]:
            if wanted is not None and (attribute.get("hierarchy_code") or "") not in (
                wanted
            ):
                continue
            entry = copy.deepcopy(attribute)
            if not with_roles:
                entry.pop("roles", None)
            result.append(entry)
        return result

    def values_lists(self, code=None):
        lists = self.model["values_lists"]
        if code is not None:
            lists = [v for v in lists if v["code"] == code]
            if not lists:
                raise SandboxError(404, "The value list '%s' does not exist" % code)
        return copy.deepcopy(lists)

    def level(self, attribute_code, category):
        levels = self.levels.get(attribute_code, {})
        for code in self.ancestors(category):
            if code in levels:
                return levels[code]
        return levels.get("", "OPTIONAL")

    # --- P41 --- #

    def create_import(self, content, filename):
        now = self.state.now()
        delay = timedelta(seconds=self.state.config["import_delay_seconds"])
        product_import = ProductImport(
            import_id=self.next_import_id,
            created=now,
            due=now + delay,
            filename=filename,
            size=len(content),
            content=content,
        )
        self.next_import_id += 1
        self.imports[product_import.import_id] = product_import
        return product_import

    def get_import(self, import_id):
        try:
            number = int(import_id)
        except ValueError as exc:
            raise bad_request("import must be an integer") from exc
        product_import = self.imports.get(number)
        if product_import is None:
            raise SandboxError(404, "Product import %s not found" % import_id)
        return product_import

    def process_due(self, now):
        """Transform and validate imports that are due, integrate the ones
        whose integration delay is over (in creation order)."""
        for product_import in self.imports.values():
            if product_import.status == TRANSFORMATION_WAITING:
                if product_import.due > now:
                    continue
                self._transform(product_import)
                if product_import.status == TRANSFORMATION_FAILED:
                    continue
                self._validate(product_import)
                if product_import.valid:
                    product_import.status = SENT
                    product_import.integrate_at = now + timedelta(
                        seconds=self.state.config["product_integration_delay_seconds"]
                    )
                else:
                    product_import.status = COMPLETE
            if product_import.status == SENT and product_import.integrate_at <= now:
                self._integrate(product_import, now)

    def _transform(self, product_import):
        content, product_import.content = product_import.content, b""
        delimiter = self.state.config["product_csv_delimiter"]
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return self._fail(product_import, "The file is not UTF-8 text")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header, rows = None, []
        try:
            for number, record in enumerate(reader, start=1):
                if header is None:
                    header = [name.strip() for name in record]
                    continue
                if record and any(value.strip() for value in record):
                    rows.append((number, record))
        except csv.Error as exc:
            return self._fail(product_import, "The file is not valid CSV: %s" % exc)
        if not header or not any(header):
            return self._fail(
                product_import, "The file is empty: a header line is required"
            )
        product_import.header = header
        required = [
            self.role_columns.get(ROLE_SKU, "shop_sku"),
            self.role_columns.get(ROLE_CATEGORY, "category"),
        ]
        missing = [name for name in required if name not in header]
        if missing:
            return self._fail(
                product_import,
                "The header has no column %s (columns are separated by '%s')"
                % (", ".join("'%s'" % m for m in missing), delimiter),
            )
        for name in header:
            if name not in self.definitions:
                product_import.transformation_errors.append(
                    (
                        1,
                        "The column '%s' is not an attribute of the operator: "
                        "ignored" % name,
                        [],
                    )
                )
        for number, values in rows:
            if len(values) > len(header):
                product_import.transformation_errors.append(
                    (
                        number,
                        "The line has %d values, the header %d"
                        % (len(values), len(header)),
                        values,
                    )
                )
            else:
                product_import.rows.append((number, values))
        return None

    def _fail(self, product_import, reason):
        product_import.status = TRANSFORMATION_FAILED
        product_import.reason_status = reason
        product_import.transformation_errors.append((0, reason, []))

    def _validate(self, product_import):
        header = product_import.header
        sku_column = self.role_columns.get(ROLE_SKU, "shop_sku")
        category_column = self.role_columns.get(ROLE_CATEGORY, "category")
        group_column = self.role_columns.get(ROLE_VARIANT_GROUP)
        seen = set()
        groups = {}  # code -> [(index, category, axes)]
        image_cache = {}
        for index, (_number, values) in enumerate(product_import.rows):
            row = {
                name: (values[position].strip() if position < len(values) else "")
                for position, name in enumerate(header)
                if name in self.definitions
            }
            errors = []
            sku = row.get(sku_column, "")
            if not sku:
                errors.append("The product SKU (%s) is required" % sku_column)
            elif sku in seen:
                errors.append(
                    "The product SKU '%s' is given more than once in the file" % sku
                )
            seen.add(sku)
            category = row.get(category_column, "")
            if not category:
                errors.append("The category is required")
            elif category not in self.nodes:
                errors.append("The category '%s' does not exist" % category)
            elif self.children[category]:
                errors.append(
                    "The category '%s' is not a leaf category: products go in "
                    "its subcategories" % category
                )
            else:
                errors += self._attribute_errors(row, category, image_cache)
                if group_column and row.get(group_column):
                    axes = tuple(
                        (code, row.get(code, ""))
                        for code in sorted(self.definitions)
                        if self.definitions[code].get("variant")
                        and self.level(code, category) != "DISABLED"
                    )
                    groups.setdefault(row[group_column], []).append(
                        (index, category, axes)
                    )
            if errors:
                product_import.errors[index] = errors
        for code, members in groups.items():
            first_category = members[0][1]
            axes_seen = {}
            for index, category, axes in members:
                if category != first_category:
                    product_import.errors.setdefault(index, []).append(
                        "The variant group '%s' holds products of category '%s' "
                        "and '%s'" % (code, first_category, category)
                    )
                elif axes in axes_seen:
                    other = product_import.rows[axes_seen[axes]][1]
                    product_import.errors.setdefault(index, []).append(
                        "The variant group '%s' already has a product with the "
                        "same variant values (%s): SKU '%s'"
                        % (
                            code,
                            ", ".join("%s=%s" % (k, v or "-") for k, v in axes),
                            other[header.index(sku_column)],
                        )
                    )
                else:
                    axes_seen[axes] = index
        product_import.valid = [
            index
            for index in range(len(product_import.rows))
            if index not in product_import.errors
        ]

    def _attribute_errors(self, row, category, image_cache):
        errors = []
        category_label = self.nodes[category]["label"]
        for code, attribute in self.definitions.items():
            if attribute.get("roles") and any(
                r.get("type") in (ROLE_SKU, ROLE_CATEGORY, ROLE_VARIANT_GROUP)
                for r in attribute["roles"]
            ):
                continue
            level = self.level(code, category)
            value = row.get(code, "")
            if not value:
                if level == "REQUIRED":
                    errors.append(
                        "The attribute '%s' is required for category '%s'"
                        % (code, category_label)
                    )
                continue
            if level == "DISABLED":
                errors.append(
                    "The attribute '%s' is disabled for category '%s'"
                    % (code, category_label)
                )
                continue
            problem = self._value_error(attribute, value, image_cache)
            if problem:
                errors.append(problem)
        return errors

    def _value_error(self, attribute, value, image_cache):
        code, kind = attribute["code"], attribute["type"]
        if kind in ("LIST", "LIST_MULTIPLE_VALUES"):
            list_code = _list_code(attribute)
            values = value.split(MULTI_SEPARATOR) if kind != "LIST" else [value]
            for item in values:
                if item not in self.lists.get(list_code, ()):
                    return (
                        "The value '%s' of attribute '%s' is not in the list '%s'"
                        % (item, code, list_code)
                    )
            return None
        if kind == "INTEGER" and not _INTEGER.fullmatch(value):
            return "The value '%s' of attribute '%s' is not an integer" % (value, code)
        if kind == "DECIMAL" and not _DECIMAL.fullmatch(value):
            return "The value '%s' of attribute '%s' is not a decimal number" % (
                value,
                code,
            )
        if kind == "BOOLEAN" and value not in ("true", "false"):
            return "The value '%s' of attribute '%s' is not true or false" % (
                value,
                code,
            )
        if kind == "DATE" and not _is_date(value):
            return "The value '%s' of attribute '%s' is not a date" % (value, code)
        if kind in ("LINK", "MEDIA") and not _URL.fullmatch(value):
            return "The value '%s' of attribute '%s' is not an http(s) URL" % (
                value,
                code,
            )
        if kind == "MEDIA" and self.state.config["product_image_check"]:
            if value not in image_cache:
                image_cache[value] = self._download_error(value)
            if image_cache[value]:
                return (
                    "The image '%s' of attribute '%s' could not be downloaded: %s"
                    % (value, code, image_cache[value])
                )
        limit = _parameter(attribute, "MAX_LENGTH")
        if limit and kind in ("TEXT", "LONG_TEXT") and len(value) > int(limit):
            return "The value of attribute '%s' is %d characters long, at most %s" % (
                code,
                len(value),
                limit,
            )
        return None

    def _download_error(self, url):
        """Why ``url`` is not a downloadable image (None when it is one)."""
        timeout = self.state.config["image_timeout_seconds"]
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                media_type = response.headers.get("Content-Type", "")
                response.read(1)
                if not media_type.startswith("image/"):
                    return "the answer is %s, not an image" % (media_type or "untyped")
                return None
        except urllib.error.HTTPError as exc:
            return "HTTP %s" % exc.code
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return str(reason) or type(exc).__name__

    def _integrate(self, product_import, now):
        header = product_import.header
        sku_column = self.role_columns.get(ROLE_SKU, "shop_sku")
        category_column = self.role_columns.get(ROLE_CATEGORY, "category")
        group_column = self.role_columns.get(ROLE_VARIANT_GROUP)
        moment = to_second(now)
        for index in product_import.valid:
            values = product_import.rows[index][1]
            row = {
                name: (values[position].strip() if position < len(values) else "")
                for position, name in enumerate(header)
                if name in self.definitions and position < len(values)
            }
            sku, category = row[sku_column], row[category_column]
            existing = self.products.get(sku)
            if existing is not None:
                existing.values.update(row)
                existing.category = category
                existing.variant_group = row.get(group_column or "", "")
                existing.updated = moment
                product_import.updated += 1
                self.state.offers.register_product(self._offer_product(existing))
                continue
            product = CatalogueProduct(
                sku=sku,
                product_sku="MKPP%06d" % self.next_product_number,
                category=category,
                variant_group=row.get(group_column or "", ""),
                values=row,
                import_id=product_import.import_id,
                created=moment,
                updated=moment,
            )
            self.next_product_number += 1
            self.products[sku] = product
            self.state.offers.register_product(self._offer_product(product))
            product_import.new_products.append((sku, product.product_sku, category))
        product_import.status = COMPLETE

    def _offer_product(self, product):
        """The catalogue product OF24 finds (by Mirakl product SKU, or EAN)."""
        root = self.ancestors(product.category)[-1]
        return seed.Product(
            sku=product.sku,
            offer_id=0,
            product_sku=product.product_sku,
            ean=product.values.get("ean") or "",
            title=product.values.get("title") or product.sku,
            description=product.values.get("description") or "",
            category=seed.CATEGORIES.get(root, seed.CATEGORIES["ACCESSORIES"]),
            price=Decimal("0.00"),
            colour=product.values.get("colour") or "",
            size=product.values.get("size") or "",
        )

    # --- reports --- #

    def error_report(self, product_import):
        """P44 CSV (None without errors)."""
        if not product_import.errors:
            return None
        header = product_import.header
        rows = [list(header) + ["errors", "warnings"]]
        for index, messages in sorted(product_import.errors.items()):
            values = list(product_import.rows[index][1])
            values += [""] * (len(header) - len(values))
            rows.append(values + ["; ".join(messages), ""])
        return _csv_text(rows)

    def new_product_report(self, product_import):
        """P45 CSV (None until integrated, or without new products)."""
        if product_import.status != COMPLETE or not product_import.new_products:
            return None
        rows = [
            [
                self.role_columns.get(ROLE_SKU, "shop_sku"),
                "product-sku",
                self.role_columns.get(ROLE_CATEGORY, "category"),
            ]
        ]
        rows += [list(entry) for entry in product_import.new_products]
        return _csv_text(rows)

    def transformation_error_report(self, product_import):
        """P47 CSV (None without transformation errors)."""
        if not product_import.transformation_errors:
            return None
        rows = [["error-line", "error-message"] + list(product_import.header)]
        for line, message, values in product_import.transformation_errors:
            rows.append([str(line) if line else "", message] + list(values))
        return _csv_text(rows)

    # --- control API views --- #

    def import_details(self, product_import):
        """The P42 view with the lines as received and their outcome."""
        header = product_import.header
        lines = []
        new = {sku for sku, _product_sku, _category in product_import.new_products}
        sku_column = self.role_columns.get(ROLE_SKU, "shop_sku")
        for index, (number, values) in enumerate(product_import.rows):
            row = dict(zip(header, values, strict=False))
            errors = product_import.errors.get(index)
            if errors:
                outcome = "error"
            elif product_import.status != COMPLETE:
                outcome = "waiting"
            else:
                outcome = "created" if row.get(sku_column) in new else "updated"
            lines.append(
                {"line": number, "values": row, "outcome": outcome, "errors": errors}
            )
        return dict(
            product_import.status_view(self.state.shop_id),
            filename=product_import.filename,
            size=product_import.size,
            header=header,
            lines=lines,
            transformation_errors=[
                {"line": line, "message": message}
                for line, message, _values in product_import.transformation_errors
            ],
        )

    def product_view(self, product):
        return {
            "sku": product.sku,
            "product_sku": product.product_sku,
            "category": product.category,
            "variant_group": product.variant_group,
            "values": dict(product.values),
            "import_id": product.import_id,
            "created": iso(product.created),
            "updated": iso(product.updated),
        }


def _is_date(value):
    try:
        if "T" in value:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            date.fromisoformat(value)
    except ValueError:
        return False
    return True
