#!/usr/bin/env bash
# The demo: build the `cpu-v5.1` image (the one systems/cpu-demo.yaml names: the demo is a round v5.1 system), make a
# small exactly-scorable ImageNet-layout dataset and ONNX classifier, run ResNet50 accuracy and performance (Offline,
# SingleStream) into an MLPerf submission tree, and print a summary.
# The data is synthetic because these machines reach no dataset host; the pipeline around it is the real one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DEMO=build/demo
start=$(date +%s)

$PY build.py image cpu-v5.1
$PY -m msb.synthetic.imagenet "$DEMO/data" --count 64
chmod -R a+rX "$DEMO/data"  # the container runs as an unprivileged uid and reads the data read-only

run() {
  $PY build.py run --system cpu-demo --benchmark resnet50 --dataset "$DEMO/data/dataset" \
    --model "$DEMO/data/model.onnx" --experiment "$DEMO/experiment" "$@"
}
run --scenario Offline --mode accuracy
run --scenario Offline --mode performance
run --scenario SingleStream --mode performance

$PY build.py report "$DEMO/experiment"
echo
echo "Submission tree: $DEMO/experiment/closed"
echo "Our checker on it (it flags the shortened runs and the scenarios and compliance tests the demo skips, as it should):"
$PY build.py submission check "$DEMO/experiment" | tail -n 5 || true
echo "demo finished in $(( $(date +%s) - start )) s"
