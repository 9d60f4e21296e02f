#!/usr/bin/env bash
# Replication benchmark: throughput and latency of acknowledged writes for
# each ack level, with 1 and 2 backups and 1 and 16 clients; failover time
# from kill -9 of the primary to the first write acknowledged by the new
# primary (median of 10); and Redis (appendfsync always, one replica,
# WAIT 1 0 after each write) side by side.  Never a test: numbers depend
# on the machine.  BENCH_SECS sets the length of each run (default 5).
set -eu
cd "$(dirname "$0")/.."
make -s
export PATH="$PWD/bin:$PATH"
secs=${BENCH_SECS:-5}
work=$(mktemp -d)
pids=()
cleanup() {
	stop
	rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -D_DEFAULT_SOURCE -o "$work/repl-load" bench/repl-load.c

# ready CMD...: start a daemon with -r 3 and wait for its readiness line.
ready() {
	"$@" -r 3 3>"$work/ready" 2>>"$work/daemons.err" &
	pids+=($!)
	disown $!	# no "Killed" notes from bash when we kill it
	while [ ! -s "$work/ready" ]; do sleep 0.01; done
	rm -f "$work/ready"
}

# stop: kill -9 every daemon started and wait until they are gone.
stop() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.01; done
	done
	pids=()
}

# group LEVEL BACKUPS: a fresh primary with BACKUPS backups in $work/g.
group() {
	stop
	rm -rf "$work/g" && mkdir "$work/g"
	ready repl-primary -a "$1" -d "$work/g/p" -s "$work/g/p.sock" \
	    -L "$work/g/lease"
	for ((b = 1; b <= $2; b++)); do
		ready repl-backup -d "$work/g/b$b" -s "$work/g/b$b.sock" \
		    -L "$work/g/lease"
	done
}

echo "# hakit replication benchmark, $(nproc) cores, $(uname -sr), ${secs}s runs"
echo "# command: bench/repl.sh (BENCH_SECS=$secs)"
printf '%-34s %10s %9s %9s\n' "setup" "ops/s" "p50 ms" "p99 ms"
for level in none recv fsync; do
	for backups in 1 2; do
		for clients in 1 16; do
			group "$level" "$backups"
			read -r ops p50 p99 < <("$work/repl-load" hakit \
			    "$work/g/p.sock" "$clients" "$secs")
			printf '%-34s %10s %9s %9s\n' \
			    "hakit -a $level, $backups backup(s), $clients client(s)" \
			    "$ops" "$p50" "$p99"
		done
	done
done

# Failover: kill -9 the primary of a group of three, time until a write
# is acknowledged by the new primary (the client retries every 10 ms).
times=()
for i in $(seq 1 10); do
	group fsync 2
	repl-client -L "$work/g/lease" put warm up >/dev/null
	start=$(date +%s%N)
	kill -9 "${pids[0]}"
	repl-client -L "$work/g/lease" -t 5 put after failover >/dev/null
	end=$(date +%s%N)
	times+=($(( (end - start) / 1000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 5p)
printf 'failover kill -9 -> first acked write: median of 10 %d.%03d ms (all: %s us)\n' \
    $((median / 1000)) $((median % 1000)) "${times[*]}"

# Redis side by side: appendfsync always, one replica, WAIT 1 0 per write.
if ! command -v redis-server >/dev/null; then
	echo "# installing redis-server" >&2
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
	else
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
	fi
fi
stop
# The replica reaches its master over TCP on the loopback.
mkdir -p "$work/r1" "$work/r2"
port=$((20000 + RANDOM % 20000))
redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$work/r1.sock" \
    --dir "$work/r1" --appendonly yes --appendfsync always --save '' >/dev/null &
pids+=($!)
disown $!
redis-server --port 0 --unixsocket "$work/r2.sock" --dir "$work/r2" \
    --appendonly yes --appendfsync always --save '' \
    --replicaof 127.0.0.1 "$port" >/dev/null &
pids+=($!)
disown $!
until redis-cli -s "$work/r1.sock" info replication 2>/dev/null |
    grep -q 'state=online'; do sleep 0.05; done
for clients in 1 16; do
	read -r ops p50 p99 < <("$work/repl-load" redis "$work/r1.sock" \
	    "$clients" "$secs")
	printf '%-34s %10s %9s %9s\n' \
	    "redis always+WAIT 1 0, $clients client(s)" "$ops" "$p50" "$p99"
done
