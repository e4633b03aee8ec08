"""Where a job's model weights come from, first match wins:

1. `staged`: the job's `model/` folder, when it holds a diffusers `model_index.json` (SageMaker copies
   the weights there from S3, so no job downloads 20 GB from the hub);
2. `cache`: `<VIDEOBOT_MODEL_CACHE>/<model key>` (default `~/.cache/videobot/models`);
3. `built`: a tiny test model is built into that cache instead (`ensure_tiny_model`);
4. `hub`: the model's hub id, through the Hugging Face cache and, when online, a download.

A job reads its weights; it never saves them anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from processing_job.models import ModelInfo

MODEL_CACHE_ENV = "VIDEOBOT_MODEL_CACHE"
DEFAULT_MODEL_CACHE = Path("~/.cache/videobot/models")
MODEL_INDEX = "model_index.json"
# Written last by `make stage-model` (processing_job/stage.py): its presence means the folder is whole.
# The bot lists it at launch to decide between staged weights and the hub.
STAGED_MANIFEST = "videobot-staged.json"

STAGED = "staged"
CACHE = "cache"
BUILT = "built"
HUB = "hub"


class WeightsError(RuntimeError):
    """The weights can't be had; the message is a sentence for the person who asked."""


@dataclass(frozen=True)
class WeightsSource:
    kind: str  # staged | cache | built | hub
    location: str  # a folder, or a hub id for `hub`

    def describe(self) -> str:
        where = {
            STAGED: "staged folder",
            CACHE: "local model cache",
            BUILT: "built locally",
            HUB: "Hugging Face hub",
        }
        return f"{where.get(self.kind, self.kind)}: {self.location}"


def model_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(MODEL_CACHE_ENV) or DEFAULT_MODEL_CACHE).expanduser()


def hub_is_offline() -> bool:
    """Whether the Hugging Face libraries will refuse the network (HF_HUB_OFFLINE, read at import)."""
    from huggingface_hub import is_offline_mode

    return is_offline_mode()


def resolve_weights(
    info: ModelInfo,
    staged_dir: Path,
    cache_dir: Path | None = None,
    *,
    hub_offline: bool | None = None,
) -> WeightsSource:
    """Pick the weights for `info` (see the module's docstring); WeightsError when there are none."""
    cache_dir = model_cache_dir() if cache_dir is None else cache_dir
    if (staged_dir / MODEL_INDEX).is_file():
        _check_pipeline(info, staged_dir)
        return WeightsSource(STAGED, str(staged_dir))
    cached = cache_dir / info.key
    if info.built_locally:
        from processing_job.tiny import ensure_tiny_model, is_current

        kind = CACHE if is_current(cached, info.key) else BUILT
        return WeightsSource(kind, str(ensure_tiny_model(cache_dir, info.key)))
    if (cached / MODEL_INDEX).is_file():
        _check_pipeline(info, cached)
        return WeightsSource(CACHE, str(cached))
    if info.hub_id is None:
        raise WeightsError(f"The model weights for {info.name} were not found in {staged_dir} or {cached}.")
    offline = hub_is_offline() if hub_offline is None else hub_offline
    if offline and not _in_hub_cache(info.hub_id):
        raise WeightsError(
            f"The model weights for {info.name} were not found: nothing is staged in {staged_dir} "
            f"or cached in {cached}, and the Hugging Face hub is offline, so {info.hub_id} "
            "can't be downloaded."
        )
    return WeightsSource(HUB, info.hub_id)


def _check_pipeline(info: ModelInfo, folder: Path) -> None:
    """Refuse a folder that holds another pipeline (say, image-to-video weights for a text job)."""
    try:
        index = json.loads((folder / MODEL_INDEX).read_text())
    except (OSError, ValueError) as error:
        raise WeightsError(
            f"The model weights in {folder} are unreadable ({MODEL_INDEX}: {error})."
        ) from None
    found = index.get("_class_name") if isinstance(index, dict) else None
    if found != info.pipeline:
        raise WeightsError(
            f"The model weights in {folder} are for {found or 'an unknown pipeline'}, "
            f"but {info.name} needs {info.pipeline}."
        )


def _in_hub_cache(hub_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hub_id, MODEL_INDEX)
    return isinstance(found, str)
