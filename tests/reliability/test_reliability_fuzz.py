"""Fuzzing (hypothesis, derandomized so every run tries the same inputs): the `/video` flag parser, the
settings modal's values, JobSpec validation and job event payloads. Whatever comes in: no crash, no
500, and either a valid result or a clear sentence saying what was expected.

The pure functions take most examples; a sample of commands and submissions also goes through the
real HTTP app, where the promise is an HTTP 200 and an answer the person can read.
"""

from __future__ import annotations

import json
import math
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conversation.limits import Limits
from bot.conversation.sessions import DraftOptions, new_draft, with_options
from bot.jobs.messages import parse_job_event
from bot.slack import blocks
from bot.slack.blocks import OPEN_SETTINGS, SETTINGS_VIEW
from bot.slack.command_text import CommandError, parse_video_command
from bot.slack.forms import SettingsInvalid, read_settings
from bot.slack.listeners.commands import option_problems
from processing_job.models import REGISTRY, TINY_MODEL
from processing_job.spec import JobSpec, SpecError
from tests.conftest import ALICE, CHANNEL, Person, model_cache, slack, start_app  # noqa: F401 - fixtures  # noqa: F401 - fixtures
from tests.reliability.ledger import InputCase

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
OVER_HTTP = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LIMITS = Limits()


def a_sentence(text: str) -> bool:
    """A message a person can act on: words, not a traceback or a repr."""
    return bool(text.strip()) and "Traceback" not in text and "Error(" not in text and len(text) < 2000


# --------------------------------------------------------------------------------------- /video flags

numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "-1", "1e309", "nan", "inf", "0x10", "1_000", "٣", "49.0", "5b", " 7 "]),
)
values = st.one_of(numbers, st.text(max_size=30), st.sampled_from([*REGISTRY, "2b", "5b", "1.5", "x"]))
flags = st.sampled_from(
    [
        "--model",
        "--frames",
        "--seconds",
        "--seed",
        "--steps",
        "--guidance",
        "--negative",
        "--draft",
        "--bogus",
        "--",
    ]
)
words = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
pieces = st.one_of(
    words,
    flags,
    st.tuples(flags, values).map(lambda p: f"{p[0]} {p[1]}"),
    st.tuples(flags, values).map(lambda p: f"{p[0]}={p[1]}"),
    st.sampled_from(['"', "“", "”", '"quoted words"', "\\", "'", "\x00", "\n", "status", "help"]),
)
commands = st.one_of(st.lists(pieces, max_size=12).map(" ".join), st.text(max_size=200))


def answer_command(text: str) -> str:
    """What the ack does with a command's text: a refusal's sentence, or "" when a draft can start."""
    try:
        parsed = parse_video_command(text)
    except CommandError as error:
        return str(error)
    if parsed.action != "video":
        return ""
    problems = option_problems(parsed, TINY_MODEL, LIMITS)
    if problems:
        return " ".join(problems)
    new_draft(parsed.options, prompt=parsed.idea, default_model=TINY_MODEL, seed=0, refined_by="").to_spec(
        "x"
    )
    return ""


def test_the_video_flag_parser_answers_everything_with_a_draft_or_a_sentence(ledger):
    seen: Counter[str] = Counter()

    @FUZZ
    @given(commands)
    def check(text: str) -> None:
        seen["tried"] += 1
        answer = answer_command(text)
        assert answer == "" or a_sentence(answer), answer

    check()
    ledger.input(
        InputCase(
            "Fuzzing",
            "`/video` text and flags (parser + option checks)",
            tried=seen["tried"],
            answered=seen["tried"],
            note="a draft, or a refusal in a sentence; never an exception",
        )
    )


def test_commands_over_http_always_get_200_and_an_answer(slack, start_app, ledger):  # noqa: F811
    start_app()
    person = Person(slack, ALICE)
    seen: Counter[str] = Counter()

    @OVER_HTTP
    @given(commands)
    def check(text: str) -> None:
        seen["tried"] += 1
        notes = len(person.ephemerals())
        answer = slack.slash_command("/video", text, user=ALICE, channel=CHANNEL)
        assert answer.status == 200
        if answer_command(text) or parse_video_command_action(text) != "video":
            assert len(person.ephemerals()) > notes  # the ack's sentence, shown privately
        seen["answered"] += 1

    check()
    ledger.input(
        InputCase(
            "Fuzzing",
            "`/video` text over HTTP (the real app)",
            tried=seen["tried"],
            answered=seen["answered"],
            note="HTTP 200 every time; a private answer for every refusal",
        )
    )


def parse_video_command_action(text: str) -> str:
    try:
        return parse_video_command(text).action
    except CommandError:
        return "refused"


# ------------------------------------------------------------------------------------- the settings modal

