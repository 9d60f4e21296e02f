#!/bin/sh
# Bounded growth: memory, disk and restart time after a long history, with
# checkpoints (the default) and without them (-g 0), side by side.
#
# 2pc: TXS transactions (default 1,000,000) from 16 clients through a
# coordinator daemon and 3 hookless participants, durable logs.  For each
# daemon at the end: RSS, log size, and the time from a restart to
# readiness; and the throughput of the whole run.
#
# usage: bench/growth.sh [2pc] [TXS]     (run from anywhere)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-2pc}
txs=${2:-1000000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/growth-bench.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
make -s -C "$root" all
${CC:-cc} -O2 -o "$tmp/2pc-load" "$root/bench/2pc-load.c"
bin=$root/bin

now_ms() {
	date +%s%3N
}

# start NAME CMD...: runs a daemon, waits for its readiness on fd 3, and
# leaves in $ready_ms how long that took.
start() {
	name=$1
	shift
	mkfifo "$tmp/$name.ready"
	t0=$(now_ms)
	"$@" 3>"$tmp/$name.ready" >/dev/null 2>>"$tmp/$name.err" &
	eval "pid_$name=$!"
	pids="$pids $!"
	read -r _ <"$tmp/$name.ready"
	ready_ms=$(($(now_ms) - t0))
	rm -f "$tmp/$name.ready"
}

stop() {
	eval "p=\$pid_$1"
	kill "$p" && wait "$p" 2>/dev/null || true
}

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
		start "$s" "$bin/2pc-part" -g "$g" -s "$tmp/$s.sock" -l "$tmp/$s.log" -r 3
	done
	start coord "$bin/2pc-coord" -g "$g" -s "$tmp/coord.sock" \
		-l "$tmp/coord.log" -r 3 a="$tmp/a.sock" b="$tmp/b.sock" c="$tmp/c.sock"
	set -- $("$tmp/2pc-load" "$tmp/coord.sock" 16 $((txs / 16)) g$g a b c)
	rate=$1
	for s in coord a b c; do
		rss=$(rss_kb "$s")
		stop "$s"
		if [ "$s" = coord ]; then
			start coord "$bin/2pc-coord" -g "$g" -s "$tmp/coord.sock" \
				-l "$tmp/coord.log" -r 3 a="$tmp/a.sock" \
				b="$tmp/b.sock" c="$tmp/c.sock"
		else
			start "$s" "$bin/2pc-part" -g "$g" -s "$tmp/$s.sock" \
				-l "$tmp/$s.log" -r 3
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

case $what in
2pc)
	echo "# bench/growth.sh 2pc $txs: 16 clients, 3 hookless participants, durable logs"
	echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, logs in ${TMPDIR:-/tmp}"
	twopc 100
	twopc 0
	;;
*)
	echo "usage: bench/growth.sh [2pc] [TXS]" >&2
	exit 2
	;;
esac
