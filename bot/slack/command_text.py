"""The `/video` command's text: an idea plus optional inline flags, parsed and bounded here.

`/video a corgi surfing at sunset --model 5b --seconds 4 --seed 7 --draft`
Every value is checked before anything starts; a mistake gets a sentence saying what was expected.
What phones and Macs do to typing is undone: smart dashes (`—model`) are `--`, smart quotes are quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TypeVar

from bot.conversation.ports import DEFAULT_SHOTS, MAX_SHOTS, MIN_SHOTS
from bot.conversation.sessions import ASPECTS, DraftOptions
from processing_job.models import UnknownModelError, resolve_model
from processing_job.spec import MAX_GUIDANCE, MAX_PROMPT_CHARS, MAX_SEED, MAX_STEPS

MAX_COMMAND_CHARS = 4000
Number = TypeVar("Number", int, float)


class CommandError(ValueError):
    """A mistake in the command's text, explained for the person who typed it."""


@dataclass(frozen=True)
class VideoCommand:
    action: str  # "video", "story", "help", "status" or "channel"
    idea: str = ""
    options: DraftOptions = field(default_factory=DraftOptions)
    pictures: str = ""  # `/video channel pictures all|mention`: the channel's choice
    shots: int = DEFAULT_SHOTS  # `/video story ... --shots N`


CHANNEL_HELP = (
    "\n*In channels:* a picture or video is for me when you mention me in its message or react to it "
    "with :clapper:; an admin can make every picture in a channel count with `/video channel pictures all` "
    "(or `mention` to go back)."
)
CHANNEL_PICTURES_USAGE = "Say `/video channel pictures all` or `/video channel pictures mention`."

HELP_TEXT = (
    "*Make a video:* `/video a corgi surfing at sunset`\n"
    'I\'ll write a detailed prompt in a thread; reply there to refine it ("make it night", "slower camera"), '
    "then press *Generate*. *Settings* on the draft changes the model, length, seed and more.\n"
    "*Animate a picture:* share it in a DM with me, in a video's thread, or in a channel with me mentioned. "
    "*Restyle a video:* share a video the same way; replies change its style.\n"
    "*Options* (all optional): `--model 2b|5b|1.5` · `--seconds S` or `--frames N` · `--seed N` · "
    '`--steps N` · `--guidance X` · `--negative "what to avoid"` · `--draft` (a quick preview)\n'
    "*Storyboard:* `/video story a fox's day in the snow --shots 3` writes a shot list (2-8 shots, 4 by "
    "default) you can edit and reorder, renders the shots and joins them into one cut.\n"
    "*After a render:* 🎲 *Reroll* (new seed) · ✏️ *Refine* · 🎬 *Final render* (after a draft)\n"
    "*Also:* `/video status` shows your renders and the queue · `/video help` shows this." + CHANNEL_HELP
)

_VALUE_FLAGS = {"--model", "--frames", "--seconds", "--seed", "--steps", "--guidance", "--negative"}
_VALUE_FLAGS |= {"--aspect", "--exact"}  # the video's shape; a prompt used as typed (no refinement)
_SWITCHES = {"--draft"}
_SWITCH_VALUES = {"true", "false"}  # `--draft false`: a value given to a switch, not words of the idea

# Smart punctuation (macOS, iOS) turns `--` into an em or en dash, and some keyboards type Unicode hyphens.
_UNICODE_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_PREFIX = re.compile(f"^[-{_UNICODE_DASHES}]+(?=[A-Za-z])")
_DOUBLE_QUOTES = '"“”„'
_OPENING_SINGLE_QUOTES = "'‘"
_CLOSING_SINGLE_QUOTE = re.compile("['’](?=\\s|$)")


