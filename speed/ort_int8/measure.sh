#!/usr/bin/env bash
# INT8 against fp32 for ResNet50 on ONNX Runtime, on this host's cores, in the `cpu` image (README.md beside this).
#   speed/ort_int8/measure.sh OUTDIR [IMAGE]      IMAGE: a built `cpu` image (default msb/cpu:latest)
# 1. accuracy: the synthetic classifier (exactly scorable) calibrated, gated, and run in accuracy mode, fp32 and INT8;
# 2. speed: ResNet50 v1.5 with random weights (MLPerf's trained model cannot be downloaded here) calibrated, then
#    Offline and SingleStream performance runs, fp32 and INT8, with the same 2 threads.
set -euo pipefail
OUT=$(realpath -m "$1")
IMAGE=${2:-msb/cpu:latest}
PY=${PY:-.venv/bin/python}
cd "$(dirname "$0")/../.."

"$PY" -m msb.synthetic.imagenet "$OUT/synthetic" --count 200
"$PY" speed/ort_int8/export_resnet50.py "$OUT/resnet50/resnet50_random.onnx"
chmod -R a+rX "$OUT"
common=(--dataset "$OUT/synthetic/dataset" --experiment "$OUT/experiment" --image "$IMAGE")
list=(--calibration-list "$OUT/synthetic/calibration_list.txt")

echo "== accuracy: synthetic classifier"
"$PY" build.py calibrate --system cpu-demo-v61-int8 --benchmark resnet50 --model "$OUT/synthetic/model.onnx" \
    "${list[@]}" "${common[@]}"
for run in "cpu-demo-v61 model.onnx" "cpu-demo-v61-int8 model.int8.onnx"; do
    set -- $run
    "$PY" build.py run --system "$1" --benchmark resnet50 --scenario Offline --mode accuracy \
        --model "$OUT/synthetic/$2" "${common[@]}"
done

echo "== speed: ResNet50 (random weights)"
"$PY" build.py calibrate --system speed/ort_int8/resnet50-int8.yaml --benchmark resnet50 \
    --model "$OUT/resnet50/resnet50_random.onnx" "${list[@]}" "${common[@]}"
for run in "fp32 resnet50_random.onnx" "int8 resnet50_random.int8.onnx"; do
    set -- $run
    for scenario in Offline SingleStream; do
        "$PY" build.py run --system "speed/ort_int8/resnet50-$1.yaml" --benchmark resnet50 \
            --scenario "$scenario" --mode performance --model "$OUT/resnet50/$2" --count 200 "${common[@]}"
    done
done
"$PY" build.py report "$OUT/experiment"
