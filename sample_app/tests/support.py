"""Constants and small helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PASSWORD = "correct horse battery staple"
# A fixed instant, so token expiry is tested by moving this clock, never by sleeping.
CLOCK_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
# Long enough that pyjwt does not warn, and not the key the app under test uses.
OTHER_SECRET_KEY = "an-attackers-guess-at-the-key-0123456789"

BAD_CREDENTIALS = {"detail": "Incorrect email or password"}
BAD_TOKEN = {"detail": "Could not validate credentials"}


@dataclass
class FrozenClock:
    """The app's clock in tests: stands still until a test advances it."""

    now: datetime

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
