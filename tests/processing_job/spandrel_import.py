"""spandrel for the upscale tests and the stages bench, imported the way the job imports it.

spandrel imports torchvision when it is imported, for two architectures we never use (LaMa and
RestoreFormer: `torchvision.transforms.functional`). The torch here is the CPU build, and the only
torchvision 0.28 on PyPI is the CUDA build, whose C++ ops can't load against it (`import torchvision`
fails). When, and only when, the real torchvision can't be imported, `import_spandrel` puts a
stand-in for those names in sys.modules while spandrel is imported, and takes it out again: ESRGAN,
the architecture under test, never touches it. In the GPU image the real torchvision is there
(the PyTorch base image ships it) and no stand-in is used.
"""

from __future__ import annotations

import enum
import sys
import types
from typing import Any

import pytest

STAND_IN_REASON = "torchvision can't be imported here (PyPI's CUDA build against the CPU torch)"


def import_spandrel() -> Any:
    """The real spandrel module; skips the test when spandrel or einops isn't installed."""
    try:
        import spandrel
    except ModuleNotFoundError as error:
        if error.name != "torchvision":
            _forget("spandrel")
            pytest.skip(f"spandrel can't be imported: {error} (pip install spandrel einops)")
        spandrel = _with_torchvision_stand_in()
    except RuntimeError as error:  # torchvision is installed but its C++ ops don't load
        if "torchvision" not in str(error):
            raise
        spandrel = _with_torchvision_stand_in()
    return spandrel


def _with_torchvision_stand_in() -> Any:
    _forget("spandrel")
    _forget("torchvision")
    functional = types.ModuleType("torchvision.transforms.functional")

    class InterpolationMode(enum.Enum):
        NEAREST = "nearest"
        BILINEAR = "bilinear"
        BICUBIC = "bicubic"

    def unavailable(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"a torchvision stand-in: {STAND_IN_REASON}")

    functional.InterpolationMode = InterpolationMode  # type: ignore[attr-defined]
    functional.rotate = unavailable  # type: ignore[attr-defined]
    functional.normalize = unavailable  # type: ignore[attr-defined]
    transforms = types.ModuleType("torchvision.transforms")
    transforms.functional = functional  # type: ignore[attr-defined]
    package = types.ModuleType("torchvision")
    package.transforms = transforms  # type: ignore[attr-defined]
    stand_in = {
        "torchvision": package,
        "torchvision.transforms": transforms,
        "torchvision.transforms.functional": functional,
    }
    sys.modules.update(stand_in)
    try:
        import spandrel
    finally:
        for name in stand_in:  # nothing else in the process should see it
            sys.modules.pop(name, None)
    return spandrel


def _forget(prefix: str) -> None:
    for name in [name for name in sys.modules if name == prefix or name.startswith(prefix + ".")]:
        del sys.modules[name]
