#!/bin/sh
# The study-size Transformer and Hybrid to their plateau on one GPU, scored and packed (issue 30).
# On the GPU machine, from the repository root, in one call of at most 10 minutes:
#
#   here, once:   mkdir -p .gpu-data && cp -r ../shared/data/study-split .gpu-data/   (.gpu-data is ignored)
#   there:        sh benchmarks/converge_gpu.sh        (carry .gpu-data; results under $OUT)
#
# Then copy $OUT/packs/study-* into src/tunelab/pretrained/ and section 0 of docs/results.md from
# $OUT/converge_gpu.json. The dry run (CPU, tokens/s and the expected GPU time):
#   python benchmarks/converge_gpu.py --plan --out /tmp/plan
set -eu
OUT=${OUT:-runs/converge_gpu}
DATA=${DATA:-.gpu-data/study-split}
[ -d "$DATA" ] || DATA=../shared/data/study-split
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1 || true
PYTHONPATH=src PYTHONUNBUFFERED=1 timeout 570 python3 benchmarks/converge_gpu.py \
    --out "$OUT" --corpus "$DATA" --device cuda --minutes "${MINUTES:-3.5}" 2>&1 | tee "$OUT/log"
