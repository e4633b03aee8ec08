"""The tiny models: the real CogVideoX and Wan pipelines with a few thousand random weights each.

They let every part of the job (loading through `from_pretrained`, encoding, denoising, decoding,
export) run offline and on a CPU in seconds. Their videos are coloured noise, by design. Each is
built once into the model cache, deterministically, and then loaded like any downloaded model.

This module trains their shared tokenizer and builds, caches and locks; each recipe is its family's
`build_tiny` (processing_job/families/), and copies what makes the family different (facts.md, and
the real checkpoints' configs):

- `tiny` (1.0 text-to-video, like CogVideoX-2B): sin-cos positions, 2×2 patches;
- `tiny-i2v` (1.0 image-to-video, like CogVideoX-5B-I2V): twice the input channels (noise + the
  picture's latents), rotary *and* learned positional embeddings, so one size only;
- `tiny-1.5` (1.5 text-to-video): 2×2×2 patches (`patch_size_t=2`, no patch bias), rotary
  embeddings, a sample size large enough for every size it allows;
- `tiny-1.5-i2v` (1.5 image-to-video): the same, with twice the input channels and the `ofs`
  embedding, and a VAE that inverts its latent scale as the real one does;
- `tiny-wan` (like Wan 2.2 TI2V-5B): `WanPipeline` saved with `expand_timesteps=True`, so the same
  weights render text to video, and image to video through `WanImageToVideoPipeline` (the picture's
  latent frame held fixed, no CLIP image encoder); a UMT5 text encoder, Wan's causal 3D VAE (4× in
  time, 8× in space), 1×2×2 patches, UniPC with flow sigmas as the real checkpoint's scheduler.
  The tiny configs are diffusers' own test configs (tests/pipelines/wan/test_wan.py).

Two transformer layers each, because First Block Cache (a draft-speed cache) needs a second block.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from processing_job.models import REGISTRY

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

MARKER_FILE = "videobot-tiny.json"
# Bump when anything changes what gets built (here, or a family's `build_tiny`): caches with another
# number are rebuilt.
RECIPE_VERSION = 3
SEED = 0

_SUBJECTS = (
    "a corgi",
    "a tabby cat",
    "an astronaut",
    "a red fox",
    "a paper boat",
    "a lighthouse keeper",
    "a hot air balloon",
    "a vintage car",
    "a hummingbird",
    "a robot",
    "a dragon",
    "a sailboat",
    "an old fisherman",
    "a ballerina",
    "a steam train",
    "a jellyfish",
    "a snowboarder",
    "a panda",
)
_ACTIONS = (
    "surfing a wave",
    "walking through",
    "flying over",
    "dancing in",
    "drifting across",
    "running along",
    "floating above",
    "sleeping beside",
    "exploring",
    "racing through",
    "climbing",
    "swimming in",
    "gliding over",
    "watching",
)
_PLACES = (
    "a neon city street",
    "a misty pine forest",
    "the ocean at sunset",
    "a snowy mountain pass",
    "a desert canyon",
    "a quiet harbor",
    "a field of sunflowers",
    "a rainy alley in Tokyo",
    "the rings of Saturn",
    "an ancient library",
    "a coral reef",
    "a candlelit kitchen",
)
_LIGHT = (
    "golden hour light",
    "soft morning haze",
    "dramatic storm clouds",
    "warm candlelight",
    "cold blue moonlight",
    "bright midday sun",
    "flickering neon glow",
    "pastel twilight",
)
_CAMERA = (
    "slow dolly in",
    "aerial drone shot",
    "handheld tracking shot",
    "wide establishing shot",
    "close-up, shallow depth of field",
    "smooth pan from left to right",
    "static tripod shot",
    "slow motion, 120 fps",
)
_STYLE = (
    "cinematic, 35mm film grain",
    "photorealistic, 4k",
    "watercolor illustration",
    "Studio Ghibli style animation",
    "documentary footage",
    "high detail, vivid colors",
)


# The detailed descriptions a prompt writer adds (what CogVideoX was captioned with): the words of a
# long English prompt are in the vocabulary rather than unknown.
_DESCRIPTIONS = (
    "The scene is captured in rich, lifelike detail with natural, fluid motion and a sense of depth.",
    "Fresh powdery snow blankets the ground and drifts through the cold air, each flake catching the light.",
    "Each stride is crisp and energetic, kicking up small bursts of dust from the ground with every step.",
    "It is night: cool moonlight and scattered pools of warm artificial light carve the scene out of "
    "deep blue darkness.",
    "The camera moves slowly and steadily, a gentle glide that lets every detail register.",
    "The camera tracks alongside at a steady pace, keeping the subject sharply in focus.",
    "The camera slowly pushes in, drawing the eye toward the subject in the center of the frame.",
    "Photorealistic and cinematic, with natural color grading, shallow depth of field and fine detail.",
    "Soft, natural light models the forms and gives the colors gentle depth and warmth.",
    "Golden hour sunlight rakes across the landscape, casting long shadows and a warm orange glow.",
    "Rain falls in thin silver streaks, and puddles on the wet street reflect the glowing signs above.",
    "A light breeze stirs the leaves and grass, and the water ripples and sparkles in the sun.",
    "Turquoise waves roll in and break into white foam, with wet sand glistening along the shore.",
    "Thick fog hangs over the quiet forest, and beams of pale light slip between the tall trees.",
    "The city at dusk hums with traffic, neon reflections and people walking along busy sidewalks.",
    "The scene in the picture comes to life, keeping its subject, composition and colors from the "
    "first frame.",
    "Gentle, natural motion moves through it: the subject shifts and breathes while the air, light and "
    "background stay subtly alive.",
    "Smooth, steady motion with no sudden changes or cuts, as if filmed by a professional crew.",
    "Clouds drift slowly across a bright sky, their shadows sliding over hills, fields and rivers.",
    "Sparks and embers float upward from the fire, glowing red and yellow against the dark night.",
    "Its fur, feathers and fabric move naturally, and small textures are visible in close view.",
    "Vivid, saturated colors, high contrast, sharp focus and a clean, balanced composition.",
    "The background is softly blurred, with round bokeh highlights from distant lamps and windows.",
    "Mountains rise behind a calm lake, snow on their peaks and pine trees along the rocky shore.",
    "Children laugh and play in a sunny park while a dog chases a ball across the green lawn.",
    "Steam rises from a cup of coffee on a wooden table beside a window on a rainy morning.",
)


def training_corpus() -> list[str]:
    """A few hundred prompt-like lines, the same on every machine (no RNG: index arithmetic)."""
    lines = list(_DESCRIPTIONS)
    for i in range(360):
        lines.append(
            f"{_SUBJECTS[i % len(_SUBJECTS)]} {_ACTIONS[(i * 5) % len(_ACTIONS)]} "
            f"{_PLACES[(i * 7) % len(_PLACES)]}, {_LIGHT[(i * 3) % len(_LIGHT)]}, "
            f"{_CAMERA[(i * 11) % len(_CAMERA)]}, {_STYLE[(i * 13) % len(_STYLE)]}."
        )
    # Its tokens are whole words (punctuation apart): each line again without punctuation, so that a
    # word is known bare as well as next to the comma or full stop it had here.
    return lines + [line.replace(",", "").replace(".", "").replace(":", "") for line in lines]


# Every offline model in the registry; each family's module holds its recipe (`build_tiny`).
TINY_MODELS = tuple(key for key, info in REGISTRY.items() if info.built_locally)


def ensure_tiny_model(cache_dir: Path, key: str = "tiny") -> Path:
    """The tiny model's folder, `cache_dir/<key>`, built first if it is missing or stale.

    Safe when several processes ask at once: builds happen under a file lock, in a temporary
    folder beside the target that is renamed into place only once complete (marker file last).
    """
    if key not in TINY_MODELS:  # fails here, before anything is created
        raise KeyError(f"There is no tiny recipe for {key!r}; choose one of {', '.join(TINY_MODELS)}.")
    cache_dir = Path(cache_dir)
    target = cache_dir / key
    if is_current(target, key):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock  # a dependency of diffusers and huggingface_hub

    with FileLock(str(cache_dir / f".{key}.lock")):
        if is_current(target, key):  # another process built it while we waited
            return target
        building = Path(tempfile.mkdtemp(prefix=f".{key}-build-", dir=cache_dir))
        try:
            _build(building, key)
            (building / MARKER_FILE).write_text(json.dumps({"recipe": RECIPE_VERSION, "model": key}) + "\n")
            if target.exists():
                stale = cache_dir / f".{key}-stale-{os.getpid()}"
                target.rename(stale)
                shutil.rmtree(stale, ignore_errors=True)
            building.rename(target)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    log.info("Built the tiny test model %s in %s", key, target)
    return target


def ensure_tiny_models(cache_dir: Path) -> Path:
    """Every family's tiny model (TINY_MODELS) in `cache_dir`, built where missing or stale."""
    for key in TINY_MODELS:
        ensure_tiny_model(cache_dir, key)
    return Path(cache_dir)


