"""The tiny CogVideoX: the real text-to-video pipeline with a few thousand random weights.

It lets every part of the job (loading through `from_pretrained`, encoding, denoising, decoding,
export) run offline and on a CPU in seconds. Its videos are coloured noise, by design. It is built
once into the model cache, deterministically, and then loaded like any downloaded model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

TINY_DIR = "tiny"
MARKER_FILE = "videobot-tiny.json"
# Bump when anything below changes what gets built: caches with another number are rebuilt.
RECIPE_VERSION = 1
SEED = 0
# The real CogVideoX transformers read 226 T5 tokens; the tiny one does too, so prompt
# truncation behaves as it will in production.
MAX_TEXT_SEQ_LENGTH = 226

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


def training_corpus() -> list[str]:
    """A few hundred prompt-like lines, the same on every machine (no RNG: index arithmetic)."""
    lines = []
    for i in range(360):
        lines.append(
            f"{_SUBJECTS[i % len(_SUBJECTS)]} {_ACTIONS[(i * 5) % len(_ACTIONS)]} "
            f"{_PLACES[(i * 7) % len(_PLACES)]}, {_LIGHT[(i * 3) % len(_LIGHT)]}, "
            f"{_CAMERA[(i * 11) % len(_CAMERA)]}, {_STYLE[(i * 13) % len(_STYLE)]}."
        )
    return lines


def ensure_tiny_model(cache_dir: Path) -> Path:
    """The tiny pipeline's folder, `cache_dir/"tiny"`, built first if it is missing or stale.

    Safe when several processes ask at once: builds happen under a file lock, in a temporary
    folder beside the target that is renamed into place only once complete (marker file last).
    """
    cache_dir = Path(cache_dir)
    target = cache_dir / TINY_DIR
    if is_current(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock  # a dependency of diffusers and huggingface_hub

    with FileLock(str(cache_dir / f".{TINY_DIR}.lock")):
        if is_current(target):  # another process built it while we waited
            return target
        building = Path(tempfile.mkdtemp(prefix=f".{TINY_DIR}-build-", dir=cache_dir))
        try:
            _build(building)
            (building / MARKER_FILE).write_text(json.dumps({"recipe": RECIPE_VERSION}) + "\n")
            if target.exists():
                stale = cache_dir / f".{TINY_DIR}-stale-{os.getpid()}"
                target.rename(stale)
                shutil.rmtree(stale, ignore_errors=True)
            building.rename(target)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    log.info("Built the tiny CogVideoX test model in %s", target)
    return target


def is_current(folder: Path) -> bool:
    """Whether `folder` holds a complete tiny model built by this recipe."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("recipe") == RECIPE_VERSION


def _build(folder: Path) -> None:
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDPMScheduler,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = _build_tokenizer(folder / "_spiece")
    # Fork the RNG so building never disturbs the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=4,
            attention_head_dim=8,
            in_channels=4,
            out_channels=4,
            time_embed_dim=2,
            text_embed_dim=32,
            num_layers=1,
            sample_width=2,
            sample_height=2,
            sample_frames=9,
            patch_size=2,
            temporal_compression_ratio=4,
            max_text_seq_length=MAX_TEXT_SEQ_LENGTH,
        )
        vae = AutoencoderKLCogVideoX(
            block_out_channels=(8, 8, 8, 8),
            latent_channels=4,
            layers_per_block=1,
            norm_num_groups=2,
            temporal_compression_ratio=4,
            down_block_types=("CogVideoXDownBlock3D",) * 4,
            up_block_types=("CogVideoXUpBlock3D",) * 4,
        )
        text_encoder = T5EncoderModel(
            T5Config(
                vocab_size=len(tokenizer),
                d_model=32,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=4,
                relative_attention_num_buckets=8,
            )
        )
    pipe = CogVideoXPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=CogVideoXDPMScheduler(),
    )
    pipe.save_pretrained(folder)
    shutil.rmtree(folder / "_spiece")


def _build_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """A SentencePiece unigram model with T5's special ids, trained here on `training_corpus`."""
    import sentencepiece
    from transformers import T5TokenizerFast

    folder.mkdir(parents=True)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(training_corpus()),
        model_prefix=str(folder / "spiece"),
        model_type="unigram",
        vocab_size=400,
        hard_vocab_limit=False,  # the corpus is small: take the vocabulary it supports
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        num_threads=1,  # one thread keeps training deterministic
        minloglevel=2,
    )
    # Trap: in transformers 5, T5Tokenizer(vocab_file=...) silently ignores the file;
    # from_pretrained on the folder reads spiece.model (through protobuf).
    return T5TokenizerFast.from_pretrained(str(folder))
