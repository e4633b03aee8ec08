"""The transcript: a thread as a person reads it."""

from __future__ import annotations

from pathlib import Path

from localslack import Message, UploadedFile, format_transcript

USERS = {"UALICE": "alice", "UVIDEOBOT": "videobot"}
T0 = 1_700_000_000  # 22:13:20 UTC


def test_transcript_renders_blocks_buttons_files_and_ephemerals():
    root = Message("C1", f"{T0}.000001", "UVIDEOBOT", "B1", "fallback", thread_ts=f"{T0}.000001")
    root.blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Draft 1"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "For <@UALICE>: *a corgi* &amp; a wave"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "2B"}, {"type": "plain_text", "text": "seed 7"}],
        },
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": t}, "action_id": t.lower()}
                for t in ("Generate", "Settings", "Cancel")
            ],
        },
    ]
    video = UploadedFile("F1", "video.mp4", "video", 1_234_567, Path("/dev/null"))
    done = Message(
        "C1", f"{T0 + 75}.000002", "UVIDEOBOT", "B1", "here it is", thread_ts=root.ts, files=[video]
    )
    oops = Message("C1", f"{T0 + 2}.000003", "UVIDEOBOT", "B1", "Quota left: 2", ephemeral_to="UALICE")
    reply = Message("C1", f"{T0 + 60}.000004", "UALICE", text="make it night", thread_ts=root.ts, edited=1)

    assert format_transcript([done, reply, oops, root], USERS) == "\n".join(
        [
            "22:13:20 videobot: # Draft 1",
            "         For @alice: *a corgi* & a wave",
            "         2B · seed 7",
            "         ──────────",
            "         [ Generate ] [ Settings ] [ Cancel ]",
            "    22:14:20 @alice (edited): make it night",
            "    22:14:35 videobot: 📎 video.mp4 (1.2 MB) — here it is",
            "22:13:22 videobot (only visible to @alice): Quota left: 2",
        ]
    )


def test_rich_text_from_people_resolves_mentions_and_lists():
    m = Message("C1", f"{T0}.000001", "UALICE")
    m.blocks = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [{"type": "user", "user_id": "UVIDEOBOT"}, {"type": "text", "text": " try:"}],
                },
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": "night"}]}
                    ],
                },
            ],
        }
    ]
    assert format_transcript([m], USERS) == "22:13:20 @alice: @videobot try:\n         • night"


def test_a_multi_line_file_comment_continues_under_the_file_and_quotes_read_as_quotes():
    video = UploadedFile("F1", "video.mp4", "video", 2_500, Path("/dev/null"))
    m = Message(
        "C1", f"{T0}.000001", "UVIDEOBOT", "B1", "Here it is, <@UALICE>\n>a fox &gt; a hound", files=[video]
    )
    assert format_transcript([m], USERS) == (
        "22:13:20 videobot: 📎 video.mp4 (2.5 KB) — Here it is, @alice\n         > a fox > a hound"
    )


def test_shortened_repeats_show_a_long_prompt_in_full_once_then_its_first_words():
    prompt = "A red fox running through snow at night, captured in rich detail with a slow and steady camera."
    root = Message("C1", f"{T0}.000001", "UVIDEOBOT", "B1", f"*Draft 2* · seed 7\n{prompt}")
    cut = prompt[:70] + "…"  # the result's caption quotes the prompt's start
    done = Message("C1", f"{T0 + 9}.000002", "UVIDEOBOT", "B1", f"Done\n> {cut}\nseed 7", thread_ts=root.ts)

    assert format_transcript([root, done], USERS, shorten_repeats=True) == "\n".join(
        [
            "22:13:20 videobot: *Draft 2* · seed 7",
            f"         {prompt}",
            "    22:13:29 videobot: Done",
            "             > A red fox running through snow at night …",
            "             seed 7",
        ]
    )
    assert f"> {cut}" in format_transcript([root, done], USERS)  # by default every message in full
