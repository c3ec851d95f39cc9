"""Apps the server-error corpus talks to: a FastAPI app, a tidy Starlette app, plain WSGI."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route


class Item(BaseModel):
    name: str
    price: int


class DuplicateItem(Exception):
    pass


class UpstreamDown(Exception):
    pass


app = FastAPI()
items: dict[str, Item] = {}


@app.exception_handler(DuplicateItem)
async def duplicate(request: Request, exc: DuplicateItem) -> JSONResponse:
    return JSONResponse({"detail": "exists"}, status_code=409)  # handled on purpose


@app.exception_handler(UpstreamDown)
async def upstream_down(request: Request, exc: UpstreamDown) -> JSONResponse:
    return JSONResponse({"detail": "try later"}, status_code=500)  # a tidy 500 is still a crash


@app.post("/items", status_code=201)
async def create_item(item: Item) -> Item:
    if item.name in items:
        raise DuplicateItem(item.name)
    if item.price < 0:
        # expect: test_leaks.py::test_loose_assert_passes_on_500 exception
        raise ValueError(f"negative price {item.price} for password=hunter2")
    items[item.name] = item
    return item


@app.get("/items/{name}")
async def read_item(name: str) -> Item:
    if name not in items:
        raise HTTPException(404, "no such item")
    return items[name]


@app.get("/crash")
async def crash() -> dict[str, str]:
    basket: dict[str, str] = {}
    # expect: test_leaks.py::test_unchecked_status exception
    # expect: test_leaks.py::test_testclient_swallows_the_exception exception
    # expect: test_leaks.py::test_crash_asserted_with_pytest_raises exception
    # expect: test_leaks.py::test_live_uvicorn_server_in_a_thread exception
    return {"fruit": basket["apple"]}


@app.get("/returns-500")
async def returns_500() -> JSONResponse:
    return JSONResponse({"detail": "something went wrong"}, status_code=500)


@app.get("/sync-upstream")
def sync_upstream() -> dict[str, str]:
    # expect: test_leaks.py::test_handled_exception_answered_with_500 exception
    raise UpstreamDown("payments")


@app.get("/health")
async def health() -> JSONResponse:
    return JSONResponse({"status": "draining"}, status_code=503)


upstream = FastAPI()


@upstream.get("/rates")
async def rates() -> JSONResponse:
    return JSONResponse({"detail": "maintenance"}, status_code=503)


@app.get("/quote")
async def quote() -> dict[str, object]:
    transport = httpx.ASGITransport(app=upstream)
    async with httpx.AsyncClient(transport=transport, base_url="http://rates") as client:
        answer = await client.get("/rates")
    if answer.status_code >= 500:
        return {"rate": None, "degraded": True}  # the upstream's 503 handled: not our crash
    return {"rate": answer.json(), "degraded": False}


async def tidy_boom(request: Request) -> JSONResponse:
    # expect: test_leaks.py::test_tidy_500_from_exception_handler exception
    raise RuntimeError("lost the connection pool")


async def tidy_500(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "internal error"}, status_code=500)


tidy_app = Starlette(routes=[Route("/boom", tidy_boom)], exception_handlers={Exception: tidy_500})


def plain_wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
    if environ["PATH_INFO"] == "/ok":
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"ok"]
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"failed"]
