#!/bin/sh
# Runs the lit tests whose path matches $1 (a regex), e.g. scripts/lit.sh fuse
exec /usr/bin/python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv "$(dirname "$0")/../build/test" --filter "${1:-.}"
