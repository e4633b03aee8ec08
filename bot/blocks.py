"""Block Kit builders: what people see, as pure functions of the conversation's state.

Each builder returns `(text, blocks)`: the text is the notification / screen-reader fallback Slack
asks for, the blocks are the message.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sessions import Draft, Job, Session
from processing_job.models import resolve_model

Blocks = list[dict[str, Any]]
Message = tuple[str, Blocks]

GENERATE = "generate"
CANCEL_DRAFT = "cancel_draft"
CANCEL_JOB = "cancel_job"
SECTION_LIMIT = 3000  # characters in a section's text


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def _context(*parts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": p} for p in parts if p]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def escape(text: str) -> str:
    """Slack's three control characters, so people's text can't become mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    return "\n".join(f">{line}" for line in escape(text).splitlines() or [""])


def draft_ref(session: Session, revision: int) -> str:
    """The button value that names a draft: which thread, which revision."""
    return json.dumps({"c": session.channel, "t": session.thread_ts, "r": revision}, separators=(",", ":"))


def job_ref(job: Job) -> str:
    return json.dumps({"j": job.job_id}, separators=(",", ":"))


def describe_draft(draft: Draft) -> str:
    info = resolve_model(draft.model)
    parts = [
        f"*{info.name}*",
        f"{draft.num_frames} frames ({draft.seconds:.1f} s at {info.fps} fps)",
        f"{info.width}×{info.height}",
        f"seed {draft.seed}",
        f"{draft.num_inference_steps} steps",
        "draft quality" if draft.speed == "draft" else "final quality",
    ]
    return " · ".join(parts)


def root_message(owner: str, idea: str) -> Message:
    text = f"🎬 <@{owner}> wants a video: {escape(idea)}"
    blocks = [
        _section(f"🎬 <@{owner}> wants a video: *{escape(idea)}*"),
        _context(
            "I'll write a detailed prompt in the thread. Reply there to refine it, then press *Generate*."
        ),
    ]
    return text, blocks


def refined_prompt_message(prompt: str, refiner: str, note: str = "") -> Message:
    text = f"Prompt by the {refiner}: {prompt}"
    return text, [
        _section(f"✍️ *Prompt*\n{quote(prompt)}"),
        _context(f"Written by the {refiner}. {note}".strip()),
    ]


def draft_card(session: Session) -> Message:
    assert session.draft is not None
    draft = session.draft
    ref = draft_ref(session, draft.revision)
    text = f"Draft {draft.revision} ready: {describe_draft(draft)}"
    blocks = [
        _section(f"*Draft {draft.revision}* · {describe_draft(draft)}"),
        _context('Reply in this thread to change the prompt ("make it night", "slower camera").'),
        {
            "type": "actions",
            "block_id": f"draft-{draft.revision}",
            "elements": [
                _button("▶️ Generate", GENERATE, ref, style="primary"),
                _button("Cancel", CANCEL_DRAFT, ref),
            ],
        },
    ]
    return text, blocks


def closed_draft_card(draft: Draft, outcome: str) -> Message:
    """The draft card once it has been used or replaced: its buttons are gone."""
    text = f"Draft {draft.revision}: {outcome}"
    return text, [_section(f"*Draft {draft.revision}* · {describe_draft(draft)}"), _context(outcome)]


def progress_bar(fraction: float, width: int = 10) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "▓" * filled + "░" * (width - filled)


def progress_message(
    job: Job, *, phase: str, step: int = 0, total: int = 0, elapsed_s: float = 0.0, queue_position: int = 0
) -> Message:
    if queue_position:
        headline = f"⏳ Queued: number {queue_position} in line. I'll start as soon as the renderer is free."
    elif phase == "denoising" and total:
        fraction = step / total
        left = elapsed_s / step * (total - step) if step else 0
        eta = f" · ~{left:.0f} s left" if step and left >= 1 else ""
        headline = f"🎞️ Rendering {progress_bar(fraction)} {fraction:.0%} · step {step}/{total}{eta}"
    else:
        headline = {
            "queued": "⏳ Starting the renderer…",
            "starting": "⏳ Starting the renderer…",
            "loading": "📦 Loading the model…",
            "encoding": "🔤 Reading the prompt…",
            "denoising": "🎞️ Rendering…",
            "decoding": "🖼️ Decoding frames…",
            "writing": "💾 Writing the video…",
            "done": "📤 Uploading the video…",
        }.get(phase, "🎞️ Rendering…")
    spec = job.spec
    blocks = [
        _section(headline),
        _context(f"{resolve_model(spec['model']).name} · {spec['num_frames']} frames · seed {spec['seed']}"),
        {
            "type": "actions",
            "block_id": "progress",
            "elements": [_button("Cancel", CANCEL_JOB, job_ref(job), style="danger")],
        },
    ]
    return headline, blocks


def done_message(job: Job, render_seconds: float) -> Message:
    text = f"✅ Done in {render_seconds:.0f} s · seed {job.spec['seed']}"
    return text, [_section(text)]


def failed_message(job: Job, explanation: str) -> Message:
    text = f"❌ The render didn't finish: {explanation}"
    return text, [
        _section(text),
        _context("Nothing was charged against your quota. Press Generate to try again."),
    ]


def cancelled_message(job: Job, by: str | None) -> Message:
    text = f"🛑 Render cancelled by <@{by}>." if by else "🛑 Render cancelled."
    return text, [_section(text)]


def render_seconds(result: dict[str, Any]) -> float | None:
    """The job's own wall time, from its result.json."""
    timings = result.get("timings_s")
    total = timings.get("total") if isinstance(timings, dict) else None
    return float(total) if isinstance(total, int | float) else None


def video_caption(job: Job, result: dict[str, Any]) -> str:
    """The comment posted with the mp4: what it is and how it was made."""
    spec = job.spec
    info = resolve_model(spec["model"])
    seconds = render_seconds(result)
    took = f" · rendered in {seconds:.0f} s" if seconds is not None else ""
    excerpt = spec["prompt"] if len(spec["prompt"]) <= 280 else spec["prompt"][:277] + "…"
    return (
        f"🎬 <@{job.owner}>, here is your video.\n{quote(excerpt)}\n"
        f"{info.name} · {spec['num_frames']} frames · {spec['width']}×{spec['height']} · "
        f"seed {spec['seed']}{took}"
    )


def video_alt_text(job: Job) -> str:
    prompt = job.spec["prompt"]
    return ("AI-generated video: " + prompt)[:1000]


def notice(text: str) -> Message:
    return text, [_section(text)]
