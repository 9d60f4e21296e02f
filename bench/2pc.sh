#!/bin/sh
# Two-phase commit throughput, latency and fsyncs per transaction.
#
# Three participants without hooks and a coordinator daemon, durable logs
# (and again with -S, no sync): transactions per second and p50/p99
# latency for 1 client and for 16 concurrent clients, each client waiting
# for one outcome before sending the next transaction.  fsyncs per
# transaction are the fdatasync calls all four daemons report (STATS)
# divided by the transactions.  Each figure is the median of RUNS runs.
#
# usage: bench/2pc.sh [RUNS]     (default 5; run from anywhere)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/2pc-bench.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
make -s -C "$root" all
${CC:-cc} -O2 -o "$tmp/2pc-load" "$root/bench/2pc-load.c"
load=$tmp/2pc-load
bin=$root/bin

# start NAME CMD...: run a daemon, wait for its readiness line on fd 3.
start() {
	name=$1
	shift
	mkfifo "$tmp/$name.ready"
	"$@" 3>"$tmp/$name.ready" >/dev/null 2>>"$tmp/$name.err" &
	pids="$pids $!"
	read -r _ <"$tmp/$name.ready"
	rm -f "$tmp/$name.ready"
}

stop_all() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=
}

syncs() {
	total=0
	for s in a b c coord; do
		total=$((total + $("$load" -s "$tmp/$s.sock")))
	done
	echo "$total"
}

# one_run SYNCFLAG CLIENTS TXS: prints "TX/S P50 P99 FSYNCS/TX".
one_run() {
	flag=$1 clients=$2 txs=$3
	rm -f "$tmp"/*.log
	for s in a b c; do
		start "$s" "$bin/2pc-part" $flag -s "$tmp/$s.sock" -l "$tmp/$s.log" -r 3
	done
	start coord "$bin/2pc-coord" $flag -s "$tmp/coord.sock" -l "$tmp/coord.log" \
		-r 3 a="$tmp/a.sock" b="$tmp/b.sock" c="$tmp/c.sock"
	before=$(syncs)
	set -- $("$load" "$tmp/coord.sock" "$clients" "$txs" run a b c)
	after=$(syncs)
	stop_all
	echo "$1 $2 $3 $(awk -v s=$((after - before)) -v n=$((clients * txs)) \
		'BEGIN { printf "%.2f", s / n }')"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# bench LABEL SYNCFLAG CLIENTS TXS
bench() {
	label=$1 flag=$2 clients=$3 txs=$4
	: >"$tmp/results"
	i=0
	while [ "$i" -lt "$runs" ]; do
		one_run "$flag" "$clients" "$txs" >>"$tmp/results"
		i=$((i + 1))
	done
	printf '%-22s %8s tx/s  p50 %5s us  p99 %6s us  %s fsyncs/tx\n' "$label" \
		"$(cut -d' ' -f1 "$tmp/results" | median)" \
		"$(cut -d' ' -f2 "$tmp/results" | median)" \
		"$(cut -d' ' -f3 "$tmp/results" | median)" \
		"$(cut -d' ' -f4 "$tmp/results" | median)"
}

echo "# bench/2pc.sh $runs: 3 hookless participants + coordinator daemon, median of $runs runs"
echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, logs in ${TMPDIR:-/tmp}"
bench "durable, 1 client" "" 1 2000
bench "durable, 16 clients" "" 16 500
bench "no sync (-S), 1 client" "-S" 1 2000
bench "no sync (-S), 16 clients" "-S" 16 500
