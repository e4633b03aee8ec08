#!/usr/bin/env bash
# The GPU proof on a lent device machine, in one call (issue 17). Two steps, two machines:
#
#   1. here, once (needs the package registry):   bash bench/gpu_device.sh --fetch-wheels
#      downloads the wheels the device lacks into var/gpu-wheels/ (ignored by git, ~40 MB);
#   2. on the device (device tool `run`):        bash bench/gpu_device.sh
#      with carry ["var/gpu-wheels"] and timeout_s 600: installs those wheels beside the machine's
#      own PyTorch, runs `python3 -m bench.gpu` (7.5-minute budget, 9-minute hard stop) and leaves
#      bench-gpu.json, bench-gpu.md and bench-gpu.log in $OUT;
#   3. back here: .venv/bin/python -m bench.gpu --from-json <files_at>/bench-gpu.json
#      writes the section into docs/benchmarks.md (the device's copy of the docs doesn't come back).
#
# The device machine reaches no registry. Its image has python3 with torch (2.11, CUDA 13),
# transformers, accelerate, huggingface_hub, safetensors, numpy, pillow (see
# /work/.library/device/KINDS.md) but no diffusers, torchao or imageio-ffmpeg: those travel as
# wheels. imageio-ffmpeg is 0.6.0 there (ffmpeg 7.1): 0.8.1's wheel (the job's pin) is 68 MB, more
# than a call may carry; the export row says which ffmpeg wrote it.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=var/gpu-wheels
pin() { grep -i "^$1==" constraints.txt | head -n 1; }

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    mkdir -p "$WHEELS"
    # diffusers and importlib_metadata as pinned for the project; torchao 0.18.0 is built for
    # torch >= 2.11 (the device's); imageio-ffmpeg 0.6.0 for its size (see above).
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$WHEELS" \
        "$(pin diffusers)" "$(pin importlib_metadata)" torchao==0.18.0 imageio-ffmpeg==0.6.0
    ls -la "$WHEELS"
    du -sh "$WHEELS"
    exit 0
fi

OUT="${OUT:-/tmp/bench-gpu-out}"
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1
{
    echo "gpu_device.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader || true
    if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
        python3 -m pip install --quiet --root-user-action=ignore --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site "$WHEELS"/*.whl
        chmod +x /tmp/site/imageio_ffmpeg/binaries/* 2>/dev/null || true
        export PYTHONPATH="/tmp/site:$PWD"
    else
        echo "no wheels in $WHEELS: run 'bash bench/gpu_device.sh --fetch-wheels' here first"
        export PYTHONPATH="$PWD"
    fi
    python3 -c 'import torch, diffusers; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "diffusers", diffusers.__version__)'
    # 7.5 minutes of budget inside; the hard stop leaves the call time to bring $OUT back.
    timeout --signal=INT --kill-after=20 540 python3 -m bench.gpu --budget-s "${BENCH_GPU_BUDGET_S:-450}"
} 2>&1 | tee "$OUT/bench-gpu.log"
