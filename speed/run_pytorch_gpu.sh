#!/usr/bin/env bash
# PyTorch backend through the harness and real LoadGen on one CUDA GPU: ResNet50, RetinaNet, SSD-ResNet34
# (random weights, synthetic images), Offline and SingleStream performance runs, shortened to RUN_MS each.
# Usage: speed/run_pytorch_gpu.sh WORKDIR [PRECISION]   (needs torch with CUDA, numpy, pillow, onnx,
# mlperf_loadgen). Prints one line per run and leaves LoadGen's summaries under WORKDIR/out.
set -u -o pipefail
work=${1:?usage: $0 WORKDIR [PRECISION]}
precision=${2:-fp16}
run_ms=${RUN_MS:-10000}
mkdir -p "$work"

python3 -m msb.synthetic.imagenet "$work/imagenet" --count 512 >/dev/null
python3 -m msb.synthetic.detection "$work/retinanet" --benchmark retinanet --count 264 >/dev/null
python3 -m msb.synthetic.detection "$work/ssd" --benchmark ssd-resnet34 --count 128 >/dev/null
for arch in resnet50 retinanet ssd-resnet34; do
  echo "{\"architecture\": \"$arch\", \"weights\": null, \"seed\": 0}" >"$work/$arch.random.json"
done

# benchmark dataset count offline_batch offline_target_qps singlestream_target_latency_ms
runs=(
  "resnet50 $work/imagenet/dataset 512 256 8000 1"
  "retinanet $work/retinanet/dataset 264 16 300 10"
  "ssd-resnet34 $work/ssd/dataset 128 16 300 10"
)
for spec in "${runs[@]}"; do
  read -r bench dataset count batch qps latency <<<"$spec"
  common=(--benchmark "$bench" --mode performance --dataset "$dataset" --model "$work/$bench.random.json"
    --backend pytorch --device "${DEVICE:-cuda}" --precision "$precision" --output "$work/out" --submitter msb
    --system h100-pytorch --count "$count" --min-duration-ms "$run_ms" --cache-dir "$work/cache")
  timeout 240 python3 -m harness run "${common[@]}" --scenario Offline --batch-size "$batch" \
    --target-qps "$qps" --min-query-count 1 2>&1 | tee "$work/$bench-Offline.log" | grep -E "Offline|error"
  timeout 240 python3 -m harness run "${common[@]}" --scenario SingleStream --batch-size 1 \
    --target-latency-ms "$latency" --min-query-count "${SS_QUERIES:-256}" 2>&1 | tee "$work/$bench-SingleStream.log" \
    | grep -E "SingleStream|error"
done
