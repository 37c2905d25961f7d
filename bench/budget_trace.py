"""What runs under the envelope lock in ``bench/budget.py --trace``, and how long it is held.

Times each transaction from the statement that took the envelope row lock returning to
COMMIT returning, and splits that time into each statement's round trip and the Python
before it (GIL waits included: the clients are threads of one process, where Celery's
prefork pool would use processes). ``*_lock_busy_share`` near 1 means the row lock is
what limits the rate. The wrapping costs a little, so a traced run's rates are not the
headline.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from support import emit, psycopg_wrapped, sql_text

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)
LOCKING = ("SELECT envelopes FOR UPDATE", "SELECT envelopes FOR SHARE", "UPDATE envelopes")


def statement_label(query: Any) -> str:
    """ "VERB table [lock]"; a batch of statements (the engine's deferred writes and
    queued reads) goes by the first of them that locks the envelope, else its first."""
    sql = sql_text(query)
    parts = [_one_label(part) for part in sql.split(";\n")]
    return next((label for label in parts if label in LOCKING), parts[0])


def _one_label(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper()
    table = _TABLE.search(sql)
    lock = next(
        (
            f" {kind}"
            for kind in ("FOR UPDATE", "FOR SHARE")
            if verb == "SELECT" and kind in sql.upper()
        ),
        "",
    )
    return f"{verb} {table.group(1) if table else '?'}{lock}"


class LockTrace:
    """Times each transaction from taking the envelope row lock to COMMIT returning.

    Wraps psycopg's execute, executemany, commit and rollback. Inside the locked span,
    each statement's round trip is booked under ``sql <label>`` and the time since the
    previous call returned under ``py> <label>`` (Python, the GIL included). A
    transaction counts as placed when it wrote a ledger entry.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.mutex = threading.Lock()
        self.spans: dict[str, list[float]] = {"placed": [], "waitlisted": []}
        self.parts: dict[str, defaultdict[str, float]] = {
            "placed": defaultdict(float),
            "waitlisted": defaultdict(float),
        }
        self.labels: dict[Any, tuple[str, bool]] = {}  # query -> label, writes an entry

    def _statement(self, query: Any, started: float, rowcount: int) -> None:
        now = time.perf_counter()
        known = self.labels.get(query)
        if known is None:
            known = self.labels[query] = (
                statement_label(query),
                "INSERT INTO ledger_entries" in str(query),
            )
        label, writes_entry = known
        state = self.local.__dict__
        if state.get("locked_at") is None:
            if label in LOCKING and rowcount > 0:  # a batch: its hold's entry is in it
                state.update(locked_at=now, last=now, parts=defaultdict(float), placed=writes_entry)
            return
        parts: defaultdict[str, float] = state["parts"]
        parts[f"py> {label}"] += started - state["last"]
        parts[f"sql {label}"] += now - started
        state["last"] = now
        if writes_entry:
            state["placed"] = True

    def _end(self, started: float, word: str) -> None:
        state = self.local.__dict__
        locked_at = state.get("locked_at")
        if locked_at is None:
            return
        now = time.perf_counter()
        parts: defaultdict[str, float] = state["parts"]
        parts[f"py> {word}"] += started - state["last"]
        parts[f"sql {word}"] += now - started
        outcome = "placed" if state["placed"] else "waitlisted"
        with self.mutex:
            self.spans[outcome].append(now - locked_at)
            for key, seconds in parts.items():
                self.parts[outcome][key] += seconds
        state["locked_at"] = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[LockTrace]:
        def statement(real: Callable[..., Any]) -> Callable[..., Any]:
            def timed(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                result = real(cursor, query, *args, **kwargs)
                self._statement(query, started, cursor.rowcount)
                return result

            return timed

        def end(word: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
                def timed(conn: Any) -> None:
                    started = time.perf_counter()
                    real(conn)
                    self._end(started, word)

                return timed

            return wrap

        with psycopg_wrapped(
            execute=statement, executemany=statement, commit=end("COMMIT"), rollback=end("ROLLBACK")
        ):
            yield self

    def report(self, side: str, seconds: float) -> None:
        held = sum(sum(spans) for spans in self.spans.values())
        emit(f"{side}_lock_busy_share", held / seconds if seconds else 0.0)
        for outcome, spans in self.spans.items():
            if not spans:
                continue
            spans = sorted(spans)
            emit(
                f"{side}_lock_held_ms_{outcome}",
                f"mean:{1000 * sum(spans) / len(spans):.3f} "
                f"p50:{1000 * spans[len(spans) // 2]:.3f} "
                f"p95:{1000 * spans[int(len(spans) * 0.95)]:.3f} n:{len(spans)}",
            )
            parts = self.parts[outcome]
            sql = sum(v for k, v in parts.items() if k.startswith("sql "))
            emit(
                f"{side}_lock_{outcome}_split_ms",
                f"sql:{1000 * sql / len(spans):.3f} "
                f"python:{1000 * (sum(parts.values()) - sql) / len(spans):.3f}",
            )
            ranked = sorted(parts.items(), key=lambda kv: -kv[1])
            emit(
                f"{side}_lock_{outcome}_parts_ms",
                " | ".join(f"{k}:{1000 * v / len(spans):.3f}" for k, v in ranked),
            )
