"""The offline refiner: turns an idea into a dense CogVideoX prompt with no network and no model.

CogVideoX was trained on long, concrete captions: one paragraph naming the subject, its action, the
setting, the light, the camera and the look. This refiner keeps that paragraph as a small structured
scene (the opening words of the idea, split into subject, action and place phrases; one cue per look
slot; extra details) and treats later turns in the thread as edit operations on it: remove, replace
the subject, move the setting, change the time of day, the camera, the pace or the style, or add a
detail. The whole thread is replayed in order on every call, so the state needs no storage and the
same thread always gives the same prompt. Bedrock (when configured) does the same job with a language
model.

A picture (image-to-video) is described from its pixels by `describe_picture`: colours, brightness,
contrast, cast, orientation and where its mass lies. Pillow is imported only there.
"""

from __future__ import annotations

import colorsys
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.conversation.ports import Refinement, RefineRequest, Shot, ShotList, ShotListRequest
from bot.conversation.sessions import PICTURE_TURN
from processing_job.spec import MAX_PROMPT_CHARS

NAME = "the offline refiner"


@dataclass(frozen=True)
class Cue:
    """One look for one slot: a short name (for notes), the words that call it up, its sentence, and
    how the idea's own words say it (`phrase`, for time of day and weather: "at night")."""

    name: str
    triggers: tuple[str, ...]
    sentence: str
    phrase: str = ""


SETTINGS: list[Cue] = [
    Cue(
        "snow",
        ("snow", "snowy", "winter", "blizzard", "ice", "icy"),
        "Fresh powdery snow blankets the ground and drifts through the air, each flake catching the light.",
    ),
    Cue(
        "beach",
        ("beach", "ocean", "sea", "wave", "waves", "surf", "surfing", "shore"),
        "Turquoise waves roll in and break into white foam, with wet sand glistening along the shore.",
    ),
    Cue(
        "forest",
        ("forest", "woods", "jungle", "trees", "tree"),
        "Tall trees frame the scene, moss and ferns covering the forest floor as leaves sway gently.",
    ),
    Cue(
        "city",
        ("city", "street", "downtown", "tokyo", "new york", "alley", "rooftop"),
        "A dense city stretches out behind, with layered buildings, glowing windows and reflective pavement.",
    ),
    Cue(
        "desert",
        ("desert", "dunes", "sand"),
        "Rolling sand dunes stretch to the horizon, their ridges sharp and rippled by the wind.",
    ),
    Cue(
        "mountains",
        ("mountain", "mountains", "alps", "peak", "cliff"),
        "Jagged mountain peaks rise in the distance under a vast, open sky.",
    ),
    Cue(
        "space",
        ("space", "galaxy", "planet", "stars", "nebula", "orbit"),
        "Deep space surrounds the scene, scattered with stars and the soft glow of a distant nebula.",
    ),
    Cue(
        "underwater",
        ("underwater", "reef", "coral", "aquarium"),
        "Sunbeams pierce the clear blue water, with coral and drifting particles all around.",
    ),
    Cue(
        "interior",
        ("kitchen", "room", "studio", "office", "cafe", "café", "indoors"),
        "The interior is richly detailed, with natural textures and objects that give the space depth.",
    ),
]
ACTIONS: list[Cue] = [
    Cue(
        "running",
        ("running", "runs", "run", "racing", "sprinting", "galloping", "chasing"),
        "Each stride is crisp and energetic, kicking up small bursts from the ground with every step.",
    ),
    Cue(
        "surfing",
        ("surfing", "surfs", "riding"),
        "It balances with poise, shifting its weight as it carves smoothly across the moving water.",
    ),
    Cue(
        "flying",
        ("flying", "flies", "soaring", "gliding"),
        "It glides effortlessly through the air, wings and body moving in smooth, natural rhythm.",
    ),
    Cue(
        "swimming",
        ("swimming", "swims", "diving"),
        "It moves through the water with graceful, fluid strokes, trailing tiny bubbles.",
    ),
    Cue(
        "dancing",
        ("dancing", "dances", "spinning", "twirling"),
        "The movement is rhythmic and expressive, every turn flowing naturally into the next.",
    ),
    Cue(
        "walking",
        ("walking", "walks", "strolling", "wandering", "hiking"),
        "It moves at an unhurried pace, each step natural and grounded.",
    ),
]
# Time of day: one at a time ("make it night" replaces a sunset).
LIGHTS: list[Cue] = [
    Cue(
        "golden hour",
        ("sunset", "golden hour", "golden", "dusk", "evening"),
        "Warm golden-hour light washes over everything, casting long soft shadows and a gentle glow.",
        "at sunset",
    ),
    Cue(
        "dawn",
        ("sunrise", "dawn", "morning", "daybreak"),
        "Soft early-morning light rises over the scene, pale gold mixed with cool blue shadows.",
        "at dawn",
    ),
    Cue(
        "night",
        ("night", "nighttime", "night-time", "midnight", "moon", "moonlight", "moonlit", "dark"),
        "It is night: cool moonlight and scattered pools of warm artificial light carve the scene "
        "out of deep blue darkness.",
        "at night",
    ),
    Cue(
        "daylight",
        ("sunny", "noon", "midday", "daylight", "daytime", "day", "brighter"),
        "Bright, clear daylight gives crisp colors and well-defined shadows.",
        "in bright daylight",
    ),
]
# Weather and atmosphere: beside the time of day (a rainy night), not instead of it.
ATMOSPHERES: list[Cue] = [
    Cue(
        "neon",
        ("neon", "cyberpunk"),
        "Vivid neon signs in magenta and cyan reflect off every surface, with light haze in the air.",
        "under neon lights",
    ),
    Cue(
        "rain",
        ("rain", "rainy", "raining", "storm", "stormy"),
        "Rain falls steadily, beading on surfaces and blurring the light into soft reflections.",
        "in the rain",
    ),
    Cue(
        "mist",
        ("fog", "foggy", "mist", "misty", "haze", "hazy"),
        "A low mist softens the distance, diffusing the light into a calm, muted glow.",
        "in the mist",
    ),
]
CAMERAS: list[Cue] = [
    Cue(
        "slow glide",
        ("slower", "slow", "calm", "gentle", "steady", "smoother", "smooth"),
        "The camera moves slowly and steadily, a gentle glide that lets every detail register.",
    ),
    Cue(
        "handheld",
        ("faster", "fast", "dynamic", "energetic", "handheld", "shaky"),
        "The camera moves quickly and dynamically, following the action with energetic handheld motion.",
    ),
    Cue(
        "drone shot",
        ("aerial", "drone", "bird's-eye", "birds-eye", "overhead", "from above"),
        "An aerial drone shot sweeps over the scene from above, slowly revealing its full scale.",
    ),
    Cue(
        "close-up",
        ("close-up", "closeup", "close up", "closer", "macro"),
        "A close-up shot keeps the subject large in frame, with the background melting into soft bokeh.",
    ),
    Cue(
        "zoom in",
        ("zoom in", "zooms in", "zooming in", "push in", "pushes in", "dolly in", "dolly-in", "zoom"),
        "The camera slowly zooms in, the subject growing in the frame as the surroundings fall away.",
    ),
    Cue(
        "zoom out",
        ("zoom out", "zooms out", "pull back", "pulls back", "dolly out", "pull out"),
        "The camera slowly pulls back, revealing more and more of the surroundings around the subject.",
    ),
    Cue(
        "wide shot",
        ("wide", "wider", "establishing", "panorama", "panoramic"),
        "A wide establishing shot shows the subject small against the expansive scene.",
    ),
    Cue(
        "orbit",
        ("orbit", "orbiting", "circling", "circle around", "360"),
        "The camera circles slowly around the subject in a smooth orbit.",
    ),
    Cue(
        "pan",
        ("pan", "pans", "panning"),
        "The camera pans smoothly across the scene, following the subject from one side to the other.",
    ),
    Cue(
        "tracking shot",
        ("tracking", "track", "follow", "following"),
        "The camera tracks alongside at a steady pace, keeping the subject sharply in focus.",
    ),
    Cue(
        "static shot",
        ("static", "still", "tripod", "locked", "locked-off", "fixed", "no camera movement"),
        "The camera stays locked off on a tripod while the scene moves within the frame.",
    ),
]
# Camera words that mean a camera move only when the camera is named ("slower camera", not "slower").
WEAK_CAMERA = frozenset({"slow glide", "handheld", "static shot", "tracking shot"})
CAMERA_WORDS = re.compile(r"\b(camera|shot|angle|framing|lens|cam|movement|move|moves)\b", re.IGNORECASE)
PACES: list[Cue] = [
    Cue(
        "slower",
        ("slower", "slow", "slow motion", "slow-motion", "slow down", "calmer", "gentler"),
        "Everything moves in smooth, unhurried slow motion, each movement lingering.",
    ),
    Cue(
        "faster",
        ("faster", "fast", "quicker", "quick", "speed up", "sped up", "energetic"),
        "The motion is brisk and quick, full of energy from the first frame to the last.",
    ),
]
STYLES: list[Cue] = [
    Cue(
        "anime",
        ("anime", "manga", "ghibli"),
        "Rendered in a hand-drawn anime style with clean lines and painterly backgrounds.",
    ),
    Cue(
        "watercolor",
        ("watercolor", "watercolour", "painting", "painted"),
        "Styled as a soft watercolor painting come to life.",
    ),
    Cue(
        "3D animation",
        ("pixar", "3d", "animated", "cartoon"),
        "Styled like a polished 3D animated film, with soft lighting and charm.",
    ),
    Cue(
        "claymation",
        ("claymation", "clay", "stop-motion", "stop motion"),
        "Styled as tactile stop-motion claymation.",
    ),
    Cue(
        "black and white",
        ("noir", "black and white", "black-and-white", "monochrome", "b&w", "greyscale", "grayscale"),
        "Shot in high-contrast black and white, film noir.",
    ),
    Cue(
        "vintage film",
        ("vintage", "retro", "8mm", "vhs", "old film"),
        "A vintage film look with warm grain and gentle gate weave.",
    ),
    Cue(
        "cinematic",
        ("realistic", "photorealistic", "cinematic", "documentary", "real", "film", "movie"),
        "Photorealistic and cinematic, with natural color grading, shallow depth of field and fine detail.",
    ),
]
# The slots a reply can change by naming a cue, with the label a note uses for each.
LOOK_SLOTS: list[tuple[str, str, list[Cue]]] = [
    ("light", "light", LIGHTS),
    ("atmosphere", "atmosphere", ATMOSPHERES),
    ("camera", "camera", CAMERAS),
    ("pace", "pace", PACES),
    ("style", "style", STYLES),
]
DEFAULT_SETTING = (
    "The surroundings are rich in texture and depth, with a clear foreground, midground and background."
)
DEFAULT_ACTION = "Subtle, continuous natural motion keeps the scene alive from the first frame to the last."
DEFAULT_STYLE = STYLES[-1].sentence
CAPTURED = "captured in rich, lifelike detail with natural, fluid motion."
MOVING_CAMERA = "The camera tracks alongside at a steady pace, keeping the subject sharply in focus."
STILL_CAMERA = "The camera slowly pushes in, drawing the eye toward the subject."
DEFAULT_LIGHT = "Soft, natural light models the forms and gives the colors gentle depth."
# Image-to-video: the picture already shows subject, setting, light and style; the prompt adds motion.
PICTURE_OPENING = (
    "The scene in the picture comes to life, keeping its subject, composition and colors "
    "from the first frame."
)
PICTURE_MOTION = (
    "Gentle, natural motion moves through it: the subject shifts and breathes while the air, light "
    "and background stay subtly alive."
)
PICTURE_STYLE = "Smooth, steady, photorealistic motion with no sudden changes or cuts."

