"""Socket errors as short human text, shared by the HTTPS and SMTP probes."""

from __future__ import annotations

import os


def os_error_text(exc: OSError) -> str:
    """``Connection refused`` rather than asyncio's ``Connect call failed ('1.2.3.4', 25)``."""
    if exc.errno:
        return os.strerror(exc.errno)
    if isinstance(exc, ConnectionError) and not str(exc):
        return "connection closed by the server"
    return str(exc) or type(exc).__name__
