#!/usr/bin/env bash
#===- scripts/gpu-check.sh - the GPU checks, for a lent GPU machine ------===#
#
# Here (with MLIR):   scripts/gpu-check.sh --prepare
#   compiles every model of models/ (and the benchmark matmul) to CUDA into
#   gpu-bundle/, with the header-only libraries the runtime needs there.
# There (GPU, CUDA, cmake, ninja, PyTorch; no MLIR), with gpu-bundle carried:
#   OUT=/some/dir scripts/gpu-check.sh
#   builds the runtime alone, then runs scripts/gpu_check.py: NVRTC cold
#   and warm compile times, every model's train_step on the GPU against
#   PyTorch (CUDA) on the same weights, step times of d2lc, PyTorch eager
#   and torch.compile side by side, the 10000x1000x2000 matmul, the RNN /
#   GRU / LSTM language models against the book's RNNModel, fused against
#   unfused (a conv-BN-ReLU block; LeNet-BN, the residual block and ResNet-18
#   at batch 32), the translation models' Adam step against the book's on
#   PyTorch, ResNet-18 with --early-update, and d2lc-train (LeNet on
#   Fashion-MNIST, the GRU on Tom Sawyer, both translation models on
#   LibreOffice's pairs), ResNet-18 with the fused stem backward and under
#   peak budgets (rematerialization). Each check stands alone (an error is recorded, the next runs);
#   none starts after --budget seconds (GPU_CHECK_ARGS="--budget 300").
#   Results go to $OUT (summary.txt, summary.json, logs).
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$ROOT/gpu-bundle"