FILLER = re.compile(
    r"\b(please|pls|can you|could you|let's|lets|make it|make the|make|change it to|change|"
    r"i want|i'd like|it should be|instead|more|a bit|a little|the|it|be|to|and|with|of|a|an|"
    r"camera|shot|style|lighting|light|scene|video)\b",
    re.IGNORECASE,
)
IMPERATIVE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+)*(?:add|include|show|put in|put|have|give it|there should be)\s+",
    re.IGNORECASE,
)

# Reading a reply ------------------------------------------------------------------------------------

POLITE = re.compile(
    r"^(?:(?:please|pls|ok|okay|now|hmm|also|and|but|then|can you|could you|would you|let's|lets|"
    r"i want(?: to)?|i'd like(?: to)?|i would like(?: to)?|how about|what about|maybe|actually)[\s,]+)+",
    re.IGNORECASE,
)
ARTICLE = re.compile(r"^(?:the|a|an|some|any|all|that|those|these|this|its|his|her|their)\s+", re.IGNORECASE)
REMOVE = re.compile(
    r"^(?:remove|delete|drop|erase|lose|hide|take out|take away|get rid of|no more|no|without|"
    r"(?:i )?(?:do not|don't) (?:want|show|need|include)|less)\s+(?P<what>.+?)(?:\s+please)?$",
    re.IGNORECASE,
)
TAKE_OUT = re.compile(r"^(?:take|get|leave)\s+(?P<what>.+?)\s+out$", re.IGNORECASE)
REPLACE = re.compile(
    r"^(?:(?:change|turn|switch|swap|replace|make)\s+(?P<old>.+?)\s+(?:(?:to|into|for|with)\s+|(?=(?:a|an)\s))"
    r"(?P<new>.+)"
    r"|(?P<new2>.+?)\s+instead\s+of\s+(?P<old2>.+)"
    r"|(?P<old3>.+?)\s+should\s+be\s+(?P<new3>.+))$",
    re.IGNORECASE,
)
BECOME = re.compile(
    r"^(?:make (?:it|them)(?: into)?|turn (?:it|them) into|change (?:it|them) (?:to|into)|it should be|"
    r"they should be|use|try|go with|switch to|"
    r"swap in|replace it with|have|how about|what about)\s+(?P<new>.+)$",
    re.IGNORECASE,
)
INSTEAD = re.compile(r"^(?P<new>.+?)\s+instead$", re.IGNORECASE)
MOVE = re.compile(
    r"^(?:move|take|set|put|place|relocate|bring|send|shift)(?:\s+(?:it|them|him|her|the scene|everything))?"
    r"\s+(?P<where>(?:to|in|into|on|onto|at|inside|under|through|across|near|by)\s+.+)$",
    re.IGNORECASE,
)
PLACE_PREPOSITIONS = (
    "in|on|at|through|across|over|under|into|onto|along|near|by|beside|inside|among|amid|around|"
    "underneath|within|between|past|toward|towards|during|from|above|below"
)
PLACE_PHRASE = re.compile(rf"^(?P<prep>{PLACE_PREPOSITIONS}|to)\s+(?P<what>.+)$", re.IGNORECASE)
ADD = re.compile(
    r"^(?:add|include|show|put in|give it|give (?:him|her|them)|there should be|with|plus)\s+(?P<what>.+)$",
    re.IGNORECASE,
)
CLAUSE_BREAK = re.compile(
    r"\s*[,;.!?]+\s*|\s+(?:and|but|then|also|plus)\s+(?=(?:make|change|remove|add|use|"
    r"move|set|put|turn|replace|swap|get|no|without|give|zoom|pan|try|switch|drop|"
    r"take|delete|lose|with)\b)",
    re.IGNORECASE,
)
LIST_BREAK = re.compile(r"\s*(?:,|\band\b|\bor\b|&)\s*", re.IGNORECASE)
SUBJECT_PRONOUNS = frozenset(
    {"it", "them", "the subject", "the animal", "the character", "the main character"}
)
SETTING_WORDS = frozenset({"setting", "location", "place", "background", "backdrop", "scene", "scenery"})
LIGHT_WORDS = frozenset({"light", "lighting", "time", "time of day"})
ON_PLACES = frozenset(
    {
        "beach",
        "shore",
        "street",
        "rooftop",
        "roof",
        "mountain",
        "mountains",
        "moon",
        "ice",
        "sand",
        "island",
        "lake",
        "river",
        "road",
        "field",
        "hill",
        "stage",
        "mars",
    }
)
NOT_ACTIONS = frozenset(
    {
        "king",
        "ring",
        "wing",
        "thing",
        "string",
        "spring",
        "morning",
        "evening",
        "building",
        "painting",
        "ceiling",
        "swing",
        "sibling",
        "pudding",
        "duckling",
        "darling",
        "clothing",
        "wedding",
        "sing",
        "bring",
        "ping",
        "sling",
        "nothing",
        "something",
        "everything",
        "anything",
        "lightning",
        "icing",
        "viking",
    }
)
IRREGULAR_PLURALS = {
    "wolf": "wolves",
    "mouse": "mice",
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "fish": "fish",
    "sheep": "sheep",
    "deer": "deer",
    "goose": "geese",
    "tooth": "teeth",
    "foot": "feet",
    "leaf": "leaves",
    "elf": "elves",
    "calf": "calves",
    "knife": "knives",
}
PLEASANTRY = re.compile(
    r"^(?:thanks?(?: you)?|thx|ty|great|perfect|nice|cool|awesome|love it|looks (?:good|great)|ok|okay|"
    r"yes|yep|sure|wow|lovely|amazing)(?:\s+(?:a lot|so much|very much|again))?[\s!.]*$",
    re.IGNORECASE,
)
MASS_NOUNS = frozenset(
    {"snow", "sand", "water", "space", "grass", "mud", "ice", "fog", "rain", "mist", "darkness"}
)
# Control and formatting characters (NUL, escapes, bidirectional overrides, zero-width marks): never
# part of a caption.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
NOTE_QUOTE_CHARS = 60  # a note quotes a reply's words, shortened: it is one line under the card
NOTE_QUOTES = 3
CURLY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


