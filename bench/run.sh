#!/bin/sh
# Runs every benchmark of bench/ from a release build directory and prints
# their figures.  Usage: bench/run.sh [BUILD_DIR]   (default build/rel)
# The programs that need arguments (load generators) are driven by the
# Python scripts, which start real Dovecot backends and need root.
set -eu
build=${1:-build/rel}
cd "$(dirname "$0")/.."
for b in "$build"/bench/*; do
	case "$b" in *.o|*.d|*_load) continue ;; esac
	[ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b"
done
for s in bench/*_bench.py; do
	[ -f "$s" ] || continue
	echo "== $(basename "$s")"
	if [ "$(id -u)" -ne 0 ]; then
		echo "skipped: needs root (it starts Dovecot backends)"
		continue
	fi
	/usr/bin/python3 "$s" --build "$build"
done
