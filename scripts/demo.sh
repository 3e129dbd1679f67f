#!/usr/bin/env bash
#===- scripts/demo.sh - the main job on the bundled LeNet -----------------===#
#
# Verifies models/lenet.mlir, reads a real Fashion-MNIST test batch, and runs
# LeNet's forward pass with the reference evaluator, printing predictions.
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
BIN="$BUILD/bin"
OUT="$BUILD/demo"
mkdir -p "$OUT"

echo "== verify models/lenet.mlir and rewrite its batch size to 256"
"$BIN/d2lc-opt" "$ROOT/models/lenet.mlir" --d2l-set-batch=batch=256 -o "$OUT/lenet.mlir"

echo "== a real Fashion-MNIST test batch (256 images)"
"$BIN/d2lc-data" --split test --count 256 -o "$OUT/batch.safetensors"

echo "== LeNet forward with the reference evaluator (weights: xavier_uniform, seed 0)"
"$BIN/d2lc-run" --backend=eval "$OUT/lenet.mlir" --entry forward \
  --inputs "$OUT/batch.safetensors" --seed 0 --classify --show 10 \
  -o "$OUT/logits.safetensors"
echo "(untrained weights: about one prediction in ten is right)"
echo "logits written to $OUT/logits.safetensors"
