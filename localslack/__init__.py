"""A local Slack stand-in: a real HTTP server that slack_sdk talks to, which records what people would see
and acts as Slack (and the people in it) towards the app with signed requests.

    with SlackStandIn(signing_secret="s", files_dir=tmp, users={"UALICE": "alice"}) as slack:
        slack.connect_app("http://127.0.0.1:3000/slack/events")
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        slack.slash_command("/video", "a corgi surfing", user="UALICE", channel="CGENERAL")
        root = slack.wait_until(lambda: slack.messages("CGENERAL")[0], what="root")
        print(slack.transcript())

Used by `make demo`, the test suite and the fault-injection / load tests. Standard library + slack_sdk only.
"""

from localslack.people import AppResponse, AppTransport
from localslack.server import RESPONSE_URL, UPLOAD_URL, URL_PRIVATE, SlackStandIn
from localslack.transcript import format_transcript, render_blocks
from localslack.workspace import ApiCall, Fault, Message, Status, UploadedFile, View, Workspace

__all__ = [
    "RESPONSE_URL",
    "UPLOAD_URL",
    "URL_PRIVATE",
    "ApiCall",
    "AppResponse",
    "AppTransport",
    "Fault",
    "Message",
    "SlackStandIn",
    "Status",
    "UploadedFile",
    "View",
    "Workspace",
    "format_transcript",
    "render_blocks",
]
