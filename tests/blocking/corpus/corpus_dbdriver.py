"""A sync PostgreSQL driver (psycopg 3) in async tests (copied as test_dbdriver.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

URL = os.environ["CORPUS_PG_URL"]


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    # A sync fixture runs outside the loop: connecting here is not a finding.
    with psycopg.connect(URL, autocommit=True) as connection:
        yield connection


@pytest.mark.asyncio
async def test_sync_connect() -> None:
    # expect: test_dbdriver.py::test_sync_connect call call psycopg.connect
    connection = psycopg.connect(URL)
    connection.close()


class AppConnection(psycopg.Connection[tuple[object, ...]]):
    """A project's own connection class: connect() must still build one of these."""


@pytest.mark.asyncio
async def test_subclass_connect() -> None:
    # expect: test_dbdriver.py::test_subclass_connect call call psycopg.Connection.connect
    connection = AppConnection.connect(URL)
    assert type(connection) is AppConnection
    connection.close()


@pytest.mark.asyncio
async def test_sync_query(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    # expect: test_dbdriver.py::test_sync_query call call psycopg.Connection.execute
    assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.asyncio
async def test_sync_cursor(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    with conn.cursor() as cursor:
        # expect: test_dbdriver.py::test_sync_cursor call call psycopg.Cursor.execute
        cursor.execute("select 2")
        assert cursor.fetchone() == (2,)


def test_sync_driver_in_a_sync_test(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    assert conn.execute("select 3").fetchone() == (3,)
