"""The handler tier's fixtures: the real bus and handlers on the in-memory fakes.

No database and no broker: each test builds its own fakes, seeded with the small Paju
setting of ``tests.support`` plus a few people the handler rules need. The ``bus``
fixture here stands in for the integration tier's (which is parametrized over real
databases).
"""

from __future__ import annotations

import pytest

from tests.fakes import Clock, FakeUnitOfWorkFactory, fake_bus
from tests.handlers import helpers as h
from workflow.service_layer.messagebus import MessageBus


@pytest.fixture
def clock() -> Clock:
    return Clock(h.MONDAY)


@pytest.fixture
def system(clock: Clock) -> tuple[MessageBus, FakeUnitOfWorkFactory]:
    bus, fakes = fake_bus(clock)
    h.seed(bus)
    return bus, fakes


@pytest.fixture
def bus(system: tuple[MessageBus, FakeUnitOfWorkFactory]) -> MessageBus:
    return system[0]


@pytest.fixture
def fakes(system: tuple[MessageBus, FakeUnitOfWorkFactory]) -> FakeUnitOfWorkFactory:
    """The unit of work factory under the bus: ``fakes.reader()`` reads what is committed."""
    return system[1]
