"""Cost per video: the render's GPU time, the Lambda functions around it, and the prompt writer.

    .venv/bin/python -m bench.cost          (prints the Markdown section; alone, without the measured
                                             Lambda durations of the other sections, it uses none)

- Render: the seconds are PREDICTED (no GPU here): the denoising loop from `bench.render`'s FLOP count
  on the GPU of the instance `cdk.json` gives each model, plus a fixed allowance for what else a
  processing job bills (start-up, image pull, staged weights, load, decode, export), times the
  instance's SageMaker price.
- Lambda: what one typical video makes the functions do (`/video`, one reply in the thread, Generate;
  progress updates every few seconds; the delivery), from the durations the ack and delivery sections
  measured here, with the wait on Bedrock's streamed answer added to each refinement; memory sizes
  from `infra/`.
- Bedrock: the tokens of those two refinements, counted on the real system prompt and conversation
  (`bot/adapters/refiner/prompting.py`), with ~4 characters per token (Claude's tokenizer is not public; the
  deployed figure is in Bedrock's `InputTokenCount` / `OutputTokenCount` metrics).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import prices
from bench.render import ARCHITECTURES, DRAFT_CACHE_SPEEDUP, EFFICIENCY, Architecture
from bench.section import Say, Section, section_main
from bench.stats import table

REPO = Path(__file__).resolve().parent.parent
CHARS_PER_TOKEN = 4.0
# A render's billed time outside the denoising loop (ASSUMPTION until measured on AWS: SageMaker's
# billable seconds and result.json's phase timings replace it): instance start and image pull, the staged
# weights from S3, loading, text encoding, VAE decode, export and upload.
JOB_OVERHEAD_S = (90.0, 240.0)
# Bedrock's streamed answer (ASSUMPTION: time to first token + output at this rate).
BEDROCK_FIRST_TOKEN_S, BEDROCK_TOKENS_PER_S = 1.0, 60.0
PROGRESS_EVERY_S = 3.0  # processing_job/progress.py: DEFAULT_EVENTBRIDGE_INTERVAL_S
SLACK_FUNCTION_GB = JOB_EVENTS_FUNCTION_GB = 1.0  # infra/slack_front_door.py, infra/job_event_rules.py
IDEA, REPLY = "a corgi surfing at sunset", "make it night, with a slower camera"

MODEL_ARCHITECTURE = {
    "cogvideox-2b": "CogVideoX-2B",
    "cogvideox-5b": "CogVideoX-5B",
    "cogvideox-5b-i2v": "CogVideoX-5B",
    "cogvideox1.5-5b": "CogVideoX1.5-5B",
    "cogvideox1.5-5b-i2v": "CogVideoX1.5-5B",
}


def configured_instances() -> dict[str, str]:
    """Model → SageMaker instance type, as `cdk.json` deploys them."""
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    return dict(context["videobot:instance_types"])


def _architecture(model: str) -> Architecture:
    prefix = MODEL_ARCHITECTURE[model]
    return next(a for a in ARCHITECTURES if a.name.startswith(prefix + " "))


@dataclass(frozen=True)
class Tokens:
    input: int
    output: int

    @property
    def usd(self) -> float:
        return (
            self.input * prices.BEDROCK_INPUT_PER_MTOK.usd + self.output * prices.BEDROCK_OUTPUT_PER_MTOK.usd
        ) / 1e6


def refinement_tokens(*, with_picture: bool = False) -> list[Tokens]:
    """The two refinements of a typical session (the idea, then one reply), as Converse requests."""
    from bot.adapters.refiner.offline import OfflineRefiner
    from bot.adapters.refiner.prompting import conversation_messages, system_prompt
    from bot.conversation.ports import RefineRequest
    from bot.conversation.sessions import Turn

    def tokens(text: str) -> int:
        return round(len(text) / CHARS_PER_TOKEN)

    refiner = OfflineRefiner()
    first = RefineRequest(turns=(Turn("user", IDEA, "UALICE"),), mode="i2v" if with_picture else "t2v")
    # The model writes up to the 170 words asked for; the offline refiner's prompt, stretched to that, is
    # the stand-in for its answer.
    answer = _stretched(refiner.refine(first).prompt, first.max_words)
    second = RefineRequest(
        turns=(*first.turns, Turn("assistant", answer), Turn("user", REPLY, "UALICE")), mode=first.mode
    )
    # Claude counts a picture as about width × height / 750 tokens after scaling it to ≤ 1.15 megapixels.
    picture = round(1.15e6 / 750) if with_picture else 0
    counted = []
    for request in (first, second):
        sent = system_prompt(request) + json.dumps(conversation_messages(request))
        counted.append(Tokens(tokens(sent) + picture, tokens(answer)))
    return counted


def _stretched(prompt: str, words: int) -> str:
    have = prompt.split()
    return " ".join((have * (words // len(have) + 1))[:words])


def run(say: Say, *, quick: bool = False, figures: dict[str, Any] | None = None, **_: Any) -> Section:
    say("cost: putting the figures together")
    figures = figures or {}
    ack, delivery = figures.get("ack", {}), figures.get("delivery", {})
    t2v, i2v = refinement_tokens(), refinement_tokens(with_picture=True)
    lambda_rows, lambda_usd = _lambda(ack, delivery, t2v)
    rows, table_figures = [], {}
    for model, instance in configured_instances().items():
        arch = _architecture(model)
        gpu, memory, peak = prices.INSTANCE_GPUS[instance]
        hourly = prices.SAGEMAKER_PROCESSING_PER_HOUR[instance]
        bedrock = sum(t.usd for t in (i2v if model.endswith("i2v") else t2v))
        for quality, steps, speedup in (("final", 50, 1.0), ("draft", 20, DRAFT_CACHE_SPEEDUP)):
            loop = [steps * arch.flop_per_step / (peak * 1e12 * e) / speedup for e in reversed(EFFICIENCY)]
            billed = [loop[0] + JOB_OVERHEAD_S[0], loop[1] + JOB_OVERHEAD_S[1]]
            render = [s * hourly.usd / 3600 for s in billed]
            total = [r + lambda_usd + bedrock for r in render]
            rows.append(
                [
                    model,
                    quality,
                    f"`{instance}` ({gpu} {memory} GB)",
                    f"{loop[0]:.0f}–{loop[1]:.0f}",
                    f"{billed[0]:.0f}–{billed[1]:.0f}",
                    f"{render[0]:.3f}–{render[1]:.3f}",
                    f"{lambda_usd:.5f}",
                    f"{bedrock:.4f}",
                    f"**{total[0]:.2f}–{total[1]:.2f}**",
                    f"{total[0] * 1000:.0f}–{total[1] * 1000:.0f}",
                ]
            )
            table_figures[f"{model} {quality}"] = {"usd": total, "gpu_s": billed, "render_usd": render}
    token_rows = [
        [label, str(t.input), str(t.output), f"{t.usd:.4f}"]
        for label, pair in (("text to video", t2v), ("picture to video", i2v))
        for t, label in zip(pair, (f"{label}: the idea", f"{label}: one reply"), strict=True)
    ]
    price_rows = [
        [f"SageMaker processing `{name}`", p.label(), p.source]
        for name, p in prices.SAGEMAKER_PROCESSING_PER_HOUR.items()
    ] + [
        ["Lambda arm64 duration", prices.LAMBDA_ARM_GB_SECOND.label(), prices.LAMBDA_ARM_GB_SECOND.source],
        [
            "Lambda requests",
            f"$0.20 per million ({prices.LAMBDA_REQUEST.checked})",
            prices.LAMBDA_REQUEST.source,
        ],
        ["Bedrock Claude Sonnet 4.5, input", prices.BEDROCK_INPUT_PER_MTOK.label(), prices.BEDROCK_PAGE],
        ["Bedrock Claude Sonnet 4.5, output", prices.BEDROCK_OUTPUT_PER_MTOK.label(), prices.BEDROCK_PAGE],
    ]
    measured = (
        "measured in this run" if ack and delivery else "NOT measured in this run (no ack/delivery figures)"
    )
    text = "\n".join(
        [
            "## Cost per video",
            "_The GPU time is PREDICTED (no GPU in this run) and some prices are unverified: each price "
            "below says where it came from._",
            "",
            __doc__.split("\n\n", 2)[2].strip(),
            "",
            f"Prices, on-demand, {prices.REGION}:",
            "",
            table(["item", "price (status)", "source"], price_rows),
            "",
            f"Per video, with one reply in the thread; the render allowance outside the loop is "
            f"{JOB_OVERHEAD_S[0]:.0f}–{JOB_OVERHEAD_S[1]:.0f} s (assumed):",
            "",
            table(
                [
                    "model",
                    "quality",
                    "instance (cdk.json)",
                    "loop (s, predicted)",
                    "billed (s)",
                    "render ($)",
                    "Lambda ($)",
                    "Bedrock ($)",
                    "total ($ per video)",
                    "per 1000 videos ($)",
                ],
                rows,
                "lllrrrrrrr",
            ),
            "",
            _what_moves_it(table_figures, lambda_usd),
            "- Act on it: staging the weights (`make stage-model`) and a smaller job image shrink the fixed "
            "allowance; a cheaper GPU only pays if it keeps the loop short (2B on `ml.g5.2xlarge`); "
            "SageMaker Savings Plans cut the hourly price; measure on AWS and replace the allowance with "
            "SageMaker's billable seconds.",
            "",
            f"Bedrock tokens per refinement (≈{CHARS_PER_TOKEN:g} characters per token; the second request "
            "carries the first answer back):",
            "",
            table(["refinement", "input tokens", "output tokens", "$"], token_rows, "lrrr"),
            "",
            f"Lambda per video (durations {measured}; arm64; on AWS each Slack and S3 round trip adds "
            "network time, so read these as floors):",
            "",
            table(["invocations", "count", "seconds each", "GB", "GB-s", "$"], lambda_rows, "lrrrrr"),
        ]
    )
    cheapest = min(table_figures.items(), key=lambda item: item[1]["usd"][0])
    dearest = max(table_figures.items(), key=lambda item: item[1]["usd"][1])
    default = table_figures.get("cogvideox-5b final", {}).get("usd", [0.0, 0.0])
    headline = (
        "**Cost per video** (GPU time predicted, prices partly unverified): "
        f"${default[0]:.2f}–{default[1]:.2f} "
        f"for a CogVideoX-5B final render; from ${cheapest[1]['usd'][0]:.2f} ({cheapest[0]}) to "
        f"${dearest[1]['usd'][1]:.2f} ({dearest[0]}); Lambda ${lambda_usd * 1000:.2f} per thousand videos."
    )
    return Section("cost", text, {"per_video": table_figures, "lambda_usd": lambda_usd}, headline)


def _what_moves_it(per_video: dict[str, dict[str, Any]], lambda_usd: float) -> str:
    shares = [
        min(v["render_usd"][0] / v["usd"][0], v["render_usd"][1] / v["usd"][1]) for v in per_video.values()
    ]
    drafts = [
        per_video[f"{m} draft"]["usd"][i] / per_video[f"{m} final"]["usd"][i]
        for m in {k.rsplit(" ", 1)[0] for k in per_video}
        for i in (0, 1)
    ]
    long = per_video["cogvideox1.5-5b final"]["usd"][0] / per_video["cogvideox-5b final"]["usd"][0]
    return (
        f"- What moves the total: the render is {min(shares):.0%}–{max(shares):.0%} of it (Bedrock "
        "most of the "
        f"rest; Lambda is ${lambda_usd * 1000:.2f} per thousand videos). A draft preview costs "
        f"{min(drafts):.0%}–{max(drafts):.0%} of a final render, its fixed allowance weighing as much as its "
        f"loop. The 1.5 models' 81 frames at 1360×768 cost {long:.1f}× a 5B final on the same card."
    )


def _lambda(
    ack: dict[str, Any], delivery: dict[str, Any], tokens: list[Tokens]
) -> tuple[list[list[str]], float]:
    """The Lambda invocations of one typical video and what they cost."""

    def p50(section: dict[str, Any], *path: str) -> float:
        node: Any = section
        for step in path:
            node = node.get(step, {}) if isinstance(node, dict) else {}
        return float(node.get("p50", 0.0)) if isinstance(node, dict) else 0.0

    ack_s = (
        max(p50(ack, kind, "bot+invoke") for kind in ("/video command", "thread reply", "button click"))
        if ack
        else 0.0
    )
    streaming = [BEDROCK_FIRST_TOKEN_S + t.output / BEDROCK_TOKENS_PER_S for t in tokens]
    refine_s = p50(ack, "lazy", "/video command") + sum(streaming) / len(streaming)
    generate_s = p50(ack, "lazy", "button click")
    deliver_s = float(delivery.get("5MB bot", {}).get("seconds", 0.0))
    progress_s = float(delivery.get("progress_event_s", 0.0))
    # A 5B final's loop is ~2-4 minutes: one progress edit every 3 s, plus the phase changes.
    progress_events = round(180 / PROGRESS_EVERY_S) + 6
    items = [
        ("Slack function: acks (`/video`, reply, Generate)", 3, ack_s, SLACK_FUNCTION_GB),
        ("Slack function: refinements (lazy, Bedrock streaming)", 2, refine_s, SLACK_FUNCTION_GB),
        ("Slack function: Generate (lazy: CreateProcessingJob)", 1, generate_s, SLACK_FUNCTION_GB),
        ("job events: progress edits and state changes", progress_events, progress_s, JOB_EVENTS_FUNCTION_GB),
        ("job events: delivery of a 5 MB mp4", 1, deliver_s, JOB_EVENTS_FUNCTION_GB),
    ]
    rows, usd = [], 0.0
    for label, count, seconds, gb in items:
        gb_s = count * seconds * gb
        cost = gb_s * prices.LAMBDA_ARM_GB_SECOND.usd + count * prices.LAMBDA_REQUEST.usd
        usd += cost
        rows.append([label, str(count), f"{seconds:.3f}", f"{gb:g}", f"{gb_s:.2f}", f"{cost:.6f}"])
    return rows, usd


if __name__ == "__main__":
    section_main(run)
