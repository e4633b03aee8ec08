"""The App Home tab, as a pure function of what it shows: my quota today and my renders under way, my
defaults for new videos (a form of static selects), and my recent videos (poster, prompt, thread, and
🗑️ Delete behind a confirmation).

People's prompts are shown as plain text (never a link or a mention); the poster is the bot's own Slack
file (`slack_file`), which Slack shows to whoever sees the tab; the thread link is Slack's permalink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.conversation.defaults import UserDefaults
from bot.conversation.limits import Limits
from bot.conversation.quotas import Usage, slack_time
from bot.conversation.sessions import Job
from bot.slack.blocks import describe_spec, excerpt
from bot.slack.status import STATES
from processing_job.models import ModelInfo

# action_ids on the Home tab
DELETE_VIDEO = "home_delete_video"
DEFAULT_MODEL = "home_default_model"
DEFAULT_QUALITY = "home_default_quality"
DEFAULT_ASPECT = "home_default_aspect"
DEFAULT_FIELDS = {DEFAULT_MODEL: "model", DEFAULT_QUALITY: "quality", DEFAULT_ASPECT: "aspect"}

QUALITY_CHOICES = (("final", "Final: full quality"), ("draft", "Draft: a quick preview"))
ASPECT_CHOICES = (
    ("auto", "Auto: the model's size, or the picture's shape"),
    ("16:9", "16:9 landscape"),
    ("9:16", "9:16 portrait"),
    ("1:1", "1:1 square"),
)
PROMPT_CHARS = 300
ALT_TEXT_CHARS = 200


@dataclass(frozen=True)
class HomePage:
    """Everything one person's Home tab shows."""

    user: str
    usage: Usage
    limits: Limits
    defaults: UserDefaults
    models: list[ModelInfo]  # the models a new video can start with
    default_model: str  # the workspace's, shown while the person has chosen none
    videos: list[Job] = field(default_factory=list)  # delivered, not deleted, newest first
    running: list[tuple[Job, int]] = field(default_factory=list)  # (render, place in the workspace's line)
    notice: str = ""  # one line on top: what just happened (a deletion, a refusal)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label[:75]), "value": value}


def _select(action_id: str, choices: list[tuple[str, str]], chosen: str | None) -> dict[str, Any]:
    options = [_option(value, label) for value, label in choices]
    select: dict[str, Any] = {"type": "static_select", "action_id": action_id, "options": options}
    initial = next((o for o in options if o["value"] == chosen), None)
    if initial is not None:
        select["initial_option"] = initial
    return select


def _labelled(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": _mrkdwn(label), "accessory": element}


def home_view(page: HomePage) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "block_id": "title", "text": _plain("🎬 videobot")}]
    if page.notice:
        blocks.append({"type": "section", "block_id": "notice", "text": _plain(page.notice[:3000])})
    blocks += _today(page)
    blocks += _defaults(page)
    blocks += _videos(page)
    return {"type": "home", "callback_id": "home", "blocks": blocks}


def _today(page: HomePage) -> list[dict[str, Any]]:
    usage, limits = page.usage, page.limits
    line = (
        f"*Today:* {usage.last_day} of {limits.per_user_daily} renders used · "
        f"{usage.running} of {limits.per_user_concurrent} going"
    )
    if usage.last_day >= limits.per_user_daily and usage.next_free_at:
        line += f" · your next one frees up {slack_time(usage.next_free_at)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "block_id": "today", "text": _mrkdwn(line)}]
    for job, place in page.running:
        state = STATES.get(job.status, job.status)
        where = f" · {place} in line" if job.status == "queued" and place else ""
        blocks.append(
            {
                "type": "context",
                "block_id": f"running-{job.job_id}",
                "elements": [
                    _mrkdwn(f"{state}{where} · {slack_time(job.created_at)}"),
                    _plain(excerpt(str(job.spec.get("prompt", "")), 200) or " "),
                ],
            }
        )
    return blocks


def _defaults(page: HomePage) -> list[dict[str, Any]]:
    defaults = page.defaults
    models = [(info.key, info.name) for info in page.models]
    return [
        {"type": "divider", "block_id": "defaults-divider"},
        {"type": "header", "block_id": "defaults-title", "text": _plain("Your defaults for new videos")},
        _labelled(
            "default-model", "*Model*", _select(DEFAULT_MODEL, models, defaults.model or page.default_model)
        ),
        _labelled(
            "default-quality",
            "*Quality*",
            _select(DEFAULT_QUALITY, list(QUALITY_CHOICES), defaults.quality or "final"),
        ),
        _labelled(
            "default-aspect", "*Aspect*", _select(DEFAULT_ASPECT, list(ASPECT_CHOICES), defaults.aspect)
        ),
        {
            "type": "context",
            "block_id": "defaults-hint",
            "elements": [
                _mrkdwn("Flags you type (`--model`, `--draft`) and a draft's ⚙️ Settings still win.")
            ],
        },
    ]


def _videos(page: HomePage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "divider", "block_id": "videos-divider"},
        {"type": "header", "block_id": "videos-title", "text": _plain("Your recent videos")},
    ]
    if not page.videos:
        text = "None yet. Start one with `/video a corgi surfing at sunset`, or share a picture with me."
        blocks.append({"type": "section", "block_id": "no-videos", "text": _mrkdwn(text)})
    for job in page.videos:
        blocks += video_blocks(job, can_delete=job.owner == page.user)
    return blocks


def video_blocks(job: Job, *, can_delete: bool) -> list[dict[str, Any]]:
    """One video: its poster, its prompt (plain text) with 🗑️ Delete, and where it lives."""
    prompt = str(job.spec.get("prompt", ""))
    blocks: list[dict[str, Any]] = []
    if job.poster_file_id:
        blocks.append(
            {
                "type": "image",
                "block_id": f"poster-{job.job_id}",
                "slack_file": {"id": job.poster_file_id},
                "alt_text": excerpt(prompt, ALT_TEXT_CHARS) or "The video's first frame.",
            }
        )
    section: dict[str, Any] = {
        "type": "section",
        "block_id": f"video-{job.job_id}",
        "text": {"type": "plain_text", "text": excerpt(prompt, PROMPT_CHARS) or " ", "emoji": False},
    }
    if can_delete:
        section["accessory"] = delete_button(job)
    blocks.append(section)
    where = f"<{job.permalink}|Open its thread>" if job.permalink else f"In <#{job.channel}>"
    blocks.append(
        {
            "type": "context",
            "block_id": f"about-{job.job_id}",
            "elements": [_mrkdwn(f"{where} · {slack_time(job.created_at)} · {describe_spec(job.spec)}")],
        }
    )
    return blocks


def delete_button(job: Job) -> dict[str, Any]:
    return {
        "type": "button",
        "text": _plain("🗑️ Delete"),
        "action_id": DELETE_VIDEO,
        "value": job.job_id,
        "style": "danger",
        "confirm": {
            "title": _plain("Delete this video?"),
            "text": _plain("It leaves its thread and its files are deleted. This can't be undone."),
            "confirm": _plain("Delete"),
            "deny": _plain("Keep it"),
            "style": "danger",
        },
    }
