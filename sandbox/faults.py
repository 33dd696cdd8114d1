"""Fault injection: make chosen /api/ calls fail the way real networks do.

A fault is registered through ``POST /_sandbox/faults`` with:

* ``kind``: ``"429"``, ``"500"``, ``"503"`` (that status with an error body),
  ``"401"`` (refused as unauthorised whatever the key), ``"slow"`` (sleep
  ``delay`` seconds, default 1, then answer normally), ``"malformed"`` (200
  with a body that is not valid JSON), ``"html"`` (200 ``text/html`` page that
  is not Mirakl, like a proxy's maintenance page), ``"drop"`` (close the
  connection without any response) or ``"drop_after"`` (carry the call out,
  then close the connection without answering: the write is applied but its
  answer is lost, as when a network or proxy fails on the way back);
* what it matches: ``operation`` (endpoint code such as ``"OR11"``) and/or
  ``method`` and ``path`` (a regular expression searched in the URL path);
  nothing at all matches every /api/ call;
* how often: ``count`` (the next N matching calls) and/or ``rate`` (each
  matching call fails with that probability, drawn from an RNG seeded with the
  sandbox seed); neither means ``count=1``;
* ``retry_after`` (429 and 503 only): seconds sent in a ``Retry-After``
  header; omitted, no header is sent.

Faults are checked before authentication, in registration order; the first
one that fires wins. Exhausted faults stay listed (``remaining: 0``) with
their ``hits`` so tests can assert how often they fired.
"""

import math
import random
import re

FAULT_KINDS = (
    "429",
    "500",
    "503",
    "401",
    "slow",
    "malformed",
    "drop",
    "drop_after",
    "html",
)
RETRY_AFTER_KINDS = ("429", "503")
DEFAULT_SLOW_DELAY = 1.0
_SPEC_KEYS = frozenset(
    ("kind", "operation", "method", "path", "count", "rate", "retry_after", "delay")
)


def _number(spec, key, minimum=0, maximum=None):
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("%s must be a number" % key)
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError("%s out of range" % key)
    return value


class Fault:
    """One registered fault (see the module docstring)."""

    def __init__(self, fault_id, spec, operations):
        unknown = set(spec) - _SPEC_KEYS
        if unknown:
            raise ValueError("unknown fault keys: %s" % ", ".join(sorted(unknown)))
        self.id = fault_id
        self.kind = str(spec.get("kind"))
        if self.kind not in FAULT_KINDS:
            raise ValueError("kind must be one of %s" % ", ".join(FAULT_KINDS))
        self.operation = spec.get("operation")
        if self.operation is not None and self.operation not in operations:
            raise ValueError("unknown operation %r" % self.operation)
        self.method = spec.get("method")
        if self.method is not None:
            self.method = str(self.method).upper()
        self.path = spec.get("path")
        try:
            self._path_re = re.compile(self.path) if self.path is not None else None
        except (re.error, TypeError) as exc:
            raise ValueError("path is not a regular expression: %s" % exc) from exc
        count = _number(spec, "count", minimum=1)
        if count is not None and count != int(count):
            raise ValueError("count must be an integer")
        self.rate = _number(spec, "rate", maximum=1)
        self.remaining = int(count) if count is not None else None
        if self.remaining is None and self.rate is None:
            self.remaining = 1
        self.retry_after = _number(spec, "retry_after")
        if self.retry_after is not None and self.kind not in RETRY_AFTER_KINDS:
            raise ValueError("retry_after only applies to 429 and 503")
        self.delay = _number(spec, "delay")
        if self.delay is not None and self.kind != "slow":
            raise ValueError("delay only applies to slow")
        if self.kind == "slow" and self.delay is None:
            self.delay = DEFAULT_SLOW_DELAY
        self.hits = 0

    @property
    def retry_after_header(self):
        """``Retry-After`` value (whole seconds, rounded up) or None."""
        if self.retry_after is None:
            return None
        return str(math.ceil(self.retry_after))

    def matches(self, operation, method, path):
        if self.remaining == 0:
            return False
        if self.operation is not None and self.operation != operation:
            return False
        if self.method is not None and self.method != method:
            return False
        return self._path_re is None or bool(self._path_re.search(path))

    def as_dict(self):
        return {
            "id": self.id,
            "kind": self.kind,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "remaining": self.remaining,
            "rate": self.rate,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "hits": self.hits,
        }


class FaultRegistry:
    """The registered faults and the seeded RNG that drives ``rate``."""

    def __init__(self, seed):
        self._rng = random.Random(seed)
        self._faults = []
        self._next_id = 1

    def add(self, spec, operations):
        if not isinstance(spec, dict):
            raise TypeError("a fault is a JSON object")
        fault = Fault(self._next_id, spec, operations)
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, operation, method, path):
        """The fault that fires for this call (consuming one use), or None."""
        for fault in self._faults:
            if not fault.matches(operation, method, path):
                continue
            if fault.rate is not None and self._rng.random() >= fault.rate:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            fault.hits += 1
            return fault
        return None

    def as_list(self):
        return [fault.as_dict() for fault in self._faults]

    def clear(self):
        self._faults = []
