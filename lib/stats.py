"""Call statistics of a Mirakl client: counted in memory, written in batches.

A :class:`CallStats` is the ``observer`` of one or more clients
(``MiraklClient(..., observer=stats.record)``): each HTTP attempt (a retry is
an attempt of its own, as Mirakl's rate limits count them) adds to the
counters of its hour and operation. Nothing here writes anywhere: the owner
drains the counters (:meth:`CallStats.drain`) when it suits it, for example
once per scheduled run, and stores them. Thread-safe; counters of the same
hour and operation add up.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from .exceptions import MiraklTimeoutError


@dataclass
class CallCounters:
    """What the attempts of one hour and operation amounted to."""

    calls: int = 0
    rate_limited: int = 0  # answered 429
    server_errors: int = 0  # answered 5xx
    timeouts: int = 0  # no connection or no answer in time
    failures: int = 0  # other failures without an answer (refused, dropped, TLS)
    duration_ms: float = 0.0  # sum over the attempts

    def add(self, other):
        self.calls += other.calls
        self.rate_limited += other.rate_limited
        self.server_errors += other.server_errors
        self.timeouts += other.timeouts
        self.failures += other.failures
        self.duration_ms += other.duration_ms


def hour_of(epoch_seconds):
    """The UTC hour an instant falls in, as a naive datetime."""
    start = int(epoch_seconds // 3600) * 3600
    return datetime.fromtimestamp(start, timezone.utc).replace(tzinfo=None)


class CallStats:
    """Counters per (hour, operation) of every attempt recorded.

    :param clock: returns the current time in seconds since the epoch
    """

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._counters = {}

    def record(self, operation, status, error, elapsed_ms):
        """Count one attempt (the client's ``observer`` signature).

        :param operation: Mirakl endpoint code (``OR11``...)
        :param status: HTTP status of the answer, ``None`` without one
        :param error: the :class:`.MiraklError` the attempt amounted to, if any
        :param elapsed_ms: duration of the attempt in milliseconds
        """
        counters = CallCounters(calls=1, duration_ms=float(elapsed_ms or 0.0))
        if status == 429:
            counters.rate_limited = 1
        elif status is not None and status >= 500:
            counters.server_errors = 1
        elif status is None and isinstance(error, MiraklTimeoutError):
            counters.timeouts = 1
        elif status is None and error is not None:
            counters.failures = 1
        key = (hour_of(self._clock()), operation or "")
        with self._lock:
            self._counters.setdefault(key, CallCounters()).add(counters)

    def drain(self):
        """Return ``{(hour, operation): CallCounters}`` and start from zero."""
        with self._lock:
            counters, self._counters = self._counters, {}
        return counters

    def restore(self, counters):
        """Put back what :meth:`drain` returned (when it could not be stored)."""
        with self._lock:
            for key, value in counters.items():
                self._counters.setdefault(key, CallCounters()).add(value)

    def __bool__(self):
        with self._lock:
            return bool(self._counters)
