"""Catalogue: products out. The operator's model in (H11 categories, PM11
attributes, VL11 value lists), the mappings to Odoo, each offer's product
readiness, product files (P41) and their follow-up (P42, P44, P45, P47).

- ``mirakl_backend_catalogue.py``: the shop's catalogue settings, buttons
  and job; the operator's model refresh; sending product files.
- ``mirakl_backend_readiness.py``: the readiness check (``_Catalogue``, the
  rows, rules, variant groups, image links, stored readiness).
- ``mirakl_offer_import.py``: the product kind of the import follow-up
  (extends ``offers``).
- ``mirakl_offer_product.py``, ``product_catalogue.py``: the product data
  of offers, products and templates (extend ``offers``).
- ``mirakl_category*.py``, ``mirakl_attribute*.py``, ``mirakl_value*.py``:
  the operator's model and its mappings.

May import: lib, const, core, offers, catalogue.

Entry points for the other concerns (on ``mirakl.backend``):
``_mirakl_check_products``, ``_mirakl_send_products``.
"""

from . import mirakl_category
from . import mirakl_category_map
from . import mirakl_value_list
from . import mirakl_value
from . import mirakl_value_map
from . import mirakl_attribute
from . import mirakl_attribute_requirement
from . import mirakl_backend_catalogue
from . import mirakl_backend_readiness
from . import mirakl_offer_product
from . import mirakl_offer_import
from . import product_catalogue
