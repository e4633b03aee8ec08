"""Block Kit builders: what people see, as pure functions of the conversation's state.

Each message builder returns `(text, blocks)`: the text is the notification / screen-reader fallback
Slack asks for, the blocks are the message. `settings_view` builds the settings modal.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from bot.conversation.costs import RenderCost
from bot.conversation.follow_ups import GENERATED, SMOOTH_FACTORS, Offers, clip_of, offers
from bot.conversation.limits import Limits
from bot.conversation.ports import words_for_tokens
from bot.conversation.quotas import reached_gpu
from bot.conversation.requests import MAX_VIDEO_SIDE, upscale_factors
from bot.conversation.sessions import (
    ASPECTS,
    Draft,
    Job,
    Session,
    aspect_size,
    crop_note,
    offered_aspects,
)
from processing_job.models import EXTEND, REGISTRY, STAGES, ModelInfo, resolve_model
from processing_job.spec import MAX_GUIDANCE, MAX_PROMPT_CHARS, MAX_SEED

Blocks = list[dict[str, Any]]
Message = tuple[str, Blocks]

# action_ids (buttons) and the modal's callback_id
GENERATE = "generate"
OPEN_SETTINGS = "open_settings"
CANCEL_DRAFT = "cancel_draft"
CANCEL_JOB = "cancel_job"
REROLL = "reroll"
REFINE = "refine"
FINAL_RENDER = "final_render"
RETRY = "retry_render"
EXTEND_VIDEO = "extend_video"
SMOOTH_VIDEO = "smooth_video"  # a select: 2× or 3× the frames
UPSCALE_VIDEO = "upscale_video"  # a select: ×2 or ×4 the size
SETTINGS_VIEW = "draft_settings"
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
# the modal's inputs: (block_id, action_id)
MODEL_INPUT = ("model", "model")
SECONDS_INPUT = ("length", "seconds")
SEED_INPUT = ("seed", "seed")
STEPS_INPUT = ("steps", "steps")
GUIDANCE_INPUT = ("guidance", "guidance")
NEGATIVE_INPUT = ("negative", "negative")
QUALITY_INPUT = ("quality", "quality")
ASPECT_INPUT = ("aspect", "aspect")
PROMPT_INPUT = ("prompt", "prompt")
AUTO_ASPECT = "auto"  # the picture's shape (picture sessions), or the model's usual size
SMOOTH_INPUT = ("smooth", "interpolate")
UPSCALE_INPUT = ("upscale", "upscale")

SECTION_LIMIT = 3000  # characters in a section's text
CAPTION_PROMPT_CHARS = 280
VIDEO_GONE = (
    "That video is no longer stored, so I can't extend, smooth or upscale it. Make it again with "
    "🎲 Reroll, or start a new one with `/video`."
)
REFINE_HINT = 'Reply in this thread to change it ("make it night", "slower camera").'


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def _context(*parts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": p} for p in parts if p]}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _actions(block_id: str, *buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def escape(text: str) -> str:
    """Slack's three control characters, so people's text can't become mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# People's and models' words are shown as they were written, never as formatting: no link, mention or
# broadcast can hide in them. A word joiner (invisible, and never part of a URL or a keyword) breaks
# what Slack would otherwise turn into a link or a broadcast on its own: bare URLs and domains, @here.
WORD_JOINER = "\u2060"
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_URL_LIKE = re.compile(r"\S*(?:://|\bwww\.|[\w-]\.[a-z]{2,}\b)\S*", re.IGNORECASE)
_URL_JOINTS = re.compile(r"([.:@/])(?=\w|/)")
# CommonMark: every ASCII punctuation may be backslash-escaped; these are the ones that format.
_MARKDOWN_ANYWHERE = re.compile(r"([\\`*_~\[\]<>&|#!])")
_MARKDOWN_LINE_START = re.compile(r"(?m)^(\s*)(?:([-+=])|(\d+)([.)]))")


