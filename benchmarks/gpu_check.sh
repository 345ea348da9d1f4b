#!/usr/bin/env bash
# The GPU check: everything CUDA in one call of well under 10 minutes on a lent GPU machine.
#
#   1. here (a machine with PyPI):  bash benchmarks/gpu_check.sh --fetch-wheels
#      downloads into .whl/ (git-ignored) the wheels the GPU machine's image lacks, for its Python;
#   2. there (no network; its python3 already has torch, torchvision, numpy, opencv, scikit-image,
#      onnxruntime, pytest):  bash benchmarks/gpu_check.sh   (carry .whl)
#      runs the CUDA tests (engine cuda vs cpu on the reference fixtures, the pipelined run on CUDA,
#      AMP training for 50 iterations), then benchmarks/throughput.py and benchmarks/inference.py on
#      CUDA, and prints their figures. Everything printed is also written to $OUT/gpu_check.log when
#      $OUT is set.
#
# Exit status: that of the CUDA tests (the benchmarks only print).
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS=(pycocotools shapely psygnal orjson)  # the project's dependencies missing from the GPU image
PY_VERSION=${GPU_PYTHON_VERSION:-3.12}  # the GPU image's python3

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    mkdir -p .whl
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any \
        -d .whl "${WHEELS[@]}"
    ls -la .whl
    exit $?
fi

LOG=${OUT:-/tmp}/gpu_check.log
exec > >(tee "$LOG") 2>&1
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [[ -d .whl ]] && compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "could not install the carried wheels"; exit 3; }
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"

echo "== CUDA tests"
# -p no:pytest-qt: the GPU image has no PySide6; only the Qt-free tests run there.
timeout 240 python3 -m pytest -p no:pytest-qt -p no:cacheprovider -m cuda -q -rs tests/segmentation
status=$?

echo "== throughput on CUDA"
timeout 150 python3 benchmarks/throughput.py --device cuda || echo "throughput.py failed: $?"
echo "== inference on CUDA"
# CPU rows (2 threads) and CUDA batch 1 and 8; the GPU image has onnxruntime (CPU) but no openvino.
timeout 150 python3 benchmarks/inference.py --repeats 3 --backends torch:fp32,torch:bf16,onnxruntime:fp32 \
    || echo "inference.py failed: $?"
exit $status
