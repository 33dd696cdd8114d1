"""The sandbox's offers, stock imports (STO01-03) and offer imports (OF24,
OF02, OF03).

Catalogue: the products of ``seed.PRODUCTS`` plus those the control API adds
(``POST /_sandbox/offers``, for benchmarks), found by EAN or by Mirakl
product SKU (``product_sku``). A product carries no stock: offers do.

Offers (one store per sandbox, keyed by ``shop_sku``): ``offer_id`` (seed
offers keep their catalogue id, new ones are numbered after the largest seed
id and never reused), the catalogue product, ``price``, ``state_code`` (an
OF61 code), ``quantity`` and the OF24 offer as last given (every optional
field omitted set back to its default: full replace, as Mirakl documents).
An offer is ``active`` while its quantity is above 0, otherwise inactive
with ``inactivity_reasons`` ``["ZERO_QUANTITY"]`` (sandbox convention:
nothing else makes a sandbox offer inactive).

With ``seed_offers`` (config, default true) every seed product has an offer
at reset: ``shop_sku`` = its SKU, its ``offer_id`` and price, state ``"11"``,
quantity ``initial_offer_quantity`` (config, default 0), other fields at
their defaults.

Orders move stock (sandbox convention, UNCONFIRMED how Mirakl books it): a
new order (control API, backlog, raw order) takes its line quantities from
the offers of its SKUs (never below 0; a SKU without offer takes nothing); a
refusal (OR21, automatic) or a cancellation (control API, OR29, OR30) gives
the quantity refused or cancelled back, to the offer of that SKU if it still
exists. Replacing a raw order takes stock again without giving the old one
back.

Imports are asynchronous: each is ``WAITING`` until its creation plus
``import_delay_seconds`` (config, default 0; read when the import is
created) on the sandbox clock, then processed at once, at the start of the
next request (``SandboxState.refresh``), in creation order, STO01 and OF24
imports interleaved. ``RUNNING`` is never shown (processing is instant).

STO01 file (sandbox rules; Mirakl's exact validation is UNCONFIRMED): UTF-8
(a BOM is dropped), ``;``-separated, double quotes allowed, a header line
naming ``offer-sku`` and ``quantity`` (required) and optionally
``warehouse-code`` and ``update-delete``; other columns are kept and ignored.
A file that is not UTF-8, not CSV, empty or without those columns makes an
import that ends ``FAILED`` with a ``reason_status`` (not a 400). Line
numbers count the CSV records of the file, the header being line 1 (so they
are the physical line numbers unless a quoted value spans lines); blank
lines are skipped. A line is in error (kept out, the others applied) when
its SKU is empty or has no offer ("The offer with sku 'X' does not
exist"), its quantity is not an integer from 0 to 2147483647, its SKU came
earlier in the file (the later line is the one in error), it has more
values than the header, ``warehouse-code`` is not empty (the sandbox shop
has no warehouses) or ``update-delete`` is neither empty nor ``update``.
Quantities are absolute: a line sets the offer's quantity.

STO03 (``text/csv``, every field quoted, ``;``, ``\\n``): ``"error-line";
"error-message"`` then the file's own header, then one row per line in
error with its values as sent (padded to the header), ready to re-import
once the first two columns are dropped.

OF24 (checked per offer at processing, refused offers listed in OF03): an
offer needs ``shop_sku`` and ``update_delete`` (``""`` or ``"update"``:
create or replace; ``"delete"``). A delete needs only ``shop_sku`` and an
existing offer (sandbox convention). A create or update needs ``price`` (a
number, or a numeric string, at least 0), ``state_code`` (an OF61 code)
and, at creation, ``product_id`` with ``product_id_type`` ``EAN`` (catalogue
EAN) or ``SKU`` (Mirakl product SKU); other types are refused (the list is
operator-defined, UNCONFIRMED). On update a ``product_id`` naming another
product is refused (sandbox convention). Integer fields (``quantity``,
``leadtime_to_ship``, ``min_order_quantity``, ``max_order_quantity``,
``min_quantity_alert``, ``package_quantity``) take integers or digit
strings (Mirakl's own example sends ``"5000"``), at least 0; text fields
strings; ``available_started``/``available_ended`` ISO-8601 date-times;
``discount`` an object; ``offer_additional_fields`` a list of ``{code,
value}``. A SKU given twice in one request: the later offer is in error.
Omitted fields go back to their defaults (``quantity`` 0, the rest null,
empty lists, ``allow_quote_requests`` false). More than
``max_offers_per_call`` offers (config, default 10000; Mirakl's limit is
UNCONFIRMED), a body that is not ``{"offers": [objects...]}`` or an empty
list answer 400 ``VALIDATION_ERROR``. A request identical (same JSON) to one
still ``WAITING`` answers that import's id (Mirakl documents duplicate
detection; what counts as identical is UNCONFIRMED).

OF03 (``application/octet-stream``, as Mirakl's example): the OF01 columns
``"sku";"product-id";"product-id-type";"price";"quantity";"state";
"update-delete";"error-line";"error-message"`` with the offer's values as
sent; ``error-line`` is the 1-based position of the offer in the request's
``offers`` list (sandbox convention: OF24 has no file, so no header line).

OF21 view of an offer (sandbox subset of Mirakl's example): ``offer_id``,
``shop_sku``, ``product_sku``, ``product_title``, ``product_references``
(``[{reference_type: "EAN", reference}]``), ``category_code``,
``category_label``, ``quantity``, ``price``, ``total_price`` (= ``price``:
sandbox offers have no minimum shipping price), ``active``,
``inactivity_reasons``, ``state_code``, ``currency_iso_code`` (``GBP``),
``leadtime_to_ship``, ``logistic_class`` (``{code, label}`` with the code
as label, or null), ``description``, ``internal_description``,
``min_quantity_alert``, ``min_order_quantity``, ``max_order_quantity``,
``package_quantity``, ``available_start_date``, ``available_end_date``,
``price_additional_info``, ``allow_quote_requests``, ``product_tax_code``,
``discount`` (as stored, or null; never applied to the price),
``offer_additional_fields``, ``all_prices`` and ``applicable_pricing`` (one
default-channel price, no volume price but the unit one), ``channels`` and
``warehouses`` (empty).
"""

