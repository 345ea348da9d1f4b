"""The pipelined folder run: decode, network and post-processing overlapped, results in order."""

from protolabel.segmentation.pipeline.pools import MIN_IMAGES_FOR_WORKERS, default_workers, workers_for
from protolabel.segmentation.pipeline.runner import PipelineResult, run_pipeline, without_prototypes

__all__ = [
    "MIN_IMAGES_FOR_WORKERS",
    "PipelineResult",
    "default_workers",
    "run_pipeline",
    "without_prototypes",
    "workers_for",
]
