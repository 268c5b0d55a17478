"""Read what the code under test queued, over whichever broker the suite runs on."""

from __future__ import annotations

from celery import current_app


def drain(queue: str) -> list[tuple[str, list]]:
    """Take every message off ``queue``; return each one's task name and positional args."""
    taken: list[tuple[str, list]] = []
    with current_app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        while True:
            try:
                message = simple.get(block=True, timeout=0.5)
            except simple.Empty:
                break
            args, _kwargs, _embed = message.payload
            taken.append((message.headers["task"], args))
            message.ack()
        simple.close()
    return taken
