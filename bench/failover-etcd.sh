#!/usr/bin/env bash
# Failover across hosts with the lease in etcd: the time from a fault on
# the primary to the first write acknowledged by the new primary, for
# kill -9 (kill), SIGSTOP (stop) and the primary's host cut off the
# network (cut: its link down at the bridge), each with every TTL in
# TTLS; each figure the median of BENCH_RUNS runs (default 10), with the
# minimum and maximum.  Never a test: numbers depend on the machine.
#
# Five hosts (network namespaces on one bridge; run as root): etcd (one
# member) on its own, the members m1 (the first primary), m2 and m3, each
# on TCP with -K KEYFILE, -k 1, and a client host c where repl-load -f
# keeps a put in flight at every member at once, at most one every 10 ms
# each, and stamps each acknowledgement; a run ends at the first one
# from a later epoch than the fault's.  The fault comes at a random
# point of the primary's keepalive period, half a second or more after
# the group is in sync.  Every run is a fresh group under
# a fresh etcd prefix; one run at a time.
#
# usage: bench/failover-etcd.sh [kill stop cut]   (TTLS="5 2" BENCH_RUNS=10)
set -eu
. "$(dirname "$0")/lib.sh"
bench_init failover-etcd
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
    { echo "$0: needs etcd and etcdctl (Debian: etcd-server etcd-client)" >&2; exit 2; }
faults=${*:-kill stop cut}
ttls=${TTLS:-5 2}
runs=${BENCH_RUNS:-10}
build_load repl-load
use_transport tcp+key
net_init
net_host etcd m1 m2 m3 c
E=$(host_ip etcd):2379
ip netns exec "$net-etcd" etcd --name etcd --data-dir "$tmp/etcd.d" \
    --listen-client-urls "http://$E" --advertise-client-urls "http://$E" \
    --listen-peer-urls "http://127.0.0.1:2380" \
    --initial-advertise-peer-urls "http://127.0.0.1:2380" \
    --initial-cluster "etcd=http://127.0.0.1:2380" >"$tmp/etcd.log" 2>&1 &
pids="$pids $!"
ctl() {
	on c etcdctl --endpoints "$E" --dial-timeout 1s --command-timeout 2s "$@"
}
until ctl endpoint health >/dev/null 2>&1; do sleep 0.1; done

# wait_for SECS CMD...: until CMD succeeds, else shows what the members
# said and fails.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "$0: gave up waiting for: $*" >&2
			tail -n 5 "$tmp"/m?.err >&2
			exit 1
		fi
		sleep 0.05
	done
}
in_sync() {	# all three members in the in-sync set
	[ "$(ctl get --print-value-only "$prefix/state" | grep -c '^insync ')" = 3 ]
}
acked_after() {	# an acknowledgement after the fault, from a later epoch
	awk -v t="$fault_t" -v e="$epoch0" '$1 > t && $3 > e { f = 1 } END { exit !f }' \
	    "$tmp/probe.out"
}

# reset: kills the members and the probe (stopped ones too), heals m1.
reset() {
	local p
	for p in ${pid_m1:-} ${pid_m2:-} ${pid_m3:-} ${probe:-}; do
		{ kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
	done
	pid_m1= pid_m2= pid_m3= probe=
	net_heal m1
	rm -rf "$tmp"/m?.d
}

# measure FAULT TTL RUN: the failover time of one run, in ms, in $ms (not
# printed: run in $(...), the daemons would not be this shell's).
measure() {
	local fault=$1 ttl=$2 h
	prefix=fo/$fault-$ttl-$3
	local L=etcd://$E/$prefix addrs=()
	reset
	for h in m1 m2 m3; do
		start_on "$h" "$h" "$bin/repl-$([ $h = m1 ] && echo primary || echo backup)" \
		    $key -d "$tmp/$h.d" -s "$(host_ip $h):7000" -L "$L" -T "$ttl" -k 1
		addrs+=("$(host_ip $h):7000")
	done
	# Not through on (a function: $! would be its subshell's).
	ip netns exec "$net-c" "$tmp/repl-load" $key -f 120 "${addrs[@]}" \
	    >"$tmp/probe.out" &
	probe=$!
	wait_for 30 in_sync
	# At a random point of the primary's keepalive period (a third of
	# the TTL), else every run would meet the lease at the same phase.
	sleep "$(awk -v s="$RANDOM" -v t="$ttl" 'BEGIN { srand(s); print 0.5 + rand() * t / 3 }')"
	epoch0=$(tail -n 1 "$tmp/probe.out" | cut -d' ' -f3)
	fault_t=$EPOCHREALTIME
	case $fault in
	kill) { kill -KILL "$pid_m1"; wait "$pid_m1"; } 2>/dev/null || true ;;
	stop) kill -STOP "$pid_m1" ;;
	cut) net_cut m1 ;;
	esac
	wait_for 60 acked_after
	ms=$(awk -v t="$fault_t" -v e="$epoch0" '$1 > t && $3 > e {
		printf "%.0f\n", ($1 - t) * 1000; exit }' "$tmp/probe.out")
}

echo "# bench/failover-etcd.sh $faults (TTLS=\"$ttls\" BENCH_RUNS=$runs): ms from the fault to the first write acknowledged by the new primary"
echo "# $(uname -sr), $(getconf _NPROCESSORS_ONLN) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), etcd $(etcd --version | sed -n 's/^etcd Version: //p'), data in ${TMPDIR:-/tmp}"
printf '%-6s %4s %8s %8s %8s %5s  %s\n' fault ttl median min max runs "all (ms)"
for fault in $faults; do
	case $fault in kill | stop | cut) ;; *)
		echo "$0: fault $fault: not kill, stop or cut" >&2; exit 2 ;;
	esac
	for ttl in $ttls; do
		times=()
		for ((i = 1; i <= runs; i++)); do
			measure "$fault" "$ttl" "$i"
			times+=("$ms")
		done
		sorted=($(printf '%s\n' "${times[@]}" | sort -n))
		printf '%-6s %4s %8s %8s %8s %5s  %s\n' "$fault" "$ttl" \
		    "$(printf '%s\n' "${times[@]}" | median)" "${sorted[0]}" \
		    "${sorted[-1]}" "$runs" "${times[*]}"
	done
done
reset