DRAFT = new_draft(DraftOptions(), prompt="A fox.", default_model="cogvideox-2b", seed=1, refined_by="x")
META = {
    "c": CHANNEL,
    "t": "1.000001",
    "r": 1,
    "mode": "t2v",
    "model": DRAFT.model,
    "steps": DRAFT.num_inference_steps,
    "guidance": DRAFT.guidance_scale,
    "speed": "final",
}
field_values = st.one_of(st.none(), numbers, st.text(max_size=40), st.integers().map(str))
choice = st.one_of(st.none(), st.sampled_from([*REGISTRY, "x", ""]))
quality = st.one_of(st.none(), st.sampled_from(["draft", "final", "fast", ""]))
metadata = st.one_of(
    st.just(json.dumps(META)),
    st.dictionaries(
        st.sampled_from(list(META)), st.one_of(st.integers(), st.text(max_size=8), st.none())
    ).map(json.dumps),
    st.text(max_size=30),
)


def view(meta: str, model, seconds, seed, steps, guidance, negative, speed) -> dict:
    def plain(value):
        return {"type": "plain_text_input", "value": value}

    def select(value):
        return {"type": "static_select", "selected_option": None if value is None else {"value": value}}

    return {
        "private_metadata": meta,
        "state": {
            "values": {
                blocks.MODEL_INPUT[0]: {blocks.MODEL_INPUT[1]: select(model)},
                blocks.SECONDS_INPUT[0]: {blocks.SECONDS_INPUT[1]: plain(seconds)},
                blocks.SEED_INPUT[0]: {blocks.SEED_INPUT[1]: plain(seed)},
                blocks.STEPS_INPUT[0]: {blocks.STEPS_INPUT[1]: plain(steps)},
                blocks.GUIDANCE_INPUT[0]: {blocks.GUIDANCE_INPUT[1]: plain(guidance)},
                blocks.NEGATIVE_INPUT[0]: {blocks.NEGATIVE_INPUT[1]: plain(negative)},
                blocks.QUALITY_INPUT[0]: {blocks.QUALITY_INPUT[1]: select(speed)},
            }
        },
    }


submissions = st.builds(
    view, metadata, choice, field_values, field_values, field_values, field_values, field_values, quality
)
INPUT_IDS = {
    ids[0]
    for ids in (
        blocks.MODEL_INPUT,
        blocks.SECONDS_INPUT,
        blocks.SEED_INPUT,
        blocks.STEPS_INPUT,
        blocks.GUIDANCE_INPUT,
        blocks.NEGATIVE_INPUT,
        blocks.QUALITY_INPUT,
    )
}


def test_the_settings_modal_answers_every_submission_with_a_draft_or_errors_under_its_inputs(ledger):
    seen: Counter[str] = Counter()

    @FUZZ
    @given(submissions)
    def check(submitted: dict) -> None:
        seen["tried"] += 1
        try:
            edited = read_settings(submitted, LIMITS)
        except SettingsInvalid as invalid:
            assert invalid.errors and set(invalid.errors) <= INPUT_IDS
            assert all(a_sentence(e) for e in invalid.errors.values())
            return
        with_options(DRAFT, edited.options, mode="t2v").to_spec("check")  # a render the job accepts

    check()
    ledger.input(
        InputCase(
            "Fuzzing",
            "settings modal submissions (every field, the form's metadata)",
            tried=seen["tried"],
            answered=seen["tried"],
            note="saved as a valid draft, or a sentence under each input that's wrong",
        )
    )


def test_settings_submitted_over_http_always_get_an_answer_on_the_modal(slack, start_app, ledger):  # noqa: F811
    start_app()
    person = Person(slack, ALICE)
    card = person.draft_card(person.video("a fox"))
    person.click(card, OPEN_SETTINGS)
    opened = slack.wait_until(lambda: next((v for v in slack.views if v.callback_id == SETTINGS_VIEW), None))
    offered = {  # a person can only pick what the select offers
        option["value"]
        for block in opened.view["blocks"]
        if block.get("block_id") == blocks.MODEL_INPUT[0]
        for option in block["element"]["options"]
    }
    seen: Counter[str] = Counter()

    @OVER_HTTP
    @given(choice, field_values, field_values, field_values, field_values, field_values, quality)
    def check(model, seconds, seed, steps, guidance, negative, speed) -> None:
        seen["tried"] += 1
        with slack.workspace.lock:
            live = slack.workspace.find_view(opened.id)
            live.open, live.errors = True, None
        submitted = {
            ids[0]: {ids[1]: value}
            for ids, value in (
                (blocks.SECONDS_INPUT, seconds),
                (blocks.SEED_INPUT, seed),
                (blocks.STEPS_INPUT, steps),
                (blocks.GUIDANCE_INPUT, guidance),
                (blocks.NEGATIVE_INPUT, negative),
            )
            if value is not None
        }
        if model in offered:
            submitted[blocks.MODEL_INPUT[0]] = {blocks.MODEL_INPUT[1]: model}
        if speed in ("draft", "final"):
            submitted[blocks.QUALITY_INPUT[0]] = {blocks.QUALITY_INPUT[1]: speed}
        answer = slack.submit_view(opened.id, submitted, user=ALICE)
        assert answer.status == 200
        after = slack.view(opened.id)
        assert after.problem is None  # Slack's "We had some trouble connecting" never shows
        assert after.errors is None or all(a_sentence(e) for e in after.errors.values())
        seen["answered"] += 1

    check()
    ledger.input(
        InputCase(
            "Fuzzing",
            "settings modal submissions over HTTP (the real app)",
            tried=seen["tried"],
            answered=seen["answered"],
            note="HTTP 200 within the ack; saved, or errors shown under the inputs",
        )
    )


