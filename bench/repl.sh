#!/usr/bin/env bash
# Replication benchmark: throughput and latency of acknowledged writes for
# each ack level, with 1 and 2 backups and 1 and 16 clients (acks); of
# reads at the primary of a group with one backup (gets); the time from
# connect to a first answer, which holds a handshake's cost (connect);
# failover time from kill -9 of the primary to the first write
# acknowledged by the new primary, median of 10 (failover); and Redis
# (appendfsync always, one replica, WAIT 1 0 after each write) side by
# side (redis).  Never a test: numbers depend on the machine.
#
# -t TRANSPORT: every member and client on UNIX sockets (unix, the
# default), on TCP on 127.0.0.1 (tcp), or on TCP with -K KEYFILE on every
# member and client (tcp+key); Redis always on its UNIX socket.
# SECTION...: the parts to run (default all of them).  BENCH_SECS sets
# the length of each run (default 5), BENCH_RUNS how many runs a figure is
# the median of (default 5); ACKS ("none recv fsync") and BACKUPS ("1 2")
# narrow the acks matrix.
#
# usage: bench/repl.sh [-t unix|tcp|tcp+key] [acks gets connect failover redis]
set -eu
. "$(dirname "$0")/lib.sh"
bench_init repl
if [ "${1:-}" = -t ]; then
	use_transport "$2"
	shift 2
fi
sections=${*:-acks gets connect failover redis}
secs=${BENCH_SECS:-5}
runs=${BENCH_RUNS:-5}
build_load repl-load
load="$tmp/repl-load $key"

# group LEVEL BACKUPS: a fresh primary (p) with BACKUPS backups (b1, ...).
group() {
	stop_all
	rm -rf "$tmp/g" && mkdir "$tmp/g"
	start p "$bin/repl-primary" $key -a "$1" -d "$tmp/g/p" -s "$(addr p)" \
	    -L "$tmp/g/lease"
	for ((b = 1; b <= $2; b++)); do
		start "b$b" "$bin/repl-backup" $key -d "$tmp/g/b$b" \
		    -s "$(addr "b$b")" -L "$tmp/g/lease"
	done
}

# row LABEL CMD...: runs CMD (which prints a line of figures) RUNS times
# and prints LABEL and the medians.  Not in a pipe or $(...): the daemons
# CMD starts must be this shell's, for stop_all.
row() {
	local label=$1 i
	shift
	: >"$tmp/results"
	for ((i = 0; i < runs; i++)); do
		"$@" >>"$tmp/results"
	done
	printf '%-46s %10s %9s %9s\n' "$label" $(medians "$tmp/results")
}

# on_group LEVEL BACKUPS CMD...: runs CMD on a fresh group.
on_group() {
	group "$1" "$2"
	shift 2
	"$@"
}

echo "# bench/repl.sh -t $transport $sections (BENCH_SECS=$secs BENCH_RUNS=$runs): medians of $runs runs"
echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, data in ${TMPDIR:-/tmp}"
printf '%-46s %10s %9s %9s\n' "setup" "ops/s" "p50 ms" "p99 ms"
case " $sections " in *" acks "*)
	for level in ${ACKS:-none recv fsync}; do
		for backups in ${BACKUPS:-1 2}; do
			for clients in 1 16; do
				row "$transport, put -a $level, $backups backup(s), $clients client(s)" \
				    on_group "$level" "$backups" \
				    $load put "$(addr p)" "$clients" "$secs"
			done
		done
	done
esac
case " $sections " in *" gets "*)
	for clients in 1 16; do
		row "$transport, get, 1 backup, $clients client(s)" \
		    on_group fsync 1 $load get "$(addr p)" "$clients" "$secs"
	done
esac
case " $sections " in *" connect "*)
	printf '%-46s %10s %9s %9s\n' "" "conns/s" "p50 us" "p99 us"
	row "$transport, connect + GET, 1 backup" \
	    on_group fsync 1 $load -c 1000 "$(addr p)"
esac
stop_all

# Failover: kill -9 the primary of a group of three, time until a write
# is acknowledged by the new primary (the client retries every 10 ms).
case " $sections " in *" failover "*)
	times=()
	for i in $(seq 1 10); do
		group fsync 2
		"$bin/repl-client" $key -L "$tmp/g/lease" put warm up >/dev/null
		t0=$(date +%s%N)
		# Waited for here, so bash reports no "Killed".
		{ kill -9 "$pid_p" && wait "$pid_p"; } 2>/dev/null || true
		"$bin/repl-client" $key -L "$tmp/g/lease" -t 5 put after failover >/dev/null
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000 )))
	done
	stop_all
	med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 5p)
	printf '%s, failover kill -9 -> first acked write: median of 10 %d.%03d ms (all: %s us)\n' \
	    "$transport" $((med / 1000)) $((med % 1000)) "${times[*]}"
esac

# Redis side by side: appendfsync always, one replica, WAIT 1 0 per write.
case " $sections " in *" redis "*)
	if ! command -v redis-server >/dev/null; then
		echo "# installing redis-server" >&2
		if [ "$(id -u)" -eq 0 ]; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
		else
			sudo DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
		fi
	fi
	# The replica reaches its master over TCP on the loopback.
	mkdir -p "$tmp/r1" "$tmp/r2"
	port=$((port_base + 1000))
	redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$tmp/r1.sock" \
	    --dir "$tmp/r1" --appendonly yes --appendfsync always --save '' >/dev/null &
	pids="$pids $!"
	redis-server --port 0 --unixsocket "$tmp/r2.sock" --dir "$tmp/r2" \
	    --appendonly yes --appendfsync always --save '' \
	    --replicaof 127.0.0.1 "$port" >/dev/null &
	pids="$pids $!"
	until redis-cli -s "$tmp/r1.sock" info replication 2>/dev/null |
	    grep -q 'state=online'; do sleep 0.05; done
	for clients in 1 16; do
		row "redis always+WAIT 1 0, $clients client(s)" \
		    "$tmp/repl-load" redis "$tmp/r1.sock" "$clients" "$secs"
	done
esac
