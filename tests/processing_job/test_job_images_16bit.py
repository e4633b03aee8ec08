"""A 16-bit grayscale PNG (Pillow's mode I;16, as scanners and medical and astronomy tools write) is
animated as the picture it is, not as a white frame."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from processing_job.images import check_image_bytes, prepare_image


def sixteen_bit_gradient_png(width: int = 256, height: int = 128) -> bytes:
    """A left-to-right ramp from black to white over the full 16-bit range."""
    ramp = np.tile(np.linspace(0, 65535, width), (height, 1)).astype(np.uint16)
    data = io.BytesIO()
    Image.fromarray(ramp).save(data, "PNG")
    return data.getvalue()


def test_a_16_bit_grayscale_png_keeps_its_tones():
    data = sixteen_bit_gradient_png()
    facts = check_image_bytes(data)
    assert facts.format == "PNG" and facts.mode.startswith("I")
    frame = np.asarray(prepare_image(data, height=128, width=256), dtype=float)
    assert frame.shape == (128, 256, 3)
    left, middle, right = frame[:, :16].mean(), frame[:, 120:136].mean(), frame[:, -16:].mean()
    assert left < 20 and right > 235  # black on the left, white on the right
    assert 100 < middle < 156  # and mid-grey between, not everything clipped to white