def defang(text: str) -> str:
    """`text` with bare URLs, domains and @here/@channel/@everyone made inert (they read the same)."""
    text = _BROADCAST.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)
    return _URL_LIKE.sub(lambda m: _URL_JOINTS.sub(rf"\1{WORD_JOINER}", m.group(0)), text)


def shown(text: str) -> str:
    """People's or a model's text for a mrkdwn field: inert (no links, mentions or broadcasts)."""
    return escape(defang(text))


def markdown_shown(text: str) -> str:
    """People's or a model's text for a Markdown field (streamed messages): every formatting character
    escaped, so `[text](url)`, images, headings, lists and autolinks show as the characters they are.
    Word by word, so escaping a text in pieces split at whitespace gives the same as escaping it whole."""
    text = _MARKDOWN_ANYWHERE.sub(r"\\\1", defang(text))
    return _MARKDOWN_LINE_START.sub(
        lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"), text
    )


def plain_section(text: str) -> dict[str, Any]:
    """A section of plain text: whatever it holds shows as written (no mrkdwn, links or mentions)."""
    return {
        "type": "section",
        "text": {"type": "plain_text", "text": text[:SECTION_LIMIT] or " ", "emoji": False},
    }


def verbatim_section(text: str) -> dict[str, Any]:
    """A mrkdwn section whose own markup is ours; text from people inside it must come through `shown`."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT], "verbatim": True}}


def quote(text: str) -> str:
    return "\n".join(f">{line}" for line in shown(text).splitlines() or [""])


def excerpt(text: str, limit: int = CAPTION_PROMPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def draft_ref(session: Session, revision: int) -> str:
    """The button value that names a draft: which thread, which revision."""
    value = {"channel": session.channel, "thread_ts": session.thread_ts, "revision": revision}
    return json.dumps(value, separators=(",", ":"))


def job_ref(job: Job) -> str:
    return json.dumps({"job_id": job.job_id}, separators=(",", ":"))


# Button values and the settings modal's metadata name their fields in full. Those written before the
# names were spelled out used one letter each, and messages already posted in Slack still carry them.
SHORT_KEYS = {"channel": "c", "thread_ts": "t", "revision": "r", "job_id": "j"}


def ref_field(value: dict[str, Any], name: str) -> Any:
    """Field `name` of a button value or the modal's metadata, under its full or its old short key."""
    return value[name] if name in value else value.get(SHORT_KEYS[name])