import copy
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from . import seed
from .common import (
    SandboxError,
    bad_request,
    iso,
    parse_datetime,
    to_second,
    validation_error,
)
from .offer_files import (
    MAX_QUANTITY,
    STOCK_COLUMNS,
    _cell,
    _int_value,
    _price_value,
    _read_stock_file,
    _shown,
    csv_text,
)

WAITING = "WAITING"
COMPLETE = "COMPLETE"
FAILED = "FAILED"

# OF61: (code, label), in their sort order.
OFFER_STATES = (
    ("11", "New"),
    ("1", "Used - Like New"),
    ("2", "Used - Very Good Condition"),
    ("3", "Used - Good Condition"),
    ("4", "Used - Acceptable Condition"),
    ("10", "Refurbished"),
)
OFFER_STATE_CODES = frozenset(code for code, _label in OFFER_STATES)
PRODUCT_ID_TYPES = ("EAN", "SKU")
ZERO_QUANTITY = "ZERO_QUANTITY"
FIRST_OFFER_IMPORT_ID = 3001
STOCK_REPORT_PREFIX = ("error-line", "error-message")
OF03_COLUMNS = (
    "sku",
    "product-id",
    "product-id-type",
    "price",
    "quantity",
    "state",
    "update-delete",
    "error-line",
    "error-message",
)
# OF24 field -> OF03 column (the offer's values as sent)
_OF03_FIELDS = (
    ("shop_sku", "sku"),
    ("product_id", "product-id"),
    ("product_id_type", "product-id-type"),
    ("price", "price"),
    ("quantity", "quantity"),
    ("state_code", "state"),
    ("update_delete", "update-delete"),
)
# OF24 optional fields and their defaults (full replace: omitted = default)
OFFER_DEFAULTS = {
    "quantity": 0,
    "description": None,
    "internal_description": None,
    "price_additional_info": None,
    "min_quantity_alert": None,
    "available_started": None,
    "available_ended": None,
    "leadtime_to_ship": None,
    "logistic_class": None,
    "min_order_quantity": None,
    "max_order_quantity": None,
    "package_quantity": None,
    "allow_quote_requests": False,
    "product_tax_code": None,
    "pricing_unit": None,
    "msrp": None,
    "discount": None,
    "all_prices": [],
    "offer_additional_fields": [],
    "eco_contributions": [],
    "retail_prices": [],
}
_INT_FIELDS = (
    "quantity",
    "leadtime_to_ship",
    "min_order_quantity",
    "max_order_quantity",
    "min_quantity_alert",
    "package_quantity",
)
_TEXT_FIELDS = (
    "description",
    "internal_description",
    "price_additional_info",
    "logistic_class",
    "product_tax_code",
    "pricing_unit",
)
_DATE_FIELDS = ("available_started", "available_ended")
_LIST_FIELDS = ("all_prices", "eco_contributions", "retail_prices")
_EMPTY_LISTS = tuple(k for k, v in OFFER_DEFAULTS.items() if v == [])


