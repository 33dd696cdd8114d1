"""Transport of the Mirakl seller API: one session, retries, time budget.

:class:`MiraklTransport` owns one ``requests.Session``, sends the raw API key in
``Authorization``, adds ``shop_id`` to every call and a ``(connect, read)``
timeout to every request, retries what is safe to retry, pages lazily, and
turns every failure into one of the errors of :mod:`.exceptions`. The
endpoints are the methods of its subclass :class:`.client.MiraklClient`
(whose module docstring says which writes are ``idempotent``, and why).

Retry policy (at most ``max_retries`` retries per call):

* 429: always retried (the call was refused, not processed), after
  ``Retry-After`` seconds, or after a backoff when the header is absent or
  unparseable; a ``Retry-After`` above ``retry_after_max`` is not waited for.
* 500/502/503/504, read timeouts, connections dropped after the request was
  sent: retried only when repeating the call is safe (GET, or a call flagged
  ``idempotent``), after ``Retry-After`` when the answer has one, else after an
  exponential backoff with full jitter; other 5xx statuses are not retried.
* failures before anything was sent (refused, DNS, connect timeout): retried.
* anything else (TLS, 4xx, answers that are not Mirakl's): never retried.

Time budget: a client given a ``deadline`` (a ``time.monotonic()`` value)
starts no attempt after it (:class:`.MiraklDeadlineError`), shortens each
attempt's timeouts to end by it, and does not wait for a retry that would
start after it. A scheduled job gives its deadline so that Mirakl's waits
(``Retry-After``, slow answers, retries) never outlast the job's own limit.

Uploads (``files``) are ``multipart/form-data`` bodies built here; logs and
error excerpts show the file's name, size and first lines only. Downloads
(``raw=True`` in :meth:`MiraklTransport.request`) return the answer's bytes.

A transport is not thread-safe (one Session); use one client per thread or
job.
"""

import email.utils
import ipaddress
import json
import logging
import math
import random
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from urllib.parse import quote, urlencode, urlsplit

import requests
from urllib3 import encode_multipart_formdata
from urllib3.exceptions import NewConnectionError

from . import const
from .exceptions import (
    MiraklAuthError,
    MiraklConfigError,
    MiraklConnectionError,
    MiraklDeadlineError,
    MiraklNotFoundError,
    MiraklProtocolError,
    MiraklRateLimitError,
    MiraklServerError,
    MiraklTimeoutError,
    MiraklTLSError,
    MiraklValidationError,
)
from .redact import excerpt, redact

_logger = logging.getLogger(__name__)

# Lines of an uploaded file shown in logs and error excerpts.
UPLOAD_EXCERPT_LINES = 5

_STATUS_ERRORS = {
    401: MiraklAuthError,
    403: MiraklAuthError,
    404: MiraklNotFoundError,
    429: MiraklRateLimitError,
}


@dataclass(frozen=True)
class _Call:
    """One logical API call (possibly made in several attempts).

    ``path`` is the path as shown in logs and errors (key masked); ``url`` is
    the real one.
    """

    method: str
    path: str
    operation: str
    url: str
    query: list
    body: bytes | None
    idempotent: bool
    content_type: str | None = None  # of the body; None: JSON
    body_excerpt: str | None = None  # shown instead of the body (uploads)
    accept: str | None = None  # None: the session's (JSON)