@dataclass
class _Phrase:
    kind: str  # subject, action, setting, light, atmosphere, other
    text: str


@dataclass
class _Scene:
    opening: list[_Phrase] = field(default_factory=list)  # the idea's own words, in order
    cues: dict[str, Cue | None] = field(default_factory=dict)  # slot -> its look
    details: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # words the person asked to see no more
    subject_text: str = ""  # an image-to-video subject the person named
    changed: list[str] = field(default_factory=list)  # what the newest turn changed, for the note
    removed_now: list[str] = field(default_factory=list)
    added_now: list[str] = field(default_factory=list)
    unapplied: list[str] = field(default_factory=list)
    not_removed: list[str] = field(default_factory=list)

    def phrase(self, kind: str) -> _Phrase | None:
        return next((p for p in self.opening if p.kind == kind), None)

    @property
    def subject(self) -> str:
        found = self.phrase("subject")
        return found.text if found else self.subject_text

    def opening_text(self) -> str:
        return " ".join(p.text for p in self.opening if p.text)

    def start_turn(self) -> None:
        self.changed, self.removed_now, self.added_now, self.unapplied, self.not_removed = [], [], [], [], []


def _words(text: str) -> str:
    return " ".join(text.translate(CURLY).split())


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) is not None


def _plural(word: str) -> str:
    lower = word.lower()
    if lower in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[lower]
    if re.search(r"(s|x|z|ch|sh)$", lower):
        return word + "es"
    if re.search(r"[^aeiou]y$", lower):
        return word[:-1] + "ies"
    return word + "s"


def _forms(word: str) -> set[str]:
    """A word and the forms a person means by it: snow, snows, snowy; trees, tree."""
    word = word.lower()
    forms = {word, _plural(word), word + "y"}
    singular = {v: k for k, v in IRREGULAR_PLURALS.items()}.get(word)
    if singular:
        forms.add(singular)
    elif word.endswith("ies"):
        forms.add(word[:-3] + "y")
    elif word.endswith("es") and re.search(r"(s|x|z|ch|sh)es$", word):
        forms.add(word[:-2])
    elif word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return forms


def _bare(text: str) -> str:
    """A noun phrase without its article and trailing politeness: "the snow" -> "snow"."""
    text = _words(text).strip(" .!?,;:")
    text = re.sub(r"\s+(?:please|instead|too|as well|now)$", "", text, flags=re.IGNORECASE)
    while True:
        stripped = ARTICLE.sub("", text)
        if stripped == text:
            return text
        text = stripped


def _head(noun_phrase: str) -> str:
    words = re.findall(r"[\w'-]+", noun_phrase)
    return words[-1].lower() if words else ""


def _match(text: str, table: list[Cue], *, skip: set[str] = frozenset()) -> Cue | None:
    for cue in table:
        if cue.name in skip:
            continue
        if any(_has(text, t) for t in cue.triggers):
            return cue
    return None


def _match_slot(slot: str, table: list[Cue], text: str) -> Cue | None:
    """The cue a text names for one slot; camera moves like "slower" count only when the camera is
    named, and a named camera takes "slower" from the pace."""
    names_camera = CAMERA_WORDS.search(text) is not None
    if slot == "camera":
        return _match(text, table, skip=set() if names_camera else set(WEAK_CAMERA))
    if slot == "pace" and names_camera:
        return None
    return _match(text, table)


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip(" .!?,;:")
    return text[:1].upper() + text[1:] if text else ""


def _with_article(noun_phrase: str) -> str:
    text = _words(noun_phrase).strip(" .!?,;:")
    if (
        not text
        or ARTICLE.match(text + " ")
        or re.match(r"^\d|^(?:two|three|four|five|six|many|several)\b", text, re.IGNORECASE)
    ):
        return text
    if (text.lower().endswith("s") and not text.lower().endswith("ss")) or text.lower() in MASS_NOUNS:
        return text  # plural or uncountable: "cats", "snow"
    return ("an " if text[0].lower() in "aeiou" else "a ") + text


