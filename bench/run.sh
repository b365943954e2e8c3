#!/bin/sh
# Runs every benchmark of bench/ from a release build directory and prints
# their figures.  Usage: bench/run.sh [BUILD_DIR]   (default build/rel)
set -eu
build=${1:-build/rel}
cd "$(dirname "$0")/.."
for b in "$build"/bench/*; do
	case "$b" in *.o|*.d) continue ;; esac
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b"
done
