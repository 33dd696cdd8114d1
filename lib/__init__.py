"""Pure-Python client of the Mirakl seller API (never imports ``odoo``).

``MiraklClient`` and the errors of ``exceptions`` are the public API, with
``normalise_base_url`` (the one rule for base URLs: https, or plain http to
a loopback host, as ``is_loopback_host`` says), ``__version__`` (the
addon's manifest version) and the stock-file and error-report helpers of
``offers`` (``build_stock_file``, ``parse_error_report``,
``ErrorReportLine``) and the product-file and product-report helpers of
``products`` (``build_product_file``, ``parse_product_error_report``,
``parse_new_product_report``, ``NewProduct``).
"""

from .client import MiraklClient, is_loopback_host, normalise_base_url
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
