"""A third-party library (copied under site-packages/): its frames are never blamed."""

import time


def fetch() -> bytes:
    time.sleep(0.001)
    return b"data"
