"""What every sandbox module shares: errors, dates, order and shipment states.

``SandboxError`` (an error answer: status, message, machine code),
``RawAnswer`` (a non-JSON answer body), ``bad_request`` and
``validation_error`` (400 answers), ``to_second``, ``iso`` and
``parse_datetime`` (the sandbox's dates: aware UTC, shown to the second), and
the order, line and shipment states of the API document (section 2.1). It
imports nothing from the sandbox, so that every other module can import it.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
WAITING_DEBIT = "WAITING_DEBIT"
WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT"
SHIPPING = "SHIPPING"
SHIPPED = "SHIPPED"
REFUSED = "REFUSED"
CANCELED = "CANCELED"
ORDER_STATES = (
    "STAGING",
    WAITING_ACCEPTANCE,
    WAITING_DEBIT,
    WAITING_DEBIT_PAYMENT,
    SHIPPING,
    SHIPPED,
    "TO_COLLECT",
    "RECEIVED",
    "CLOSED",
    REFUSED,
    CANCELED,
)
CANCELABLE_STATES = (WAITING_ACCEPTANCE, WAITING_DEBIT, WAITING_DEBIT_PAYMENT, SHIPPING)
DEAD_LINE_STATES = frozenset((REFUSED, CANCELED))
PAYMENT_WORKFLOWS = (
    "PAY_ON_ACCEPTANCE",
    "PAY_ON_DELIVERY",
    "PAY_ON_DUE_DATE",
    "PAY_ON_SHIPMENT",
    "NO_CUSTOMER_PAYMENT_CONFIRMATION",
)
PAYMENT_WORKFLOW = "PAY_ON_ACCEPTANCE"
AUTO_REFUSED = "AUTO_REFUSED"
CUSTOMER_CANCELED = "CUSTOMER_CANCELED"
SHIPMENT_STATES = (
    SHIPPING,
    "READY_FOR_PICK_UP",
    "SHIPMENT_PREPARED",
    SHIPPED,
    "TO_COLLECT",
    "RECEIVED",
    CANCELED,
    "CLOSED",
)
SHIPMENT_DEBIT_STATES = (
    "NO_DEBIT",
    "NOT_STARTED",
    "WAITING_TAX_CONFIRMATION",
    "WAITING_OPERATOR_SYSTEM_CONTACT",
    "WAITING_DEBIT_CONFIRMATION",
    "DEBIT_OK",
    CANCELED,
)
NO_DEBIT = "NO_DEBIT"
UTC = timezone.utc


class SandboxError(Exception):
    """An error answer: HTTP status, message and optional machine code."""

    def __init__(self, status, message, code=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}

    def body(self):
        body = {"status": self.status, "message": self.message}
        if self.code:
            body["code"] = self.code
        return body


@dataclass
class RawAnswer:
    """A handler's non-JSON answer body (CSV reports): bytes and media type."""

    body: bytes
    content_type: str


def bad_request(message, code=None):
    return SandboxError(400, message, code)


def validation_error(message):
    return SandboxError(400, message, "VALIDATION_ERROR")


def to_second(moment):
    return moment.replace(microsecond=0)


def iso(moment):
    """``2025-03-03T10:12:00Z`` (None stays None)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d\d:?\d\d)?"
)


def parse_datetime(text):
    """ISO-8601 date-time -> aware UTC datetime (ValueError when malformed).

    ``2025-03-01T09:00:00Z``, ``...+01:00``, fractions of a second; without
    an offset the time is taken as UTC. Same rules on every Python version.
    """
    match = _DATETIME_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("not an ISO-8601 date-time: %r" % (text,))
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    value = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        int((fraction or "0")[:6].ljust(6, "0")),
        tzinfo=UTC,
    )
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value
