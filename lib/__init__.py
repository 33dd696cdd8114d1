"""Pure-Python client of the Mirakl seller API (never imports ``odoo``).

``MiraklClient`` and the errors of ``exceptions`` are the public API, with
``normalise_base_url`` (the one rule for base URLs: https, or plain http to
a loopback host, as ``is_loopback_host`` says) and ``__version__`` (the
addon's manifest version).
"""

from .client import MiraklClient, is_loopback_host, normalise_base_url
from .const import USER_AGENT, VERSION as __version__
from .exceptions import (
    MiraklAuthError,
    MiraklConfigError,
    MiraklConnectionError,
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

__all__ = [
    "USER_AGENT",
    "MiraklAuthError",
    "MiraklClient",
    "MiraklConfigError",
    "MiraklConnectionError",
    "MiraklError",
    "MiraklNotFoundError",
    "MiraklProtocolError",
    "MiraklRateLimitError",
    "MiraklServerError",
    "MiraklTLSError",
    "MiraklTimeoutError",
    "MiraklTransientError",
    "MiraklValidationError",
    "__version__",
    "is_loopback_host",
    "normalise_base_url",
]
