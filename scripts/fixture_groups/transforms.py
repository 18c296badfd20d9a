"""Data transforms: bilinear resize (torch interpolate, align_corners=False) and the Keras-style
shear/zoom affine resampling (scipy.ndimage.affine_transform, order=1, mode='nearest')."""
import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from fixture_lib import case

GROUP = "transforms"


def resize_case(name, x, out_h, out_w):
    y = F.interpolate(x, size=(out_h, out_w), mode="bilinear", align_corners=False)
    return case(name, {"outHeight": out_h, "outWidth": out_w}, x=x, y=y)


def affine_case(name, x, shear, zoom_row, zoom_col):
    """Output (r, c) samples the input at centre + A((r, c) - centre), A = shear @ zoom."""
    s = math.radians(shear)
    a = np.array([[1, -math.sin(s)], [0, math.cos(s)]]) @ np.diag([zoom_row, zoom_col])
    _, h, w = x.shape
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    offset = centre - a @ centre
    y = np.stack([ndimage.affine_transform(ch.astype(np.float64), a, offset, order=1, mode="nearest") for ch in x.numpy()])
    return case(name, {"shear": shear, "zoomRow": zoom_row, "zoomCol": zoom_col}, x=x, y=y)


def make():
    gen = torch.Generator().manual_seed(0)
    return [
        resize_case("resize 2x2 to 4x4", torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]), 4, 4),
        resize_case("resize up 5x7 to 11x9", torch.rand(1, 3, 5, 7, generator=gen), 11, 9),
        resize_case("resize down 9x13 to 4x6", torch.rand(1, 2, 9, 13, generator=gen), 4, 6),
        resize_case("resize 8x8 to 20x20", torch.rand(1, 3, 8, 8, generator=gen), 20, 20),
        affine_case("shear 20 zoom 0.8 x 1.3", torch.rand(2, 7, 9, generator=gen), 20.0, 0.8, 1.3),
        affine_case("shear -35 zoom 1.1 x 0.9", torch.rand(1, 8, 8, generator=gen), -35.0, 1.1, 0.9),
        affine_case("zoom out 1.5", torch.rand(1, 6, 5, generator=gen), 0.0, 1.5, 1.5),
    ]
