"""Constants of the Mirakl client: version, defaults and API limits.

The version has a single source of truth, the addon's ``__manifest__.py``; it
is read here as a Python literal so that this package never imports ``odoo``.
"""

import ast
from pathlib import Path

import requests


def _manifest_version():
    """Return the ``version`` key of the addon manifest next to this package."""
    manifest = Path(__file__).parent.parent / "__manifest__.py"
    return ast.literal_eval(manifest.read_text(encoding="utf-8"))["version"]


VERSION = _manifest_version()
USER_AGENT = "mirakl_connector/%s (+Odoo connector) python-requests/%s" % (
    VERSION,
    requests.__version__,
)

# Timeouts (seconds): (connect, read) is passed on every call.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0

# Retries: at most MAX_RETRIES extra attempts after the first one. Backoff is
# "full jitter": uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2 ** retry)).
MAX_RETRIES = 3
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
# A Retry-After longer than this is not waited for: the call fails at once with
# MiraklRateLimitError (or MiraklServerError) carrying ``retry_after``.
RETRY_AFTER_MAX = 60.0

# Server errors that are worth retrying (when repeating the call is safe).
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
# Methods that never change anything on the server, hence safe to repeat.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Paging limits (doc §1.4; max 100 is third-party information for OR11).
PAGE_SIZE = 100
MAX_PAGE_SIZE = 100
# Largest pages of the seek-paginated payout reads (TL02, SBC11 ``limit``);
# IV01 ``max`` is MAX_PAGE_SIZE.
TL02_MAX_LIMIT = 2000
SBC11_MAX_LIMIT = 1000
# OR11 ``order_ids``: comma-separated, at most 100 ids per call (doc §2.2).
OR11_MAX_ORDER_IDS = 100
# OR04: at most 100 orders per call (doc §3.8); a seller reference is 1 to
# 2000 characters (seller OpenAPI).
OR04_MAX_ORDERS = 100
OR04_MAX_REFERENCE = 2000
# ST01, ST23, ST24: at most 1000 shipments per call (seller OpenAPI).
ST_MAX_SHIPMENTS = 1000
# ST11 ``order_id`` (repeated): no limit published; batches of 100 like OR11
# (the sandbox refuses more than 100 values of a list parameter).
ST11_MAX_ORDER_IDS = 100

# Request/response excerpts kept in exceptions and DEBUG logs (characters).
EXCERPT_LIMIT = 2000
# Longest Mirakl message copied into an exception's one-line message.
MESSAGE_LIMIT = 300