# The idea -------------------------------------------------------------------------------------------

PREPOSITION_SPLIT = re.compile(rf"\s+(?=(?:{PLACE_PREPOSITIONS}|with)\s)", re.IGNORECASE)


def _parse_idea(idea: str) -> list[_Phrase]:
    """ "a red fox running through snow at sunset" -> subject "a red fox", action "running",
    setting "through snow", light "at sunset"."""
    idea = _words(idea).strip(" .!?,;:")
    pieces = PREPOSITION_SPLIT.split(idea)
    head, rest = pieces[0], pieces[1:]
    phrases: list[_Phrase] = []
    words = head.split()
    verb_at = next(
        (i for i, w in enumerate(words) if i > 0 and _is_action_word(w)),
        None,
    )
    if verb_at is None:
        phrases.append(_Phrase("subject", head))
    else:
        phrases.append(_Phrase("subject", " ".join(words[:verb_at])))
        phrases.append(_Phrase("action", " ".join(words[verb_at:])))
    for piece in rest:
        phrases.append(_Phrase(_place_kind(piece), piece))
    return phrases


def _is_action_word(word: str) -> bool:
    lower = word.lower().strip(",.")
    if lower in NOT_ACTIONS:
        return False
    if any(lower in cue.triggers for cue in ACTIONS):
        return True
    return len(lower) > 4 and lower.endswith("ing")


def _place_kind(phrase: str) -> str:
    if phrase.lower().startswith("with "):
        return "other"
    if _match(phrase, LIGHTS):
        return "light"
    if _match(phrase, ATMOSPHERES):
        return "atmosphere"
    return "setting"


def _idea_scene(idea: str) -> _Scene:
    scene = _Scene(opening=_parse_idea(idea))
    scene.cues = {
        "setting": _match(idea, SETTINGS),
        "action": _match(idea, ACTIONS),
        **{slot: _match_slot(slot, table, idea) for slot, _, table in LOOK_SLOTS},
    }
    scene.cues["pace"] = None  # an idea's "slow" describes the subject, not the edit
    return scene


# Edits ----------------------------------------------------------------------------------------------


def _clauses(text: str) -> list[str]:
    text = _words(text)
    text = re.sub(r"\bblack and white\b", "black-and-white", text, flags=re.IGNORECASE)
    return [c for c in (part.strip(" .!?,;:") for part in CLAUSE_BREAK.split(text)) if c]


def _apply_turn(scene: _Scene, text: str) -> None:
    previous_add: int | None = None  # the detail an "add …, …" clause started, to join its tail onto
    for clause in _clauses(text):
        kind = _apply_clause(scene, clause)
        if kind == "unknown" and previous_add is not None:
            scene.unapplied.pop()
            scene.details[previous_add] = scene.details[previous_add].rstrip(".") + f", {clause}."
            continue
        previous_add = len(scene.details) - 1 if kind == "added" else None


def _apply_clause(scene: _Scene, clause: str) -> str:
    """Apply one clause; what kind of edit it was."""
    clause = POLITE.sub("", clause).strip()
    if not clause or PLEASANTRY.match(clause):
        return "empty"
    lower = clause.lower()
    if re.search(r"\b(?:no|without|stop the|less)\s+(?:camera\s+)?(?:movement|motion|moves)\b", lower):
        _set_cue(scene, "camera", "camera", CAMERAS[-1])
        return "changed"
    if found := REMOVE.match(clause) or TAKE_OUT.match(clause):
        if _remove(scene, found.group("what")):
            return "removed"
        # Nothing to remove: said so, and not kept, since "no fox" as a detail would only confuse.
        what = _bare(found.group("what"))
        if scene.subject and _head(scene.subject) in _forms(_head(what)):
            why = f"the {what} is the subject; say what should take its place"
        else:
            why = f"the prompt has no {what}"
        scene.not_removed.append(f"“{_short(clause)}” ({_short(why)})")
        return "not removed"
    if found := MOVE.match(clause):
        where = found.group("where")
        if _apply_looks(scene, where):
            return "changed"
        _set_setting(scene, where)
        return "changed"
    if found := REPLACE.match(clause):
        old = found.group("old") or found.group("old2") or found.group("old3")
        new = found.group("new") or found.group("new2") or found.group("new3")
        if _replace(scene, old, new):
            return "changed"
    if (found := BECOME.match(clause) or INSTEAD.match(clause)) and _become(scene, found.group("new")):
        return "changed"
    if found := ADD.match(clause):
        what = re.sub(r"\s+(?:back|again|too|as well)$", "", found.group("what"), flags=re.IGNORECASE)
        if _apply_looks(scene, what) and len(_leftover(what)) < 3:
            return "changed"
        place = _match(what, SETTINGS)
        if place is not None and scene.cues.get("setting") is None and len(_leftover(what)) < 3:
            _set_setting(scene, _with_article(_bare(what)))  # "add snow back" after "remove the snow"
            return "changed"
        _add_detail(scene, what)
        return "added"
    if found := PLACE_PHRASE.match(clause):
        if _apply_looks(scene, clause):
            return "changed"
        if found.group("prep").lower() not in ("with", "during"):
            _set_setting(scene, clause)
            return "changed"
    # Words that only describe ("the waves roll in at sunset"): the looks they name are applied, and
    # the words themselves kept when they say more than the cue.
    matched = _apply_looks(scene, clause)
    place = _match(clause, SETTINGS)
    if place is not None:
        matched = True
        if place != scene.cues.get("setting"):
            _set_setting(scene, _with_article(place.name if len(_leftover(clause)) >= 3 else _bare(clause)))
    if not matched:
        return _keep_unapplied(scene, clause)
    if len(_leftover(clause)) >= 3:
        _add_detail(scene, clause)
    return "changed"


def _leftover(text: str) -> list[str]:
    return FILLER.sub(" ", text).split()


def _keep_unapplied(scene: _Scene, clause: str) -> str:
    scene.unapplied.append(clause)
    scene.details.append(_sentence(IMPERATIVE.sub("", clause)) + ".")
    return "unknown"


def _add_detail(scene: _Scene, what: str) -> None:
    what = IMPERATIVE.sub("", _words(what)).strip(" .!?,;:")
    scene.details.append(_sentence(what) + ".")
    scene.added_now.append(what[:1].lower() + what[1:])
    _allow(scene, what)


def _allow(scene: _Scene, text: str) -> None:
    """Words a person asks for again are no longer removed."""
    asked = {w.lower() for w in re.findall(r"[\w'-]+", text)}
    scene.removed = {w for w in scene.removed if not (_forms(w) & asked)}


def _apply_looks(scene: _Scene, text: str) -> bool:
    """Set every look slot the text names; whether it named any."""
    matched = False
    for slot, label, table in LOOK_SLOTS:
        cue = _match_slot(slot, table, text)
        if cue is not None:
            _set_cue(scene, slot, label, cue)
            matched = True
    return matched


