"""manifest.yml: valid for Slack's app-manifest schema (the fields and limits we use), and it asks for
exactly what the code needs: the command, the message events, interactivity and minimal scopes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.__main__ import PLACEHOLDER_URL, filled_manifest
from bot.runtime.settings import Settings

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
URL = re.compile(r"^https?://")


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load(MANIFEST.read_text("utf-8"))


def test_only_fields_slacks_schema_knows_are_used(manifest):
    assert set(manifest) <= {"_metadata", "display_information", "features", "oauth_config", "settings"}
    assert set(manifest["features"]) <= {
        "app_home",
        "bot_user",
        "slash_commands",
        "shortcuts",
        "unfurl_domains",
    }
    assert set(manifest["settings"]) <= {
        "event_subscriptions",
        "interactivity",
        "org_deploy_enabled",
        "socket_mode_enabled",
        "token_rotation_enabled",
    }
    assert manifest["_metadata"]["major_version"] == 1


def test_texts_are_within_slacks_limits(manifest):
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35 and 1 <= len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])
    assert 1 <= len(manifest["features"]["bot_user"]["display_name"]) <= 80
    for command in manifest["features"]["slash_commands"]:
        assert command["command"].startswith("/") and 2 <= len(command["command"]) <= 32
        assert 1 <= len(command["description"]) <= 2000 and 1 <= len(command["usage_hint"]) <= 1000


def test_every_request_url_is_a_url(manifest):
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(URL.match(url) for url in urls)


def test_the_command_is_the_one_the_app_listens_for(manifest):
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [Settings().command]


def test_message_events_cover_channels_private_channels_and_dms(manifest):
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups", "message.im", "message.mpim"} <= events
    assert events - {"message.channels", "message.groups", "message.im", "message.mpim"} == {
        "app_home_opened",
        "reaction_added",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True


def test_the_scopes_are_the_ones_the_code_uses_and_no_more(manifest):
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "files:write",
        "files:read",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "reactions:read",
    }


def test_a_clapper_reaction_reaches_the_bot_with_the_scope_slack_asks_for_it(manifest):
    # Slack's event reference: reaction_added needs reactions:read.
    assert "reaction_added" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "reactions:read" in manifest["oauth_config"]["scopes"]["bot"]


def test_every_bot_event_is_one_slack_documents(manifest):
    documented = {
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "reaction_added",
        "app_mention",
        "app_home_opened",
    }
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) <= documented


def test_the_printed_manifest_carries_the_deployments_url():
    url = "https://abc123.lambda-url.us-east-1.on.aws/"
    printed = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", "--request-url", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    filled = yaml.safe_load(printed)
    assert filled["settings"]["event_subscriptions"]["request_url"] == url
    assert filled["features"]["slash_commands"][0]["url"] == url
    assert PLACEHOLDER_URL not in printed


def test_socket_mode_for_make_dev():
    assert yaml.safe_load(filled_manifest(socket_mode=True))["settings"]["socket_mode_enabled"] is True
    with pytest.raises(ValueError, match="https"):
        filled_manifest(request_url="http://insecure.example/")


def test_the_home_tab_is_on_and_its_opening_is_an_event(manifest):
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True and app_home["messages_tab_enabled"] is True
    assert set(app_home) <= {"home_tab_enabled", "messages_tab_enabled", "messages_tab_read_only_enabled"}
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    # views.publish and chat.getPermalink need no scope; files.delete (the bot's own files) files:write.
    assert "files:write" in manifest["oauth_config"]["scopes"]["bot"]
