"""Inference backends for the YOLACT network (torch, ONNX Runtime, OpenVINO); post-processing stays ours."""