if [ "${1:-}" = "--prepare" ]; then
  BIN="$ROOT/build/bin"
  [ -x "$BIN/d2lc" ] || { echo "build d2lc first (make build)" >&2; exit 1; }
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/vendor"
  for f in "$ROOT"/models/*.mlir; do
    m=$(basename "$f" .mlir)
    case "$m" in *_lm|transformer_block|seq2seq_attention|transformer) continue ;; esac
    loss=cross_entropy; [ "$m" = linear_regression ] && loss=mse
    "$BIN/d2lc" "$f" --train --loss $loss --momentum 0.9 --weight-decay 0.001 \
      --arch sm_90 -o "$BUNDLE/${m}_train.cu"
  done
  cat > "$BUNDLE/matmul.mlir" <<'MLIR'
func.func @forward(%a: tensor<10000x1000xf32> {d2l.input = "A"}, %b: tensor<1000x2000xf32> {d2l.input = "B"}) -> (tensor<10000x2000xf32> {d2l.output = "C"}) {
  %c = d2l.matmul %a, %b : (tensor<10000x1000xf32>, tensor<1000x2000xf32>) -> tensor<10000x2000xf32>
  return %c : tensor<10000x2000xf32>
}
MLIR
  "$BIN/d2lc" "$BUNDLE/matmul.mlir" -o "$BUNDLE/matmul.cu"
  # Fusion: one conv-BN-ReLU block (ResNet's 64-channel 3x3 layer at 28x28,
  # batch 64, with a classifier head), and the BN models, fused and unfused.
  python3 - "$BUNDLE/conv_bn_relu.mlir" <<'PY'
import sys
t = "tensor<64xf32>"
print(f"""func.func @forward(%x: tensor<64x64x28x28xf32> {{d2l.input = "X"}},
    %w: tensor<64x64x3x3xf32> {{d2l.param = "0.weight", d2l.init = "xavier_uniform"}},
    %b: {t} {{d2l.param = "0.bias", d2l.init = "zeros"}},
    %g: {t} {{d2l.param = "1.weight", d2l.init = "ones"}},
    %be: {t} {{d2l.param = "1.bias", d2l.init = "zeros"}},
    %m: {t} {{d2l.state = "1.running_mean", d2l.init = "zeros"}},
    %v: {t} {{d2l.state = "1.running_var", d2l.init = "ones"}},
    %fw: tensor<10x64xf32> {{d2l.param = "5.weight", d2l.init = "xavier_uniform"}})
    -> (tensor<64x10xf32> {{d2l.output = "logits"}}) {{
  %0 = d2l.conv2d %x, %w, %b {{padding = array<i64: 1, 1>}} : (tensor<64x64x28x28xf32>, tensor<64x64x3x3xf32>, {t}) -> tensor<64x64x28x28xf32>
  %1 = d2l.batch_norm_inference %0, %g, %be, %m, %v : (tensor<64x64x28x28xf32>, {t}, {t}, {t}, {t}) -> tensor<64x64x28x28xf32>
  %2 = d2l.relu %1 : tensor<64x64x28x28xf32>
  %3 = d2l.adaptive_avg_pool2d %2 {{output_size = array<i64: 1, 1>}} : (tensor<64x64x28x28xf32>) -> tensor<64x64x1x1xf32>
  %4 = d2l.flatten %3 : (tensor<64x64x1x1xf32>) -> tensor<64x64xf32>
  %5 = d2l.linear %4, %fw : (tensor<64x64xf32>, tensor<10x64xf32>) -> tensor<64x10xf32>
  return %5 : tensor<64x10xf32>
}}""", file=open(sys.argv[1], "w"))
PY
  for f in "$BUNDLE/conv_bn_relu.mlir" "$ROOT"/models/{lenet_bn,residual_block,resnet18}.mlir; do
    m=$(basename "$f" .mlir)
    [ "$m" = conv_bn_relu ] && "$BIN/d2lc" "$f" --train --arch sm_90 -o "$BUNDLE/${m}_fused.cu"
    [ "$m" != conv_bn_relu ] && "$BIN/d2lc" "$f" --train --arch sm_90 --batch 32 -o "$BUNDLE/${m}_fused.cu"
    "$BIN/d2lc" "$f" --train --arch sm_90 --no-fuse $([ "$m" != conv_bn_relu ] && echo --batch 32) \
      -o "$BUNDLE/${m}_unfused.cu"
  done
  # The language models as d2lc-train takes them (clipping at 1, plain SGD),
  # LeNet as the README trains it, and the data sets.
  for m in rnn_lm gru_lm lstm_lm; do
    "$BIN/d2lc" "$ROOT/models/$m.mlir" --train --clip-norm 1 --arch sm_90 \
      -o "$BUNDLE/${m}_clip1.cu"
  done
  "$BIN/d2lc" "$ROOT/models/lenet.mlir" --train --arch sm_90 -o "$BUNDLE/lenet_d2l.cu"
  # The translation models as d2lc-train takes them (Adam, clipping at 1),
  # and ResNet-18 with the updates right after their gradients.
  for m in seq2seq_attention transformer; do
    "$BIN/d2lc" "$ROOT/models/$m.mlir" --train --optimizer adam --clip-norm 1 \
      --arch sm_90 -o "$BUNDLE/${m}_adam.cu"
  done
  "$BIN/d2lc" "$ROOT/models/resnet18.mlir" --train --arch sm_90 --batch 32 \
    --early-update -o "$BUNDLE/resnet18_early.cu"
  # Rematerialization: the fused stem backward, and peak budgets (their
  # memory reports beside them).
  "$BIN/d2lc" "$ROOT/models/resnet18.mlir" --train --arch sm_90 --batch 32 \
    --early-update --fuse-stem-backward -o "$BUNDLE/resnet18_stem.cu"
  # "half": half the bytes the step saves without recomputation, in bytes.
  saved=$("$BIN/d2lc" "$ROOT/models/resnet18.mlir" --train --batch 32 \
    --early-update --mem-report | awk '/saved activations/ {print $3; exit}')
  for b in 75 55 half; do
    budget="0.$b"
    [ "$b" = half ] && budget=$((saved / 2))
    remat=("$BIN/d2lc" "$ROOT/models/resnet18.mlir" --train --arch sm_90 --batch 32
      --early-update --remat-budget "$budget")
    "${remat[@]}" -o "$BUNDLE/resnet18_remat$b.cu"
    "${remat[@]}" --mem-report -o "$BUNDLE/resnet18_remat$b.txt"
  done
  mkdir -p "$BUNDLE/data/mo"
  cp /var/cache/d2lc/libreoffice-l10n-fr/*.mo "$BUNDLE/data/mo/"
  cp /usr/share/datasets/fashion-mnist/*.gz \
    /usr/share/gocode/src/github.com/pierrec/lz4/testdata/Mark.Twain-Tom.Sawyer.txt \
    "$BUNDLE/data/"
  cp -r /usr/include/nlohmann /usr/include/fmt /usr/include/xxhash.h "$BUNDLE/vendor/"
  echo "prepared $BUNDLE ($(ls "$BUNDLE"/*.cu | wc -l) models)"
  exit 0
fi

OUT="${OUT:-$ROOT/gpu-out}"
mkdir -p "$OUT"
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
[ -d "$BUNDLE" ] || { echo "no $BUNDLE: run scripts/gpu-check.sh --prepare where d2lc builds, and carry gpu-bundle" >&2; exit 1; }
{
  date
  command -v nvidia-smi >/dev/null && nvidia-smi || echo "no nvidia-smi"
  cmake -S "$ROOT/runtime" -B "$ROOT/build-gpu" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DD2LRT_VENDOR_DIR="$BUNDLE/vendor" > "$OUT/cmake.log"
  ninja -C "$ROOT/build-gpu" d2lrt-run d2lrt-compile d2lc-train > "$OUT/build.log"
  # Fashion-MNIST gunzipped: the runtime reads plain IDX files without zlib.
  DATA=""
  if [ -d "$BUNDLE/data" ]; then
    DATA="$(mktemp -d)"
    for f in "$BUNDLE"/data/*.gz; do gunzip -c "$f" > "$DATA/$(basename "$f" .gz)"; done
  fi
  export D2LC_CACHE_DIR="$OUT/cache"
  rm -rf "$D2LC_CACHE_DIR"
  PY=""
  for p in "${PYTHON:-}" python3 /usr/bin/python3; do
    if [ -n "$p" ] && "$p" -c "import torch" 2>/dev/null; then PY="$p"; break; fi
  done
  [ -n "$PY" ] || { echo "no Python with PyTorch (set PYTHON)"; exit 1; }
  "$PY" "$ROOT/scripts/gpu_check.py" --bundle "$BUNDLE" --bin "$ROOT/build-gpu" \
    --out "$OUT" --device "$DEVICE" ${DATA:+--data "$DATA"} ${GPU_CHECK_ARGS:-}
  rm -rf "$D2LC_CACHE_DIR"
  date
} 2>&1 | tee "$OUT/gpu-check.log"
