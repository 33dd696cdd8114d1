"""Shipments: deliveries out. Tracking and ship confirmation (OR23, OR24,
or multiple shipments ST01/ST23/ST24), cancellations and refusals sent from
Odoo, carriers and reasons.

- ``mirakl_backend_shipment.py``: the shop's shipment settings, buttons and
  job, carriers (SH21) and reasons (RE01).
- ``mirakl_shipment.py``: ``mirakl.shipment``, the outbox: what Mirakl
  must learn about a delivery, written in the delivery's own transaction,
  sent after the commit, retried until Mirakl has it.
- ``stock_picking.py``: the delivery's Mirakl fields, the tracking check
  before validation, the outbox row after it.
- ``mirakl_carrier.py``, ``mirakl_reason.py``: reference data.

May import: lib, const, core, orders, shipments.

Entry point for the other concerns (on ``mirakl.backend``):
``_mirakl_sync_shipments``.
"""

from . import mirakl_backend_shipment
from . import mirakl_carrier
from . import mirakl_reason
from . import mirakl_shipment
from . import stock_picking
