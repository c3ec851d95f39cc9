"""A third-party library (copied under site-packages/): its frames are never blamed."""

import time


def fetch() -> bytes:
    time.sleep(0.001)
    return b"data"


async def fetch_async() -> bytes:
    """An async API that blocks inside (as httpx reading ~/.netrc does): the library's defect."""
    time.sleep(0.001)
    return b"data"