def is_current(folder: Path, key: str | None = None) -> bool:
    """Whether `folder` holds a complete tiny model built by this recipe (for `key`, when given)."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("recipe") != RECIPE_VERSION:
        return False
    return key is None or marker.get("model", Path(folder).name) == key


def _build(folder: Path, key: str) -> None:
    import torch

    from processing_job.families import family_for

    info = REGISTRY[key]
    tokenizer = _build_tokenizer(folder / "_spiece")
    # Fork the RNG so building never disturbs the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        pipe = family_for(info).build_tiny(info, tokenizer)
    pipe.save_pretrained(folder)
    shutil.rmtree(folder / "_spiece")


def _build_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """A SentencePiece model with T5's special ids, trained here on `training_corpus`."""
    import sentencepiece
    from transformers import T5TokenizerFast

    folder.mkdir(parents=True)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(training_corpus()),
        model_prefix=str(folder / "spiece"),
        model_type="word",  # a subword model this small splits English words into 2-4 pieces
        vocab_size=2000,
        hard_vocab_limit=False,  # the corpus is small: take the vocabulary it supports
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        num_threads=1,  # one thread keeps training deterministic
        minloglevel=2,
        character_coverage=1.0,
    )
    # Trap: in transformers 5, T5Tokenizer(vocab_file=...) silently ignores the file;
    # from_pretrained on the folder reads spiece.model (through protobuf).
    return T5TokenizerFast.from_pretrained(str(folder))
