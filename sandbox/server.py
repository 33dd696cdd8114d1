"""HTTP layer of the Mirakl sandbox: a real server on loopback.

``SandboxServer`` runs a ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive,
daemon threads) on a loopback address only, serving:

* ``/api/...``: the Mirakl seller operations of ``api`` (A01, PC01, V01, OR04,
  OR11, OR21, OR23, OR24, OR29, OR30, RE01, SH21, SH12, ST01, ST11, ST12,
  ST23, ST24, OF21, OF24, OF02, OF03, OF61, STO01, STO02, STO03, TL02,
  SBC11, IV01, IV02, H11, PM11, VL11, P41, P42, P44, P45, P47);
* ``/_sandbox/...``: the control API of ``control`` (no authentication).

Every /api/ call goes through, in this order:

1. the call log: one entry per call in arrival order, ``{"seq", "time" (real
   UTC, microseconds), "operation" (endpoint code, null for an unknown path or
   method), "method", "path", "query" ({name: value, or list when repeated}),
   "auth" ("valid" | "invalid" | "missing"; the header value itself is never
   stored), "user_agent", "content_type", "body" (parsed JSON, else raw text,
   else null; a ``multipart/form-data`` body is summed up as ``{"multipart":
   [{"name", "filename", "content_type", "size" (bytes), "lines", "head"
   (its first 5 lines, 200 characters each at most)}]}``), "status" (null
   when the connection was dropped), "fault", and for ``drop_after``
   "applied_status" (the status the lost answer had)}``;
2. fault injection (``faults``), before anything else is checked;
3. authentication: the ``Authorization`` header must be the raw API key (no
   ``Bearer``), else 401;
4. routing: unknown path 404, known path with another method 405;
5. ``shop_id`` query parameter: absent or equal to the sandbox's shop id,
   any other value 403 (the status Mirakl really answers is UNCONFIRMED);
6. the operation itself, after the time-based order transitions are applied.

Error body (Mirakl's real shape is UNCONFIRMED; the sandbox uses this one
consistently, control API included): ``{"status": <int>, "message":
"<text>"}`` plus ``"code": "<MACHINE_CODE>"`` when there is a machine code.
Successful writes answer 204 with no body, except OR04 (200 with its
``updated_orders``), OR30 (200 with its ``cancelations``), ST01 (201),
ST23/ST24 (200 with ``shipment_success`` and ``shipment_errors``), and
STO01/OF24/P41 (201 ``{"import_id"}``). Error reports (STO03, OF03, P44,
P45, P47) answer CSV
(``text/csv`` and ``application/octet-stream``), and IV02 a PDF
(``application/octet-stream``): a handler returns a
``common.RawAnswer`` for a body that is not JSON.

Each request is logged on the ``mirakl_sandbox`` logger at DEBUG level in one
line (the command line shows them on stderr; under tests they stay silent).
"""

import hmac
import ipaddress
import json
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import api, api_request, control
from .common import RawAnswer, SandboxError
from .offer_files import multipart_summary
from .state import SandboxState

_logger = logging.getLogger("mirakl_sandbox")

MALFORMED_BODY = b'{"orders": [{"order_id": "MKP-100001-A", "order_state": "WAITI'
HTML_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head>"
    b"<body><h1>We'll be back soon</h1><p>The marketplace is under scheduled "
    b"maintenance. Please try again later.</p></body></html>\n"
)
FAULT_MESSAGES = {
    "401": "Unauthorized",
    "429": "Too many requests, slow down",
    "500": "Internal server error",
    "503": "Service temporarily unavailable",
}


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError("not JSON serialisable: %r" % (value,))


@dataclass
class Response:
    status: int
    body: bytes = None  # None: no body at all (204)
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, status, payload, headers=None):
        if payload is None:
            return cls(status, headers=headers or {})
        body = json.dumps(payload, default=_json_default).encode()
        return cls(status, body, headers=headers or {})

    @classmethod
    def raw(cls, status, answer):
        return cls(status, answer.body, answer.content_type)

    @classmethod
    def error(cls, error):
        return cls.json(error.status, error.body(), error.headers)


def _fault_response(fault):
    """The response of a fault (None for ``drop``: no response at all)."""
    if fault.kind == "drop":
        return None
    if fault.kind == "malformed":
        return Response(200, MALFORMED_BODY)
    if fault.kind == "html":
        return Response(200, HTML_BODY, "text/html; charset=utf-8")
    status = int(fault.kind)
    headers = {}
    if fault.retry_after_header is not None:
        headers["Retry-After"] = fault.retry_after_header
    return Response.error(
        SandboxError(status, FAULT_MESSAGES[fault.kind], headers=headers)
    )


