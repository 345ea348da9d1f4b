"""OpenVINO and signals: releasing its compiled models must leave the process able to take Ctrl+C and SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.segmentation.backends.conftest import needs_openvino

# Two runners made and released in the same order (as the app's engine cache lets go of an older model),
# then a signal with a Python handler: CPython runs its handlers' C part on the thread's alternate stack.
CHILD = textwrap.dedent("""
    import gc, os, signal, sys, time
    import torch
    from protolabel.segmentation.backends.onnx_export import read_onnx_model
    from protolabel.segmentation.backends.openvino_runner import OpenVinoRunner

    model = read_onnx_model(sys.argv[1])
    first = OpenVinoRunner(model, torch.device("cpu"))
    second = OpenVinoRunner(model, torch.device("cpu"))
    del first
    gc.collect()
    del second
    gc.collect()
    signal.signal(signal.SIGTERM, lambda signum, frame: print("handled", flush=True))
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.1)
    print("still running", flush=True)
""")


@needs_openvino
@pytest.mark.slow
def test_a_signal_after_openvino_models_were_released_runs_its_handler(resnet50_onnx):
    run = subprocess.run([sys.executable, "-c", CHILD, str(resnet50_onnx)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    assert run.stdout.split() == ["handled", "still", "running"]