class MiraklTransport:
    """Transport of one Mirakl shop: ``MiraklTransport(base_url, api_key, shop_id)``
    (build a :class:`.client.MiraklClient`, which adds the endpoints).

    :param base_url: instance base URL, e.g. ``https://x.mirakl.net`` (a
        trailing ``/`` or ``/api`` is dropped); https only, except plain http to
        a loopback host (127.0.0.0/8, ::1, localhost)
    :param api_key: the shop API key, sent verbatim in ``Authorization``
    :param shop_id: optional shop id, added as a query parameter to every call
        (an empty value, such as an unset Odoo field, means none)
    :param connect_timeout: seconds to establish the connection
    :param read_timeout: seconds to wait for the answer
    :param max_retries: retries after the first attempt (see module docstring)
    :param backoff_base: first backoff ceiling; doubled at each retry
    :param backoff_max: upper bound of any backoff wait
    :param retry_after_max: longest ``Retry-After`` the client waits for
    :param user_agent: ``User-Agent`` header
    :param sleep: callable used for every wait (injectable for tests)
    :param deadline: ``time.monotonic()`` value by which every call must be
        over (see the module docstring); ``None``: no time budget
    :param observer: optional callable ``observer(operation, status, error,
        elapsed_ms)`` told about every HTTP attempt (``status`` ``None``
        without an answer, ``error`` the :class:`.MiraklError` it amounted
        to, if any), e.g. :meth:`.stats.CallStats.record`; an observer that
        raises is logged and never fails the call
    :raises MiraklConfigError: bad base URL or empty API key
    """

    def __init__(
        self,
        base_url,
        api_key,
        shop_id=None,
        *,
        connect_timeout=const.CONNECT_TIMEOUT,
        read_timeout=const.READ_TIMEOUT,
        max_retries=const.MAX_RETRIES,
        backoff_base=const.BACKOFF_BASE,
        backoff_max=const.BACKOFF_MAX,
        retry_after_max=const.RETRY_AFTER_MAX,
        user_agent=const.USER_AGENT,
        sleep=time.sleep,
        deadline=None,
        observer=None,
    ):
        self._api_key = _check_api_key(api_key)
        self.base_url = normalise_base_url(base_url, self._api_key)
        self.shop_id = str(shop_id) if shop_id else None
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._sleep = sleep
        self.deadline = deadline
        self._observer = observer
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": self._api_key,
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )

    def __repr__(self):
        return "<MiraklClient %s shop_id=%s>" % (self.base_url, self.shop_id)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the HTTP session (and its pooled connections)."""
        self.session.close()

    # === GENERIC CALLS === #

    def request(
        self,
        method,
        path,
        operation,
        params=None,
        json=None,
        idempotent=None,
        *,
        files=None,
        raw=False,
    ):
        """Call ``path`` (e.g. ``/api/orders``) and return the parsed JSON.

        Longer than 80 lines on purpose: it documents every parameter, and
        its body is the one retry loop of every call, whose steps are already
        the methods of ONE ATTEMPT below; cutting the loop would scatter its
        state (``retries``, ``response``, ``error``).

        :param method: HTTP method
        :param path: URL path below the instance base URL
        :param operation: Mirakl endpoint code (``OR11``...), for logs and errors
        :param params: query parameters, a mapping or ``(key, value)`` pairs; a
            list, tuple or set (sorted) value becomes a repeated parameter,
            ``None`` values are dropped, booleans become ``true``/``false``
            and datetimes ISO-8601 UTC (naive ones are taken as UTC)
        :param json: JSON-serialisable request body
        :param idempotent: whether repeating the call is safe (default: only
            for GET/HEAD/OPTIONS); decides the retries of 5xx and lost answers
        :param files: ``{part name: (filename, content bytes, media type)}``
            (or ``{part name: str}`` for a plain field) sent as
            ``multipart/form-data`` (instead of ``json``); logs and excerpts
            show each file's name, size and first lines only
        :param raw: return the answer's bytes as they came (report
            downloads; sends ``Accept: */*``) instead of decoding JSON
        :return: the decoded JSON, or ``None`` for 204 or an empty body;
            with ``raw``, the body's bytes
        :raises MiraklError: see :mod:`.exceptions`
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in const.SAFE_METHODS
        if files is not None and json is not None:
            raise ValueError("send either json or files, not both")
        query = _pairs(params)
        if self.shop_id is not None:
            query.append(("shop_id", self.shop_id))
        body = content_type = body_excerpt = None
        if files is not None:
            body, content_type, body_excerpt = _encode_multipart(files)
        elif json is not None:
            body = _encode_json(json)
        call = _Call(
            method=method,
            path=redact(path, (self._api_key,)),
            operation=operation,
            url=self.base_url + path,
            query=query,
            body=body,
            idempotent=idempotent,
            content_type=content_type,
            body_excerpt=body_excerpt,
            accept="*/*" if raw else None,
        )
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug(
                "Mirakl %s %s %s request: %s",
                operation,
                method,
                call.path,
                self._request_excerpt(call),
            )
        retries = 0
        while True:
            timeout = self._attempt_timeout(call)
            started = time.monotonic()
            response, error, safe = self._attempt(call, timeout)
            elapsed_ms = (time.monotonic() - started) * 1000
            if isinstance(error, MiraklTimeoutError) and timeout != self.timeout:
                error = self._deadline_error(call, "no answer by the deadline")
            delay = None if error is None else self._retry_delay(error, retries, safe)
            self._log_attempt(call, response, error, elapsed_ms, retries, delay)
            self._observe(call, response, error, elapsed_ms)
            if delay is None:
                break
            retries += 1
            self._sleep(delay)
        if error is not None:
            if retries:
                error.message = "%s (gave up after %d %s)" % (
                    error.message,
                    retries,
                    "retry" if retries == 1 else "retries",
                )
            raise error
        if raw:
            return response.content
        return self._parse_body(call, response)

    def iter_offset(
        self, path, operation, items_key, params=None, page_size=const.PAGE_SIZE
    ):
        """Yield the items of an offset-paginated GET endpoint, page by page.

        Sends ``max``/``offset``; the answer must hold the list ``items_key``
        and ``total_count``. Stops at ``offset >= total_count`` or on an empty
        page, advancing by the number of items received. Only one page is held
        at a time; pages are fetched as the generator is consumed.

        :raises MiraklProtocolError: a page without its list or ``total_count``
        """
        base = [(k, v) for k, v in _pairs(params) if k not in ("max", "offset")]
        offset = 0
        while True:
            query = base + [("max", page_size), ("offset", offset)]
            page = self.request("GET", path, operation, params=query)
            items = self._page_items(page, items_key, operation, path)
            total = page.get("total_count")
            if not isinstance(total, int) or isinstance(total, bool):
                raise self._shape_error(operation, path, "no total_count", page)
            yield from items
            offset += len(items)
            if not items or offset >= total:
                return

    def iter_seek(
        self, path, operation, params=None, page_size=const.PAGE_SIZE, items_key="data"
    ):
        """Yield the items of a seek-paginated GET endpoint, page by page.

        Sends ``limit`` and, after the first page, ``page_token`` (with the
        same filters), following ``next_page_token`` until it is absent.

        :raises MiraklProtocolError: a page without its list, or a token that
            does not move forward
        """
        base = [(k, v) for k, v in _pairs(params) if k not in ("limit", "page_token")]
        token = None
        while True:
            query = base + [("limit", page_size)]
            if token:
                query.append(("page_token", token))
            page = self.request("GET", path, operation, params=query)
            items = self._page_items(page, items_key, operation, path)
            yield from items
            next_token = page.get("next_page_token")
            if not next_token:
                return
            if next_token == token:
                raise self._shape_error(operation, path, "page token repeats", page)
            token = next_token

    # === ONE ATTEMPT === #

    def _time_left(self):
        """Seconds left before the deadline, or ``None`` without one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def _attempt_timeout(self, call):
        """``(connect, read)`` timeouts of the next attempt, ending by the
        deadline.

        :raises MiraklDeadlineError: the deadline has passed (nothing is sent)
        """
        left = self._time_left()
        if left is None or left >= max(self.timeout):
            return self.timeout
        if left <= 0:
            raise self._deadline_error(call, "not sent: the deadline has passed")
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def _deadline_error(self, call, text):
        return MiraklDeadlineError(
            "%s (the caller's time budget is spent)" % text,
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
        )

    def _send(self, call, timeout=None):
        """Make one HTTP attempt; return the response or raise requests' error."""
        headers = {}
        if call.body is not None:
            headers["Content-Type"] = call.content_type or "application/json"
        if call.accept is not None:
            headers["Accept"] = call.accept
        return self.session.request(
            call.method,
            call.url,
            params=call.query,
            data=call.body,
            headers=headers,
            timeout=timeout or self.timeout,
            allow_redirects=False,
        )

    def _attempt(self, call, timeout=None):
        """Make one attempt (within ``timeout``) and classify it.

        :return: ``(response, error, safe)``: the response (``None`` when none
            came), the error it amounts to (``None`` on success), and whether
            repeating the call is safe
        """
        try:
            response = self._send(call, timeout)
        except requests.RequestException as exc:
            safe = call.idempotent or _failed_before_sending(exc)
            return None, self._error_for_transport(call, exc), safe
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug(
                "Mirakl %s response %s: %s",
                call.operation,
                response.status_code,
                self._text_excerpt(_decode(response.content)),
            )
        safe = call.idempotent or response.status_code == 429
        return response, self._error_for_response(call, response), safe

    def _error_for_transport(self, call, exc):
        """Return the MiraklError for a request that got no answer.

        The requests exception is deliberately not chained: it holds the
        prepared request, headers (hence the API key) included.
        """
        if isinstance(exc, requests.exceptions.SSLError):
            cls, text = MiraklTLSError, "TLS handshake or certificate failure"
        elif isinstance(exc, requests.exceptions.ConnectTimeout):
            cls, text = MiraklTimeoutError, "no connection within %ss" % self.timeout[0]
        elif isinstance(exc, requests.exceptions.Timeout):
            cls, text = MiraklTimeoutError, "no answer within %ss" % self.timeout[1]
        elif _failed_before_sending(exc):
            cls, text = MiraklConnectionError, "cannot connect to Mirakl"
        else:
            cls, text = MiraklConnectionError, "connection lost before the answer"
        return cls(
            self._text_excerpt(
                "%s (%s)" % (text, _root_cause(exc)), const.MESSAGE_LIMIT
            ),
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
        )

    def _error_for_response(self, call, response):
        """Return the MiraklError an answer amounts to, ``None`` for a 2xx."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        code, message = _error_details(response.content)
        if 300 <= status < 400:
            cls = MiraklProtocolError
            message = "unexpected redirect to %s; check the base URL" % (
                response.headers.get("Location"),
            )
        elif status in _STATUS_ERRORS:
            cls = _STATUS_ERRORS[status]
        elif status >= 500:
            cls = MiraklServerError
        elif status >= 400:
            cls = MiraklValidationError
        else:
            cls = MiraklProtocolError
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        message = message or response.reason or "unexpected answer"
        if retry_after is not None:
            message = "%s (Retry-After %gs)" % (message, retry_after)
        return cls(
            self._text_excerpt(message, const.MESSAGE_LIMIT),
            status=status,
            code=code and self._text_excerpt(code, const.MESSAGE_LIMIT),
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
            response_excerpt=self._text_excerpt(_decode(response.content)),
            retry_after=retry_after,
        )

    def _retry_delay(self, error, retries, safe):
        """Seconds to wait before retrying after ``error``, or ``None`` to stop.

        :param retries: retries already made for this call
        :param safe: whether repeating the call is safe (see ``_attempt``)
        """
        if retries >= self.max_retries or not error.transient or not safe:
            return None
        if isinstance(error, MiraklDeadlineError):
            return None
        if (error.status or 0) >= 500 and error.status not in const.RETRYABLE_STATUSES:
            return None
        if error.retry_after is not None:
            delay = error.retry_after
            if delay > self.retry_after_max:
                return None
        else:
            delay = random.uniform(
                0.0, min(self.backoff_max, self.backoff_base * 2**retries)
            )
        left = self._time_left()
        if left is not None and delay >= left:
            return None  # the retry would start after the deadline
        return delay

    def _log_attempt(self, call, response, error, elapsed_ms, retries, delay):
        """Log the one INFO line of an attempt (never headers nor payloads)."""
        outcome = response.status_code if response is not None else type(error).__name__
        if delay is None:
            _logger.info(
                "Mirakl %s %s %s -> %s in %.0f ms",
                call.operation,
                call.method,
                call.path,
                outcome,
                elapsed_ms,
            )
        else:
            _logger.info(
                "Mirakl %s %s %s -> %s in %.0f ms, retry %d/%d in %.2fs",
                call.operation,
                call.method,
                call.path,
                outcome,
                elapsed_ms,
                retries + 1,
                self.max_retries,
                delay,
            )

    def _observe(self, call, response, error, elapsed_ms):
        """Tell the observer about an attempt; its failure never fails the call."""
        if self._observer is None:
            return
        try:
            self._observer(
                call.operation,
                response.status_code if response is not None else None,
                error,
                elapsed_ms,
            )
        except Exception:  # statistics must never break a call to Mirakl
            _logger.warning(
                "Mirakl %s: the call observer failed", call.operation, exc_info=True
            )

    def _parse_body(self, call, response):
        """Decode a 2xx JSON answer; ``None`` for 204 or an empty body.

        :raises MiraklProtocolError: the answer is not JSON (e.g. an HTML page)
        """
        if response.status_code == 204 or not response.content.strip():
            return None
        content_type = response.headers.get("Content-Type", "")
        if content_type and "json" not in content_type.lower():
            reason = "answer is %s, not JSON" % content_type
        else:
            try:
                return json.loads(response.content)
            except ValueError:
                reason = "malformed JSON answer"
        raise MiraklProtocolError(
            reason,
            status=response.status_code,
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
            response_excerpt=self._text_excerpt(_decode(response.content)),
        )

    # === HELPERS === #

    def _get_list(self, path, operation, key):
        """GET ``path`` and return the list held under ``key``."""
        data = self.request("GET", path, operation)
        return self._page_items(data, key, operation, path)

    def _page_items(self, page, items_key, operation, path, method="GET"):
        """Return ``page[items_key]``, which must be a list."""
        items = page.get(items_key) if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise self._shape_error(
                operation, path, "no %s list" % items_key, page, method
            )
        return items

    def _checked_items(self, items, operation, path, keys):
        """Yield ``items``, each of which must be a dict with ``keys``."""
        for item in items:
            if not isinstance(item, dict) or any(key not in item for key in keys):
                raise self._shape_error(
                    operation,
                    path,
                    "an element without %s" % ", ".join(keys),
                    item,
                )
            yield item

    def _shape_error(self, operation, path, what, payload, method="GET"):
        """Build the MiraklProtocolError for JSON of an unexpected shape."""
        return MiraklProtocolError(
            "unexpected answer: %s" % what,
            operation=operation,
            method=method,
            path=redact(path, (self._api_key,)),
            response_excerpt=self._text_excerpt(json.dumps(payload)),
        )

    def _request_excerpt(self, call):
        """Redacted, truncated text of the request: path, query and body."""
        text = "%s %s?%s" % (call.method, call.path, urlencode(call.query))
        if call.body_excerpt is not None:
            text = "%s\n%s" % (text, call.body_excerpt)
        elif call.body is not None:
            text = "%s\n%s" % (text, _decode(call.body))
        return self._text_excerpt(text)

    def _text_excerpt(self, text, limit=const.EXCERPT_LIMIT):
        """Mask the API key in ``text``, then truncate it to ``limit``."""
        return excerpt(redact(text, (self._api_key,)), limit)


# === MODULE HELPERS === #


def normalise_base_url(base_url, api_key=None):
    """Validate the instance base URL and return it without trailing ``/api``.

    The one rule for what a Mirakl base URL may be (the Odoo shop record
    validates its field with it too).

    :param api_key: masked in the error messages, should the URL contain it
    :raises MiraklConfigError: not http(s), credentials/query in the URL, or
        plain http to a host that is not loopback
    """
    url = (base_url or "").strip().rstrip("/")
    shown = redact(url, (api_key,))
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (
        not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        raise MiraklConfigError(
            "Mirakl base URL %r is not a plain https URL such as "
            "https://example.mirakl.net" % shown
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise MiraklConfigError(
            "Mirakl base URL %r must use https (plain http is only allowed "
            "to a loopback host)" % shown
        )
    return url.removesuffix("/api")


def is_loopback_host(host):
    """Whether ``host`` is localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_api_key(api_key):
    """Return the API key without surrounding blanks.

    :raises MiraklConfigError: empty, or not a single printable ASCII token
    """
    key = (api_key or "").strip()
    if not key:
        raise MiraklConfigError("Mirakl API key is empty")
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise MiraklConfigError(
            "Mirakl API key contains spaces, control or non-ASCII characters"
        )
    return key


