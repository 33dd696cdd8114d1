"""Errors raised by the Mirakl client.

One hierarchy, rooted at :class:`MiraklError`::

    MiraklError                      category    transient
    ├── MiraklConfigError            config      no   bad base URL, empty key
    ├── MiraklTransientError         -           yes  a later retry may succeed
    │   ├── MiraklConnectionError    connection  yes  unreachable, DNS, refused, dropped
    │   │   └── MiraklTimeoutError   timeout     yes  connect or read timeout
    │   ├── MiraklDeadlineError      budget      yes  the caller's time budget is spent
    │   ├── MiraklRateLimitError     rate_limit  yes  429 after the retries
    │   └── MiraklServerError        server      yes  5xx after the retries
    ├── MiraklTLSError               tls         no   certificate / handshake failure
    ├── MiraklAuthError              auth        no   401 / 403
    ├── MiraklNotFoundError          not_found   no   404
    ├── MiraklValidationError        validation  no   400 and other 4xx
    └── MiraklProtocolError          protocol    no   an answer that is not Mirakl's

``transient`` tells the caller whether scheduling the same call later may
succeed (the client has already spent its own bounded retries). Every error
carries the context of the failed call; excerpts are already redacted (the API
key never appears in any attribute) and truncated.
"""


class MiraklError(Exception):
    """Base class of every error raised by the Mirakl client.

    :ivar message: human explanation (Mirakl's own message when it sent one)
    :ivar status: HTTP status code, or ``None`` when no answer was received
    :ivar code: Mirakl machine error code (e.g. ``ORDER_INVALID_STATE``)
    :ivar operation: Mirakl endpoint code of the call (e.g. ``OR21``)
    :ivar method: HTTP method of the call
    :ivar path: URL path of the call (no query string)
    :ivar request_excerpt: redacted, truncated request (query and body)
    :ivar response_excerpt: redacted, truncated response body
    :ivar retry_after: seconds the server asked to wait (``Retry-After``)
    """

    category = "error"
    transient = False

    def __init__(
        self,
        message,
        *,
        status=None,
        code=None,
        operation=None,
        method=None,
        path=None,
        request_excerpt=None,
        response_excerpt=None,
        retry_after=None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.operation = operation
        self.method = method
        self.path = path
        self.request_excerpt = request_excerpt
        self.response_excerpt = response_excerpt
        self.retry_after = retry_after

    def __str__(self):
        where = " ".join(p for p in (self.operation, self.method, self.path) if p)
        what = " ".join(
            p for p in ("HTTP %s" % self.status if self.status else "", self.code) if p
        )
        text = ": ".join(p for p in (where, what, self.message) if p)
        return " ".join(text.split())

    def __repr__(self):
        return "%s(%r, status=%r, code=%r, operation=%r)" % (
            type(self).__name__,
            self.message,
            self.status,
            self.code,
            self.operation,
        )


class MiraklConfigError(MiraklError):
    """The client is misconfigured (base URL, API key); nothing was sent."""

    category = "config"


class MiraklTransientError(MiraklError):
    """A failure that the same call, made again later, may not meet."""

    category = "transient"
    transient = True


class MiraklConnectionError(MiraklTransientError):
    """No answer: host unreachable, DNS failure, connection refused or dropped."""

    category = "connection"


class MiraklTimeoutError(MiraklConnectionError):
    """The connection or the answer took longer than the configured timeout."""

    category = "timeout"


class MiraklDeadlineError(MiraklTransientError):
    """The caller's time budget (the client's ``deadline``) is spent.

    Raised instead of starting an attempt after the deadline, and instead of
    a timeout when an attempt was cut short to end by the deadline (the call
    may then have been applied, like any call whose answer was lost).
    """

    category = "budget"


class MiraklRateLimitError(MiraklTransientError):
    """429 Too Many Requests, still refused after the bounded retries.

    ``retry_after`` holds the wait Mirakl asked for, when it sent one.
    """

    category = "rate_limit"


class MiraklServerError(MiraklTransientError):
    """5xx answer, after the retries (or not retried because unsafe)."""

    category = "server"


class MiraklTLSError(MiraklError):
    """TLS certificate or handshake failure; retrying will not help."""

    category = "tls"


class MiraklAuthError(MiraklError):
    """401/403: the API key is missing, invalid or lacks the permission."""

    category = "auth"


class MiraklNotFoundError(MiraklError):
    """404: the resource (order, endpoint) does not exist."""

    category = "not_found"


class MiraklValidationError(MiraklError):
    """400 and other 4xx: Mirakl refused the request (see ``code``)."""

    category = "validation"


class MiraklProtocolError(MiraklError):
    """An answer that is not Mirakl's: not JSON, malformed, or wrong shape."""

    category = "protocol"
