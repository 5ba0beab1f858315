"""Login throttling: a few failed attempts per email and per address, then 429 with Retry-After.

The counters live in this process's memory, in a bounded dict: several workers each count on their own (so the
limits are per worker), and a restart forgets them. Moving them to the database is the next step.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

FAILURES_PER_EMAIL = 5
FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 15 * 60
# At most this many emails and addresses are remembered; the oldest is forgotten first when it is full.
CAPACITY = 10_000


class LoginThrottle:
    """Counts failed logins per email and per address within a sliding window."""

    def __init__(
        self,
        *,
        failures_per_email: int = FAILURES_PER_EMAIL,
        failures_per_address: int = FAILURES_PER_ADDRESS,
        window_seconds: int = WINDOW_SECONDS,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ):
        if min(failures_per_email, failures_per_address, window_seconds, capacity) < 1:
            raise ValueError("login throttle limits must be positive")
        self._limits = {"email": failures_per_email, "address": failures_per_address}
        self._window_seconds = window_seconds
        self._capacity = capacity
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self.clock = clock

    def retry_after_seconds(self, *, email: str, address: str) -> int | None:
        """Whole seconds until a login for ``email`` from ``address`` may be tried again, or None: go ahead."""
        now = self.clock()
        waits = []
        for key in (("email", email), ("address", address)):
            failures = self._recent(key, now)
            if len(failures) >= self._limits[key[0]]:
                waits.append(failures[0] + self._window_seconds - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def record_failure(self, *, email: str, address: str) -> None:
        """Count a failed login against the email and against the address."""
        now = self.clock()
        for key in (("email", email), ("address", address)):
            if key not in self._failures:
                self._make_room(now)
                self._failures[key] = deque(maxlen=self._limits[key[0]])
            self._failures[key].append(now)

    def forget_email(self, email: str) -> None:
        """A successful login clears the email's count (never the address's)."""
        self._failures.pop(("email", email), None)

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self._window_seconds:
            failures.popleft()
        return failures

    def _make_room(self, now: float) -> None:
        if len(self._failures) < self._capacity:
            return
        for key in [key for key, failures in self._failures.items() if not self._recent(key, now)]:
            del self._failures[key]
        while len(self._failures) >= self._capacity:
            del self._failures[next(iter(self._failures))]
