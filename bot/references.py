"""Short references for details people don't see: the log gets the details, the person a reference
to quote ("ref 7f3a2c"), and the same reference is in the log line, so an admin finds one from the
other."""

from __future__ import annotations

import logging
import secrets


def new_reference() -> str:
    return secrets.token_hex(3)


def withhold(log: logging.Logger, what: str, details: str) -> str:
    """Log `details` under a new reference and return the reference (for the sentence people see)."""
    ref = new_reference()
    log.warning("%s (ref %s): %s", what, ref, details)
    return ref