def draft_ref_fields(value: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(channel, thread_ts, revision) as a draft's button value or the modal's metadata hold them."""
    return ref_field(value, "channel"), ref_field(value, "thread_ts"), ref_field(value, "revision")


# drafts


def describe_draft(draft: Draft) -> str:
    info = resolve_model(draft.model)
    width, height = draft.size
    parts = [
        f"*{info.name}*",
        f"{draft.num_frames} frames ({draft.seconds:.1f} s at {info.fps} fps)",
        f"{width}×{height}",
        f"seed {draft.seed}",
        f"{draft.num_inference_steps} steps",
        "draft quality (a quick preview)" if draft.quality == "draft" else "final quality",
        *stage_parts(draft.interpolate, draft.upscale),
    ]
    return " · ".join(parts)


def stage_parts(interpolate: int, upscale: int) -> list[str]:
    """The stages after a render, as the cards and captions name them."""
    parts = [f"smoothed {interpolate}×"] if interpolate > 1 else []
    return parts + ([f"upscaled ×{upscale}"] if upscale > 1 else [])


def root_message(owner: str, idea: str) -> Message:
    text = f"🎬 <@{owner}> wants a video: {shown(idea)}"
    blocks = [
        verbatim_section(f"🎬 <@{owner}> wants a video: {shown(idea)}"),
        _context(
            "I'll write a detailed prompt in the thread. Reply there to refine it, then press *Generate*."
        ),
    ]
    return text, blocks


def reacted_root_message(owner: str, author: str, *, video: bool) -> Message:
    """The thread a 🎬 on someone else's picture (or video) gets: the session is the reactor's."""
    what = "video" if video else "picture"
    shared = f"the {what} <@{author}> shared" if author else f"a {what} shared here"  # an app posts none
    text = f"🎬 <@{owner}> asked for a video of {shared}"
    return text, [
        verbatim_section(text),
        _context("I'll write a prompt in the thread. Reply there to refine it, then press *Generate*."),
    ]


def writing_message(mode: str = "t2v") -> str:
    if mode == "v2v":
        return "✍️ Writing the style for your video…"
    return (
        "✍️ Looking at your picture and writing a motion prompt…" if mode == "i2v" else "✍️ Writing the prompt…"
    )


def video_received(owner: str) -> str:
    return (
        f"🎞️ Got your video, <@{owner}>. I'll write a style for it; reply here to change the look, "
        "then press *Generate* to restyle it."
    )


def shared_media_line(session: Session) -> str:
    """What a session starts from besides words: the shared picture, or the clip it restyles (and how
    far the render may move from it)."""
    if session.mode == "i2v":
        return " · 🖼️ animates the shared picture"
    if session.mode == "v2v":
        return f" · 🎞️ restyles the shared video · strength {session.strength:g}"
    return ""


def picture_received(owner: str) -> str:
    return f"🖼️ Got your picture, <@{owner}>. I'll describe it and write a prompt that brings it to life."


def not_your_video(owner: str) -> str:
    return (
        f"This is <@{owner}>'s video: only they (or an admin) can change it by replying here. "
        "To make your own, type `/video` and describe it."
    )


def draft_card(
    session: Session, *, with_prompt: bool = True, note: str = "", cost: RenderCost | None = None
) -> Message:
    """The draft: its prompt (unless it was streamed into the same message above the blocks), its
    settings, what rendering it will take (`cost`, predicted), and Generate · Settings · Cancel."""
    assert session.draft is not None
    draft = session.draft
    ref = draft_ref(session, draft.revision)
    details = f"*Draft {draft.revision}*{shared_media_line(session)} · {describe_draft(draft)}"
    blocks: Blocks = []
    if with_prompt:
        blocks += prompt_blocks(draft.prompt)
    blocks.append(_section(details))
    if draft.negative_prompt:
        blocks.append(plain_section(f"Avoiding: {draft.negative_prompt}"))
    blocks += crop_blocks(session)
    if cost is not None:
        blocks.append(_context(cost_before(cost)))
    blocks += [
        _context(f"Written by {draft.refined_by}. {note}".strip(), REFINE_HINT),
        _actions(
            f"draft-{draft.revision}",
            _button("▶️ Generate", GENERATE, ref, style="primary"),
            _button("⚙️ Settings", OPEN_SETTINGS, ref),
            _button("Cancel", CANCEL_DRAFT, ref),
        ),
    ]
    text = f"Draft {draft.revision} ready: {shown(excerpt(draft.prompt, 200))}"
    return text, blocks


def crop_blocks(session: Session) -> Blocks:
    """How much of the picture the video's shape cuts away, when it cuts more than a sliver."""
    note = crop_note(session)
    if note is None:
        return []
    return [_context(f"✂️ {note} Another shape or model may keep more of it: see ⚙️ *Settings*.")]


def cost_after(cost: RenderCost) -> str:
    """The line a result shows: the GPU time the job really took, where, and what it cost."""
    return f"⏱️ It took {cost.line()}."


def cost_before(cost: RenderCost) -> str:
    """The line a card shows before a render: how long, where and what it will cost (a prediction)."""
    return f"⏱️ Rendering takes {cost.line()}."


def prompt_blocks(prompt: str) -> Blocks:
    """The prompt under a small heading, as plain text."""
    return [_context("✍️ *Prompt*"), plain_section(prompt)]


REPLACED_PROMPT_CHARS = 120


def closed_draft_card(draft: Draft, outcome: str, *, replaced: bool = False) -> Message:
    """The draft card once it has been used, replaced or cancelled: its buttons are gone. A replaced
    draft keeps only the opening of its prompt: the new card below says it in full."""
    text = f"Draft {draft.revision}: {outcome}"
    prompt = excerpt(draft.prompt, REPLACED_PROMPT_CHARS) if replaced else draft.prompt
    return text, [
        *prompt_blocks(prompt),
        _section(f"*Draft {draft.revision}* · {describe_draft(draft)}"),
        _context(outcome),
    ]


def cant_render_message(problems: list[str]) -> str:
    return "⚠️ I can't render that draft: " + " ".join(problems)


def blocked_message(explanation: str) -> Message:
    """A refusal (the content policy's own words, or ours), shown as plain text."""
    return shown(explanation), [plain_section(f"🙅 {explanation}")]


def prompt_so_far(text: str) -> Message:
    """The prompt while it is written, where it can't be streamed (edited in place instead)."""
    return f"✍️ {shown(excerpt(text, 200))}…", [_context("✍️ Writing the prompt…"), plain_section(f"{text}…")]


# rendering


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def place_in_line(position: int) -> str:
    """A waiting render's place, said the way people say it."""
    if position <= 1:
        return "You're next in line; I'll start it when a slot frees."
    return f"You're {ordinal(position)} in line; I'll start it when a slot frees."


def plural(count: int, singular: str, several: str | None = None) -> str:
    """ "1 render slot", "2 render slots"."""
    return f"{count} {singular if count == 1 else (several or singular + 's')}"


def progress_bar(fraction: float, width: int = 10) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "▓" * filled + "░" * (width - filled)


def clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_message(
    job: Job, *, phase: str, step: int = 0, total: int = 0, elapsed_s: float = 0.0, queue_position: int = 0
) -> Message:
    """The render's progress, updated in place: phase, a bar, step k/N, time so far and left; Cancel."""
    elapsed = f" · {clock(elapsed_s)} elapsed" if elapsed_s >= 1 else ""
    if queue_position:
        headline = f"⏳ {place_in_line(queue_position)}"
    elif phase == "denoising" and total:
        fraction = step / total
        # The job's clock includes loading the model, so this leans long; it settles as steps go by.
        left = elapsed_s / step * (total - step) if step else 0
        eta = f" · ~{clock(left)} left" if step and left >= 1 else ""
        headline = f"🎞️ Rendering {progress_bar(fraction)} {fraction:.0%} · step {step}/{total}{elapsed}{eta}"
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
        }.get(phase, "🎞️ Rendering…") + elapsed
    if job.spec.get("mode") == STAGES and not queue_position and phase not in ("queued", "starting"):
        headline = f"{post_processing(job.spec)}…{elapsed}"
    blocks = [
        _section(headline),
        _context(describe_work(job.spec)),
        _actions("progress", _button("Cancel", CANCEL_JOB, job_ref(job), style="danger")),
    ]
    return headline, blocks


