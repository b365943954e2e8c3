#!/bin/sh
# run.sh - runs the libFuzzer targets of BINDIR, JOBS at a time, each for
# SECONDS or RUNS executions, whichever ends first (0: no such limit), and
# prints one line a target: executions, crashes (0 or 1), exec/s and the
# wall time it ran.
#
#   run.sh BINDIR SECONDS RUNS JOBS [TARGET ...]    (TARGET: fuzz_admin)
#
# Each target starts from tests/fuzz/corpus/NAME/ (NAME without "fuzz_")
# when it exists (with the dictionary tests/fuzz/NAME.dict if there is
# one, and the libFuzzer flags of tests/fuzz/NAME.options, one a line, if
# there are any) and keeps what it finds in BINDIR/../corpus/NAME/;
# logs go to BINDIR/../logs/, crashing inputs to BINDIR/../artifacts/.
# With FUZZ_FORK=N in the environment each target runs in libFuzzer's fork
# mode on N processes (for a slow target given every CPU; RUNS then counts
# the executions of all of them).
# Exits 1 if any target crashed (or could not run).
set -u

bindir=$1 seconds=$2 runs=$3 jobs=$4
shift 4
top=$(dirname "$bindir")
seeds=$(dirname "$0")/corpus
mkdir -p "$top/logs" "$top/artifacts"
if [ $# -eq 0 ]; then
	set -- $(cd "$bindir" && ls fuzz_*)
fi

# run_one TARGET: runs it, leaves its exit status in logs/TARGET.rc and
# the seconds it took in logs/TARGET.secs
run_one() {
	start=$(date +%s)
	name=${1#fuzz_}
	mkdir -p "$top/corpus/$name"
	dirs="$top/corpus/$name"
	[ -d "$seeds/$name" ] && dirs="$dirs $seeds/$name"
	dict=
	[ -f "$seeds/../$name.dict" ] && dict="-dict=$seeds/../$name.dict"
	opts=
	[ -f "$seeds/../$name.options" ] &&
		opts=$(grep -v '^#' "$seeds/../$name.options")
	limit=
	[ "$runs" -ne 0 ] && limit="-runs=$runs"
	[ "$seconds" -ne 0 ] && limit="$limit -max_total_time=$seconds"
	[ "${FUZZ_FORK:-0}" -gt 0 ] && limit="$limit -fork=$FUZZ_FORK"
	"$bindir/$1" $limit $dict $opts -print_final_stats=1 -timeout=25 \
	    -artifact_prefix="$top/artifacts/$1-" $dirs \
	    >"$top/logs/$1.log" 2>&1
	echo $? >"$top/logs/$1.rc"
	echo $(($(date +%s) - start)) >"$top/logs/$1.secs"
}

# report TARGET: prints its line; returns 1 if it crashed
report() {
	log=$top/logs/$1.log
	rc=$(cat "$top/logs/$1.rc")
	secs=$(cat "$top/logs/$1.secs")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ -z "$execs" ]; then
		# fork mode prints no totals: its last "#N:" line counts them
		# (its exec/s is not the run's average)
		execs=$(grep -E '^#[0-9]+: ' "$log" | tail -n 1 |
		    sed -n 's/^#\([0-9]*\):.*/\1/p')
		[ -n "$execs" ] && [ "$secs" -gt 0 ] && rate=$((execs / secs))
	fi
	crashed=0
	[ "$rc" -ne 0 ] && crashed=1
	printf '%-22s %12s executions  %d crashes  %8s exec/s  %6s s\n' \
	    "$1" "${execs:-0}" "$crashed" "${rate:-0}" "$secs"
	return $crashed
}

status=0
while [ $# -gt 0 ]; do
	group=""
	i=0
	while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
		run_one "$1" &
		group="$group $1"
		shift
		i=$((i + 1))
	done
	wait
	for t in $group; do
		report "$t" || status=1
	done
done
exit $status
