"""Slack failing on the calls the other flows make: the settings modal (views.open), a shared picture
(its download from Slack's file host) and `/video status` (its response_url). Each ends in a note
saying what happened (or, for the status, the status said another way)."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.slack.blocks import OPEN_SETTINGS
from localslack import RESPONSE_URL, URL_PRIVATE
from tests.conftest import ALICE, CHANNEL
from tests.reliability.ledger import FaultCase


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "harbour.png"
    Image.new("RGB", (320, 200), (30, 90, 160)).save(path)
    return path


def counted(ledger, step: str, fault: str, told: bool) -> None:
    ledger.fault(FaultCase("Slack Web API", fault, step, explained=int(told), lost=int(not told)))


def test_views_open_failing_is_explained(slack, videobot, alice, ledger):
    card = alice.draft_card(alice.video("a fox"))
    slack.inject("views.open", status=500, times=3)
    alice.click(card, OPEN_SETTINGS)
    told = alice.told("I couldn't open the settings in time")
    counted(ledger, "views.open (settings)", "HTTP 500 until retries run out", bool(told))


def test_the_picture_download_failing_is_explained(slack, videobot, alice, picture, ledger):
    slack.inject(URL_PRIVATE, status=503)
    slack.share_file(CHANNEL, picture, user=ALICE)
    told = alice.told("I couldn't download that picture from Slack")
    counted(ledger, "url_private (a shared picture)", "HTTP 503", bool(told))


def test_the_status_answer_failing_is_explained(slack, videobot, alice, ledger):
    slack.inject(RESPONSE_URL, status=500, times=3)
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    told = alice.told("Your renders in the last 24 hours")  # said directly instead
    counted(ledger, "response_url (/video status)", "HTTP 500 until retries run out", bool(told))