def parse_video_command(text: str) -> VideoCommand:
    """The command's text, already decoded from Slack's escaping, as a request (or CommandError)."""
    text = text.strip()
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(f"That's {len(text)} characters; please keep a request under {MAX_COMMAND_CHARS}.")
    if not text or text.lower() in ("help", "--help", "-h"):
        return VideoCommand(action="help")
    if text.lower() == "status":
        return VideoCommand(action="status")
    setting = text.lower().split()
    if setting[:2] == ["channel", "pictures"]:
        if len(setting) != 3 or setting[2] not in ("all", "mention"):
            raise CommandError(CHANNEL_PICTURES_USAGE)
        return VideoCommand(action="channel", pictures=setting[2])
    if text.split(maxsplit=1)[0].lower() == "story":
        return parse_story_command(text[len("story") :])
    try:
        words = [_as_flag(word) for word in _split_words(text)]
    except ValueError:
        raise CommandError(
            'A quote isn\'t closed. Put quotes in pairs, e.g. `--negative "blurry"`.'
        ) from None
    if [word.lower() for word in words] == ["--help"]:  # `—help`, typed on a Mac
        return VideoCommand(action="help")
    idea_words: list[str] = []
    values: dict[str, str] = {}
    draft = False
    position = 0
    while position < len(words):
        word = words[position]
        flag, equals, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if flag in _SWITCHES:
            following = words[position + 1] if position + 1 < len(words) else ""
            if equals or _unquoted(following).lower() in _SWITCH_VALUES:
                given = _shown(f"={inline}" if equals else _unquoted(following))
                raise CommandError(
                    f"`{flag}` is a switch: leave out `{given}`. Add `{flag}` for a quick preview, or leave "
                    "it out for the final quality."
                )
            draft = True
        elif flag in _VALUE_FLAGS:
            if equals and inline:
                values[flag] = _unquoted(inline)
            elif not equals and position + 1 < len(words) and not words[position + 1].startswith("--"):
                position += 1
                values[flag] = _unquoted(words[position])
            else:
                raise CommandError(f"`{flag}` needs a value, e.g. `{flag} {_example(flag)}`.")
        elif word.startswith("--"):
            raise CommandError(f"I don't know the option `{_shown(flag)}`. Try `/video help` for the list.")
        else:
            idea_words.append(_without_double_quotes(word))
        position += 1
    idea = " ".join(w for w in idea_words if w) or values.get("--exact", "").strip()
    if not idea:
        raise CommandError(
            "Tell me what the video should show, e.g. `/video a red fox running through snow`."
        )
    if len(idea) > MAX_PROMPT_CHARS:
        raise CommandError(f"The idea is {len(idea)} characters; please keep it under {MAX_PROMPT_CHARS}.")
    return VideoCommand(action="video", idea=idea, options=_options(values, draft))


_SHOTS_FLAG = re.compile(rf"(?:^|\s)[-{_UNICODE_DASHES}]+shots(?:=|\s+|$)(\S*)", re.IGNORECASE)


def parse_story_command(text: str) -> VideoCommand:
    """`/video story <idea> [--shots N] [the flags of /video]`: a storyboard of N shots (2-8, default 4)."""
    shots = DEFAULT_SHOTS
    found = _SHOTS_FLAG.search(text)
    if found:
        raw = _unquoted(found.group(1))
        if not raw.isdecimal() or not MIN_SHOTS <= int(raw) <= MAX_SHOTS:
            shown = f"`{_shown(raw)}`" if raw else "nothing"
            raise CommandError(
                f"`--shots` takes a whole number from {MIN_SHOTS} to {MAX_SHOTS}, not {shown}, "
                f"e.g. `/video story a fox's day --shots 3`."
            )
        shots = int(raw)
        text = text[: found.start()] + " " + text[found.end() :]
    if not text.strip():
        raise CommandError(
            "Tell me the story to board, e.g. `/video story a fox's day in the snow --shots 3`."
        )
    parsed = parse_video_command(text)
    if parsed.action != "video":  # `/video story help` and the like: words of the idea
        parsed = VideoCommand(action="video", idea=text.strip())
    return replace(parsed, action="story", shots=shots)


def _as_flag(word: str) -> str:
    """`--Model`, `—model`, `–frames=9`, `‐‐draft` as the flag they mean (`--model`, ...); any other word
    as it is. A word led by a Unicode dash counts as a flag only when it names one: "a fox —running" stays
    words."""
    dashes = _DASH_PREFIX.match(word)
    if dashes is None:
        return word
    name, equals, rest = word[dashes.end() :].partition("=")
    flag = "--" + name.lower()
    if dashes.group() == "--":
        return flag + equals + rest
    if dashes.group() != "-" and flag in _VALUE_FLAGS | _SWITCHES | {"--help"}:
        return flag + equals + rest
    return word


