#!/usr/bin/env bash
# Full-length (600 s) v6.1 edge tree for the official v6.1 checker: resnet50 and yolo-99 in SingleStream, MultiStream
# and Offline with their compliance tests (resnet50: TEST01, TEST04; yolo: TEST01), on the `cpu` image (LoadGen 6.0.17)
# with the synthetic models: resnet50's accuracy over 50,000 images, yolo-99's over the 1,525 of its subset. About 90
# minutes on 2 cores. Usage:
#   bash scripts/full_length_v61.sh OUTDIR
# Then, from a checkout of mlcommons/inference master (tools/submission):
#   python3 -m submission_checker.main --input OUTDIR/exp --version v6.1
#
# As in full_length_runs.sh: the synthetic classifier is compute-bound (--work 2) so TEST04's repeated sample is not
# faster for cache reasons alone; every model runs on one thread and two chains run side by side, one per core, so a
# scenario's performance and compliance runs see the same load (TEST01 and TEST04 compare them within 10 %). Offline's
# duration follows from target_qps / throughput, so its targets sit above the one-core throughput (resnet50 ~590/s,
# yolo-99 ~107/s measured here) and the runs last a little over 600 s.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: full_length_v61.sh OUTDIR}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"

$PY build.py image cpu
[ -f "$OUT/imagenet/model.onnx" ] || $PY -m msb.synthetic.imagenet "$OUT/imagenet" --count 50000 --distinct 18 --work 2
[ -f "$OUT/yolo/model.onnx" ] || $PY -m msb.synthetic.yolo "$OUT/yolo" --count 1525
chmod -R a+rX "$OUT/imagenet" "$OUT/yolo"

# The full-length variant of cpu-demo-v61: no shortened durations, one thread each, targets for the models above.
$PY - "$OUT" <<'EOF'
import sys
from pathlib import Path

import yaml

out = Path(sys.argv[1])
data = yaml.safe_load(Path("systems/cpu-demo-v61.yaml").read_text())
data["benchmarks"]["resnet50"].update(batch_size=16, threads=1, scenarios={
    "Offline": {"target_qps": 700}, "SingleStream": {"target_latency_ms": 1.0}, "MultiStream": {"target_latency_ms": 10}})
data["benchmarks"]["yolo-99"].update(batch_size=2, threads=1, scenarios={
    "Offline": {"target_qps": 130}, "SingleStream": {"target_latency_ms": 8}, "MultiStream": {"target_latency_ms": 70}})
(out / "cpu-demo-v61-full.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
EOF

IMAGE=$(docker image inspect -f '{{.Id}}' msb/cpu:latest) # pinned: a rebuild meanwhile must not change it
chain() {  # BENCHMARK SCENARIO DATA_DIR
  $PY build.py run --system "$OUT/cpu-demo-v61-full.yaml" --benchmark "$1" --scenario "$2" --image "$IMAGE" \
    --dataset "$3/dataset" --model "$3/model.onnx" --experiment "$OUT/exp" > "$OUT/chain-$1-$2.log" 2>&1
}

chain resnet50 SingleStream "$OUT/imagenet" &
chain resnet50 MultiStream "$OUT/imagenet" &
wait
chain yolo-99 SingleStream "$OUT/yolo" &
chain yolo-99 MultiStream "$OUT/yolo" &
wait
chain resnet50 Offline "$OUT/imagenet" &
chain yolo-99 Offline "$OUT/yolo" &
wait

$PY build.py submission check "$OUT/exp" --round v6.1 | tail -n 1
