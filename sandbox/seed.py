"""Deterministic reference data and order generator of the sandbox.

The catalogue, shipping types, carriers and customers are fixed (the same in
every run, whatever the seed) so that tests and demos can name SKUs and
customers; only the generated orders depend on the seed, through one
``random.Random``.

Catalogue: a UK fashion seller's offers, one per variant (colour x size) of a
few product templates. Adult clothing and accessories are standard-rated (20 %
VAT), children's clothing is zero-rated (UK VAT Notice 714), children's car
seats are reduced-rated (5 %, ``GB_VAT_RED``). Prices are GBP, VAT included.
Commission rates are per category (sandbox figures), with 20 % VAT on the
commission.

Reasons (RE01): a fixed list of ``{code, label, type, is_shop_right}``,
sorted by type. The ``CANCELATION`` reasons the shop may use (OR30) have
``is_shop_right`` true; ``CUSTOMER_CANCELED`` (the control API's default
cancellation reason) and ``OPERATOR_CANCELED`` are the operator's own;
``SHOP_CANCELED`` is the reason OR29 records (sandbox convention: OR29 takes
no reason, which one Mirakl records is UNCONFIRMED). Labels are English
whatever the ``locale``.

The car seats were appended after the other templates (existing SKUs and
offer ids did not move) and the order generator leaves them out, so that a
seed still produces the same orders as before; order specs name them
explicitly.
"""

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

SHOP_NAME = "Hartley & Finch"
CURRENCY = "GBP"
COMMERCIAL_ID_PREFIX = "MKP"
FIRST_COMMERCIAL_NUMBER = 100001
FULFILLMENT_CENTER = "DEFAULT"
OFFER_STATE_NEW = "11"


@dataclass(frozen=True)
class TaxRate:
    code: str
    rate: Decimal


VAT_STANDARD = TaxRate("GB_VAT_STD", Decimal(20))
VAT_ZERO = TaxRate("GB_VAT_ZERO", Decimal(0))
VAT_REDUCED = TaxRate("GB_VAT_RED", Decimal(5))


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    vat: TaxRate
    commission_rate: Decimal


CATEGORIES = {
    c.code: c
    for c in (
        Category("WOMENSWEAR", "Womenswear", VAT_STANDARD, Decimal(15)),
        Category("MENSWEAR", "Menswear", VAT_STANDARD, Decimal(15)),
        Category("KIDSWEAR", "Kidswear", VAT_ZERO, Decimal(12)),
        Category("ACCESSORIES", "Accessories", VAT_STANDARD, Decimal(18)),
        Category("CAR_SEATS", "Children's car seats", VAT_REDUCED, Decimal(10)),
    )
}
# Categories the order generator draws from (see the module docstring).
GENERATED_CATEGORIES = frozenset(("WOMENSWEAR", "MENSWEAR", "KIDSWEAR", "ACCESSORIES"))


@dataclass(frozen=True)
class Product:
    """One offer of the shop (one variant of a product template)."""

    sku: str
    offer_id: int
    product_sku: str
    ean: str
    title: str
    description: str
    category: Category
    price: Decimal
    colour: str
    size: str

    def as_dict(self):
        return {
            "sku": self.sku,
            "offer_id": self.offer_id,
            "product_sku": self.product_sku,
            "ean": self.ean,
            "title": self.title,
            "description": self.description,
            "category_code": self.category.code,
            "category_label": self.category.label,
            "price": self.price,
            "vat_rate": self.category.vat.rate,
            "tax_code": self.category.vat.code,
            "commission_rate": self.category.commission_rate,
            "colour": self.colour,
            "size": self.size,
        }


