"""The sandbox's memory: configuration, virtual clock, orders, faults, call log.

Everything lives in one ``SandboxState`` guarded by one ``threading.RLock``;
the HTTP layer takes the lock around every request (never while sleeping).

Clock: sandbox time is the real UTC time plus an offset that the control API
moves (``POST /_sandbox/clock``), so it keeps flowing with real time. Dates
are stamped to the whole second (the precision the order JSON shows).

The order workflow lives in mixins of ``SandboxState``, whose modules describe
it: ``orders.OrderWorkflow`` (orders, OR21, OR23, OR24, OR04, raw orders),
``cancelations.CancelationWorkflow`` (control API, OR29, OR30) and
``shipments.ShipmentWorkflow`` (ST01, ST23, ST24). ``refresh`` applies the
time-based steps of every part.

Configuration (``DEFAULT_CONFIG``; ``/_sandbox/config``):

* ``partial_acceptance`` (false): OR21 may mix accepted and refused lines;
* ``debit_delay_seconds`` (0): from acceptance to ``SHIPPING``;
* ``acceptance_window_hours`` (72): age at which unaccepted orders are refused;
* ``update_date_delta_seconds`` (5): how far OR11 moves ``start_update_date``
  back;
* ``order_tax_mode`` (``TAX_INCLUDED``): the platform's mode, OR11's default
  and the mode new orders' prices are expressed in;
* ``multi_shipment`` (false): published by PC01
  (``features.shipment.multi_shipment``); ST01 refuses every shipment while
  it is off (ST11, ST23, ST24 keep working on existing shipments). Whether
  Mirakl refuses OR24 when it is on is UNCONFIRMED: the sandbox refuses OR24
  only for orders that have shipments;
* ``details_before_acceptance`` (true): addresses visible while
  ``WAITING_ACCEPTANCE``;
* ``disable_seller_alternative_carrier`` (false): published by PC01
  (``features.disable_seller_alternative_carrier``); OR23, ST01 and ST23
  refuse ``carrier_name``;
* ``max_page_size`` (100): largest OR11 and OF21 ``max`` and ST11/ST12
  ``limit``;
* ``seed_offers`` (true): the seed catalogue's offers exist after a reset;
* ``initial_offer_quantity`` (0): their quantity;
* ``import_delay_seconds`` (0): how long STO01 and OF24 imports stay
  ``WAITING`` before they are applied;
* ``max_offers_per_call`` (10000): most offers one OF24 call takes (sandbox
  figure, Mirakl's is UNCONFIRMED);
* ``billing_cycle_days`` (0 = never): a billing cycle closes automatically
  every that many days of the sandbox clock after the previous close;
* ``refund_delay_seconds`` (0): how long a refund stays ``WAITING_REFUND``;
* ``product_integration_delay_seconds`` (0): how long valid products of a
  product import (P41) stay ``SENT`` before the operator integrates them;
* ``product_csv_delimiter`` (``;``): the separator P41 files must use (``;``,
  ``,``, a tab or ``|``);
* ``product_image_check`` (true): P41 downloads every image URL it is given;
* ``image_timeout_seconds`` (5): how long that download may take.

The operator's product model and the product imports live in
``catalogue.ProductStore`` (``self.products``), which describes them.

Offers, stock and offer imports live in ``offers.OfferStore``
(``self.offers``), which describes them; orders take stock from offers and
refusals and cancellations give it back (see ``offers``).

Payout data (transaction lines, billing cycles, accounting documents) and
order refunds live in ``billing.BillingStore`` (``self.billing``), which
describes them; ``refresh`` lets it record debits, shipments, refunds and
automatic closes after the order steps. A line's refunds are in its
``refunds`` list (OR11 ``refunds``).
"""

import random
import threading
from datetime import datetime, timedelta

from . import seed
from .amounts import TAX_INCLUDED, TAX_MODES
from .billing import BillingStore
from .cancelations import CancelationWorkflow
from .catalogue import ProductStore
from .common import (
    AUTO_REFUSED,
    REFUSED,
    SHIPPING,
    UTC,
    WAITING_ACCEPTANCE,
    WAITING_DEBIT,
    WAITING_DEBIT_PAYMENT,
)
from .faults import FaultRegistry
from .offers import OfferStore
from .orders import OrderWorkflow
from .shipments import ShipmentWorkflow

DEFAULT_CONFIG = {
    "partial_acceptance": False,
    "debit_delay_seconds": 0,
    "acceptance_window_hours": 72,
    "update_date_delta_seconds": 5,
    "order_tax_mode": TAX_INCLUDED,
    "multi_shipment": False,
    "details_before_acceptance": True,
    "disable_seller_alternative_carrier": False,
    "max_page_size": 100,
    "seed_offers": True,
    "initial_offer_quantity": 0,
    "import_delay_seconds": 0,
    "max_offers_per_call": 10000,
    "billing_cycle_days": 0,
    "refund_delay_seconds": 0,
    "product_integration_delay_seconds": 0,
    "product_csv_delimiter": ";",
    "product_image_check": True,
    "image_timeout_seconds": 5,
}
_BOOL_KEYS = frozenset(
    (
        "seed_offers",
        "partial_acceptance",
        "multi_shipment",
        "details_before_acceptance",
        "disable_seller_alternative_carrier",
        "product_image_check",
    )
)
PRODUCT_CSV_DELIMITERS = (";", ",", "\t", "|")


