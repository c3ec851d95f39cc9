"""Tests whose requests were answered on purpose: gate must find nothing here (the 503 of
/health is found, and allowed by the corpus run's `GET /health 503`)."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from django.test import Client as DjangoClient
from se_apps import app
from se_frameworks import flask_app
from starlette.testclient import TestClient


def asgi_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.asyncio
async def test_404() -> None:
    async with asgi_client() as client:
        response = await client.get("/items/nothing")
    assert response.status_code == 404


@pytest.mark.asyncio
async def test_409() -> None:
    async with asgi_client() as client:
        assert (await client.post("/items", json={"name": "cup", "price": 3})).status_code == 201
        response = await client.post("/items", json={"name": "cup", "price": 3})
    assert response.status_code == 409


def test_422() -> None:
    response = TestClient(app).post("/items", json={"name": "lamp"})
    assert response.status_code == 422


@pytest.mark.asyncio
async def test_allowed_503() -> None:
    async with asgi_client() as client:
        response = await client.get("/health")  # allowed: GET /health 503
    assert response.status_code == 503


def test_upstream_5xx_handled() -> None:
    response = TestClient(app).get("/quote")
    assert response.json() == {"rate": None, "degraded": True}


def test_exception_the_test_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        _ = 1 / 0


def test_django_404() -> None:
    assert DjangoClient().get("/orders/missing").status_code == 404


def test_flask_error_handled_as_400() -> None:
    assert flask_app.test_client().get("/coupon").status_code == 400


@pytest.mark.asyncio
async def test_task_exception_retrieved() -> None:
    async def fails() -> None:
        raise ValueError("expected")

    task = asyncio.get_running_loop().create_task(fails())
    with pytest.raises(ValueError, match="expected"):
        await task


def test_thread_that_handles_its_error() -> None:
    errors: list[Exception] = []

    def work() -> None:
        try:
            raise OSError("disk full")
        except OSError as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert len(errors) == 1
