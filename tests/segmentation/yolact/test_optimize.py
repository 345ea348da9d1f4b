import copy

import pytest
import torch
from torch import nn

from protolabel.segmentation.yolact.config import CONFIGS
from protolabel.segmentation.yolact.model import Yolact
from protolabel.segmentation.yolact.optimize import optimize_for_inference


def _randomise_batch_norms(model: nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1, generator=gen)
            m.running_var.uniform_(0.5, 1.5, generator=gen)
            m.weight.data.normal_(1, 0.1, generator=gen)
            m.bias.data.normal_(0, 0.1, generator=gen)


@pytest.mark.parametrize("name", ["yolact_resnet50", "yolact_darknet53", "yolact_plus_resnet50"])
def test_folded_channels_last_model_gives_the_same_outputs(name):
    gen = torch.Generator().manual_seed(0)
    model = Yolact(CONFIGS[name]).eval()
    _randomise_batch_norms(model, gen)
    folded = optimize_for_inference(copy.deepcopy(model), torch.device("cpu"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.backbone.modules())
    x = torch.randn(1, 3, 160, 160, generator=gen)
    with torch.inference_mode():
        ref = model(x)
        out = folded(x.contiguous(memory_format=torch.channels_last))
    for a, b in zip(ref[:4], out[:4]):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3)
