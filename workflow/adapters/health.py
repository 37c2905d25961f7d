"""Readiness probes: can this process reach its database, and its broker if it has one."""

from __future__ import annotations

from sqlalchemy import Engine, text


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the probe must not raise
        return False
    return True


def broker_reachable(url: str, timeout: float = 1.0) -> bool:
    """A Redis broker answers PING within ``timeout`` seconds."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # unreachable, refused, wrong scheme: all "down"
        return False
