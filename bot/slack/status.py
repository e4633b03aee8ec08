"""`/video status`: my renders of the last day, where they stand, the GPU time and money they took, the
queue, and my quota (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.conversation.costs import RenderCost, duration, money
from bot.conversation.feedback import VoteTotal
from bot.conversation.limits import Limits
from bot.conversation.quotas import GIVEN_BACK, Usage, reached_gpu, slack_time
from bot.conversation.sessions import Job
from bot.slack.blocks import Blocks, Message, describe_work, excerpt, plural, shown

SHOWN = 10
STATES = {
    "queued": "⏳ waiting",
    "rendering": "🎞️ rendering",
    "delivering": "📤 uploading",
    "delivered": "✅ done",
    "failed": "❌ failed",
    "cancelled": "🛑 cancelled",
}


def day_total(spent: Sequence[RenderCost]) -> str:
    """What a day's renders took together: "12 min, about $0.57" (the money where it is known)."""
    seconds = sum(cost.seconds for cost in spent)
    priced = [cost.dollars for cost in spent if cost.dollars is not None]
    if not priced:
        return f"{duration(seconds)} (renders on this machine cost no money)"
    unpriced = len(spent) - len(priced)
    more = f", and {unpriced} on instances without a price" if unpriced else ""
    return f"{duration(seconds)}, about {money(sum(priced))}{more}"


def status_message(
    user: str,
    mine: list[Job],
    active: list[Job],
    current: Usage,
    limits: Limits,
    *,
    spent: Sequence[RenderCost] = (),
) -> Message:
    """The answer to `/video status` (ephemeral, for `user` only); `spent`: what each of `mine` took."""
    lines = [f"*Your renders in the last 24 hours* ({current.last_day} of {limits.per_user_daily} used)"]
    if not mine:
        lines.append("None yet. Start one with `/video a corgi surfing at sunset`.")
    for job in mine[:SHOWN]:
        place = ""
        if job.status in ("queued", "rendering", "delivering"):
            position = next((i for i, other in enumerate(active, 1) if other.job_id == job.job_id), 0)
            place = f" · {position} of {len(active)} in the workspace" if position else ""
        state = STATES.get(job.status, job.status)
        if job.status in GIVEN_BACK and reached_gpu(job):
            state += " (counted: it had reached the GPU)"
        lines.append(
            f"• {state}{place} · {slack_time(job.created_at)} in <#{job.channel}>\n"
            f"   _{shown(excerpt(job.spec.get('prompt', ''), 120))}_ · {describe_work(job.spec)}"
        )
    if len(mine) > SHOWN:
        lines.append(f"…and {len(mine) - SHOWN} more.")
    if spent:
        lines.append(f"*GPU time in the last 24 hours:* {day_total(spent)}")
    lines.append(
        f"\n*Now:* {current.workspace_running} of {plural(limits.workspace_concurrent, 'render slot')} busy "
        "in this "
        f"workspace · you have {current.running} of {limits.per_user_concurrent} going."
    )
    text = "\n".join(lines)
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]


def feedback_summary(sums: list[VoteTotal], text: str, message_blocks: Blocks) -> Message:
    """The status answer with the 👍 / 👎 of the last 30 days added, per model and quality (admins)."""
    lines = ["*Feedback on videos, last 30 days* (admins only)"]
    if not sums:
        lines.append("No votes yet: 👍 / 👎 sit under each video.")
    for total in sums[:SHOWN]:
        lines.append(f"• {total.model}, {total.quality} quality: 👍 {total.up} · 👎 {total.down}")
    summary = "\n".join(lines)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": summary[:3000]}}
    return f"{text}\n\n{summary}", [*message_blocks, section]
