"""The offline refiner: turns an idea into a dense CogVideoX prompt with no network and no model.

CogVideoX was trained on long, concrete captions: one paragraph naming the subject, its action, the
setting, the light, the camera and the look. This refiner builds that paragraph from cue tables, and
treats later turns in the thread as edits: a turn that names a new light, camera or style replaces
the old one; anything else it says is kept as an extra detail. Deterministic, so tests and the demo
can rely on it; Bedrock (when configured) does the same job with a language model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.conversation.ports import Refinement, RefineRequest
from bot.conversation.sessions import PICTURE_TURN

NAME = "the offline refiner"

# Each cue: (words that trigger it, the sentence it contributes). The first match in a table wins
# within one turn; a later turn's match replaces an earlier one.
SETTINGS: list[tuple[tuple[str, ...], str]] = [
    (
        ("snow", "snowy", "winter", "blizzard", "ice", "icy"),
        "Fresh powdery snow blankets the ground and drifts through the air, each flake catching the light.",
    ),
    (
        ("beach", "ocean", "sea", "wave", "waves", "surf", "surfing", "shore"),
        "Turquoise waves roll in and break into white foam, with wet sand glistening along the shore.",
    ),
    (
        ("forest", "woods", "jungle", "trees"),
        "Tall trees frame the scene, moss and ferns covering the forest floor as leaves sway gently.",
    ),
    (
        ("city", "street", "downtown", "tokyo", "new york", "alley", "rooftop"),
        "A dense city stretches out behind, with layered buildings, glowing windows and reflective pavement.",
    ),
    (
        ("desert", "dunes", "sand"),
        "Rolling sand dunes stretch to the horizon, their ridges sharp and rippled by the wind.",
    ),
    (
        ("mountain", "mountains", "alps", "peak", "cliff"),
        "Jagged mountain peaks rise in the distance under a vast, open sky.",
    ),
    (
        ("space", "galaxy", "planet", "stars", "nebula", "orbit"),
        "Deep space surrounds the scene, scattered with stars and the soft glow of a distant nebula.",
    ),
    (
        ("underwater", "reef", "coral", "aquarium"),
        "Sunbeams pierce the clear blue water, with coral and drifting particles all around.",
    ),
    (
        ("kitchen", "room", "studio", "office", "cafe", "café", "indoors"),
        "The interior is richly detailed, with natural textures and objects that give the space depth.",
    ),
]
ACTIONS: list[tuple[tuple[str, ...], str]] = [
    (
        ("running", "runs", "run", "racing", "sprinting", "galloping", "chasing"),
        "Each stride is crisp and energetic, kicking up small bursts from the ground with every step.",
    ),
    (
        ("surfing", "surfs", "riding"),
        "It balances with poise, shifting its weight as it carves smoothly across the moving water.",
    ),
    (
        ("flying", "flies", "soaring", "gliding"),
        "It glides effortlessly through the air, wings and body moving in smooth, natural rhythm.",
    ),
    (
        ("swimming", "swims", "diving"),
        "It moves through the water with graceful, fluid strokes, trailing tiny bubbles.",
    ),
    (
        ("dancing", "dances", "spinning", "twirling"),
        "The movement is rhythmic and expressive, every turn flowing naturally into the next.",
    ),
    (
        ("walking", "walks", "strolling", "wandering", "hiking"),
        "It moves at an unhurried pace, each step natural and grounded.",
    ),
]
LIGHTS: list[tuple[tuple[str, ...], str]] = [
    (
        ("sunset", "golden", "dusk", "evening"),
        "Warm golden-hour light washes over everything, casting long soft shadows and a gentle glow.",
    ),
    (
        ("sunrise", "dawn", "morning"),
        "Soft early-morning light rises over the scene, pale gold mixed with cool blue shadows.",
    ),
    (
        ("night", "midnight", "moon", "moonlight", "dark"),
        "It is night: cool moonlight and scattered pools of warm artificial light carve the scene "
        "out of deep blue darkness.",
    ),
    (
        ("neon", "cyberpunk"),
        "Vivid neon signs in magenta and cyan reflect off every surface, with light haze in the air.",
    ),
    (
        ("rain", "rainy", "storm", "stormy"),
        "Rain falls steadily, beading on surfaces and blurring the light into soft reflections.",
    ),
    (
        ("fog", "foggy", "mist", "misty"),
        "A low mist softens the distance, diffusing the light into a calm, muted glow.",
    ),
    (
        ("sunny", "noon", "bright", "daylight", "day"),
        "Bright, clear daylight gives crisp colors and well-defined shadows.",
    ),
]
CAMERAS: list[tuple[tuple[str, ...], str]] = [
    (
        ("slower", "slow", "calm", "gentle", "steady"),
        "The camera moves slowly and steadily, a gentle glide that lets every detail register.",
    ),
    (
        ("faster", "fast", "dynamic", "energetic", "handheld"),
        "The camera moves quickly and dynamically, following the action with energetic handheld motion.",
    ),
    (
        ("aerial", "drone", "bird's-eye", "overhead", "above"),
        "An aerial drone shot sweeps over the scene from above, slowly revealing its full scale.",
    ),
    (
        ("close-up", "closeup", "closer", "close", "macro"),
        "A close-up shot keeps the subject large in frame, with the background melting into soft bokeh.",
    ),
    (
        ("wide", "wider", "establishing", "panorama", "panoramic"),
        "A wide establishing shot shows the subject small against the expansive scene.",
    ),
    (
        ("orbit", "orbiting", "circling", "around"),
        "The camera circles slowly around the subject in a smooth orbit.",
    ),
    (
        ("static", "still", "tripod", "locked"),
        "The camera stays locked off on a tripod while the scene moves within the frame.",
    ),
]
STYLES: list[tuple[tuple[str, ...], str]] = [
    (
        ("anime", "manga", "ghibli"),
        "Rendered in a hand-drawn anime style with clean lines and painterly backgrounds.",
    ),
    (
        ("watercolor", "watercolour", "painting", "painted"),
        "Styled as a soft watercolor painting come to life.",
    ),
    (
        ("pixar", "3d", "animated", "cartoon"),
        "Styled like a polished 3D animated film, with soft lighting and charm.",
    ),
    (("claymation", "clay", "stop-motion", "stop motion"), "Styled as tactile stop-motion claymation."),
    (
        ("noir", "black and white", "black-and-white", "monochrome"),
        "Shot in high-contrast black and white, film noir.",
    ),
    (
        ("vintage", "retro", "8mm", "vhs", "old film"),
        "A vintage film look with warm grain and gentle gate weave.",
    ),
    (
        ("realistic", "photorealistic", "cinematic", "documentary", "real"),
        "Photorealistic and cinematic, with natural color grading, shallow depth of field and fine detail.",
    ),
]
DEFAULT_SETTING = (
    "The surroundings are rich in texture and depth, with a clear foreground, midground and background."
)
DEFAULT_ACTION = "Subtle, continuous natural motion keeps the scene alive from the first frame to the last."
DEFAULT_STYLE = STYLES[-1][1]
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


@dataclass
class _Scene:
    subject: str = ""
    setting: str = ""
    action: str = ""
    light: str = ""
    camera: str = ""
    style: str = ""
    extras: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def _match(text: str, table: list[tuple[tuple[str, ...], str]]) -> str:
    words = text.lower()
    for triggers, sentence in table:
        if any(re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", words) for t in triggers):
            return sentence
    return ""


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip(" .!?,;:")
    return text[:1].upper() + text[1:] if text else ""


class OfflineRefiner:
    """A Refiner that needs nothing but this module."""

    name = NAME

    def refine(self, request: RefineRequest, on_text: Callable[[str], None] | None = None) -> Refinement:
        if request.mode == "i2v":
            scene = self._picture_scene(request)
            prompt = self._compose_motion(scene, request.max_words)
        else:
            scene = self._scene(request)
            prompt = self._compose(scene, request.max_words)
        if on_text is not None:
            on_text(prompt)
        if request.mode == "i2v" and request.current_prompt is None:
            note = "Added motion, camera and style to the picture."
        elif scene.changed:
            note = "Changed: " + ", ".join(scene.changed) + "."
        else:
            note = "Added setting, motion, light, camera and style details."
        return Refinement(prompt=prompt, refiner=NAME, note=note)

    def _scene(self, request: RefineRequest) -> _Scene:
        scene = _Scene()
        user_turns = [t.text for t in request.turns if t.role == "user" and t.text.strip()]
        if not user_turns:
            return scene
        first, later = user_turns[0], user_turns[1:]
        scene.subject = _sentence(first)
        scene.setting = _match(first, SETTINGS)
        scene.action = _match(first, ACTIONS)
        scene.light = _match(first, LIGHTS)
        scene.camera = _match(first, CAMERAS)
        scene.style = _match(first, STYLES)
        for turn in later:
            self._apply_edit(scene, turn)
        return scene

    def _picture_scene(self, request: RefineRequest) -> _Scene:
        """It can't see the picture: every word in the thread is an edit of a generic motion prompt."""
        scene = _Scene()
        for turn in request.turns:
            if turn.role == "user" and turn.text.strip() and turn.text.strip() != PICTURE_TURN:
                self._apply_edit(scene, turn.text)
        return scene

    def _apply_edit(self, scene: _Scene, text: str) -> None:
        matched = False
        for label, table in (
            ("setting", SETTINGS),
            ("motion", ACTIONS),
            ("light", LIGHTS),
            ("camera", CAMERAS),
            ("style", STYLES),
        ):
            sentence = _match(text, table)
            if sentence:
                attr = "action" if label == "motion" else label
                setattr(scene, attr, sentence)
                scene.changed.append(label)
                matched = True
        leftover = " ".join(FILLER.sub(" ", text).split())
        # A turn that was only a cue ("make it night") adds nothing else; one with content is kept.
        if not matched or len(leftover.split()) >= 3:
            scene.extras.append(_sentence(IMPERATIVE.sub("", text.strip())) + ".")
            scene.changed.append("details")

    def _compose_motion(self, scene: _Scene, max_words: int) -> str:
        parts = [
            PICTURE_OPENING,
            *scene.extras,
            scene.action or PICTURE_MOTION,
            scene.setting,
            scene.light,
            scene.camera or STILL_CAMERA,
            scene.style or PICTURE_STYLE,
        ]
        return _fit(" ".join(p for p in parts if p), max_words)

    def _compose(self, scene: _Scene, max_words: int) -> str:
        camera = scene.camera or (MOVING_CAMERA if scene.action else STILL_CAMERA)
        parts = [
            f"{scene.subject}, captured in rich, lifelike detail with natural, fluid motion.",
            scene.setting or DEFAULT_SETTING,
            scene.action or DEFAULT_ACTION,
            *scene.extras,
            scene.light or DEFAULT_LIGHT,
            camera,
            scene.style or DEFAULT_STYLE,
        ]
        return _fit(" ".join(parts), max_words)


def _fit(text: str, max_words: int) -> str:
    words = text.split()
    if len(words) > max_words:
        words = words[:max_words]
        words[-1] = words[-1].rstrip(",;:") + ("" if words[-1].endswith(".") else ".")
    return " ".join(words)
