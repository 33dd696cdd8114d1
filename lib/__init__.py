"""Pure-Python client of the Mirakl seller API (never imports ``odoo``).

``MiraklClient`` and the errors of ``exceptions`` are the public API, with
``normalise_base_url`` (the one rule for base URLs: https, or plain http to
a loopback host, as ``is_loopback_host`` says), ``__version__`` (the
addon's manifest version) and the stock-file and error-report helpers of
``offers`` (``build_stock_file``, ``parse_error_report``,
``ErrorReportLine``) and the product-file and product-report helpers of
``products`` (``build_product_file``, ``parse_product_error_report``,
``parse_new_product_report``, ``NewProduct``).

Layout and imports: ``lib/`` imports only the standard library,
``requests`` and ``urllib3``; never ``odoo``, never ``..``
(``tests/test_harness.py`` checks it). Inside ``lib/``: ``transport`` (the
session, retries, time budget, error mapping, paging, the URL rules) imports
``const``, ``exceptions`` and ``redact``; the endpoint mixins
``endpoints_orders``, ``endpoints_offers`` and ``endpoints_payouts`` import
``const`` and helpers of ``transport``; ``client`` imports ``transport`` and
the three mixins, and combines them into ``MiraklClient``. Of the rest,
``redact`` imports ``const``, ``stats`` imports ``exceptions`` and
``products`` imports ``offers``; ``const``, ``exceptions``, ``offers``,
``mappers`` and ``countries`` import nothing of ``lib/``.
"""

from .client import MiraklClient
from .const import USER_AGENT, VERSION as __version__
from .exceptions import (
    MiraklAuthError,
    MiraklConfigError,
    MiraklConnectionError,
    MiraklDeadlineError,
    MiraklError,
    MiraklNotFoundError,
    MiraklProtocolError,
    MiraklRateLimitError,
    MiraklServerError,
    MiraklTimeoutError,
    MiraklTLSError,
    MiraklTransientError,
    MiraklValidationError,
)
from .offers import ErrorReportLine, build_stock_file, parse_error_report
from .products import (
    NewProduct,
    build_product_file,
    parse_new_product_report,
    parse_product_error_report,
)
from .transport import is_loopback_host, normalise_base_url

__all__ = [
    "USER_AGENT",
    "ErrorReportLine",
    "MiraklAuthError",
    "MiraklClient",
    "MiraklConfigError",
    "MiraklConnectionError",
    "MiraklDeadlineError",
    "MiraklError",
    "MiraklNotFoundError",
    "MiraklProtocolError",
    "MiraklRateLimitError",
    "MiraklServerError",
    "MiraklTLSError",
    "MiraklTimeoutError",
    "MiraklTransientError",
    "MiraklValidationError",
    "NewProduct",
    "__version__",
    "build_product_file",
    "build_stock_file",
    "is_loopback_host",
    "normalise_base_url",
    "parse_error_report",
    "parse_new_product_report",
    "parse_product_error_report",
]