def _set_cue(scene: _Scene, slot: str, label: str, cue: Cue) -> None:
    if scene.cues.get(slot) != cue:
        scene.cues[slot] = cue
    if label not in scene.changed:
        scene.changed.append(label)
    _allow(scene, " ".join(cue.triggers))
    if cue.phrase and scene.opening:
        # The idea's own words must agree: "a fox at sunset" becomes "a fox at night", and "a fox
        # running through snow" becomes "a fox running through snow at night".
        named = [phrase for phrase in scene.opening if phrase.kind == slot]
        for phrase in named:
            phrase.text = cue.phrase
        if not named:
            scene.opening.append(_Phrase(slot, cue.phrase))


def _setting_name(scene: _Scene) -> str:
    phrase = scene.phrase("setting")
    if phrase is not None:
        found = PLACE_PHRASE.match(phrase.text)
        return _bare(found.group("what") if found else phrase.text)
    cue = scene.cues.get("setting")
    return cue.name if cue else "none"


def _set_setting(scene: _Scene, where: str) -> None:
    """Put the scene somewhere else: the idea's place phrase and the setting's sentence both change."""
    where = _bare_place(where)
    found = PLACE_PHRASE.match(where)
    named = found.group("what") if found else where  # the person's own article: "the beach", "tokyo"
    place = _bare(named)
    prep = found.group("prep").lower() if found else ""
    if prep in ("", "to", "into", "onto", "toward", "towards"):
        prep = "on" if _head(place) in ON_PLACES else "in"
    old = _setting_name(scene)
    new_phrase = f"{prep} {named}" if place else where
    settings = [p for p in scene.opening if p.kind == "setting"]
    if settings:
        settings[0].text = new_phrase
        scene.opening = [p for p in scene.opening if p.kind != "setting" or p is settings[0]]
    else:
        after = [i + 1 for i, p in enumerate(scene.opening) if p.kind in ("subject", "action")]
        scene.opening.insert(max(after, default=len(scene.opening)), _Phrase("setting", new_phrase))
    scene.cues["setting"] = _match(place, SETTINGS)
    _allow(scene, place)
    scene.changed.append(f"setting ({old} → {place})" if old != "none" else f"setting (→ {place})")


def _bare_place(where: str) -> str:
    return re.sub(r"\s+instead$", "", _words(where).strip(" .!?,;:"), flags=re.IGNORECASE)


def _become(scene: _Scene, new: str) -> bool:
    """ "make it a wolf", "a wolf instead", "use a cat", "make it night", "in a desert instead"."""
    new = _bare_place(new)
    if _apply_looks(scene, new):
        return True
    if PLACE_PHRASE.match(new) or _match(new, SETTINGS):
        _set_setting(scene, new)
        return True
    bare = _bare(new)
    looks_like_noun = bool(ARTICLE.match(new + " ")) or len(bare.split()) <= 3
    comparison = re.match(r"^(?:more|less|very|much|bit|little|lot|touch|so|way|even)\b", bare, re.IGNORECASE)
    if not bare or not looks_like_noun or comparison:
        return False
    if bare.lower().endswith(("er", "ier")) and len(bare.split()) == 1 and not ARTICLE.match(new + " "):
        return False  # "make it bigger": a comparison, not a new subject
    _replace_subject(scene, _with_article(new))
    return True


def _replace(scene: _Scene, old: str, new: str) -> bool:
    """ "change the fox to a wolf", "replace the sunset with dawn", "the fox should be a wolf"."""
    old_bare = _bare(old).lower()
    new = _bare_place(new)
    subject = scene.subject
    if old_bare in {_bare(p) for p in SUBJECT_PRONOUNS} or old.lower().strip() in SUBJECT_PRONOUNS:
        return _become(scene, new)
    if subject and (_has(subject, old_bare) or _head(subject) in _forms(_head(old_bare))):
        _replace_subject(scene, _with_article(new))
        return True
    if (
        old_bare in SETTING_WORDS
        or (scene.cues.get("setting") and old_bare in _forms(_setting_name(scene)))
        or (any(_has(p.text, old_bare) for p in scene.opening if p.kind == "setting"))
    ):
        if not _apply_looks(scene, new):
            _set_setting(scene, new)
        return True
    if old_bare in LIGHT_WORDS or any(_match(old_bare, table) for _, _, table in LOOK_SLOTS):
        return _apply_looks(scene, new) or _apply_looks(scene, f"{new} {old_bare}")
    for i, detail in enumerate(scene.details):
        if _has(detail, old_bare):
            scene.details[i] = re.sub(
                rf"(?<![\w-])(?:the |a |an )?{re.escape(old_bare)}(?![\w-])",
                _with_article(new),
                detail,
                flags=re.IGNORECASE,
            )
            scene.changed.append(f"detail ({old_bare} → {_bare(new)})")
            return True
    return False


def _replace_subject(scene: _Scene, new: str) -> None:
    """The subject noun changes everywhere the paragraph names it, not only in its first words."""
    phrase = scene.phrase("subject")
    old = phrase.text if phrase else scene.subject_text
    old_head, new_head = _head(old), _head(new)
    count = re.match(r"^(?:two|three|four|five|six|seven|eight|nine|ten|\d+|many|several|a few)\s", old, re.I)
    if count and len(new.split()) == 1:
        new = f"{count.group(0)}{new}"  # "two foxes" -> "two wolves"
    if phrase is not None:
        phrase.text = new
    else:
        scene.subject_text = new
    if old_head and new_head and old_head != new_head:
        swaps = [(_plural(old_head), _plural(new_head)), (old_head, new_head)]
        for p in scene.opening:
            if p is not phrase:
                p.text = _swap_words(p.text, swaps)
        scene.details = [_swap_words(d, swaps) for d in scene.details]
    _allow(scene, new)
    before = _bare(old) and _head(old)
    scene.changed.append(f"subject ({before} → {new_head})" if before else f"subject (→ {_bare(new)})")


def _swap_words(text: str, swaps: list[tuple[str, str]]) -> str:
    for old, new in swaps:
        text = re.sub(
            rf"(?<![\w-]){re.escape(old)}(?![\w-])",
            lambda m, new=new: new.capitalize() if m.group(0)[:1].isupper() else new,
            text,
            flags=re.IGNORECASE,
        )
    return text


def _remove(scene: _Scene, what: str) -> bool:
    """Drop every trace of the named things: their look cues, the idea's words, details that name them."""
    applied = False
    for target in (_bare(t) for t in LIST_BREAK.split(_words(what))):
        if not target:
            continue
        forms = (
            set().union(*(_forms(w) for w in target.lower().split()))
            if " " not in target
            else {target.lower(), *_forms(_head(target))}
        )
        if _remove_one(scene, target, forms):
            applied = True
            scene.removed_now.append(target)
    return applied


