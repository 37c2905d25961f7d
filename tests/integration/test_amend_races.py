"""A supplementary budget cut (추경 감액) racing the budget worker's holds, on PostgreSQL
with many real connections: the envelope never goes below what it holds and has
committed, every amendment that lands is an entry, and every one refused was refused
for want of room, naming the figures.

32 holds of 20,000,000 and 8 cuts of 60,000,000 race for a 1,000,000,000 envelope that
cannot take them all; at the end the amount is the opening amount less the cuts that
landed, the held balance is the holds that landed, and what lost its race could not
have fit.
"""

# ruff: noqa: F811 - the racing fixture is imported from test_money_races, then asked for
from __future__ import annotations

from tests import support as s
from tests.integration.test_money_races import (  # noqa: F401 - fixtures
    PLACE_HOLDS,
    RACERS,
    Racing,
    add_envelopes,
    check_ledger,
    create,
    messages,
    racing,
    run_together,
    state,
    submit,
)
from workflow.domain import commands as c
from workflow.domain.errors import InsufficientBudget

YEAR = 2027
OPENING = 1_000_000_000
HOLD, CUT, CUTS = 20_000_000, 60_000_000, 8


def test_cuts_racing_holds_never_take_the_envelope_below_what_is_held(racing: Racing) -> None:
    bus = racing.bus
    add_envelopes(bus, YEAR, city=OPENING, education_office=OPENING)
    programs = [create(bus, HOLD, 1_000_000, YEAR) for _ in range(RACERS)]
    for program_id in programs:
        submit(bus, program_id)
    to_place = messages(bus, PLACE_HOLDS)
    cut = c.AmendEnvelope(actor=s.CITY_OFFICER, party="city", year=YEAR, by=-CUT, reason="감액")

    results = run_together(
        [lambda m=m: bus.handle_message(m) for m in to_place]
        + [lambda: bus.handle(cut) for _ in range(CUTS)]
    )

    cuts = results[RACERS:]
    landed = [r for r in cuts if not isinstance(r, Exception)]
    refused = [r for r in cuts if isinstance(r, Exception)]
    assert all(isinstance(r, InsufficientBudget) and "cannot lower" in str(r) for r in refused)
    held = [p for p in programs if state(bus, p) == "in_review"]
    waiting = [p for p in programs if state(bus, p) == "waitlisted"]
    assert len(held) + len(waiting) == RACERS
    assert landed and (refused or waiting), "1,120,000,000 asked of 1,000,000,000: someone loses"
    [city] = [e for e in bus.query(lambda uow: uow.ledger.report(YEAR)) if e.party == "city"]
    assert city.amount == OPENING - CUT * len(landed)
    if landed:  # each cut saw the amount the one before it left: the last, the final one
        assert sorted(r.amount for r in landed) == [
            city.amount + CUT * i for i in range(len(landed))
        ]
    assert city.held == HOLD * len(held) <= city.amount
    if waiting:  # whoever waits could not have been held at the end either
        assert city.available < HOLD
    if refused:  # nor could a refused cut have been taken at the end
        assert city.amount - CUT < city.held + city.committed
    entries = bus.query(lambda uow: uow.ledger.entries(party="city"))
    assert len([e for e in entries if e["kind"] == "amend"]) == len(landed)
    check_ledger(bus)