def post_processing(spec: dict[str, Any]) -> str:
    """What a stages-only job does, e.g. "〰️ Smoothing 2×" or "🔍 Upscaling ×2"."""
    doing = []
    if int(spec.get("interpolate", 1)) > 1:
        doing.append(("〰️", f"smoothing {spec['interpolate']}×"))
    if int(spec.get("upscale", 1)) > 1:
        doing.append(("🔍", f"upscaling ×{spec['upscale']}"))
    if not doing:
        return "Processing"
    (icon, first), *rest = doing  # capitalised by hand: to str.capitalize() the emoji is the first letter
    return " and ".join([f"{icon} {first[0].upper()}{first[1:]}", *(f"{i} {words}" for i, words in rest)])


def describe_work(spec: dict[str, Any]) -> str:
    """What a job makes, for its progress message: a render's settings, or what it does to a video."""
    if spec.get("mode") == STAGES:
        return f"{post_processing(spec)} the video above"
    if spec.get("mode") == EXTEND:
        seconds = (int(spec["num_frames"]) - 1) / int(spec["fps"])
        return f"⏩ Continuing the video above by {seconds:.1f} s · {describe_spec(spec)}"
    return describe_spec(spec)


def spec_quality(spec: dict[str, Any]) -> str:
    """A job spec's quality ("draft" or "final"); specs written before version 2 call it `speed`."""
    return str(spec.get("quality", spec.get("speed", "final")))