def offer_defaults():
    """A fresh copy of ``OFFER_DEFAULTS`` (new empty lists)."""
    data = dict(OFFER_DEFAULTS)
    for key in _EMPTY_LISTS:
        data[key] = []
    return data


_ADDED_CATEGORY = seed.CATEGORIES["ACCESSORIES"]
SORTS = ("totalPrice", "price", "productTitle")

_SEED_BY_EAN = {p.ean: p for p in seed.PRODUCTS.values()}
_SEED_BY_PRODUCT_SKU = {p.product_sku: p for p in seed.PRODUCTS.values()}
_FIRST_NEW_OFFER_ID = max(p.offer_id for p in seed.PRODUCTS.values()) + 1


class OfferError(Exception):
    """Why one OF24 offer or one STO01 line is refused (its report message)."""


@dataclass(eq=False)
class Offer:
    offer_id: int
    sku: str
    product: seed.Product
    price: Decimal
    state_code: str
    quantity: int
    data: dict  # the OF24 offer as last given, optional fields defaulted

    @property
    def active(self):
        return self.quantity > 0

    @property
    def inactivity_reasons(self):
        return [] if self.quantity > 0 else [ZERO_QUANTITY]

    def stored(self):
        """The stored OF24 offer, with the current price and quantity."""
        return dict(
            copy.deepcopy(self.data),
            shop_sku=self.sku,
            price=self.price,
            quantity=self.quantity,
            state_code=self.state_code,
        )


@dataclass(eq=False)
class _Import:
    seq: int
    created: object  # aware datetime, exact (shown to the second)
    due: object
    status: str = WAITING
    reason_status: str = None

    @property
    def date_created(self):
        return iso(to_second(self.created))


@dataclass(eq=False)
class StockImport(_Import):
    import_id: str = None
    filename: str = None
    size: int = 0
    header: list = None  # the file's column names, as read
    rows: list = field(default_factory=list)  # [(line number, [values])]
    failure: str = None  # why the file cannot be read (FAILED at processing)
    errors: dict = field(default_factory=dict)  # row index -> message
    lines_in_success: int = 0

    @property
    def lines_in_error(self):
        return len(self.errors)

    def status_view(self, shop_id):
        """The STO02 answer."""
        body = {
            "import_id": self.import_id,
            "status": self.status,
            "date_created": self.date_created,
            "has_error_report": bool(self.errors),
            "lines_in_success": self.lines_in_success,
            "lines_in_error": self.lines_in_error,
            "shop_id": shop_id,
        }
        if self.status == FAILED:
            body["reason_status"] = self.reason_status
        return body


@dataclass(eq=False)
class OfferImport(_Import):
    import_id: int = None
    offers: list = field(default_factory=list)  # as received
    fingerprint: str = None
    outcomes: list = field(default_factory=list)  # per offer: (outcome, error)
    counts: dict = field(
        default_factory=lambda: {"inserted": 0, "updated": 0, "deleted": 0}
    )

    @property
    def lines_in_error(self):
        return sum(1 for outcome, _error in self.outcomes if outcome == "error")

    def status_view(self):
        """The OF02 answer."""
        done = self.status in (COMPLETE, FAILED)
        in_error = self.lines_in_error
        body = {
            "import_id": self.import_id,
            "status": self.status,
            "date_created": self.date_created,
            "has_error_report": in_error > 0,
            "lines_read": len(self.offers) if done else 0,
            "lines_in_success": len(self.outcomes) - in_error,
            "lines_in_error": in_error,
            "lines_in_pending": 0,
            "offer_inserted": self.counts["inserted"],
            "offer_updated": self.counts["updated"],
            "offer_deleted": self.counts["deleted"],
            "mode": "NORMAL",
        }
        if self.status == FAILED:
            body["reason_status"] = self.reason_status
        return body