def _logged_body(body, content_type):
    if not body:
        return None
    if "multipart/" in (content_type or "").lower():
        summary = multipart_summary(body, content_type)
        if summary is not None:
            return summary
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are written separately
    server_version = "MiraklSandbox/1.0"

    def version_string(self):
        return self.server_version

    def _handle(self):
        started = time.monotonic()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            body = None
        fault = None
        if body is None:
            response = Response.error(SandboxError(400, "Unreadable request body"))
        elif url.path == "/api" or url.path.startswith("/api/"):
            response, fault = self._serve_api(url.path, query, body)
        elif url.path.startswith("/_sandbox/"):
            response = self._serve_control(url.path, query, body)
        else:
            response = Response.error(SandboxError(404, "Not found"))
        if response is None:
            self.close_connection = True  # "drop": no answer at all
        else:
            self._send(response)
        _logger.debug(
            "%s %s -> %s%s (%.0f ms)",
            self.command,
            self.path,
            response.status if response else "dropped",
            " [fault %s]" % fault.kind if fault else "",
            (time.monotonic() - started) * 1000,
        )

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _auth(self, sandbox):
        value = self.headers.get("Authorization")
        if value is None:
            return "missing"
        valid = hmac.compare_digest(value.encode(), sandbox.api_key.encode())
        return "valid" if valid else "invalid"

    def _request(self, path, params, query, body):
        return api_request.ApiRequest(
            self.command,
            path,
            params,
            api_request.Query(query),
            body,
            self.headers.get("Content-Type", ""),
        )

    def _answer(self, prepare):
        """Run the operation ``prepare()`` returns as ``(handler, request)``.

        Applies the time-based transitions due first; a ``SandboxError`` raised
        anywhere becomes its error answer, any other exception a logged 500.
        """
        state = self.server.sandbox.state
        try:
            handler, request = prepare()
            with state.lock:
                state.refresh()
                status, payload = handler(state, request)
            if isinstance(payload, RawAnswer):
                return Response.raw(status, payload)
            return Response.json(status, payload)
        except SandboxError as error:
            return Response.error(error)
        except Exception:
            _logger.exception("sandbox failure on %s %s", self.command, self.path)
            return Response.error(SandboxError(500, "Internal sandbox error"))

    def _serve_api(self, path, query, body):
        sandbox = self.server.sandbox
        state = sandbox.state
        route, params, route_error = api.resolve(self.command, path)
        auth = self._auth(sandbox)
        with state.lock:
            call = state.record_call(
                operation=route.operation if route else None,
                method=self.command,
                path=path,
                query={k: v[0] if len(v) == 1 else v for k, v in query.items()},
                auth=auth,
                user_agent=self.headers.get("User-Agent"),
                content_type=self.headers.get("Content-Type"),
                body=_logged_body(body, self.headers.get("Content-Type")),
                status=None,
                fault=None,
            )
            fault = state.faults.take(call["operation"], self.command, path)
            call["fault"] = fault.kind if fault else None
        if fault is not None and fault.kind not in ("slow", "drop_after"):
            response = _fault_response(fault)
        else:
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            request = self._request(path, params, query, body)
            response = self._api_response(sandbox, route, route_error, request, auth)
            if fault is not None and fault.kind == "drop_after":
                with state.lock:
                    call["status"] = None
                    call["applied_status"] = response.status
                return None, fault  # carried out, answer lost
        with state.lock:
            call["status"] = response.status if response else None
        return response, fault

    def _api_response(self, sandbox, route, route_error, request, auth):
        def prepare():
            if auth != "valid":
                raise SandboxError(401, "Missing or invalid API key")
            if route_error is not None:
                raise route_error
            for shop_id in request.query.raw.get("shop_id", ()):
                if shop_id != "" and shop_id != str(sandbox.shop_id):
                    raise SandboxError(403, "Shop %s is not accessible" % shop_id)
            return route.handler, request

        return self._answer(prepare)

    def _serve_control(self, path, query, body):
        def prepare():
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                raise SandboxError(403, "The control API only answers loopback")
            handler, params = control.resolve(self.command, path)
            return handler, self._request(path, params, query, body)

        return self._answer(prepare)

    def _send(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body is None:
            self.end_headers()
            return
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_request(self, code="-", size="-"):
        """Requests are logged once, by ``_handle``."""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        _logger.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    """Threading server that can close its keep-alive connections on stop."""

    daemon_threads = True

    def __init__(self, address, sandbox):
        self.sandbox = sandbox
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        return super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        return super().shutdown_request(request)

    def close_connections(self):
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                _logger.debug("connection already closed")

    def handle_error(self, request, client_address):
        _logger.debug("connection with %s: %r", client_address, sys.exc_info()[1])


class _HTTPServerV6(_HTTPServer):
    address_family = socket.AF_INET6


def _loopback_host(host):
    if host == "localhost":
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError("the sandbox only listens on loopback, not on %r" % (host,))
    return host


class SandboxServer:
    """A Mirakl sandbox on ``http://127.0.0.1:<port>``.

    ``orders`` orders wait for acceptance from the start; ``seed`` makes the
    generated data reproducible; ``config`` overrides the default
    configuration (``state.DEFAULT_CONFIG``) and becomes what
    ``/_sandbox/reset`` returns to. Port 0 picks a free port.
    """

    def __init__(
        self,
        api_key,
        shop_id=2001,
        host="127.0.0.1",
        port=0,
        orders=0,
        seed=42,
        config=None,
    ):
        if not api_key:
            raise ValueError("an API key is required")
        self.api_key = api_key
        self.shop_id = int(shop_id)
        self.host = _loopback_host(host)
        self._requested_port = port
        self.state = SandboxState(self.shop_id, seed, config, orders)
        self._httpd = None
        self._thread = None

    def start(self):
        """Listen and serve in a daemon thread; return once listening."""
        if self._httpd is not None:
            raise RuntimeError("the sandbox is already running")
        server_class = _HTTPServerV6 if ":" in self.host else _HTTPServer
        self._httpd = server_class((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # so that stop() is quick
            name="mirakl-sandbox-%d" % self.port,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving, close every connection and the listening socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def port(self):
        return self._httpd.server_address[1] if self._httpd else None

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%s" % (host, self.port)