# (code, title, category, price, colours (code, label), sizes (code, label))
_TEMPLATES = (
    ("WDR", "Jersey wrap dress", "WOMENSWEAR", "59.00",
     (("NAV", "navy"), ("BLK", "black"), ("RED", "red")),
     (("8", "8"), ("10", "10"), ("12", "12"), ("14", "14"), ("16", "16"))),
    ("WKJ", "Merino crew-neck jumper", "WOMENSWEAR", "45.00",
     (("OAT", "oatmeal"), ("GRN", "bottle green")),
     (("XS", "XS"), ("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL"))),
    ("WTC", "Waterproof trench coat", "WOMENSWEAR", "119.95",
     (("STN", "stone"), ("NAV", "navy")),
     (("8", "8"), ("10", "10"), ("12", "12"), ("14", "14"), ("16", "16"))),
    ("MOS", "Oxford shirt", "MENSWEAR", "39.50",
     (("WHT", "white"), ("BLU", "blue")),
     (("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL"))),
    ("MCH", "Stretch chinos", "MENSWEAR", "42.00",
     (("KHA", "khaki"), ("NAV", "navy")),
     (("30", "30"), ("32", "32"), ("34", "34"), ("36", "36"))),
    ("MPC", "Wool-blend peacoat", "MENSWEAR", "149.00",
     (("CHA", "charcoal"),),
     (("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL"))),
    ("KHD", "Kids' zip hoodie", "KIDSWEAR", "18.00",
     (("GRY", "grey marl"), ("PNK", "pink")),
     (("3-4Y", "3-4 years"), ("5-6Y", "5-6 years"), ("7-8Y", "7-8 years"),
      ("9-10Y", "9-10 years"))),
    ("KRC", "Kids' puddle raincoat", "KIDSWEAR", "24.50",
     (("YEL", "yellow"), ("NAV", "navy")),
     (("3-4Y", "3-4 years"), ("5-6Y", "5-6 years"), ("7-8Y", "7-8 years"))),
    ("KPJ", "Kids' cotton pyjamas", "KIDSWEAR", "14.99",
     (("STR", "stripe"),),
     (("2-3Y", "2-3 years"), ("4-5Y", "4-5 years"), ("6-7Y", "6-7 years"),
      ("8-9Y", "8-9 years"))),
    ("ASC", "Lambswool scarf", "ACCESSORIES", "22.00",
     (("CAM", "camel"), ("NAV", "navy"), ("RED", "red")),
     (("OS", "one size"),)),
    ("ABL", "Leather belt", "ACCESSORIES", "28.00",
     (("BRN", "brown"), ("BLK", "black")),
     (("SM", "S/M"), ("ML", "M/L"))),
    ("AHT", "Knitted bobble hat", "ACCESSORIES", "16.50",
     (("MUS", "mustard"), ("GRY", "grey")),
     (("OS", "one size"),)),
    ("CCS", "Rear-facing child car seat", "CAR_SEATS", "129.00",
     (("BLK", "black"), ("GRY", "grey")),
     (("OS", "one size"),)),
    ("CBS", "High-back booster seat", "CAR_SEATS", "59.99",
     (("BLK", "black"),),
     (("OS", "one size"),)),
)  # fmt: skip


def ean13(first12):
    """EAN-13 from its first 12 digits (appends the check digit).

    Digits at even positions weigh 1, the others 3 (fast enough for the
    control API's 50,000 generated products at a time).
    """
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return first12 + str((10 - total % 10) % 10)


def _build_products():
    products = []
    for code, title, category, price, colours, sizes in _TEMPLATES:
        for (colour, colour_label), (size, size_label) in itertools.product(
            colours, sizes
        ):
            n = len(products) + 1
            if size == "OS":
                size_text = size_label
            elif size_label.endswith("years"):
                size_text = "age %s" % size_label
            else:
                size_text = "size %s" % size_label
            products.append(
                Product(
                    sku="%s-%s-%s" % (code, colour, size),
                    offer_id=70000 + n,
                    product_sku="MKP%06d" % (400 + 7 * n),
                    ean=ean13("50612345%04d" % n),
                    title="%s, %s, %s" % (title, colour_label, size_text),
                    description="%s in %s." % (title, colour_label),
                    category=CATEGORIES[category],
                    price=Decimal(price),
                    colour=colour_label,
                    size=size_label,
                )
            )
    return {p.sku: p for p in products}