def describe_spec(spec: dict[str, Any]) -> str:
    info = resolve_model(spec["model"])
    quality = "draft quality" if spec_quality(spec) == "draft" else "final quality"
    stages = "".join(
        f" · {part}" for part in stage_parts(int(spec.get("interpolate", 1)), int(spec.get("upscale", 1)))
    )
    return (
        f"{info.name} · {spec['num_frames']} frames · {spec['width']}×{spec['height']} · "
        f"seed {spec['seed']} · {spec['num_inference_steps']} steps · {quality}{stages}"
    )


def done_message(job: Job, render_seconds: float, cost: RenderCost | None = None) -> Message:
    """The controls under the video: what it took (`cost`, measured) and what to do next. What the
    video is (done, its prompt, seed, size) is said once, in the video's caption (`video_caption`)."""
    ref = job_ref(job)
    buttons: list[dict[str, Any]] = []
    hints: list[str] = []
    if job.spec.get("mode") in GENERATED:
        buttons += [_button("🎲 Reroll", REROLL, ref), _button("✏️ Refine", REFINE, ref)]
        hints.append("*Reroll* renders again with a new seed · *Refine* goes back to the prompt")
        if spec_quality(job.spec) == "draft":
            buttons.append(_button("🎬 Final render", FINAL_RENDER, ref, style="primary"))
            hints.append("*Final render* makes this one at full quality")
    offered = offers(job)
    buttons += follow_up_elements(job, offered)
    if offered.extend:
        hints.append("*Extend* continues the clip")
    if offered.smooth or offered.upscale:
        hints.append("*Smooth* and *Upscale* make it more fluid or larger")
    text = "What next for this video? " + " · ".join(hints) if hints else "Your video is in the thread."
    blocks = [_context(" · ".join(hints))] if hints else []
    if cost is not None:
        blocks.append(_context(cost_after(cost)))
    if buttons:
        blocks.append(_actions("result", *buttons))
    return text, [*blocks, *feedback_blocks(job)]


def follow_up_elements(job: Job, offered: Offers) -> list[dict[str, Any]]:
    """⏩ Extend, and the 〰️ Smooth and 🔍 Upscale choices, that a finished video offers."""
    elements = [_button("⏩ Extend", EXTEND_VIDEO, job_ref(job))] if offered.extend else []
    for action_id, placeholder, factors, label in (
        (SMOOTH_VIDEO, "〰️ Smooth…", offered.smooth, "{n}× the frames, same length"),
        (UPSCALE_VIDEO, "🔍 Upscale…", offered.upscale, "×{n} the size"),
    ):
        if factors:
            elements.append(
                {
                    "type": "static_select",
                    "action_id": action_id,
                    "placeholder": _plain(placeholder),
                    "options": [_option(label.format(n=n), factor_ref(job, n)) for n in factors],
                }
            )
    return elements


def factor_ref(job: Job, factor: int) -> str:
    """A Smooth or Upscale choice's value: which render, how many times."""
    return json.dumps({"job_id": job.job_id, "factor": factor}, separators=(",", ":"))


def describe_result(job: Job) -> str:
    """A finished video as it came out: its render's settings, or for an extension or post-processing
    what it is now."""
    clip = clip_of(job)
    if clip is None or job.spec.get("mode") in GENERATED:
        return describe_spec(job.spec)
    info = resolve_model(job.spec["model"])
    return f"{info.name} · {clip.frames} frames at {clip.fps:g} fps · {clip.width}×{clip.height}"


def describe_parts(parts: list[float]) -> str:
    """An extended clip's parts: "Part 1 · 6 s, Part 2 · 5 s"."""
    return ", ".join(f"Part {number} · {round(seconds, 1):g} s" for number, seconds in enumerate(parts, 1))


