"""Offers: what is for sale and how many. Stock files (STO01), offers with
their prices (OF24), the comparison with Mirakl's quantities (OF21), and the
follow-up of every import sent to Mirakl.

- ``mirakl_backend_stock.py``: the shop's stock settings, buttons and jobs;
  quantities, the SKU check, the stock push; the shop's stock and offer lock
  and the entry point of the imports' follow-up.
- ``mirakl_backend_offer.py``: the shop's offer settings; OF24 sends and
  deletions, offer prices; OF21 drift.
- ``mirakl_offer.py``: ``mirakl.offer``, one SKU of a shop (its state on
  Mirakl, what was pushed).
- ``mirakl_offer_import.py``: ``mirakl.offer.import``, one file or batch
  sent, and its follow-up (one template, hooks per kind; the catalogue adds
  the product kind).
- ``product.py``: the offers of products and variants.

May import: lib, const, core, offers.

Entry points for the other concerns (on ``mirakl.backend``):
``_mirakl_push_stock``, ``_mirakl_export_offers``, ``_mirakl_free_stock``,
``_mirakl_check_skus``, ``_mirakl_check_imports``.
"""

from . import mirakl_backend_stock
from . import mirakl_backend_offer
from . import mirakl_offer
from . import mirakl_offer_import
from . import product