PRODUCTS = _build_products()


@dataclass(frozen=True)
class ShippingType:
    code: str
    label: str
    description: str
    standard_code: str
    price: Decimal
    mandatory_tracking: bool
    leadtime_to_ship: int
    delivery_days: tuple  # (earliest, latest) days after the shipping deadline

    def as_dict(self):
        """The SH12 shape."""
        return {
            "code": self.code,
            "label": self.label,
            "description": self.description,
            "standard_code": self.standard_code,
            "click_and_collect": False,
            "delivery_by_operator": False,
            "mandatory_tracking": self.mandatory_tracking,
            "ignore_lead_time_to_ship": False,
        }


SHIPPING_TYPES = {
    s.code: s
    for s in (
        ShippingType(
            "STD", "Standard delivery", "Delivered in 3 to 5 working days.",
            "STANDARD", Decimal("3.95"), False, 2, (1, 3),
        ),
        ShippingType(
            "EXP", "Express next day", "Tracked, delivered the next working day.",
            "EXPRESS", Decimal("6.95"), True, 1, (1, 1),
        ),
    )
}  # fmt: skip
DEFAULT_SHIPPING_TYPE = "STD"
SHIPPING_ZONE = {"code": "UK-MAINLAND", "label": "UK mainland"}

TRACKING_PLACEHOLDER = "{trackingId}"

# SH21 shape; "LOCAL" has no tracking URL, so no tracking number is required.
CARRIERS = sorted(
    (
        {"code": "DHL", "label": "DHL Parcel UK", "standard_code": "DHL",
         "tracking_url": "https://track.dhlparcel.co.uk/?con={trackingId}"},
        {"code": "DPD", "label": "DPD", "standard_code": "DPD",
         "tracking_url": "https://track.dpd.co.uk/parcels/{trackingId}"},
        {"code": "EVRI", "label": "Evri", "standard_code": "EVRI",
         "tracking_url": "https://www.evri.com/track/parcel/{trackingId}"},
        {"code": "LOCAL", "label": "Local courier", "standard_code": None,
         "tracking_url": None},
        {"code": "PARCELFORCE", "label": "Parcelforce Worldwide",
         "standard_code": "PARCELFORCE",
         "tracking_url": "https://www.parcelforce.com/track-trace"
                         "?trackNumber={trackingId}"},
        {"code": "ROYALMAIL", "label": "Royal Mail", "standard_code": "ROYAL_MAIL",
         "tracking_url": "https://www.royalmail.com/track-your-item"
                         "#/tracking-results/{trackingId}"},
    ),
    key=lambda carrier: carrier["label"],
)  # fmt: skip
CARRIERS_BY_CODE = {c["code"]: c for c in CARRIERS}

# RE01 reasons: (code, label, type, is_shop_right), sorted by type.
REASONS = tuple(
    {"code": code, "label": label, "type": kind, "is_shop_right": shop_right}
    for code, label, kind, shop_right in (
        ("OUT_OF_STOCK", "Out of stock", "CANCELATION", True),
        ("DAMAGED_ITEM", "Item damaged before shipment", "CANCELATION", True),
        ("PRICING_ERROR", "Pricing error", "CANCELATION", True),
        ("SHOP_CANCELED", "Cancelled by the seller", "CANCELATION", True),
        ("CUSTOMER_CANCELED", "Cancelled by the customer", "CANCELATION", False),
        ("OPERATOR_CANCELED", "Cancelled by the operator", "CANCELATION", False),
        ("INCIDENT_REPLACED", "Replacement item sent", "INCIDENT_CLOSE", True),
        ("INCIDENT_REFUNDED", "Customer refunded", "INCIDENT_CLOSE", True),
        ("ITEM_NOT_RECEIVED", "Item not received", "INCIDENT_OPEN", False),
        ("ITEM_DAMAGED", "Item received damaged", "INCIDENT_OPEN", False),
        ("RETURNED", "Item returned", "REFUND", True),
        ("GOODWILL", "Goodwill gesture", "REFUND", True),
        ("LATE_DELIVERY", "Late delivery", "REFUND", False),
    )
)
REASONS_BY_CODE = {reason["code"]: reason for reason in REASONS}
SHOP_CANCEL_REASON = "SHOP_CANCELED"

