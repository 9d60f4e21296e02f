#!/bin/sh
# Bounded growth: memory, disk and restart time after a long history, with
# checkpoints (the default) and without them (-g 0), side by side.
#
# 2pc: TXS transactions (default 1,000,000) from 16 clients through a
# coordinator daemon and 3 hookless participants, durable logs.  For each
# daemon at the end: RSS, log size, and the time from a restart to
# readiness; and the throughput of the whole run.
#
# repl: PUTS writes (default 10,000,000) over 1,000 keys from 16 clients,
# 8 in flight each, to a primary with one backup acknowledging after its
# fsync (-a fsync -k 1).  For each member at the end: RSS, data directory
# size, and the time from a restart to readiness (a backup is ready once
# in sync); and the throughput of the run.  Then a backup down for the
# first half of the writes, started while the second half runs: the time
# it takes to be in sync.
#
# Throughput and latencies are medians of RUNS runs (default 3).
#
# usage: bench/growth.sh [2pc [TXS] | repl [PUTS [RUNS]] | all]  (from anywhere)
set -eu
. "$(dirname "$0")/lib.sh"
bench_init growth
what=${1:-all}
txs=${2:-1000000}
puts=${2:-10000000}
runs=${3:-3}
build_load 2pc-load repl-puts

rss_kb() {
	eval "p=\$pid_$1"
	awk '/^VmRSS/ { print $2 }' "/proc/$p/status"
}

size_kb() {
	du -k "$1" | cut -f1
}

# twopc GROWTH: the run, then one line per daemon.
twopc() {
	g=$1
	rm -f "$tmp"/*.log
	for s in a b c; do
		start "$s" "$bin/2pc-part" -g "$g" -s "$tmp/$s.sock" -l "$tmp/$s.log"
	done
	start coord "$bin/2pc-coord" -g "$g" -s "$tmp/coord.sock" \
		-l "$tmp/coord.log" a="$tmp/a.sock" b="$tmp/b.sock" c="$tmp/c.sock"
	set -- $("$tmp/2pc-load" "$tmp/coord.sock" 16 $((txs / 16)) g$g a b c)
	rate=$1
	for s in coord a b c; do
		rss=$(rss_kb "$s")
		stop "$s"
		if [ "$s" = coord ]; then
			start coord "$bin/2pc-coord" -g "$g" -s "$tmp/coord.sock" \
				-l "$tmp/coord.log" a="$tmp/a.sock" \
				b="$tmp/b.sock" c="$tmp/c.sock"
		else
			start "$s" "$bin/2pc-part" -g "$g" -s "$tmp/$s.sock" \
				-l "$tmp/$s.log"
		fi
		printf '%-22s %-6s %8s tx/s  RSS %7s kB  log %8s kB  restart %5s ms\n' \
			"$([ "$g" = 0 ] && echo "no checkpoints (-g 0)" || echo "checkpoints (default)")" \
			"$s" "$rate" "$rss" "$(size_kb "$tmp/$s.log")" "$ready_ms"
	done
	for s in coord a b c; do
		stop "$s"
	done
	pids=
}

# member NAME ROLE GROWTH: starts repl-ROLE NAME on the group's lease.
member() {
	start "$1" "$bin/repl-$2" -g "$3" -a fsync -k 1 -d "$tmp/$1.d" \
		-s "$tmp/$1.sock" -L "$tmp/lease"
}

# repl_run GROWTH: one run; appends "RATE P50 P99 MAX" to $tmp/runs.GROWTH
# and leaves each member's figures in rss_*, dir_* and ready_*.
repl_run() {
	g=$1
	rm -rf "$tmp"/*.d "$tmp"/lease*
	member p primary "$g"
	member b backup "$g"
	"$tmp/repl-puts" "$tmp/p.sock" 16 "$puts" 1000 8 >>"$tmp/runs.$g"
	rss_p=$(rss_kb p) rss_b=$(rss_kb b)
	dir_p=$(size_kb "$tmp/p.d") dir_b=$(size_kb "$tmp/b.d")
	# The backup restarts while the primary serves; then the primary
	# restarts (the backup stopped first, so the primary takes the
	# lease back rather than see its backup take over).
	stop b
	member b backup "$g"
	ready_b=$ready_ms
	stop b
	stop p
	member p primary "$g"
	ready_p=$ready_ms
	stop p
	pids=
}

# repl_report GROWTH: a line per member, then the latencies.
repl_report() {
	g=$1
	label=$([ "$g" = 0 ] && echo "no snapshots (-g 0)" || echo "snapshots (-g $g)")
	rate=$(cut -d' ' -f1 "$tmp/runs.$g" | median)
	for s in p b; do
		eval "rss=\$rss_${s}_$g dir=\$dir_${s}_$g ready=\$ready_${s}_$g"
		printf '%-20s %-7s %6s puts/s  RSS %7s kB  dir %8s kB  restart %5s ms\n' \
			"$label" "$([ $s = p ] && echo primary || echo backup)" \
			"$rate" "$rss" "$dir" "$ready"
	done
	echo "$label: put latency p50 $(cut -d' ' -f2 "$tmp/runs.$g" | median) ms, p99 $(cut -d' ' -f3 "$tmp/runs.$g" | median) ms, max $(cut -d' ' -f4 "$tmp/runs.$g" | median) ms"
}

# repl: RUNS runs of each, alternating, so that the machine's noise falls
# on both alike; throughput and latencies are medians, the rest is from
# each one's last run.
repl() {
	i=0
	while [ "$i" -lt "$runs" ]; do
		for g in 100 0; do
			repl_run "$g"
			for v in rss_p rss_b dir_p dir_b ready_p ready_b; do
				eval "${v}_$g=\$$v"
			done
		done
		i=$((i + 1))
	done
	repl_report 100
	repl_report 0
}

# lagging: a backup down for the first half of the writes catches up while
# the second half runs.
lagging() {
	rm -rf "$tmp"/*.d "$tmp"/lease*
	member p primary 100
	member b backup 100
	"$tmp/repl-puts" "$tmp/p.sock" 16 $((puts / 2)) 1000 8 >/dev/null
	"$tmp/repl-puts" "$tmp/p.sock" 16 $((puts / 2)) 1000 8 >"$tmp/second" &
	load=$!
	member late backup 100
	echo "a backup down for the first $((puts / 2)) puts: in sync $ready_ms ms after its start, while writes go on"
	wait "$load"
	for s in p b late; do
		stop "$s"
	done
	pids=
}

case $what in
2pc | all)
	echo "# bench/growth.sh 2pc $txs: 16 clients, 3 hookless participants, durable logs"
	echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, logs in ${TMPDIR:-/tmp}"
	twopc 100
	twopc 0
	;;
esac
case $what in
repl | all)
	echo "# bench/growth.sh repl $puts $runs: 16 clients x 8 in flight, 1,000 keys, -a fsync -k 1, medians of $runs"
	echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, data in ${TMPDIR:-/tmp}"
	repl
	lagging
	;;
2pc) ;;
*)
	echo "usage: bench/growth.sh [2pc [TXS] | repl [PUTS [RUNS]] | all]" >&2
	exit 2
	;;
esac