def _remove_one(scene: _Scene, target: str, forms: set[str]) -> bool:
    found = False
    for slot in ("setting", "action", *(slot for slot, _, _ in LOOK_SLOTS)):
        cue = scene.cues.get(slot)
        if cue is not None and (
            forms & set(cue.triggers) or cue.name.lower() in forms or target.lower() == cue.name.lower()
        ):
            scene.cues[slot] = None
            found = True
    subject = scene.phrase("subject")
    kept: list[_Phrase] = []
    for phrase in scene.opening:
        mentions = any(_has(phrase.text, f) for f in forms)
        if not mentions:
            kept.append(phrase)
        elif phrase is subject:
            # The subject stays; only the removed word goes ("a snowy owl" -> "an owl").
            if _head(phrase.text) in forms:
                kept.append(phrase)
                continue
            text = phrase.text
            for f in forms:
                text = re.sub(rf"\s*(?<![\w-]){re.escape(f)}(?![\w-])", "", text, flags=re.IGNORECASE)
            phrase.text = _with_article(_bare(text)) if ARTICLE.match(phrase.text) else text.strip()
            kept.append(phrase)
            found = True
        else:
            found = True  # "through snow" goes
            if phrase.kind == "action":
                scene.cues["action"] = None
    scene.opening = kept
    details = [d for d in scene.details if not any(_has(d, f) for f in forms)]
    if len(details) != len(scene.details):
        found = True
    scene.details = details
    if found:
        scene.removed |= forms
        if scene.cues.get("setting") is None:
            scene.cues["setting"] = _match(_unremoved(scene, scene.opening_text()), SETTINGS)
    return found


def _unremoved(scene: _Scene, text: str) -> str:
    for word in scene.removed:
        text = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", " ", text, flags=re.IGNORECASE)
    return text


# The refiner ----------------------------------------------------------------------------------------


class OfflineRefiner:
    """A Refiner that needs nothing but this module (and Pillow, to describe a picture)."""

    name = NAME

    def refine(self, request: RefineRequest, on_text: Callable[[str], None] | None = None) -> Refinement:
        description = ""
        if request.mode == "i2v":
            scene = self._picture_scene(request)
            if request.image:
                description = describe_picture(request.image)
            prompt = self._compose_motion(scene, description, request.max_words)
        else:
            scene = self._scene(request)
            prompt = self._compose(scene, request.max_words)
        if on_text is not None:
            on_text(prompt)
        newest = (_user_turns(request) or [""])[-1].strip()
        if request.mode == "i2v" and (request.current_prompt is None or newest == PICTURE_TURN):
            note = (
                "Described the picture's colours, light and composition, and added motion, camera and style."
                if description
                else "Added motion, camera and style to the picture."
            )
        elif _user_turns(request)[1:] or request.mode == "i2v":
            note = _note(scene)
        else:
            note = "Added setting, motion, light, camera and style details."
        return Refinement(prompt=prompt, refiner=NAME, note=note)

    def _scene(self, request: RefineRequest) -> _Scene:
        user_turns = _user_turns(request)
        if not user_turns:
            return _Scene()
        scene = _idea_scene(user_turns[0])
        for turn in user_turns[1:]:
            scene.start_turn()
            _apply_turn(scene, turn)
        return scene

    def _picture_scene(self, request: RefineRequest) -> _Scene:
        """Every word in the thread is an edit of the picture's motion prompt."""
        scene = _Scene()
        for text in _user_turns(request):
            scene.start_turn()
            if text.strip() != PICTURE_TURN:
                _apply_turn(scene, text)
        return scene

    def _compose_motion(self, scene: _Scene, description: str, max_words: int) -> str:
        cues = scene.cues
        parts = [
            PICTURE_OPENING,
            description,
            f"{_sentence(scene.subject_text)} is the main subject." if scene.subject_text else "",
            *scene.details,
            _sentence_of(cues.get("action")) or PICTURE_MOTION,
            _sentence_of(cues.get("pace")),
            _sentence_of(cues.get("setting")),
            _sentence_of(cues.get("light")),
            _sentence_of(cues.get("atmosphere")),
            _sentence_of(cues.get("camera")) or STILL_CAMERA,
            _sentence_of(cues.get("style")) or PICTURE_STYLE,
        ]
        return _fit(" ".join(_without_removed(scene, parts, keep_first=1)), max_words)

    def _compose(self, scene: _Scene, max_words: int) -> str:
        cues = scene.cues
        camera = _sentence_of(cues.get("camera")) or (
            MOVING_CAMERA if cues.get("action") or scene.phrase("action") else STILL_CAMERA
        )
        parts = [
            f"{_sentence(scene.opening_text())}, {CAPTURED}",
            _sentence_of(cues.get("setting")) or DEFAULT_SETTING,
            _sentence_of(cues.get("action")) or DEFAULT_ACTION,
            _sentence_of(cues.get("pace")),
            *scene.details,
            _sentence_of(cues.get("light")) or DEFAULT_LIGHT,
            _sentence_of(cues.get("atmosphere")),
            camera,
            _sentence_of(cues.get("style")) or DEFAULT_STYLE,
        ]
        return _fit(" ".join(_without_removed(scene, parts, keep_first=1)), max_words)

    def shot_list(self, request: ShotListRequest) -> ShotList:
        """A plausible storyboard: the idea's subject and setting in every shot, one look (light,
        atmosphere, style) throughout, and a different framing and camera move per shot."""
        scene = _idea_scene(CONTROL.sub("", request.idea))
        subject = _with_article(_head_phrase(scene)) or "the subject"
        framings = _framings(request.shots)
        cues = scene.cues
        continuity = [
            _sentence_of(cues.get("setting")) or DEFAULT_SETTING,
            _sentence_of(cues.get("action")) or DEFAULT_ACTION,
            _sentence_of(cues.get("light")) or DEFAULT_LIGHT,
            _sentence_of(cues.get("atmosphere")),
            _sentence_of(cues.get("style")) or DEFAULT_STYLE,
        ]
        shots = []
        for title, framing, camera in framings:
            opening = (
                _sentence(framing.format(subject=subject, idea=_words(scene.opening_text()).strip(" .")))
                + "."
            )
            parts = [opening, camera, *continuity, CAPTURED.capitalize()]
            prompt = _fit(" ".join(p for p in parts if p), request.max_words)
            shots.append(Shot(title=title, prompt=prompt))
        note = "The same subject, setting and look in every shot; a new framing and camera move in each."
        return ShotList(shots=tuple(shots), refiner=NAME, note=note)


# A storyboard's shots: (title, framing, camera move). The first opens wide, the last closes wide; the
# ones between come closer and move around the subject.
OPENING_SHOT = (
    "Establishing wide",
    "A wide establishing shot of {idea}, the whole setting in view",
    "The camera slowly pushes in from a distance.",
)
MIDDLE_SHOTS = (
    ("Medium shot", "A medium shot of {idea}", "The camera tracks alongside at a steady pace."),
    (
        "Close-up",
        "A close-up of {subject}, its face and texture filling the frame",
        "The camera holds still with a shallow depth of field.",
    ),
    (
        "Low angle",
        "A low-angle shot looking up at {subject}",
        "The camera rises slowly as the subject passes.",
    ),
    (
        "Over the shoulder",
        "A shot from behind {subject}, looking where it goes",
        "The camera follows closely, handheld and smooth.",
    ),
    (
        "Detail",
        "An extreme close-up detail of {subject} in motion",
        "The camera racks focus from foreground to subject.",
    ),
    (
        "Aerial",
        "A high aerial view of {subject} in the wide landscape",
        "The camera drifts overhead like a drone.",
    ),
)
CLOSING_SHOT = (
    "Closing wide",
    "A wide closing shot of {subject} in the setting",
    "The camera slowly pulls back and rises, leaving the scene.",
)