def validate_config(changes):
    """Check a (partial) configuration; TypeError or ValueError when wrong."""
    if not isinstance(changes, dict):
        raise TypeError("config must be a JSON object")
    unknown = set(changes) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
    for key, value in changes.items():
        if key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ValueError("%s must be true or false" % key)
        elif key == "product_csv_delimiter":
            if value not in PRODUCT_CSV_DELIMITERS:
                raise ValueError(
                    "product_csv_delimiter must be one of %s"
                    % ", ".join(repr(d) for d in PRODUCT_CSV_DELIMITERS)
                )
        elif key == "order_tax_mode":
            if value not in TAX_MODES:
                raise ValueError(
                    "order_tax_mode must be one of %s" % ", ".join(TAX_MODES)
                )
        elif key in ("max_page_size", "max_offers_per_call"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("%s must be a positive integer" % key)
        elif key == "initial_offer_quantity":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    "initial_offer_quantity must be a non-negative integer"
                )
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError("%s must be a non-negative number" % key)
        if key == "acceptance_window_hours" and value == 0:
            raise ValueError("acceptance_window_hours must be positive")


class SandboxState(OrderWorkflow, CancelationWorkflow, ShipmentWorkflow):
    """All mutable sandbox data; every method expects ``self.lock`` held."""

    def __init__(self, shop_id, seed_value, config=None, orders=0):
        self.lock = threading.RLock()
        self.shop_id = shop_id
        self.default_seed = seed_value
        self.default_config = dict(DEFAULT_CONFIG)
        if config:
            validate_config(config)
            self.default_config.update(config)
        self.reset(orders)

    # === reset, configuration, clock === #

    def reset(self, orders=0, seed_value=None, config=None):
        """Back to a fresh sandbox with ``orders`` orders waiting for acceptance."""
        new_config = dict(self.default_config)
        if config:
            validate_config(config)
            new_config.update(config)
        self.config = new_config
        self.seed = self.default_seed if seed_value is None else seed_value
        self.generator = seed.OrderGenerator(random.Random(self.seed))
        self.faults = FaultRegistry(self.seed)
        self.calls = []
        self.call_seq = 0
        self.offset_seconds = 0.0
        self.orders = {}
        # OR11 orders that break the contract (no order_id, repeated line ids,
        # unknown states...), served verbatim after the sandbox's own.
        self.malformed_orders = []
        self.next_number = seed.FIRST_COMMERCIAL_NUMBER
        self.cancelation_seq = 0
        self.shipments = {}  # id -> Shipment, in creation order
        self.shipment_seq = 0
        self.shipment_rng = random.Random("shipments-%s" % self.seed)
        self.offers = OfferStore(self)
        self.billing = BillingStore(self)
        self.products = ProductStore(self)
        now = self.now()
        backlog = self.generator.backlog(
            orders, now, self.config["acceptance_window_hours"]
        )
        created = []
        for spec in backlog:
            arrival = spec.created_date + timedelta(
                seconds=self.generator.staging_seconds()
            )
            created.append(self.add_order(spec, min(arrival, now)))
        return created

    def update_config(self, changes):
        validate_config(changes)
        self.config.update(changes)
        return dict(self.config)

    def now(self):
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)

    def advance_clock(self, seconds):
        self.offset_seconds += seconds

    def set_clock(self, moment):
        self.offset_seconds = (moment - datetime.now(UTC)).total_seconds()

    # === time-based steps === #

    def refresh(self):
        """Apply every time-based transition due at the current sandbox time."""
        now = self.now()
        window = timedelta(hours=self.config["acceptance_window_hours"])
        delay = timedelta(seconds=self.config["debit_delay_seconds"])
        for order in self.orders.values():
            if order.state == WAITING_ACCEPTANCE and now >= order.created + window:
                self._give_back(order.live_lines())
                order.move(
                    REFUSED,
                    order.created + window,
                    AUTO_REFUSED,
                    "Not accepted within %s hours"
                    % self.config["acceptance_window_hours"],
                )
            if order.state not in (WAITING_DEBIT, WAITING_DEBIT_PAYMENT):
                continue
            decided = order.acceptance_decision or order.created  # raw: may be null
            if order.state == WAITING_DEBIT and now >= decided + delay / 2:
                order.move(WAITING_DEBIT_PAYMENT, decided + delay / 2)
            if order.state == WAITING_DEBIT_PAYMENT and now >= decided + delay:
                moment = order.move(SHIPPING, decided + delay)
                order.customer_debited = moment
                for line in order.live_lines():
                    line.debited = moment
        self.offers.process_due(now)
        self.products.process_due(now)
        self.billing.process(now)

    # === call log === #

    def record_call(self, **fields):
        """Append a call-log entry (``seq`` and real ``time`` first) and return it."""
        self.call_seq += 1
        entry = {
            "seq": self.call_seq,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            **fields,
        }
        self.calls.append(entry)
        return entry