def feedback_blocks(job: Job, votes: tuple[int, int] | None = None) -> Blocks:
    """👍 / 👎 on a result: one vote per person per render, which a second click changes."""
    ref = job_ref(job)
    blocks: Blocks = [
        _actions("feedback", _button("👍", FEEDBACK_UP, ref), _button("👎", FEEDBACK_DOWN, ref)),
    ]
    if votes is not None and any(votes):
        blocks.append(_context(f"👍 {votes[0]} · 👎 {votes[1]}"))
    return blocks


def quota_note(job: Job) -> str:
    """Whether an unfinished render used up some of the daily quota (it did once it reached the GPU)."""
    if reached_gpu(job):
        return "It counted against your daily quota: it had started rendering on the GPU."
    return "It didn't count against your quota."


def failed_message(job: Job, explanation: str) -> Message:
    text = f"❌ The render didn't finish: {explanation}"
    ref = job_ref(job)
    return text, [
        _section(text),
        _context(quota_note(job)),
        _actions("failed", *_after_an_unfinished(job, _button("🔁 Try again", RETRY, ref))),
    ]


def cancelled_message(job: Job, by: str | None) -> Message:
    text = f"🛑 Render cancelled by <@{by}>." if by else "🛑 Render cancelled."
    return text, [
        _section(text),
        _context(quota_note(job)),
        _actions("cancelled", *_after_an_unfinished(job)),
    ]


def _after_an_unfinished(job: Job, *buttons: dict[str, Any]) -> list[dict[str, Any]]:
    """What an unfinished job offers: `buttons` and ✏️ Refine; an extension or post-processing of a
    video (which has no draft of its own to refine) offers to try it again."""
    if job.source_job_id:
        return [_button("🔁 Try again", RETRY, job_ref(job))]
    return [*buttons, _button("✏️ Refine", REFINE, job_ref(job))]


def render_seconds(result: dict[str, Any]) -> float | None:
    """The job's own wall time, from its result.json."""
    timings = result.get("timings_s")
    total = timings.get("total") if isinstance(timings, dict) else None
    return float(total) if isinstance(total, int | float) else None


def video_caption(job: Job, result: dict[str, Any]) -> str:
    """The comment posted with the mp4: what it is (as it came out: an extension's parts, a smoothed
    clip's frames) and how it was made."""
    spec = job.spec
    mode = spec.get("mode")
    seconds = render_seconds(result)
    verb = "processed" if mode == STAGES else "rendered"
    took = f" · {verb} in {seconds:.0f} s" if seconds is not None else ""
    notes = "".join(f"\n⚠️ {shown(excerpt(note, 300))}" for note in job_notes(result))
    clip = clip_of(replace(job, result=result))
    size = f"{clip.width}×{clip.height}" if clip else f"{spec['width']}×{spec['height']}"
    frames = clip.frames if clip else spec["num_frames"]
    parts = result.get("parts")
    joined = f"{describe_parts(parts)} · " if isinstance(parts, list) and len(parts) > 1 else ""
    stages = stage_parts(int(spec.get("interpolate", 1)), int(spec.get("upscale", 1)))
    prompt = quote(excerpt(spec["prompt"]))
    if mode == STAGES:
        rate = f" at {clip.fps:g} fps" if clip else ""
        return (
            f"✅ Done: ✨ <@{job.owner}>, here is your video, {' and '.join(stages)}.\n{prompt}\n"
            f"{joined}{frames} frames{rate} · {size}{took}{notes}"
        )
    headline = "here is your video, extended." if mode == EXTEND else "here is your video."
    quality = " · draft quality" if spec_quality(spec) == "draft" else ""
    done = "".join(f" · {part}" for part in stages)
    return (
        f"✅ Done: {'⏩ ' if mode == EXTEND else ''}<@{job.owner}>, {headline}\n{prompt}\n"
        f"{joined}{resolve_model(spec['model']).name} · {frames} frames · {size} · "
        f"seed {spec['seed']}{quality}{done}{took}{notes}"
    )