_FIRST_NAMES = (
    "Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Mia", "Noah",
    "Freya", "Arthur", "Poppy", "Leo", "Grace", "Oscar", "Evie", "Jack",
    "Sophie", "Charlie", "Ruby", "Alfie",
)  # fmt: skip
_LAST_NAMES = (
    "Hart", "Patel", "Campbell", "Hughes", "Okafor", "Davies", "Murray",
    "Clarke", "Khan", "Robertson", "Evans", "Walsh", "Thompson", "Ahmed",
    "Lewis", "Fraser", "Morgan", "Singh", "Bennett", "Wright",
)  # fmt: skip
_STREETS = (
    "Rowan Street", "Victoria Road", "Church Lane", "Mill Road", "Park Avenue",
    "Station Road", "Queens Crescent", "Albert Terrace", "High Street",
    "Orchard Close", "Chapel Row", "Kingsway",
)  # fmt: skip
# (city, outward codes)
_CITIES = (
    ("Leeds", ("LS1", "LS6")), ("Manchester", ("M1", "M20")),
    ("Bristol", ("BS1", "BS8")), ("York", ("YO1", "YO10")),
    ("Norwich", ("NR2",)), ("Brighton", ("BN1", "BN2")),
    ("Edinburgh", ("EH3", "EH10")), ("Cardiff", ("CF10", "CF24")),
    ("Nottingham", ("NG1", "NG7")), ("Bath", ("BA1", "BA2")),
    ("Oxford", ("OX1", "OX4")), ("Glasgow", ("G12",)),
    ("Birmingham", ("B15",)), ("London", ("SW4", "N1", "E8", "SE15")),
)  # fmt: skip
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_CIVILITY = {"F": ("Mrs", "Ms", "Miss"), "M": ("Mr",)}
_FEMALE = frozenset(
    ("Amelia", "Isla", "Ava", "Mia", "Freya", "Poppy", "Grace", "Evie",
     "Sophie", "Ruby")
)  # fmt: skip
CUSTOMER_COUNT = 40
FREQUENT_CUSTOMERS = 10  # picked four times as often: several orders each


def _address(n, firstname, lastname, civility):
    city, outwards = _CITIES[n % len(_CITIES)]
    letters = _POSTCODE_LETTERS
    postcode = "%s %d%s%s" % (
        outwards[n % len(outwards)],
        (n * 7) % 10,
        letters[(n * 3) % len(letters)],
        letters[(n * 11 + 5) % len(letters)],
    )
    return {
        "civility": civility,
        "firstname": firstname,
        "lastname": lastname,
        "company": None,
        "company_2": None,
        "street_1": "%d %s" % (3 + (n * 13) % 140, _STREETS[n % len(_STREETS)]),
        "street_2": "Flat %d" % (1 + n % 6) if n % 4 == 0 else None,
        "city": city,
        "zip_code": postcode,
        "state": None,
        "country": "United Kingdom",
        "country_iso_code": "GBR",
        "phone": "+44 7700 900%03d" % (100 + n * 17 % 900),
        "phone_secondary": None,
    }


