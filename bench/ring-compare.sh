#!/usr/bin/env bash
# Compares the placement algorithms on rings of 10, 100 and 1000 equal
# nodes and prints a Markdown table: peak/mean share of the hash space,
# the fraction of it that moves when a node is added (appended last) and
# removed (the last one, the only one jump can remove cheaply), both
# against the ideal 1/(n+1) and 1/n, the memory of the lookup structures,
# and ring-lookup's keys per second (the median of RUNS runs over KEYS
# keys user:1, user:2, ...).  Then ring-stats' time on 1000 nodes and 1M
# keys.  Rerun with: bench/ring-compare.sh  (KEYS=... RUNS=... to change)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s all
export PATH="$PWD/bin:$PATH"
KEYS=${KEYS:-2000000}
RUNS=${RUNS:-5}
ALGOS=${ALGOS:-"ketama jump maglev maglev:655373 rendezvous"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seq -f 'user:%g' 1 "$KEYS" >"$tmp/keys"
seq -f 'user:%g' 1 1000000 >"$tmp/keys1m"
for n in 10 100 1000; do
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
		printf "10.0.%d.%d:11211\n", int(i / 250), i % 250 }' >"$tmp/ring$n"
	cp "$tmp/ring$n" "$tmp/add$n"
	echo "10.1.0.1:11211" >>"$tmp/add$n"
	head -n $((n - 1)) "$tmp/ring$n" >"$tmp/remove$n"
done

# field FILE NAME COLUMN: a column of a ring-stats summary line.
field() {
	awk -F'\t' -v name="$2" -v col="$3" '$1 == name { print $col }' "$1"
}

# now_ns: the time in nanoseconds.
now_ns() {
	date +%s%N
}

# median: the median of the numbers on stdin.
median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "\`bench/ring-compare.sh\` (KEYS=$KEYS, RUNS=$RUNS), $(uname -m), $(nproc) CPUs:"
echo
echo "| algorithm | nodes | peak/mean | moved on add (ideal) | moved on remove (ideal) | memory | lookups/s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for a in $ALGOS; do
	for n in 10 100 1000; do
		r=$tmp/ring$n
		ring-stats -f "$r" -a "$a" -c "$tmp/add$n" </dev/null >"$tmp/add.out"
		ring-stats -f "$r" -a "$a" -c "$tmp/remove$n" </dev/null >"$tmp/rm.out"
		peak=$(field "$tmp/add.out" peak/mean 2)
		mem=$(field "$tmp/add.out" memory 2)
		add="$(field "$tmp/add.out" moved 2) ($(field "$tmp/add.out" moved 4))"
		rm="$(field "$tmp/rm.out" moved 2) ($(field "$tmp/rm.out" moved 4))"
		for ((i = 0; i < RUNS; i++)); do
			t0=$(now_ns)
			ring-lookup -f "$r" -a "$a" <"$tmp/keys" >/dev/null
			t1=$(now_ns)
			echo $((KEYS * 1000000000 / (t1 - t0)))
		done | median >"$tmp/rate"
		rate=$(awk '{ printf "%.2fM", $1 / 1e6 }' "$tmp/rate")
		echo "| $a | $n | $peak | $add | $rm | $(awk -v m="$mem" 'BEGIN { printf (m >= 1048576 ? "%.1f MiB" : "%.0f KiB"), (m >= 1048576 ? m / 1048576 : m / 1024) }') | $rate |"
	done
done
echo
echo "ring-stats on 1000 nodes counting 1M keys from stdin (\`-\`; seconds, median of $RUNS):"
echo
for a in $ALGOS; do
	for ((i = 0; i < RUNS; i++)); do
		t0=$(now_ns)
		ring-stats -f "$tmp/ring1000" -a "$a" - <"$tmp/keys1m" >/dev/null
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000000))
	done | median | awk -v a="$a" '{ printf "- %s: %.2f s\n", a, $1 / 1000 }'
done
