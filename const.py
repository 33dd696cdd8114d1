"""Constants shared by the Odoo layer of mirakl_connector."""

# Interactive buttons should answer fast: fewer retries than the client's
# default, which crons use (timeouts, retries and limits live in lib/const.py).
BUTTON_MAX_RETRIES = 1

# Mirakl shop states (A01 shop_state); unknown values are shown as received.
SHOP_STATES = {
    "OPEN": "Open",
    "CLOSE": "Closed",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
}

# Mirakl order states (OR11 order_state) in the words of the people who
# read them; the code itself stays in the order's technical fields.
ORDER_STATES = [
    ("STAGING", "Being checked by the marketplace"),
    ("WAITING_ACCEPTANCE", "To accept"),
    ("WAITING_DEBIT", "Accepted, waiting for payment"),
    ("WAITING_DEBIT_PAYMENT", "Accepted, payment in progress"),
    ("SHIPPING", "Paid, to ship"),
    ("SHIPPED", "Shipped"),
    ("TO_COLLECT", "Ready for collection"),
    ("RECEIVED", "Received by the customer"),
    ("CLOSED", "Closed"),
    ("REFUSED", "Refused"),
    ("CANCELED", "Cancelled"),
    ("INCIDENT_OPEN", "Incident open"),
]
ORDER_STATE_OTHER = ("other", "Other (see the Mirakl state code)")
# Order states meaning "Mirakl already knows it shipped" (the shipment
# outbox and the daily order check).
SHIPPED_STATES = frozenset(("SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED"))

# Platform tax modes (PC01 / OR11 order_tax_mode).
TAX_MODES = {
    "TAX_INCLUDED": "Prices include tax",
    "TAX_EXCLUDED": "Prices exclude tax",
}

# Endpoint codes of the operations the connector performs, for sync issues.
OPERATIONS = {
    "A01": "Shop account",
    "PC01": "Platform configuration",
    "V01": "API version",
    "OR04": "Seller order reference",
    "OR11": "Import orders",
    "OR21": "Accept or refuse order lines",
    "OR23": "Order tracking",
    "OR24": "Confirm shipment",
    "SH21": "Carriers",
    "SH12": "Shipping types",
    "ST12": "Items to ship",
    "ORDER": "Sales Order follow-up",
    "ST01": "Create shipments",
    "ST11": "List shipments",
    "OR29": "Cancel an order",
    "OR30": "Cancel order lines",
    "RE01": "Reasons",
    "SKU": "SKU check",
    "STO01": "Stock file",
    "STO02": "Stock import status",
    "STO03": "Stock import error report",
    "OF24": "Send offers",
    "OF02": "Offer import status",
    "OF03": "Offer import error report",
    "OF21": "Compare stock with Mirakl",
    "H11": "Mirakl categories",
    "PM11": "Mirakl product attributes",
    "VL11": "Mirakl value lists",
    "P41": "Send products",
    "P42": "Product import status",
    "P44": "Product import error report",
    "P45": "New-product report",
    "P47": "Product file transformation report",
    "SBC11": "Billing cycles",
    "TL02": "Transaction lines",
    "IV01": "Accounting documents",
    "IV02": "Accounting document file",
    "PAYOUT": "Payout checks",
    "INVOICE": "Customer invoice",
    "REFUND": "Credit note of a refund",
    "DELTA": "Daily order check",
}

ISSUE_CATEGORIES = [
    ("auth", "Authentication"),
    ("config", "Configuration"),
    ("connection", "Connection"),
    ("timeout", "Timeout"),
    ("tls", "TLS / certificate"),
    ("rate_limit", "Rate limit"),
    ("budget", "Time budget spent"),
    ("server", "Mirakl server error"),
    ("not_found", "Not found"),
    ("validation", "Rejected by Mirakl"),
    ("protocol", "Unexpected answer"),
    ("mapping", "Unmapped data"),
    ("data", "Rejected record"),
    ("drift", "Reconciliation drift"),
    ("decision", "Decision needed"),
    ("deadline", "Acceptance deadline"),
    ("lost", "Lost order"),
    ("other", "Other"),
]

# Issue categories of a call to Mirakl that failed: each new failure of the
# call counts as an attempt. The others are checks made in Odoo (an unmapped
# SKU, a drift...): seeing them again at the next run is not an attempt.
CALL_CATEGORIES = frozenset(
    (
        "auth",
        "connection",
        "timeout",
        "tls",
        "rate_limit",
        "server",
        "not_found",
        "validation",
        "protocol",
        "other",
    )
)

# A transient failure (timeout, 5xx, rate limit) alerts a person only once it
# lasts: this many failed attempts over at least this many minutes.
TRANSIENT_ALERT_ATTEMPTS = 5
TRANSIENT_ALERT_MINUTES = 30

# Operations whose issues are finance's (activities go to the shop's finance
# responsible when set).
FINANCE_OPERATIONS = frozenset(
    ("SBC11", "TL02", "IV01", "IV02", "PAYOUT", "INVOICE", "REFUND")
)

# API health: hourly call statistics are kept this many days.
CALL_STATS_KEEP_DAYS = 30

# --- Cockpit: when a shop's card turns red ---
# Calls that failed (429, 5xx, timeouts, connection failures) over the last
# 24 hours: at least this many, and at least this share of the calls.
COCKPIT_API_ERRORS_MIN = 5
COCKPIT_API_ERROR_RATE = 0.05
# A job is late when its last success is older than this many runs of its
# interval, and at least this many minutes old.
COCKPIT_LATE_RUNS = 3
COCKPIT_LATE_MIN_MINUTES = 60
# Daily jobs (payout import, order check): late after this many hours.
COCKPIT_DAILY_LATE_HOURS = 50
# The hourly offer send: late after this many hours.
COCKPIT_OFFERS_LATE_HOURS = 3