def _framings(count: int) -> list[tuple[str, str, str]]:
    middle = [MIDDLE_SHOTS[i % len(MIDDLE_SHOTS)] for i in range(max(0, count - 2))]
    return [OPENING_SHOT, *middle, CLOSING_SHOT][:count] if count >= 2 else [OPENING_SHOT][:count]


def _head_phrase(scene: _Scene) -> str:
    """The subject as a short noun phrase ("a red fox"), for "a close-up of a red fox"."""
    subject = scene.subject.strip()
    return subject or " ".join(scene.opening_text().split()[:4])


def _user_turns(request: RefineRequest) -> list[str]:
    texts = (CONTROL.sub("", t.text) for t in request.turns if t.role == "user")
    return [text for text in texts if text.strip()]


def _sentence_of(cue: Cue | None) -> str:
    return cue.sentence if cue else ""


def _without_removed(scene: _Scene, parts: list[str], *, keep_first: int) -> list[str]:
    """No sentence may bring back what the person removed (the opening was already edited)."""
    kept = [p for p in parts[:keep_first] if p]
    for part in parts[keep_first:]:
        if part and not any(_has(part, word) for word in scene.removed):
            kept.append(part)
    return kept


def _note(scene: _Scene) -> str:
    lines = []
    if scene.changed:
        lines.append("Changed: " + ", ".join(dict.fromkeys(scene.changed)) + ".")
    if scene.removed_now:
        lines.append("Removed: " + ", ".join(scene.removed_now) + ".")
    if scene.added_now:
        lines.append("Added: " + ", ".join(scene.added_now) + ".")
    if scene.unapplied:
        quoted = _few([f"“{_short(u)}”" for u in scene.unapplied], ", ")
        lines.append(f"Nothing I could apply: {quoted}; I kept it as a detail.")
    if scene.not_removed:
        lines.append("Nothing I could remove: " + _few(scene.not_removed, "; ") + ".")
    return " ".join(lines) or "Nothing changed."


def _short(text: str) -> str:
    return text if len(text) <= NOTE_QUOTE_CHARS else text[: NOTE_QUOTE_CHARS - 1].rstrip() + "…"


def _few(items: list[str], separator: str) -> str:
    shown = separator.join(items[:NOTE_QUOTES])
    return shown + (f" and {len(items) - NOTE_QUOTES} more" if len(items) > NOTE_QUOTES else "")


def _fit(text: str, max_words: int) -> str:
    words = text.split()
    if len(words) > max_words:
        words = words[:max_words]
        words[-1] = words[-1].rstrip(",;:") + ("" if words[-1].endswith(".") else ".")
    return " ".join(words)[:MAX_PROMPT_CHARS]


# Pictures -------------------------------------------------------------------------------------------

ANALYSIS_SIDE = 64  # the picture is read at most 64 pixels a side: plenty for colours and layout


def describe_picture(data: bytes) -> str:
    """A picture's look in words, from its pixels: brightness, cast, contrast, dominant colours,
    orientation and composition (a distinct shape and where it sits, a horizon line, which side is
    brighter). "" when the bytes aren't a picture Pillow can read. Deterministic."""
    try:
        from PIL import Image, ImageOps
    except ImportError:  # a bundle without Pillow: the motion prompt works from the words alone
        return ""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > 60_000_000:
                return ""
            opened.draft("RGB", (ANALYSIS_SIDE * 4, ANALYSIS_SIDE * 4))  # JPEG: decode small
            upright = ImageOps.exif_transpose(opened)
            width, height = upright.size
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
                rgba = upright.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
            else:
                flat = upright.convert("RGB")
            scale = ANALYSIS_SIDE / max(width, height)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = flat.resize(size, Image.Resampling.BOX) if scale < 1 else flat.copy()
            palette_image = small.quantize(colors=6, method=Image.Quantize.MEDIANCUT)
            palette = palette_image.getpalette() or []
            counts = sorted(palette_image.getcolors() or [], key=lambda c: (-c[0], c[1]))
            raw = small.tobytes()
    except Exception:  # a picture Pillow can't read is described from the words alone
        return ""
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    colours = [(count, tuple(palette[3 * index : 3 * index + 3])) for count, index in counts]
    return _picture_words(_PictureFacts.of(pixels, small.size, (width, height), colours))


@dataclass(frozen=True)
class _PictureFacts:
    width: int  # the analysed size
    height: int
    orientation: str
    brightness: str
    contrast: str
    cast: str
    dominant: list[str]
    shape: tuple[str, str, str, str] | None  # (bright|dark, round|"", colour, where)
    horizon: tuple[str, str, str] | None  # (where, colour above, colour below)
    side: str  # "left", "right", "top" or "bottom" when one side is clearly brighter

    @classmethod
    def of(
        cls,
        pixels: list[tuple[int, ...]],
        size: tuple[int, int],
        full: tuple[int, int],
        colours: list[tuple[int, tuple[int, ...]]],
    ) -> _PictureFacts:
        width, height = size
        total = len(pixels)
        luma = [0.299 * r + 0.587 * g + 0.114 * b for r, g, b in pixels]
        mean = sum(luma) / total
        ordered = sorted(luma)
        spread = ordered[int(total * 0.98) - 1 if total > 1 else 0] - ordered[int(total * 0.02)]
        red = sum(p[0] for p in pixels) / total
        blue = sum(p[2] for p in pixels) / total
        ratio = full[0] / full[1]
        orientation = "landscape" if ratio > 1.15 else "portrait" if ratio < 0.87 else "square"
        brightness = (
            "dark"
            if mean < 70
            else "dim"
            if mean < 110
            else "softly lit"
            if mean < 150
            else "bright"
            if mean < 195
            else "high-key"
        )
        contrast = "low-contrast" if spread < 60 else "high-contrast" if spread > 170 else ""
        cast = "warm" if red - blue > 25 else "cool" if blue - red > 25 else ""
        shares: dict[str, int] = {}
        for count, rgb in colours:
            name = colour_name(rgb)
            shares[name] = shares.get(name, 0) + count
        ranked = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
        dominant = [name for name, count in ranked if count / total >= 0.07][:3] or [ranked[0][0]]
        background = max(colours, key=lambda c: (c[0], c[1]))[1]
        shape = _distinct_shape(pixels, width, height, background, luma) or _bright_spot(
            pixels, width, height, luma, ordered
        )
        horizon = _horizon(pixels, width, height)
        side = ""
        if not shape and not horizon:
            half = width // 2
            left = [luma[y * width + x] for y in range(height) for x in range(half)]
            right = [luma[y * width + x] for y in range(height) for x in range(width - half, width)]
            if left and right:
                difference = sum(left) / len(left) - sum(right) / len(right)
                side = "left" if difference > 25 else "right" if difference < -25 else ""
            cut = height // 2 * width
            if not side and 0 < cut < total:
                difference = sum(luma[:cut]) / cut - sum(luma[cut:]) / (total - cut)
                side = "top" if difference > 40 else "bottom" if difference < -40 else ""
        return cls(width, height, orientation, brightness, contrast, cast, dominant, shape, horizon, side)


def _distance(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=False)) ** 0.5


def _where(cx: float, cy: float) -> str:
    vertical = "high in the frame" if cy < 0.38 else "low in the frame" if cy > 0.62 else ""
    horizontal = "to the left" if cx < 0.38 else "to the right" if cx > 0.62 else ""
    if vertical and horizontal:
        return f"{vertical}, {horizontal}"
    if vertical:
        return f"{vertical}, near the centre"
    if horizontal:
        return f"{horizontal} of centre"
    return "at the centre of the frame"


