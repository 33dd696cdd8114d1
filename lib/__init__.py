"""Pure-Python client of the Mirakl seller API (never imports ``odoo``).

``MiraklClient`` and the errors of ``exceptions`` are the public API, with
``is_loopback_host`` (the one rule for plain-http URLs) and ``__version__``
(the addon's manifest version).
"""

from .client import MiraklClient, is_loopback_host
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
]