# ------------------------------------------------------------------------------------------- JobSpec

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
GOOD = JobSpec.create(job_id="fuzz-1", model=TINY_MODEL, prompt="A fox.", seed=1).to_dict()
spec_fields = st.sampled_from([*GOOD, "extra", "__class__"])
specs = st.one_of(
    st.dictionaries(spec_fields, json_values, max_size=16),
    st.dictionaries(spec_fields, json_values, max_size=4).map(lambda changes: {**GOOD, **changes}),
    json_values,
)


def test_jobspec_validation_takes_any_json_and_answers_with_a_spec_or_its_problems(ledger):
    seen: Counter[str] = Counter()

    @FUZZ
    @given(specs)
    def check(data) -> None:
        seen["tried"] += 1
        try:
            spec = JobSpec.from_json(json.dumps(data, allow_nan=True))
        except SpecError as error:
            assert error.problems and all(a_sentence(p) for p in error.problems)
            return
        assert spec == JobSpec.from_dict(spec.to_dict())  # what is accepted round-trips
        assert math.isfinite(spec.guidance_scale)

    check()
    ledger.input(
        InputCase(
            "Fuzzing",
            "JobSpec JSON (spec.json as the job reads it)",
            tried=seen["tried"],
            answered=seen["tried"],
            note="a valid spec (that round-trips), or one sentence per problem",
        )
    )


# --------------------------------------------------------------------------------------- job events

statuses = st.sampled_from(["InProgress", "Completed", "Failed", "Stopping", "Stopped", "Pending", "", None])
names = st.one_of(
    st.just("videobot-fuzz-job"), st.text(max_size=30).map(lambda t: "videobot-" + t), json_values
)
state_details = st.fixed_dictionaries(
    {},
    optional={
        "ProcessingJobName": names,
        "ProcessingJobStatus": statuses,
        "FailureReason": json_values,
        "ExitMessage": json_values,
    },
)
progress_details = st.fixed_dictionaries(
    {},
    optional={
        "job_id": st.one_of(st.just("fuzz-job"), json_values),
        "phase": st.one_of(st.sampled_from(["loading", "denoising", "done", "x"]), json_values),
        "step": json_values,
        "total": json_values,
        "elapsed_s": json_values,
    },
)
events = st.one_of(
    st.builds(
        lambda d, s, t: {"source": s, "detail-type": t, "detail": d},
        state_details,
        st.sampled_from(["aws.sagemaker", "videobot.render", "aws.events"]),
        st.sampled_from(["SageMaker Processing Job State Change", "Render Progress", "Scheduled Event"]),
    ),
    st.builds(
        lambda d: {"source": "videobot.render", "detail-type": "Render Progress", "detail": d},
        progress_details,
    ),
    json_values,
)


def test_job_events_of_any_shape_are_read_or_ignored_never_a_crash(ledger, tmp_path):
    from bot.jobs.delivery import JobEventHandler
    from bot.runtime.compose import build_local_services
    from bot.runtime.settings import Settings

    services = build_local_services(Settings(home=tmp_path, slack_api_url="http://127.0.0.1:9/api/"))
    handler = JobEventHandler(services)
    seen: Counter[str] = Counter()

    @FUZZ
    @given(events)
    def check(event) -> None:
        seen["tried"] += 1
        parse_job_event(event)
        handler.handle(event)  # an unknown job, or not ours: logged and let go

    try:
        check()
    finally:
        services.close()
    ledger.input(
        InputCase(
            "Fuzzing",
            "job event payloads (state changes, progress, anything else)",
            tried=seen["tried"],
            answered=seen["tried"],
            note="read as ours (an unknown job: logged, let go) or ignored; never an exception",
        )
    )
