"""Preprocessing as the original's FastBaseTransform, and the way back to original pixels."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from protolabel.segmentation.yolact.box_coder import ordered_corners

MEAN_BGR = (103.94, 116.78, 123.68)
STD_BGR = (57.38, 57.12, 58.40)


class YolactTransform:
    """BGR uint8 images of any size -> [B, 3, S, S] float RGB network input (stretched, not letterboxed)."""

    def __init__(self, max_size: int, imagenet_normalize: bool = True) -> None:
        self.max_size = max_size
        self.imagenet_normalize = imagenet_normalize

    def __call__(self, images: list[np.ndarray], device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.cat([self.prepare(image, device) for image in images])

    def prepare(self, image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """One H x W x 3 BGR image -> [1, 3, S, S]."""
        x = torch.from_numpy(np.ascontiguousarray(image)).to(device).float()
        x = x.permute(2, 0, 1)[None]
        x = F.interpolate(x, size=(self.max_size, self.max_size), mode="bilinear", align_corners=False)
        if self.imagenet_normalize:
            mean = torch.tensor(MEAN_BGR, device=x.device).view(1, 3, 1, 1)
            std = torch.tensor(STD_BGR, device=x.device).view(1, 3, 1, 1)
            x = (x - mean) / std
        else:  # DarkNet-53 configs
            x = x / 255
        return x[:, [2, 1, 0]].contiguous()  # BGR -> RGB


def boxes_to_pixels(boxes_rel: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """Relative corners -> pixels: corners ordered, x1/y1 clamped at 0 and x2/y2 at the size (no rounding)."""
    height, width = image_size
    x1, y1, x2, y2 = (ordered_corners(boxes_rel) * boxes_rel.new_tensor([width, height, width, height])).unbind(1)
    return torch.stack((x1.clamp(min=0), y1.clamp(min=0), x2.clamp(max=width), y2.clamp(max=height)), dim=1)
