"""Block Kit for storyboards (`/video story`): the card, the edit modal, the per-shot progress and the
cut's shot list, as pure functions of a Storyboard. Titles and prompts are people's or a model's words:
always plain text, never links or mentions."""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.costs import RenderCost, duration
from bot.conversation.storyboards import (
    CANCELLED,
    DONE,
    FAILED,
    QUEUED,
    RENDERING,
    WAITING,
    Storyboard,
)
from bot.slack.blocks import (
    EXTEND_VIDEO,
    Blocks,
    Message,
    _actions,
    _button,
    _context,
    _input,
    _plain,
    _section,
    describe_draft,
    excerpt,
    plain_section,
    shown,
)
from processing_job.spec import MAX_PROMPT_CHARS

# action_ids, and the edit modal's callback_id and inputs (block_id, action_id)
STORY_EDIT = "story_edit_shot"
STORY_REMOVE = "story_remove_shot"
STORY_UP = "story_shot_up"
STORY_DOWN = "story_shot_down"
STORY_CONTINUITY = "story_continuity"
STORY_GENERATE = "story_generate"
STORY_RETRY_SHOT = "story_retry_shot"
STORY_REBUILD_CUT = "story_rebuild_cut"
STORY_EDIT_VIEW = "story_shot_edit"
SHOT_TITLE_INPUT = ("shot_title", "title")
SHOT_TITLE_MAX_CHARS = 60
SHOT_PROMPT_INPUT = ("shot_prompt", "prompt")

CUT_EXTEND_HINT = (
    "*Extend* continues the cut from its last frame with the last shot's prompt (reply here first to "
    "change how it goes on)"
)
CUT_STAGES_HINT = "*Smooth* and *Upscale* make it more fluid or larger"
STORY_CANCEL = "story_cancel"
PARALLEL_NOTE = "Shots render in parallel, then join into one cut with crossfades."
CONTINUITY_NOTE = (
    "Continuity: each shot starts from the previous shot's last frame, so they render one after another."
)


def cost_line(side_by_side: RenderCost, one_by_one: RenderCost, *, continuity: bool) -> str:
    """The card's expected time and cost: for the way it will render, and the other way's wall time."""
    if continuity:
        return (
            f"⏱️ Expected: {one_by_one.line()}, one shot after another "
            f"(in parallel: ≈ {duration(side_by_side.seconds)})."
        )
    return (
        f"⏱️ Expected: {side_by_side.line()}, shots in parallel then the join "
        f"(one after another: ≈ {duration(one_by_one.seconds)})."
    )


def story_ref(board: Storyboard, shot: int | None = None) -> str:
    """A button's value: which storyboard, which revision of its shot list, which shot."""
    value: dict[str, Any] = {
        "channel": board.channel,
        "thread_ts": board.thread_ts,
        "revision": board.revision,
    }
    if shot is not None:
        value["shot"] = shot
    return json.dumps(value, separators=(",", ":"))


def story_root_message(owner: str, idea: str, shots: int) -> Message:
    text = f"🎬 <@{owner}> wants a storyboard of {shots} shots: {shown(idea)}"
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000], "verbatim": True}},
        _context(
            "I'll write the shot list in the thread. Edit, reorder or remove shots there, then *Generate*."
        ),
    ]


def writing_storyboard(shots: int) -> str:
    return f"✍️ Writing a storyboard of {shots} shots…"


def _shot_text(number: int, title: str, prompt: str) -> str:
    return f"{number}. {title}\n{prompt}"


def storyboard_card(board: Storyboard, cost_line: str = "") -> Message:
    """The shot list with Edit · ↑ · ↓ · Remove per shot, the continuity switch and Generate."""
    blocks: Blocks = [
        _section(f"*Storyboard* · {len(board.shots)} shots · {describe_draft(board.settings)}"),
    ]
    count = len(board.shots)
    for index, shot in enumerate(board.shots):
        blocks.append(plain_section(_shot_text(index + 1, shot.title, shot.prompt)))
        buttons = [_button("✏️ Edit", STORY_EDIT, story_ref(board, index))]
        if index > 0:
            buttons.append(_button("⬆️ Up", STORY_UP, story_ref(board, index)))
        if index < count - 1:
            buttons.append(_button("⬇️ Down", STORY_DOWN, story_ref(board, index)))
        buttons.append(_button("🗑️ Remove", STORY_REMOVE, story_ref(board, index)))
        blocks.append(_actions(f"shot-{index + 1}", *buttons))
    mode = CONTINUITY_NOTE if board.continuity else PARALLEL_NOTE
    toggle = "Render shots in parallel" if board.continuity else "Start each shot from the last frame"
    blocks += [
        _context(mode, cost_line, f"Written by {board.refined_by}. {board.note}".strip()),
        _actions(
            "storyboard",
            _button("▶️ Generate", STORY_GENERATE, story_ref(board), style="primary"),
            _button(f"🔗 {toggle}", STORY_CONTINUITY, story_ref(board)),
        ),
    ]
    text = f"Storyboard of {len(board.shots)} shots: {shown(excerpt(board.idea, 150))}"
    return text, blocks


def closed_storyboard_card(board: Storyboard, outcome: str) -> Message:
    """The card once Generate was pressed: the shot list as it was rendered, without its buttons."""
    blocks: Blocks = [_section(f"*Storyboard* · {len(board.shots)} shots · {describe_draft(board.settings)}")]
    blocks += [plain_section(_shot_text(i + 1, s.title, s.prompt)) for i, s in enumerate(board.shots)]
    blocks.append(_context(CONTINUITY_NOTE if board.continuity else PARALLEL_NOTE, outcome))
    return f"Storyboard of {len(board.shots)} shots: {outcome}", blocks


