"""Orders in: OR11 into Sales Orders, OR21 acceptance, the release to the
warehouse, OR04 seller references, the daily order check.

* ``mirakl_backend_order.py``: ``mirakl.backend``, order settings, actions,
  crons, the OR11 cycle (pages, cache, per-order unit; "exactly once, in
  three layers"), SH12 shipping types, retries, helpers for buttons;
* ``mirakl_backend_order_store.py``: ``mirakl.backend``, what a Mirakl order
  does to its Sales Order: store or update, closed, held, lost and unknown
  orders, decisions, release, OR04 references, acceptance deadlines;
* ``mirakl_backend_order_mapping.py``: ``mirakl.backend``, validation;
  product, tax, pricelist, address and country resolution; the values of
  the Sales Order, its lines and its shipping lines;
* ``mirakl_shipping_type.py``: ``mirakl.shipping.type``, a shop's shipping
  types (SH12) and their delivery methods;
* ``mirakl_tax_map.py``: ``mirakl.tax.map``, Mirakl tax codes to Odoo taxes;
* ``res_partner.py``: ``res.partner``, a Mirakl customer and its addresses;
* ``sale_order.py``: ``sale.order``, Mirakl fields, acceptance, release,
  cancellation, line quantities, amounts;
* ``sale_order_line.py``: ``sale.order.line``, Mirakl line fields;
* ``mirakl_order_check.py``: ``mirakl.backend``, the daily order check
  (``DELTA``);
* ``mirakl_sync_issue.py``: ``mirakl.sync.issue``, refusing the order an
  issue holds back.

May import: lib, const, core, orders.

(Shipments and finance may import orders, not the other way round.)

Entry points for other concerns' ORM calls: ``_mirakl_import_orders`` (one
full import cycle of a shop) and ``_mirakl_import_order_ids`` (the given
Mirakl orders, now).

The OR11 store and mapping methods stay on ``mirakl.backend`` although they
change a Sales Order: they need the cycle's cache (products, taxes, partners,
shipping types, known orders and open issues, read in bulk once per page).
It is the one documented exception to "behaviour lives on the record it
changes".
"""

from . import mirakl_backend_order
from . import mirakl_backend_order_store
from . import mirakl_backend_order_mapping
from . import mirakl_shipping_type
from . import mirakl_tax_map
from . import res_partner
from . import sale_order
from . import sale_order_line
from . import mirakl_order_check
from . import mirakl_sync_issue