def video_title(job: Job) -> str:
    """The file's title: short, and not the prompt again (the caption shows it)."""
    info = resolve_model(job.spec["model"])
    kind = "animated picture" if job.spec.get("mode") == "i2v" else "video"
    return f"{info.name.split(' (')[0]} {kind}"


def job_notes(result: dict[str, Any], limit: int = 3) -> list[str]:
    """What the job told the person about their video (a prompt longer than the model reads)."""
    notes = result.get("warnings")
    return (
        [note for note in notes if isinstance(note, str) and note][:limit] if isinstance(notes, list) else []
    )


def video_alt_text(job: Job) -> str:
    kind = (
        "AI video animated from a shared picture" if job.spec.get("mode") == "i2v" else "AI-generated video"
    )
    return f"{kind}: {job.spec['prompt']}"[:1000]


def notice(text: str) -> Message:
    return text, [_section(text)]


# the settings modal


def model_choices(current: str, mode: str) -> list[ModelInfo]:
    """The models offered in settings: the ones that render this session's mode, and (so nobody is
    offered a model this installation can't run) only the offline test models when one is in use."""
    offline = resolve_model(current).built_locally
    renders = (lambda info: info.renders(mode)) if mode == "v2v" else (lambda info: info.mode == mode)
    return [info for info in REGISTRY.values() if renders(info) and info.built_locally == offline]


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text[:75]), "value": value}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _number(action_id: str, value: float | int, *, decimal: bool, low: float, high: float) -> dict[str, Any]:
    def text(number: float) -> str:
        return f"{number:g}" if decimal else str(int(number))  # never "4.29497e+09" for a seed

    return {
        "type": "number_input",
        "action_id": action_id,
        "is_decimal_allowed": decimal,
        "initial_value": text(value),
        "min_value": text(low),
        "max_value": text(high),
    }


def settings_metadata(session: Session) -> str:
    """What the submission needs to validate on its own: the draft it edits, as it was."""
    assert session.draft is not None
    d = session.draft
    return json.dumps(
        {
            "channel": session.channel,
            "thread_ts": session.thread_ts,
            "revision": d.revision,
            "mode": session.mode,
            "model": d.model,
            "steps": d.num_inference_steps,
            "guidance": d.guidance_scale,
            "quality": d.quality,
            "seconds": round(d.seconds, 3),
        },
        separators=(",", ":"),
    )


