#!/usr/bin/env bash
# Throughput, start-up time and memory of ring-lookup.
#
#   bench/ring-lookup.sh [KEYS]     (default 10000000 keys)
#
# For 10-, 100- and 1000-node rings and two key sets (user:N and random
# strings of 8 to 40 bytes), runs ring-lookup over all the keys five times
# and prints the median keys/s and the peak RSS; then times one lookup on
# a 1000-node ring, process start to exit, median of 50 runs.
# Targets: >= 5M keys/s for ketama/md5 on 100 nodes, one lookup on 1000
# nodes within 20 ms, RSS within 16 MB.
set -eu
cd "$(dirname "$0")/.."
make -s
n=${1:-10000000}
runs=5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
cp bin/ring-lookup "$tmp/bin/"
PATH="$tmp/bin:$PATH"

seq -f 'user:%.0f' 1 "$n" >"$tmp/user"
awk -v n="$n" 'BEGIN {
	srand(42)
	s = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-"
	for (i = 0; i < n; i++) {
		len = 8 + int(rand() * 33); k = ""
		for (j = 0; j < len; j++) k = k substr(s, 1 + int(rand() * 64), 1)
		print k
	}
}' >"$tmp/random"
for nodes in 10 100 1000; do
	for ((i = 1; i <= nodes; i++)); do echo "10.0.$((i / 256)).$((i % 256)):11211"; done >"$tmp/ring$nodes"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "ring-lookup over $n keys, median of $runs runs ($(nproc) cores, $(uname -m))"
printf '%-52s %12s %8s\n' "command" "keys/s" "RSS"
for keys in user random; do
	for nodes in 10 100 1000; do
		for hash in md5 fnv1a_64; do
			[ "$hash" = fnv1a_64 ] && [ "$nodes" != 100 ] && continue
			cmd="ring-lookup -H $hash -f ring$nodes < $keys"
			: >"$tmp/times"
			: >"$tmp/rss"
			for ((r = 0; r < runs; r++)); do
				/usr/bin/time -f '%e %M' -o "$tmp/t" \
				    ring-lookup -H "$hash" -f "$tmp/ring$nodes" <"$tmp/$keys" >/dev/null
				read -r secs kb <"$tmp/t"
				echo "$secs" >>"$tmp/times"
				echo "$kb" >>"$tmp/rss"
			done
			secs=$(median <"$tmp/times")
			kb=$(sort -n "$tmp/rss" | tail -n 1)
			printf '%-52s %11.2fM %6.1fMB\n' "$cmd" \
			    "$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s / 1e6 }')" \
			    "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
		done
	done
done

: >"$tmp/times"
for ((r = 0; r < 50; r++)); do
	t0=$EPOCHREALTIME
	ring-lookup -f "$tmp/ring1000" user:42 >/dev/null
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$tmp/times"
done
printf '%-52s %10s ms (median of 50, start to exit)\n' \
    "ring-lookup -f ring1000 user:42" "$(median <"$tmp/times")"
