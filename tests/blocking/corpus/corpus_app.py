"""Project code the corpus tests call (copied as blocking_app.py): some blocking lines live here."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

app = FastAPI()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def read_settings(path: Path) -> str:
    return path.read_text()  # expect: test_calls.py::test_read_in_helper call call open


def spin(seconds: float) -> int:
    """Busy CPU loop kept on one line, so every stack sample lands on it."""
    deadline = time.perf_counter() + seconds
    # expect: test_calls.py::test_cpu_loop call slow -
    return sum(1 for _ in iter(lambda: time.perf_counter() < deadline, False))


def nap_allowed_by_name() -> None:
    time.sleep(0.001)


def nap_allowed_by_path() -> None:
    time.sleep(0.001)


def nap_not_allowed() -> None:
    time.sleep(0.001)  # expect: test_allow.py::test_not_allowed call call time.sleep


@app.get("/async-blocking")
async def async_blocking() -> dict[str, str]:
    # expect: test_loops.py::test_fastapi_async_endpoint call call time.sleep
    time.sleep(0.002)
    return {"ok": "yes"}


@app.get("/sync-sleeps")
def sync_sleeps() -> dict[str, str]:
    time.sleep(0.002)  # a sync endpoint runs in FastAPI's thread pool: not a finding
    return {"ok": "yes"}


@app.get("/page", response_class=HTMLResponse)
async def page(request: Request) -> HTMLResponse:
    # Jinja2 reads the template file in the loop thread, once: allowed by default.
    return templates.TemplateResponse(request, "page.html", {"name": "gate"})