def _build_customers():
    customers = {}
    for n in range(CUSTOMER_COUNT):
        firstname = _FIRST_NAMES[n % len(_FIRST_NAMES)]
        lastname = _LAST_NAMES[(n * 7 + n // len(_FIRST_NAMES)) % len(_LAST_NAMES)]
        civilities = _CIVILITY["F" if firstname in _FEMALE else "M"]
        civility = civilities[n % len(civilities)]
        billing = _address(n, firstname, lastname, civility)
        shipping = dict(billing, additional_info=None)
        if n % 5 == 2:  # ships to the workplace
            shipping.update(_address(n + 100, firstname, lastname, civility))
            shipping["company"] = "%s %s Ltd" % (
                _LAST_NAMES[(n + 3) % len(_LAST_NAMES)],
                ("Design", "Partners", "Studio", "Logistics")[n % 4],
            )
            shipping["additional_info"] = "Reception, ground floor"
        customer_id = "C-%05d" % (55101 + n)
        customers[customer_id] = {
            "customer_id": customer_id,
            "civility": civility,
            "firstname": firstname,
            "lastname": lastname,
            "locale": "en_GB",
            "billing_address": billing,
            "shipping_address": shipping,
        }
    return customers


CUSTOMERS = _build_customers()


@dataclass
class OrderSpec:
    """What an order is made of, before the state store builds it."""

    lines: list  # [(Product, quantity, price_unit or None, taxes or None)]
    customer_id: str
    shipping_type: ShippingType
    created_date: object = None  # aware datetime; None = now
    tax_mode: str = None  # None = the platform's mode
    reference_for_customer: str = None
    shipping_price: Decimal = None  # None = the shipping type's price
    customer: dict = None  # a full customer object replacing customer_id's


class OrderGenerator:
    """Random but reproducible orders: same seed, same sequence of orders."""

    LINE_COUNTS = (1, 2, 3, 4, 5)
    LINE_WEIGHTS = (40, 30, 15, 10, 5)
    QUANTITIES = (1, 2, 3)
    QUANTITY_WEIGHTS = (75, 20, 5)
    EXPRESS_SHARE = 0.25
    MAX_SPREAD_SECONDS = 6 * 3600

    def __init__(self, rng):
        self.rng = rng
        self.skus = sorted(
            sku
            for sku, product in PRODUCTS.items()
            if product.category.code in GENERATED_CATEGORIES
        )
        self.customer_ids = sorted(CUSTOMERS)
        self.customer_weights = [
            4 if i < FREQUENT_CUSTOMERS else 1 for i in range(len(self.customer_ids))
        ]

    def spec(self, created_date=None):
        rng = self.rng
        count = rng.choices(self.LINE_COUNTS, self.LINE_WEIGHTS)[0]
        lines = [
            (
                PRODUCTS[sku],
                rng.choices(self.QUANTITIES, self.QUANTITY_WEIGHTS)[0],
                None,
                None,
            )
            for sku in rng.sample(self.skus, count)
        ]
        shipping = "EXP" if rng.random() < self.EXPRESS_SHARE else "STD"
        return OrderSpec(
            lines=lines,
            customer_id=rng.choices(self.customer_ids, self.customer_weights)[0],
            shipping_type=SHIPPING_TYPES[shipping],
            created_date=created_date,
            reference_for_customer="WEB-%06d" % rng.randrange(100000, 1000000),
        )

    def backlog(self, count, now, window_hours):
        """``count`` specs created over the recent past, oldest first.

        They spread over at most 6 hours and at most half the acceptance
        window, so that none is auto-refused straight away.
        """
        spread = min(self.MAX_SPREAD_SECONDS, window_hours * 3600 / 2)
        low = min(60.0, spread / 2)
        ages = sorted(
            (self.rng.uniform(low, spread) for _ in range(count)), reverse=True
        )
        return [self.spec(now - timedelta(seconds=age)) for age in ages]

    def staging_seconds(self):
        """Delay between creation and arrival in WAITING_ACCEPTANCE."""
        return self.rng.randint(5, 90)
