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
}

ISSUE_CATEGORIES = [
    ("auth", "Authentication"),
    ("config", "Configuration"),
    ("connection", "Connection"),
    ("timeout", "Timeout"),
    ("tls", "TLS / certificate"),
    ("rate_limit", "Rate limit"),
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

# Operations whose issues are finance's (activities go to the shop's finance
# responsible when set).
FINANCE_OPERATIONS = frozenset(
    ("SBC11", "TL02", "IV01", "IV02", "PAYOUT", "INVOICE", "REFUND")
)
