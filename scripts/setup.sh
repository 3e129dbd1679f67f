#!/usr/bin/env bash
#===- scripts/setup.sh - install dependencies and configure the build -----===#
#
# Idempotent: installs the Debian packages the build and the tests need when
# they are missing (with sudo when not root), checks the CUDA toolkit, and
# configures the build directory with Ninja and ccache.
#
# Usage: scripts/setup.sh [BUILD_DIR]        (default: build)
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
LLVM_PREFIX=/usr/lib/llvm-19
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"

PACKAGES=(
  # compiler infrastructure
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  # build tools
  cmake ninja-build ccache g++ make
  # libraries
  libfmt-dev nlohmann-json3-dev libgtest-dev libxxhash-dev
  zlib1g-dev
  # the numerical oracle and the data
  python3 python3-torch python3-numpy dataset-fashion-mnist
  # the language-model corpus: The Adventures of Tom Sawyer (plain ASCII),
  # shipped as test data at /usr/share/gocode/src/github.com/pierrec/lz4/
  # testdata/Mark.Twain-Tom.Sawyer.txt (Debian 12: version 2.5.2-2)
  golang-github-pierrec-lz4-dev
)

log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    log "not root and no sudo: cannot install packages"
  fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || log "apt-get update failed; trying the cached lists"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "all Debian packages present"
fi

# English-French pairs for d2lc-train --task seq2seq: the French message
# catalogues (.mo) of Debian's libreoffice-l10n-fr (Debian 12:
# 4:7.4.7-1+deb12u14), extracted alone into /var/cache/d2lc: installing the
# package would pull in LibreOffice (240 packages).
MO_DIR=/var/cache/d2lc/libreoffice-l10n-fr
if [ ! -f "$MO_DIR/.complete" ]; then
  log "extracting the French catalogues of libreoffice-l10n-fr into $MO_DIR"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download libreoffice-l10n-fr >/dev/null 2>&1) || {
    $SUDO apt-get update -qq || true
    (cd "$tmp" && apt-get download libreoffice-l10n-fr >/dev/null)
  }
  dpkg-deb -x "$tmp"/libreoffice-l10n-fr_*.deb "$tmp/x"
  $SUDO mkdir -p "$MO_DIR"
  $SUDO cp "$tmp"/x/usr/lib/libreoffice/program/resource/fr/LC_MESSAGES/*.mo \
    "$MO_DIR/"
  $SUDO touch "$MO_DIR/.complete"
  rm -rf "$tmp"
fi

# English-French sentence pairs for d2lc-train --task seq2seq --corpus
# handbook: the HTML of Debian's debian-handbook (Debian 12: 11.20220922, a
# 35 MB download), the same book in html/en-US and html/fr-FR, whose 127
# chapter files have as many paragraphs in both languages (3,034; 3,500
# sentence pairs, see the README). Only those two directories' *.html files
# are copied into /var/cache/d2lc/debian-handbook/{en-US,fr-FR}
# (d2lrt::loadHandbookPairs reads them).
HB_DIR=/var/cache/d2lc/debian-handbook
if [ ! -f "$HB_DIR/.complete" ]; then
  log "extracting the English and French HTML of debian-handbook into $HB_DIR"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download debian-handbook >/dev/null 2>&1) || {
    $SUDO apt-get update -qq || true
    (cd "$tmp" && apt-get download debian-handbook >/dev/null)
  }
  dpkg-deb -x "$tmp"/debian-handbook_*.deb "$tmp/x"
  for lang in en-US fr-FR; do
    $SUDO mkdir -p "$HB_DIR/$lang"
    $SUDO cp "$tmp"/x/usr/share/doc/debian-handbook/html/$lang/*.html \
      "$HB_DIR/$lang/"
  done
  $SUDO touch "$HB_DIR/.complete"
  rm -rf "$tmp"
fi

# The CUDA toolkit is not a Debian package: say plainly what is missing.
cuda_missing=()
[ -x "$CUDA_HOME/bin/nvcc" ] || cuda_missing+=("$CUDA_HOME/bin/nvcc")
[ -x "$CUDA_HOME/bin/ptxas" ] || cuda_missing+=("$CUDA_HOME/bin/ptxas")
ls "$CUDA_HOME"/lib64/libnvrtc.so* >/dev/null 2>&1 || \
  ls "$CUDA_HOME"/targets/*/lib/libnvrtc.so* >/dev/null 2>&1 || \
  cuda_missing+=("$CUDA_HOME/lib64/libnvrtc.so")
[ -f "$CUDA_HOME/include/nvrtc.h" ] || cuda_missing+=("$CUDA_HOME/include/nvrtc.h")
if [ ${#cuda_missing[@]} -gt 0 ]; then
  log "the CUDA toolkit is incomplete; missing: ${cuda_missing[*]}"
  log "install CUDA 13 (nvcc, NVRTC, ptxas) under $CUDA_HOME or set CUDA_HOME"
  exit 1
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  log "configuring $BUILD"
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_DIR="$LLVM_PREFIX/lib/cmake/llvm" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/build/utils/lit/lit.py" \
    -DPython3_EXECUTABLE=/usr/bin/python3 \
    -DCUDAToolkit_ROOT="$CUDA_HOME" >/dev/null
fi
log "ready: $BUILD"