_SHARED_DEFAULTS = offer_defaults()


# === the store === #


class OfferStore:
    """Catalogue additions, offers and imports of one sandbox.

    Holds its ``SandboxState`` for the configuration, clock and shop id; every
    method expects the state's lock held.
    """

    def __init__(self, state):
        self.state = state
        config = state.config
        self.offers = {}  # shop_sku -> Offer, in creation order
        self.added_products = {}  # sku -> Product (control API)
        self.by_ean = {}
        self.by_product_sku = {}
        self.next_offer_id = _FIRST_NEW_OFFER_ID
        self.next_product_number = 1
        self.stock_imports = {}  # import_id -> StockImport
        self.offer_imports = {}  # import_id -> OfferImport
        self.pending = []  # imports WAITING, in creation order
        self.import_seq = 0
        self.next_offer_import_id = FIRST_OFFER_IMPORT_ID
        self.import_rng = random.Random("stock-imports-%s" % state.seed)
        self.version = 0  # moves when the OF21 sort order may change
        self._sorted = {}
        if config["seed_offers"]:
            quantity = config["initial_offer_quantity"]
            for product in seed.PRODUCTS.values():
                self._add(product.sku, product, product.price, "11", quantity, {})
                self.offers[product.sku].offer_id = product.offer_id
            self.next_offer_id = _FIRST_NEW_OFFER_ID

    # --- catalogue and offers --- #

    def catalogue_product(self, sku):
        """The catalogue product of a (seed or added) SKU, or None."""
        if not isinstance(sku, str):
            return None
        return seed.PRODUCTS.get(sku) or self.added_products.get(sku)

    def find_product(self, product_id, id_type):
        if id_type == "EAN":
            return self.by_ean.get(product_id) or _SEED_BY_EAN.get(product_id)
        return self.by_product_sku.get(product_id) or _SEED_BY_PRODUCT_SKU.get(
            product_id
        )

    def add_product(self, sku, price, title=None, ean=None, product_sku=None):
        """A new catalogue product for ``sku`` (control API)."""
        number = self.next_product_number
        self.next_product_number += 1
        product = seed.Product(
            sku=sku,
            offer_id=0,
            product_sku=product_sku or "MKPX%08d" % number,
            ean=ean or seed.ean13("2%011d" % number),
            title=title or "Sandbox product %s" % sku,
            description="Sandbox product %s." % sku,
            category=_ADDED_CATEGORY,
            price=price,
            colour="",
            size="",
        )
        self.added_products[sku] = product
        self.by_ean[product.ean] = product
        self.by_product_sku[product.product_sku] = product
        return product

    def register_product(self, product):
        """A product the operator integrated from a product import (P41):
        OF24 finds it by its Mirakl product SKU, and by its EAN if it has
        one. An updated product replaces its earlier version for new offers
        (existing offers keep the version they were created on)."""
        self.by_product_sku[product.product_sku] = product
        if product.ean:
            self.by_ean[product.ean] = product

    def _add(self, sku, product, price, state_code, quantity, data):
        offer = Offer(
            offer_id=self.next_offer_id,
            sku=sku,
            product=product,
            price=price,
            state_code=state_code,
            quantity=quantity,
            # never changed in place: OF24 replaces it (so one shared default)
            data=data or _SHARED_DEFAULTS,
        )
        self.next_offer_id += 1
        self.offers[sku] = offer
        self.version += 1
        return offer

    def set_price(self, offer, price):
        """Change an offer's price (OF21's sort order moves with it)."""
        if offer.price != price:
            self.version += 1
        offer.price = price

    def add_offer(self, sku, quantity, price=None, state_code="11", **product):
        """Control API: an offer (and its catalogue product when new)."""
        if sku in self.offers:
            raise bad_request("An offer with sku '%s' already exists" % sku)
        catalogue = self.catalogue_product(sku)
        if catalogue is None:
            catalogue = self.add_product(sku, price or Decimal("10.00"), **product)
        price = catalogue.price if price is None else price
        return self._add(sku, catalogue, price, state_code, quantity, {})

    def generate(self, prefix, count, quantity, price):
        """Control API: ``count`` offers ``<prefix>000001``... with new products."""
        width = max(6, len(str(count)))
        skus = ["%s%0*d" % (prefix, width, n) for n in range(1, count + 1)]
        taken = [sku for sku in skus if sku in self.offers]
        if taken:
            raise bad_request("An offer with sku '%s' already exists" % taken[0])
        for sku in skus:
            product = self.catalogue_product(sku) or self.add_product(sku, price)
            self._add(sku, product, price, "11", quantity, {})
        return skus

    def get(self, sku):
        offer = self.offers.get(sku)
        if offer is None:
            raise SandboxError(404, "The offer with sku '%s' does not exist" % sku)
        return offer

    def take(self, sku, quantity):
        """An order took ``quantity`` of ``sku`` (floor 0; no offer: nothing)."""
        offer = self.offers.get(sku)
        if offer is not None and quantity > 0:
            offer.quantity = max(0, offer.quantity - quantity)

    def give_back(self, sku, quantity):
        """Refused or cancelled ``quantity`` of ``sku`` returns to its offer."""
        offer = self.offers.get(sku)
        if offer is not None and quantity > 0:
            offer.quantity = min(MAX_QUANTITY, offer.quantity + quantity)

    def sorted_offers(self, sort, descending):
        """Every offer in OF21 order (cached until a price or offer changes)."""
        key = (sort, descending, self.version)
        cached = self._sorted.get(key)
        if cached is None:
            if sort == "productTitle":

                def sort_key(o):
                    return (o.product.title, o.price, o.offer_id)

            else:  # totalPrice, price: total_price is the price in the sandbox

                def sort_key(o):
                    return (o.price, o.offer_id)

            cached = sorted(self.offers.values(), key=sort_key, reverse=descending)
            self._sorted = {key: cached}
        return cached

    # --- imports --- #

    def _new_import_times(self):
        now = self.state.now()
        delay = timedelta(seconds=self.state.config["import_delay_seconds"])
        self.import_seq += 1
        return self.import_seq, now, now + delay

    def create_stock_import(self, content, filename):
        """STO01: read the file now, apply it when due; the StockImport."""
        seq, created, due = self._new_import_times()
        header, rows, failure = _read_stock_file(content)
        stock_import = StockImport(
            seq=seq,
            created=created,
            due=due,
            import_id=str(uuid.UUID(int=self.import_rng.getrandbits(128), version=4)),
            filename=filename,
            size=len(content),
            header=header,
            rows=rows,
            failure=failure,
        )
        self.stock_imports[stock_import.import_id] = stock_import
        self.pending.append(stock_import)
        return stock_import

    def create_offer_import(self, body):
        """OF24: check the body's shape now, apply it when due; the OfferImport.

        An identical request still WAITING answers that import.
        """
        offers = body.get("offers") if isinstance(body, dict) else None
        if not isinstance(offers, list) or not offers:
            raise validation_error("offers is required and must not be empty")
        limit = self.state.config["max_offers_per_call"]
        if len(offers) > limit:
            raise validation_error(
                "Too many offers given: %d, at most %d" % (len(offers), limit)
            )
        if not all(isinstance(offer, dict) for offer in offers):
            raise validation_error("Every element of offers must be an object")
        fingerprint = json.dumps(body, sort_keys=True, separators=(",", ":"))
        for pending in self.pending:
            if isinstance(pending, OfferImport) and pending.fingerprint == fingerprint:
                return pending
        seq, created, due = self._new_import_times()
        offer_import = OfferImport(
            seq=seq,
            created=created,
            due=due,
            import_id=self.next_offer_import_id,
            offers=copy.deepcopy(offers),
            fingerprint=fingerprint,
        )
        self.next_offer_import_id += 1
        self.offer_imports[offer_import.import_id] = offer_import
        self.pending.append(offer_import)
        return offer_import

    def get_stock_import(self, import_id):
        stock_import = self.stock_imports.get(import_id)
        if stock_import is None:
            raise SandboxError(404, "Stock import %s not found" % import_id)
        return stock_import

    def get_offer_import(self, import_id):
        try:
            number = int(import_id)
        except ValueError as exc:
            raise bad_request("import must be an integer") from exc
        offer_import = self.offer_imports.get(number)
        if offer_import is None:
            raise SandboxError(404, "Offer import %s not found" % import_id)
        return offer_import

    def process_due(self, now):
        """Apply every WAITING import due at ``now``, in creation order."""
        if not self.pending or all(i.due > now for i in self.pending):
            return
        ready = [i for i in self.pending if i.due <= now]
        self.pending = [i for i in self.pending if i.due > now]
        for pending in ready:
            if isinstance(pending, StockImport):
                self._process_stock(pending)
            else:
                self._process_offers(pending)

    # --- STO01 processing --- #

    def _process_stock(self, stock_import):
        if stock_import.failure:
            stock_import.status = FAILED
            stock_import.reason_status = stock_import.failure
            return
        header = stock_import.header
        columns = {name: header.index(name) for name in STOCK_COLUMNS if name in header}
        seen = set()
        quantities = {}
        for index, (_number, values) in enumerate(stock_import.rows):
            try:
                sku, quantity = self._stock_line(values, len(header), columns, seen)
            except OfferError as error:
                stock_import.errors[index] = str(error)
                continue
            quantities[sku] = quantity
        for sku, quantity in quantities.items():
            self.offers[sku].quantity = quantity
        stock_import.lines_in_success = len(quantities)
        stock_import.status = COMPLETE

    def _stock_line(self, values, width, columns, seen):
        """``(sku, quantity)`` of one STO01 line (OfferError when refused)."""

        def value(name):
            return _cell(values, columns.get(name), "").strip()

        if len(values) > width:
            raise OfferError(
                "The line has %d values, the header %d" % (len(values), width)
            )
        sku = value("offer-sku")
        if not sku:
            raise OfferError("The offer-sku is required")
        if sku in seen:
            raise OfferError(
                "The offer with sku '%s' is given more than once in the file" % sku
            )
        seen.add(sku)
        if sku not in self.offers:
            raise OfferError("The offer with sku '%s' does not exist" % sku)
        text = value("quantity")
        quantity = _int_value(text)
        if quantity is None:
            raise OfferError(
                "The quantity '%s' is not a valid integer from 0 to %d"
                % (text, MAX_QUANTITY)
            )
        warehouse = value("warehouse-code")
        if warehouse:
            raise OfferError(
                "The warehouse '%s' does not exist (the shop has no warehouses)"
                % warehouse
            )
        flag = value("update-delete")
        if flag not in ("", "update"):
            raise OfferError(
                "The update-delete value '%s' is invalid: leave it empty or "
                "use 'update'" % flag
            )
        return sku, quantity

    def stock_error_report(self, stock_import):
        """STO03 CSV text (None when the import has no error report)."""
        if not stock_import.errors:
            return None
        header = stock_import.header
        rows = [list(STOCK_REPORT_PREFIX) + header]
        for index, message in sorted(stock_import.errors.items()):
            number, values = stock_import.rows[index]
            padded = list(values) + [""] * (len(header) - len(values))
            rows.append([str(number), message] + padded)
        return csv_text(rows)

    def stock_lines(self, stock_import):
        """Control API: ``[{line, sku, quantity, error}]`` as received."""
        header = stock_import.header or []
        sku_at = header.index("offer-sku") if "offer-sku" in header else None
        qty_at = header.index("quantity") if "quantity" in header else None

        return [
            {
                "line": number,
                "sku": _cell(values, sku_at),
                "quantity": _cell(values, qty_at),
                "error": stock_import.errors.get(index),
            }
            for index, (number, values) in enumerate(stock_import.rows)
        ]

    # --- OF24 processing --- #

    def _process_offers(self, offer_import):
        seen = set()
        for raw in offer_import.offers:
            try:
                outcome = self._apply_offer(raw, seen)
            except OfferError as error:
                offer_import.outcomes.append(("error", str(error)))
                continue
            offer_import.counts[outcome] += 1
            offer_import.outcomes.append((outcome, None))
        offer_import.status = COMPLETE

    def _apply_offer(self, raw, seen):
        """Apply one OF24 offer: ``inserted``, ``updated`` or ``deleted``."""
        sku = raw.get("shop_sku")
        if not isinstance(sku, str) or not sku.strip():
            raise OfferError("shop_sku is required")
        if sku in seen:
            raise OfferError(
                "The offer with sku '%s' is given more than once in the request" % sku
            )
        seen.add(sku)
        flag = raw.get("update_delete")
        if flag is None:
            raise OfferError("update_delete is required (empty, update or delete)")
        if flag not in ("", "update", "delete"):
            raise OfferError(
                "The update_delete value '%s' is invalid: empty, update or delete"
                % flag
            )
        existing = self.offers.get(sku)
        if flag == "delete":
            if existing is None:
                raise OfferError("The offer with sku '%s' does not exist" % sku)
            del self.offers[sku]
            self.version += 1
            return "deleted"
        price = _price_value(raw.get("price"))
        if price is None:
            raise OfferError("price is required: a number greater than or equal to 0")
        state_code = raw.get("state_code")
        if state_code not in OFFER_STATE_CODES:
            raise OfferError("The offer state '%s' does not exist" % (state_code,))
        product = self._offer_product(raw, existing)
        data = _offer_data(raw)
        if existing is None:
            self._add(sku, product, price, state_code, data["quantity"], data)
            return "inserted"
        self.set_price(existing, price)
        existing.state_code = state_code
        existing.quantity, existing.data = data["quantity"], data
        return "updated"

    def _offer_product(self, raw, existing):
        """The catalogue product an OF24 offer names (OfferError when wrong)."""
        product_id, id_type = raw.get("product_id"), raw.get("product_id_type")
        if existing is not None and product_id in (None, ""):
            return existing.product
        if product_id in (None, "") or id_type in (None, ""):
            raise OfferError(
                "product_id and product_id_type are required to create an offer"
            )
        if id_type not in PRODUCT_ID_TYPES:
            raise OfferError(
                "The product_id_type '%s' is not supported (EAN or SKU)" % (id_type,)
            )
        product = self.find_product(str(product_id), id_type)
        if product is None:
            raise OfferError(
                "The product '%s' (%s) does not exist" % (product_id, id_type)
            )
        if existing is not None and product.product_sku != existing.product.product_sku:
            raise OfferError(
                "The offer with sku '%s' belongs to product %s: its product "
                "cannot change" % (existing.sku, existing.product.product_sku)
            )
        return product

    def offer_error_report(self, offer_import):
        """OF03 CSV text (None when no offer is in error)."""
        if not offer_import.lines_in_error:
            return None
        rows = [list(OF03_COLUMNS)]
        for position, (raw, (outcome, error)) in enumerate(
            zip(offer_import.offers, offer_import.outcomes, strict=True), start=1
        ):
            if outcome == "error":
                rows.append(
                    [_shown(raw.get(key)) for key, _column in _OF03_FIELDS]
                    + [str(position), error]
                )
        return csv_text(rows)

    def offer_import_details(self, offer_import):
        """Control API: the offers as received with their outcome."""
        outcomes = offer_import.outcomes
        return [
            {
                "line": position,
                "offer": raw,
                "outcome": outcomes[position - 1][0]
                if position <= len(outcomes)
                else None,
                "error": outcomes[position - 1][1]
                if position <= len(outcomes)
                else None,
            }
            for position, raw in enumerate(offer_import.offers, start=1)
        ]


