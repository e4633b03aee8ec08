"""The local app (tests/conftest.py): Bolt over HTTP on 127.0.0.1, SQLite, a folder of blobs, the local job
runner with the tiny model, and the Slack stand-in."""

from __future__ import annotations

from tests.conftest import alice, bob, model_cache, slack, start_app, videobot  # noqa: F401 - fixtures
