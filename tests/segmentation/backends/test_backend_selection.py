"""`--backend auto`: the first of AUTO_ORDER that is installed and runs the config on the device."""

import pytest
import torch

from protolabel.segmentation.backends import AUTO_ORDER, BackendError, selection
from protolabel.segmentation.yolact.config import CONFIGS

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
BASE, PLUS = CONFIGS["yolact_base"], CONFIGS["yolact_plus_base"]


@pytest.fixture
def machine(monkeypatch):
    """Set which extras are installed."""

    def set_(installed=("onnxruntime", "openvino")):
        monkeypatch.setattr(selection, "is_installed", lambda name: name == "torch" or name in installed)

    return set_


def test_auto_takes_the_first_usable_entry(machine):
    machine()
    assert selection.choose_backend("auto", None, CPU, BASE, onnx_input=False) == AUTO_ORDER[0]


def test_auto_never_picks_bf16_unless_asked(machine):
    machine()  # bf16 missed the fidelity goal (test_backend_fidelity.py)
    assert all(precision == "fp32" for _, precision in AUTO_ORDER)
    assert selection.choose_backend("auto", "bf16", CPU, BASE, onnx_input=False) == ("torch", "bf16")


def test_auto_without_extras_is_torch(machine):
    machine(installed=())
    assert selection.choose_backend("auto", None, CPU, BASE, onnx_input=False)[0] == "torch"


def test_auto_never_picks_openvino_for_deformable_convs(machine):
    machine()
    assert selection.choose_backend("auto", None, CPU, PLUS, onnx_input=False)[0] != "openvino"


def test_auto_respects_an_asked_precision(machine):
    machine()
    assert selection.choose_backend("auto", "fp32", CPU, BASE, onnx_input=False)[1] == "fp32"


def test_onnx_input_never_goes_to_torch(machine):
    machine(installed=("onnxruntime",))
    assert selection.choose_backend("auto", None, CPU, BASE, onnx_input=True)[0] == "onnxruntime"
    machine(installed=())
    with pytest.raises(BackendError, match=r'pip install -e "\.\[onnx\]"'):
        selection.choose_backend("auto", None, CPU, BASE, onnx_input=True)


def test_cuda_auto_is_torch_fp32(machine):
    machine()
    assert selection.choose_backend("auto", None, CUDA, BASE, onnx_input=False) == ("torch", "fp32")


def test_explicit_choices_pass_and_bad_names_are_refused(machine):
    machine()
    assert selection.choose_backend("openvino", None, CPU, BASE, onnx_input=False) == ("openvino", "fp32")
    with pytest.raises(BackendError, match="unknown backend"):
        selection.choose_backend("tensorrt", None, CPU, BASE, onnx_input=False)
    with pytest.raises(BackendError, match="unknown precision"):
        selection.choose_backend("torch", "int8", CPU, BASE, onnx_input=False)