def _offer_data(raw):
    """The stored form of an OF24 offer: typed, omitted fields defaulted."""
    data = offer_defaults()
    for key, value in raw.items():
        if value is None or key in ("price", "state_code", "shop_sku"):
            continue
        data[key] = copy.deepcopy(value)
    for key in _INT_FIELDS:
        if data[key] is not None:
            number = _int_value(data[key])
            if number is None:
                raise OfferError("%s must be an integer of at least 0" % key)
            data[key] = number
    _check_offer_types(data)
    return data


def _check_offer_types(data):
    """OfferError unless the optional fields of ``data`` have their types."""
    for key in _TEXT_FIELDS:
        if data[key] is not None and not isinstance(data[key], str):
            raise OfferError("%s must be a string" % key)
    for key in _DATE_FIELDS:
        if data[key] is not None:
            try:
                parse_datetime(data[key])
            except ValueError as exc:
                raise OfferError("%s is not an ISO-8601 date-time" % key) from exc
    for key in _LIST_FIELDS:
        if not isinstance(data[key], list):
            raise OfferError("%s must be a list" % key)
    if data["discount"] is not None and not isinstance(data["discount"], dict):
        raise OfferError("discount must be an object")
    if not isinstance(data["allow_quote_requests"], bool):
        raise OfferError("allow_quote_requests must be true or false")
    fields = data["offer_additional_fields"]
    if not isinstance(fields, list) or not all(
        isinstance(f, dict) and isinstance(f.get("code"), str) for f in fields
    ):
        raise OfferError("offer_additional_fields must be a list of {code, value}")
    if data["msrp"] is not None and _price_value(data["msrp"]) is None:
        raise OfferError("msrp must be a number of at least 0")