def _distinct_shape(
    pixels: list[tuple[int, ...]], width: int, height: int, background: tuple[int, ...], luma: list[float]
) -> tuple[str, str, str, str] | None:
    """One compact region that stands apart from the background colour: a sun, a face, a boat."""
    inside = [i for i, p in enumerate(pixels) if _distance(p, background) > 90]
    return _region(inside, pixels, width, height, luma)


def _bright_spot(
    pixels: list[tuple[int, ...]], width: int, height: int, luma: list[float], ordered: list[float]
) -> tuple[str, str, str, str] | None:
    """The brightest compact patch, when it is far brighter than the rest (a sun over a graded sky)."""
    threshold = max(ordered[int(len(ordered) * 0.97)], sum(luma) / len(luma) + 50)
    inside = [i for i, v in enumerate(luma) if v >= threshold]
    return _region(inside, pixels, width, height, luma)


def _region(
    inside: list[int], pixels: list[tuple[int, ...]], width: int, height: int, luma: list[float]
) -> tuple[str, str, str, str] | None:
    share = len(inside) / len(pixels)
    if not inside or not 0.004 <= share <= 0.25:
        return None
    xs = [i % width for i in inside]
    ys = [i // width for i in inside]
    box_w, box_h = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    fill = len(inside) / (box_w * box_h)
    if fill < 0.4 or not 0.2 <= box_w / box_h <= 5:
        return None  # scattered specks or a band across the frame, not one shape
    round_ = "round" if 0.7 <= box_w / box_h <= 1.4 and 0.65 <= fill <= 0.9 else ""
    cx = (sum(xs) / len(xs) + 0.5) / width
    cy = (sum(ys) / len(ys) + 0.5) / height
    mean = tuple(round(sum(pixels[i][c] for i in inside) / len(inside)) for c in range(3))
    inside_luma = sum(luma[i] for i in inside) / len(inside)
    rest_luma = (sum(luma) - inside_luma * len(inside)) / max(1, len(luma) - len(inside))
    tone = "bright" if inside_luma > rest_luma else "dark"
    return tone, round_, colour_name(mean), _where(cx, cy)


def _horizon(pixels: list[tuple[int, ...]], width: int, height: int) -> tuple[str, str, str] | None:
    """A clear split between an upper and a lower band (sky over sea, a wall over a floor)."""
    if height < 8:
        return None
    rows = [
        tuple(sum(pixels[y * width + x][c] for x in range(width)) / width for c in range(3))
        for y in range(height)
    ]
    best, best_at = 0.0, 0
    for k in range(max(1, round(height * 0.15)), min(height - 1, round(height * 0.85)) + 1):
        above = tuple(sum(r[c] for r in rows[:k]) / k for c in range(3))
        below = tuple(sum(r[c] for r in rows[k:]) / (height - k) for c in range(3))
        gap = _distance(above, below)
        if gap > best:
            best, best_at = gap, k
    if best < 60:
        return None
    k = best_at
    # A horizon crosses the whole frame: most columns change colour there, not just a shape's.
    band = max(1, height // 16)
    crossing = 0
    for x in range(width):
        upper = [pixels[y * width + x] for y in range(max(0, k - band), k)]
        lower = [pixels[y * width + x] for y in range(k, min(height, k + band))]
        upper_mean = tuple(sum(p[c] for p in upper) / len(upper) for c in range(3))
        lower_mean = tuple(sum(p[c] for p in lower) / len(lower) for c in range(3))
        crossing += _distance(upper_mean, lower_mean) > 40
    if crossing < 0.7 * width:
        return None
    above = tuple(round(sum(r[c] for r in rows[:k]) / k) for c in range(3))
    below = tuple(round(sum(r[c] for r in rows[k:]) / (height - k)) for c in range(3))
    at = k / height
    where = "high in the frame" if at < 0.4 else "low in the frame" if at > 0.6 else "across the middle"
    return where, colour_name(above), colour_name(below)


def colour_name(rgb: tuple[int, ...]) -> str:
    """A plain name for a colour: "navy blue", "golden yellow", "charcoal grey"."""
    r, g, b = (c / 255 for c in rgb[:3])
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    hue *= 360
    if value < 0.13:
        return "black"
    if saturation < 0.15 or (saturation < 0.25 and value < 0.3):
        return (
            "charcoal grey"
            if value < 0.35
            else "grey"
            if value < 0.62
            else "silver grey"
            if value < 0.86
            else "white"
        )
    dark, pale = value < 0.45, saturation < 0.4 and value > 0.75
    if hue < 12 or hue >= 345:
        return "deep red" if dark else "pink" if pale else "red"
    if hue < 40:
        if value < 0.62:
            return "brown"
        return "peach" if pale else "orange"
    if hue < 52:
        return "brown" if value < 0.55 else "cream" if pale else "golden yellow"
    if hue < 68:
        return "olive" if value < 0.55 else "pale yellow" if pale else "yellow"
    if hue < 160:
        return "dark green" if dark else "pale green" if pale else "green"
    if hue < 190:
        return "dark teal" if dark else "turquoise" if value > 0.7 else "teal"
    if hue < 212:
        return "deep blue" if value < 0.6 else "pale blue" if pale else "sky blue"
    if hue < 250:
        return "navy blue" if value < 0.5 else "pale blue" if pale else "blue"
    if hue < 285:
        return "deep purple" if dark else "lavender" if pale else "purple"
    if hue < 320:
        return "deep magenta" if dark else "pink" if pale else "magenta"
    return "deep red" if dark else "pink"


def _picture_words(facts: _PictureFacts) -> str:
    look = ", ".join(w for w in (facts.brightness, facts.cast, facts.contrast) if w)
    colours = (
        facts.dominant[0]
        if len(facts.dominant) == 1
        else ", ".join(facts.dominant[:-1]) + " and " + facts.dominant[-1]
    )
    frame = {
        "landscape": "a wide landscape frame",
        "portrait": "a tall portrait frame",
        "square": "a square frame",
    }
    article = "An" if look[:1].lower() in "aeiou" else "A"
    sentences = [f"{article} {look} scene dominated by {colours}, in {frame[facts.orientation]}."]
    if facts.shape:
        tone, round_, colour, where = facts.shape
        form = " ".join(w for w in (tone, round_, colour) if w)
        stands = "glowing against" if tone == "bright" else "silhouetted against"
        sentences.append(f"A {form} shape sits {where}, {stands} the {facts.dominant[0]} around it.")
    if facts.horizon:
        where, above, below = facts.horizon
        split = f"{above} above and {below} below" if above != below else f"{above} on both sides"
        sentences.append(f"A horizon line runs {where}, with {split}.")
    if facts.side in ("left", "right"):
        sentences.append(f"The light gathers on the {facts.side} side of the frame.")
    elif facts.side:
        sentences.append(f"The light grows stronger toward the {facts.side} of the frame.")
    if not (facts.shape or facts.horizon or facts.side) and facts.contrast == "low-contrast":
        sentences.append("The tone is even across the frame, with no single focal point.")
    return " ".join(sentences)