def settings_view(session: Session, limits: Limits) -> dict[str, Any]:
    """The settings modal for the session's current draft, filled in with its values."""
    assert session.draft is not None
    draft = session.draft
    models = model_choices(draft.model, session.mode)
    current = next((_option(i.name, i.key) for i in models if i.key == draft.model), None)
    model_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": MODEL_INPUT[1],
        "options": [_option(info.name, info.key) for info in models],
    }
    if current:
        model_select["initial_option"] = current
    qualities = [
        _option("Final: full quality", "final"),
        _option("Draft: a quick preview", "draft"),
    ]
    smoothing = [_option("None", "1"), *(_option(f"{n}× the frames", str(n)) for n in SMOOTH_FACTORS)]
    upscaling = [_option("None", "1"), *(_option(f"×{n}", str(n)) for n in upscale_factors(*draft.size))]
    return {
        "type": "modal",
        "callback_id": SETTINGS_VIEW,
        "private_metadata": settings_metadata(session),
        "title": _plain("Video settings"),
        "submit": _plain("Save"),
        "close": _plain("Cancel"),
        "blocks": [
            _section(f"*Draft {draft.revision}*"),
            prompt_input(draft),
            _input(MODEL_INPUT[0], "Model", model_select),
            _input(
                SECONDS_INPUT[0],
                "Length (seconds)",
                _number(
                    SECONDS_INPUT[1], round(draft.seconds, 2), decimal=True, low=0.5, high=limits.max_seconds
                ),
                hint="Rounded to the nearest length the model can render.",
            ),
            _input(
                SEED_INPUT[0], "Seed", _number(SEED_INPUT[1], draft.seed, decimal=False, low=0, high=MAX_SEED)
            ),
            _input(
                STEPS_INPUT[0],
                "Denoising steps",
                _number(
                    STEPS_INPUT[1], draft.num_inference_steps, decimal=False, low=1, high=limits.max_steps
                ),
                hint="More steps: finer detail, longer render.",
            ),
            _input(
                GUIDANCE_INPUT[0],
                "Guidance",
                _number(GUIDANCE_INPUT[1], draft.guidance_scale, decimal=True, low=0, high=MAX_GUIDANCE),
                hint="How closely the video follows the prompt (6 is the model's default).",
            ),
            _input(
                NEGATIVE_INPUT[0],
                "Avoid (negative prompt)",
                {
                    "type": "plain_text_input",
                    "action_id": NEGATIVE_INPUT[1],
                    "multiline": True,
                    "max_length": MAX_PROMPT_CHARS,
                    **({"initial_value": draft.negative_prompt} if draft.negative_prompt else {}),
                },
                optional=True,
            ),
            _input(
                QUALITY_INPUT[0],
                "Quality",
                {
                    "type": "radio_buttons",
                    "action_id": QUALITY_INPUT[1],
                    "options": qualities,
                    "initial_option": qualities[1] if draft.quality == "draft" else qualities[0],
                },
            ),
            aspect_input(session),
            _choice(
                SMOOTH_INPUT,
                "Smooth",
                smoothing,
                draft.interpolate,
                hint="More frames a second by motion interpolation, the same length.",
            ),
            _choice(
                UPSCALE_INPUT,
                "Upscale",
                upscaling,
                draft.upscale,
                hint=f"A larger video, up to what Slack plays ({MAX_VIDEO_SIDE} pixels a side).",
            ),
        ],
    }


def prompt_input(draft: Draft) -> dict[str, Any]:
    """The prompt itself, editable: what is saved here is rendered as written (no rewriting)."""
    info = resolve_model(draft.model)
    return _input(
        PROMPT_INPUT[0],
        "Prompt",
        {
            "type": "plain_text_input",
            "action_id": PROMPT_INPUT[1],
            "multiline": True,
            "max_length": MAX_PROMPT_CHARS,
            "initial_value": draft.prompt[:MAX_PROMPT_CHARS],
        },
        hint=f"Rendered exactly as written. {info.name} reads about "
        f"{words_for_tokens(info.max_prompt_tokens)} words.",
    )


def aspect_input(session: Session) -> dict[str, Any]:
    """The video's shape: the ones the draft's model renders (landscape, portrait, square), or the
    picture's own shape (picture sessions) / the model's usual size."""
    assert session.draft is not None
    draft = session.draft
    info = resolve_model(draft.model)
    automatic = "Closest to the picture" if session.mode == "i2v" else "The model's usual size"
    options = [_option(f"{automatic} ({draft.size[0]}×{draft.size[1]} now)", AUTO_ASPECT)]
    for aspect in offered_aspects(info):
        height, width = aspect_size(info, aspect) or (0, 0)
        options.append(_option(f"{ASPECTS[aspect].capitalize()} {aspect} ({width}×{height})", aspect))
    chosen = next((o for o in options if o["value"] == (draft.aspect or AUTO_ASPECT)), options[0])
    return _input(
        ASPECT_INPUT[0],
        "Shape",
        {"type": "static_select", "action_id": ASPECT_INPUT[1], "options": options, "initial_option": chosen},
    )


def _choice(
    ids: tuple[str, str], label: str, options: list[dict[str, Any]], current: int, *, hint: str
) -> dict[str, Any]:
    """A radio-button input of factors ("1" is none), set to `current`."""
    initial = next((o for o in options if o["value"] == str(current)), options[0])
    element = {"type": "radio_buttons", "action_id": ids[1], "options": options, "initial_option": initial}
    return _input(ids[0], label, element, hint=hint)
