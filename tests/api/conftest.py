"""Fixtures of the API tests: ``api`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.helpers import Api, make_api


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    yield from make_api(database_url)