def shot_line(number: int, title: str, state: str, percent: int, failure: str, *, continuity: bool) -> str:
    status = {
        WAITING: "⏸️ waiting for the shot before it" if continuity else "⏸️ waiting for a free slot",
        QUEUED: "⏳ queued",
        RENDERING: f"🎞️ rendering {percent}%",
        DONE: "✅ done",
        FAILED: f"❌ failed: {failure}",
        CANCELLED: "🛑 cancelled",
    }.get(state, state)
    return f"{number}. {title} — {status}"


def storyboard_progress(board: Storyboard) -> Message:
    """One message for the whole storyboard: a line per shot, then the cut; Render shot N again under
    a failed shot (the others are kept), Rebuild the cut when the join failed."""
    lines = [
        shot_line(i + 1, shot.title, shot.state, shot.percent, shot.failure, continuity=board.continuity)
        for i, shot in enumerate(board.shots)
    ]
    done = sum(1 for shot in board.shots if shot.state == DONE)
    headline = f"🎬 Storyboard: {done} of {len(board.shots)} shots done"
    cut = {
        "joining": "🎞️ Joining the cut…",
        "done": "✅ The cut is below.",
        "failed": f"❌ The cut didn't join: {board.cut_failure}",
    }.get(board.cut_state, "The cut joins when every shot is done.")
    if board.cancelled and board.cut_state != "done":
        headline = f"🛑 Storyboard cancelled: {done} of {len(board.shots)} shots done"
        cut = (
            f"🛑 <@{board.cancelled_by}> cancelled the storyboard: the shots done are kept, nothing else "
            "renders, and no cut is joined. Shots that hadn't started rendering don't count against "
            "your daily renders."
        )
    blocks: Blocks = [_section(f"*{headline}*"), plain_section("\n".join(lines)), _context(cut)]
    if board.under_way:
        blocks.append(_actions("storyboard-cancel", _button("🛑 Cancel", STORY_CANCEL, story_ref(board))))
    buttons = [
        _button(f"🔁 Render shot {i + 1} again", STORY_RETRY_SHOT, story_ref(board, i))
        for i, shot in enumerate(board.shots)
        if shot.state == FAILED
    ]
    if board.cut_state == "failed":
        buttons.append(_button("🔁 Rebuild the cut", STORY_REBUILD_CUT, story_ref(board)))
    if buttons:
        blocks.append(_actions("storyboard-progress", *buttons[:25]))
    return headline, blocks


def cut_caption(board: Storyboard, frames: int, fps: int, took: RenderCost | None = None) -> str:
    """The comment posted with the cut: whose, how long, what the renders took, and the shot titles."""
    shots = "\n".join(f"{i + 1}. {shown(s.title)}" for i, s in enumerate(board.shots))
    if took is not None:
        shots = f"⏱️ GPU time for the shots and the join: {took.line()}\n{shots}"
    how = (
        "continuous, each shot from the last frame of the one before"
        if board.continuity
        else "with crossfades"
    )
    return (
        f"🎬 <@{board.owner}>, here is your storyboard's cut: {len(board.shots)} shots, {how} · "
        f"{frames} frames ({frames / fps:.1f} s)\n{shots}"
    )


def cut_shot_list(board: Storyboard, controls: list[dict[str, Any]] | None = None) -> Message:
    """The shot list under the cut, each shot's prompt as plain text; then `controls`, what can
    follow the cut as any finished video (`blocks.follow_up_elements`)."""
    blocks: Blocks = [_context("🎞️ *Shot list*")]
    blocks += [plain_section(_shot_text(i + 1, s.title, s.prompt)) for i, s in enumerate(board.shots)]
    if controls:
        extends = any(element.get("action_id") == EXTEND_VIDEO for element in controls)
        hints = [CUT_EXTEND_HINT] if extends else []
        hints += [CUT_STAGES_HINT] if len(controls) > int(extends) else []
        blocks.append(_context(" · ".join(hints)))
        blocks.append(_actions("result", *controls))
    return f"Shot list: {len(board.shots)} shots", blocks


def shot_edit_view(board: Storyboard, index: int) -> dict[str, Any]:
    """The modal that edits one shot's title and prompt."""
    shot = board.shots[index]
    metadata = json.dumps(
        {"channel": board.channel, "thread_ts": board.thread_ts, "revision": board.revision, "shot": index}
    )
    return {
        "type": "modal",
        "callback_id": STORY_EDIT_VIEW,
        "private_metadata": metadata,
        "title": _plain(f"Edit shot {index + 1}"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": [
            _input(
                SHOT_TITLE_INPUT[0],
                "Title",
                {
                    "type": "plain_text_input",
                    "action_id": SHOT_TITLE_INPUT[1],
                    "initial_value": shot.title,
                    "max_length": SHOT_TITLE_MAX_CHARS,
                },
            ),
            _input(
                SHOT_PROMPT_INPUT[0],
                "Prompt",
                {
                    "type": "plain_text_input",
                    "action_id": SHOT_PROMPT_INPUT[1],
                    "initial_value": shot.prompt,
                    "multiline": True,
                    "max_length": MAX_PROMPT_CHARS,
                },
            ),
        ],
    }