def _check_page_size(page_size, maximum=const.MAX_PAGE_SIZE):
    """Refuse a page size Mirakl would refuse (1 to ``maximum``)."""
    if not 1 <= page_size <= maximum:
        raise ValueError(
            "page_size must be between 1 and %d, got %r" % (maximum, page_size)
        )


def _pairs(params):
    """Normalise query parameters into a list of ``(key, str)`` pairs.

    A list or tuple value becomes a repeated parameter, a set too (sorted, for
    a stable URL); ``None`` values are dropped.
    """
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs = []
    for key, value in items:
        if isinstance(value, AbstractSet):
            value = sorted(value, key=str)
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, _format_param(v)) for v in values if v is not None)
    return pairs


def _format_param(value):
    """Format one query value: booleans, datetimes (UTC) and dates."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _comma(values):
    """Join an iterable into a comma-separated string (``None`` stays)."""
    if values is None:
        return None
    if isinstance(values, str):
        return values
    return ",".join(str(value) for value in values) or None


def _segment(value):
    """Quote one URL path segment (an order id)."""
    return quote(str(value), safe="")


def _encode_json(payload):
    """Serialise a request body (datetimes as ISO-8601 UTC, Decimals as numbers)."""
    return json.dumps(payload, default=_json_value).encode("utf-8")


def _json_value(value):
    """JSON form of what ``json`` cannot serialise (Decimal: a JSON number)."""
    if isinstance(value, Decimal):
        return float(value)
    return _format_param(value)


def _encode_multipart(files):
    """``(body, content type, excerpt)`` of a ``multipart/form-data`` upload.

    :param files: ``{name: (filename, content bytes, media type)}``, or
        ``{name: str}`` for a plain form field
    The excerpt names each part with its size and first lines (never the
    whole file).
    """
    summary = []
    fields = {}
    for name, part in files.items():
        if isinstance(part, str):
            summary.append("[%s: %s]" % (name, part))
            fields[name] = part
            continue
        filename, content, media_type = part
        head = _decode(content[: const.EXCERPT_LIMIT]).splitlines()[
            :UPLOAD_EXCERPT_LINES
        ]
        summary.append(
            "[%s: %s, %d bytes]\n%s" % (name, filename, len(content), "\n".join(head))
        )
        fields[name] = (filename, content, media_type or "application/octet-stream")
    body, content_type = encode_multipart_formdata(fields)
    return body, content_type, "\n".join(summary)


def _decode(content):
    """Bytes to text (UTF-8, undecodable bytes replaced, a BOM kept): excerpts
    and downloaded reports."""
    return content.decode("utf-8", errors="replace")


def _exception_chain(exc):
    """Yield ``exc`` and its causes/contexts, outermost first."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _root_cause(exc):
    """Text of the innermost exception behind ``exc`` (``Connection refused``)."""
    root = list(_exception_chain(exc))[-1]
    return str(root) or type(root).__name__


