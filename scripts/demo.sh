#!/usr/bin/env bash
# The demo, on the current round (v6.1): build the `cpu` image (the one systems/cpu-demo-v61.yaml names), make small
# exactly-scorable datasets and ONNX models (an ImageNet-layout classifier set and a YOLO-layout detection set), run
# ResNet50 and YOLO accuracy and performance (Offline, SingleStream) into an MLPerf submission tree of the v6 layout,
# and print a summary. Round v5.1 stays available by name: systems/cpu-demo.yaml on image `cpu-v5.1`.
# The data is synthetic because these machines reach no dataset host; the pipeline around it is the real one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}  # another checkout's virtual environment: PY=/path/to/.venv/bin/python
DEMO=build/demo
SYSTEM=cpu-demo-v61
EXPERIMENT="$DEMO/experiment-v6.1"
start=$(date +%s)

$PY build.py image cpu
$PY -m msb.synthetic.imagenet "$DEMO/data" --count 64
$PY -m msb.synthetic.yolo "$DEMO/yolo"
chmod -R a+rX "$DEMO/data" "$DEMO/yolo"  # the container runs as an unprivileged uid and reads the data read-only

run() {  # run BENCHMARK DATA_FOLDER ARGS...
  local benchmark=$1 data=$2
  shift 2
  $PY build.py run --system "$SYSTEM" --benchmark "$benchmark" --dataset "$data/dataset" --model "$data/model.onnx" \
    --experiment "$EXPERIMENT" "$@"
}
for benchmark in resnet50 yolo-99; do
  data="$DEMO/data"
  [ "$benchmark" = yolo-99 ] && data="$DEMO/yolo"
  run "$benchmark" "$data" --scenario Offline --mode accuracy
  run "$benchmark" "$data" --scenario Offline --mode performance
  run "$benchmark" "$data" --scenario SingleStream --mode performance
done

$PY build.py report "$EXPERIMENT"
echo
echo "Submission tree (round v6.1, v6 layout): $EXPERIMENT/closed"
echo "Our checker on it (it flags the shortened runs and the scenarios and compliance tests the demo skips, as it should):"
$PY build.py submission check "$EXPERIMENT" --round v6.1 | tail -n 5 || true
echo "demo finished in $(( $(date +%s) - start )) s"