def _split_words(text: str) -> list[str]:
    """Whitespace-separated words, quotes kept. Double quotes (straight or curly) group words anywhere, as
    in a shell; single quotes (straight or curly) only when one opens a word (or a `--flag=` value) and
    another closes a word later, so apostrophes ("a dog's day", "a dog’s day") stay ordinary letters. An
    unclosed double quote is a ValueError."""
    words: list[str] = []
    current: list[str] = []
    in_word = in_double = in_single = False
    for position, char in enumerate(text):
        if in_double or in_single:
            current.append(char)
            if in_double and char in _DOUBLE_QUOTES:
                in_double = False
            elif in_single and _CLOSING_SINGLE_QUOTE.match(text, position):
                in_single = False
            continue
        if char.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            continue
        opens_word = not current or current[-1] == "="
        current.append(char)
        in_word = True
        if char in _DOUBLE_QUOTES:
            in_double = True
        elif char in _OPENING_SINGLE_QUOTES and opens_word:
            in_single = _CLOSING_SINGLE_QUOTE.search(text, position + 1) is not None
    if in_double:
        raise ValueError("a double quote isn't closed")
    if in_word:
        words.append("".join(current))
    return words


def _shown(typed: str) -> str:
    """Words the person typed, quoted back in an answer (Slack mrkdwn): escaped, so `<!here>` typed in a
    flag's value stays text and never becomes a broadcast, a mention or a link."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _without_double_quotes(word: str) -> str:
    return "".join(char for char in word if char not in _DOUBLE_QUOTES)


def _unquoted(value: str) -> str:
    """A flag's value without its quotes: `"blurry, dark"`, `“blurry, dark”` and `‘blurry, dark’` alike."""
    value = _without_double_quotes(value)
    if len(value) >= 2 and value[0] in _OPENING_SINGLE_QUOTES and value[-1] in "'’":
        value = value[1:-1]
    return value


def _example(flag: str) -> str:
    return {
        "--model": "5b",
        "--frames": "49",
        "--seconds": "6",
        "--seed": "42",
        "--steps": "50",
        "--guidance": "6",
        "--negative": '"blurry, low quality"',
        "--aspect": "9:16",
        "--exact": '"A red fox trots through fresh snow at dawn, the camera tracking alongside."',
    }[flag]


def _options(values: dict[str, str], draft: bool) -> DraftOptions:
    model = None
    if "--model" in values:
        try:
            model = resolve_model(values["--model"]).key
        except UnknownModelError as error:
            raise CommandError(_shown(str(error))) from None
    if "--frames" in values and "--seconds" in values:
        raise CommandError("Use `--frames` or `--seconds`, not both.")
    negative = values.get("--negative")
    if negative is not None and len(negative) > MAX_PROMPT_CHARS:
        raise CommandError(f"The negative prompt must be under {MAX_PROMPT_CHARS} characters.")
    aspect = values.get("--aspect")
    if aspect is not None and aspect not in ASPECTS:
        choices = ", ".join(f"`{a}` ({shape})" for a, shape in ASPECTS.items())
        raise CommandError(f"`--aspect` is one of {choices}, not `{_shown(aspect)}`.")
    exact = values.get("--exact")
    if exact is not None:
        exact = exact.strip()
        if not exact:
            raise CommandError('`--exact` needs the prompt itself, e.g. `--exact "a fox in the snow"`.')
        if len(exact) > MAX_PROMPT_CHARS:
            raise CommandError(f"The exact prompt must be under {MAX_PROMPT_CHARS} characters.")
    return DraftOptions(
        model=model,
        aspect=aspect,
        exact_prompt=exact,
        num_frames=_number(values, "--frames", int, 1, 1000),
        seconds=_number(values, "--seconds", float, 0.5, 60.0),
        seed=_number(values, "--seed", int, 0, MAX_SEED),
        num_inference_steps=_number(values, "--steps", int, 1, MAX_STEPS),
        guidance_scale=_number(values, "--guidance", float, 0.0, MAX_GUIDANCE),
        negative_prompt=negative,
        quality="draft" if draft else None,
    )


def _number(
    values: dict[str, str], flag: str, kind: type[Number], low: Number, high: Number
) -> Number | None:
    if flag not in values:
        return None
    raw = values[flag]
    try:
        number = kind(raw)
    except ValueError:
        wanted = "a whole number" if kind is int else "a number"
        raise CommandError(f"`{flag}` takes {wanted}, not `{_shown(raw)}`.") from None
    if not low <= number <= high:
        raise CommandError(f"`{flag}` must be between {low:g} and {high:g}, not {_shown(raw)}.")
    return number