def _failed_before_sending(exc):
    """Whether ``exc`` happened before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError) or not isinstance(
        exc, requests.exceptions.ConnectionError
    ):
        return False
    return any(isinstance(e, NewConnectionError) for e in _exception_chain(exc))


def _parse_retry_after(value):
    """Seconds to wait from a ``Retry-After`` header; ``None`` if unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _error_details(content):
    """Extract ``(code, message)`` from an error body of unconfirmed shape.

    Tolerates ``{"status", "message", "code"}``, ``{"message", "errors":
    [{"code", "field", "message"}]}``, ``{"error": ...}`` and plain text
    (markup such as an HTML error page gives no message).
    """
    text = _decode(content).strip()
    try:
        data = json.loads(text)
    except ValueError:
        return None, (None if text.startswith("<") else " ".join(text.split()) or None)
    if isinstance(data, str):
        return None, data or None
    if not isinstance(data, dict):
        return None, None
    code, message = data.get("code"), data.get("message")
    error = data.get("error")
    if isinstance(error, dict):
        code = code or error.get("code")
        message = message or error.get("message")
    elif isinstance(error, str):
        message = message or error
    errors = data.get("errors")
    errors = (
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    )
    if errors:
        code = code or errors[0].get("code")
        details = "; ".join(
            ": ".join(str(e[k]) for k in ("field", "message") if e.get(k))
            for e in errors
        )
        message = ": ".join(str(m) for m in (message, details) if m)
    return (str(code) if code else None), (str(message) if message else None)
