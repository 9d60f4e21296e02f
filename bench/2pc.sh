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
# -t TRANSPORT: every daemon (and so every link: client to coordinator,
# coordinator to participants) on UNIX sockets (unix, the default), on
# TCP on 127.0.0.1 (tcp), or on TCP with -K KEYFILE on every daemon and
# client (tcp+key).  Last, the time from connect to a first answer (one
# STATS on a fresh connection), which holds a handshake's cost.
#
# usage: bench/2pc.sh [-t unix|tcp|tcp+key] [RUNS]   (default 5; from anywhere)
set -eu
. "$(dirname "$0")/lib.sh"
bench_init 2pc
if [ "${1:-}" = -t ]; then
	use_transport "$2"
	shift 2
fi
runs=${1:-5}
build_load 2pc-load
load="$tmp/2pc-load $key"

syncs() {
	total=0
	for s in a b c coord; do
		total=$((total + $($load -s "$(addr $s)")))
	done
	echo "$total"
}

# daemons SYNCFLAG: three participants and a coordinator, fresh logs.
daemons() {
	rm -f "$tmp"/*.log
	for s in a b c; do
		start "$s" "$bin/2pc-part" $key $1 -s "$(addr $s)" -l "$tmp/$s.log"
	done
	start coord "$bin/2pc-coord" $key $1 -s "$(addr coord)" \
		-l "$tmp/coord.log" a="$(addr a)" b="$(addr b)" c="$(addr c)"
}

# one_run SYNCFLAG CLIENTS TXS: prints "TX/S P50 P99 FSYNCS/TX".
one_run() {
	flag=$1 clients=$2 txs=$3
	daemons "$flag"
	before=$(syncs)
	set -- $($load "$(addr coord)" "$clients" "$txs" run a b c)
	after=$(syncs)
	stop_all
	echo "$1 $2 $3 $(awk -v s=$((after - before)) -v n=$((clients * txs)) \
		'BEGIN { printf "%.2f", s / n }')"
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
	printf '%-30s %8s tx/s  p50 %5s us  p99 %6s us  %s fsyncs/tx\n' \
		"$label" $(medians "$tmp/results")
}

# connects N: N connections to the coordinator in each of RUNS runs.
connects() {
	: >"$tmp/results"
	i=0
	while [ "$i" -lt "$runs" ]; do
		daemons -S
		$load -c "$1" "$(addr coord)" >>"$tmp/results"
		stop_all
		i=$((i + 1))
	done
	printf '%-30s %8s conn/s p50 %5s us  p99 %6s us\n' \
		"$transport, connect + STATS" $(medians "$tmp/results")
}

echo "# bench/2pc.sh -t $transport $runs: 3 hookless participants + coordinator daemon, median of $runs runs"
echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, logs in ${TMPDIR:-/tmp}"
bench "$transport, durable, 1 client" "" 1 2000
bench "$transport, durable, 16 clients" "" 16 500
bench "$transport, -S, 1 client" "-S" 1 2000
bench "$transport, -S, 16 clients" "-S" 16 500
connects 1000
