# Several hosts on one machine, for the multi-host tests (tests/46-netns.bats,
# tests/47-multihost-2pc.bats): load after helper (and tcp-helper).
#
# A host is a network namespace with loopback up and one address,
# 10.213.0.N/24, on its eth0, a veth whose other end is a port of a Linux
# bridge that lives in a namespace of its own: one switch, every host on it.
# No namespace has a default route and none is linked to the machine's own
# namespace, so nothing a test starts can reach (or be reached from) any
# other network.  Namespace names carry the bats run's pid and the test's
# pid, so suites running at once never meet; teardown (below) kills every
# process inside them and deletes them, also when the test failed.
#
# Needs root and network namespaces: without them ns_hosts fails the test,
# saying why (a multi-host test that cannot run must not pass by skipping).

NS_SUBNET=10.213.0
NS_PREFIX="hk${BATS_ROOT_PID:-0}-$$"
NS_BRIDGE="$NS_PREFIX-bridge"

teardown() {
	ns_cleanup
	stop_all_daemons
}

# ns_require: fails, saying why, unless namespaces can be made here.
ns_require() {
	if [ "$(id -u)" != 0 ]; then
		fail "multi-host tests need root (network namespaces and veth links): run them as root"
		return 1
	fi
	if ! command -v ip >/dev/null; then
		fail "multi-host tests need ip(8) from iproute2 (apt-get install iproute2)"
		return 1
	fi
	if ! ip netns list >/dev/null 2>&1; then
		fail "multi-host tests need network namespaces: 'ip netns list' fails"
		return 1
	fi
}

# ns_ns HOST: the namespace of HOST.
ns_ns() {
	echo "$NS_PREFIX-h-$1"
}

# _ns_track NS: remember NS for ns_cleanup (before it exists, so that a
# failure half way through creating it is cleaned up too).
_ns_track() {
	echo "$1" >>"$BATS_TEST_TMPDIR/ns.list"
}

# _ns_bridge: the bridge namespace and its bridge, once per test.
_ns_bridge() {
	ip netns list | grep -q "^$NS_BRIDGE\b" && return 0
	_ns_track "$NS_BRIDGE"
	ip netns add "$NS_BRIDGE" &&
	    ip -n "$NS_BRIDGE" link set lo up &&
	    ip -n "$NS_BRIDGE" link add br0 type bridge forward_delay 0 stp_state 0 &&
	    ip -n "$NS_BRIDGE" link set br0 up
}

# ns_hosts NAME...: create one host per NAME (letters and digits, at most
# 12), with the next free address of 10.213.0.0/24; may be called again to
# add hosts.
ns_hosts() {
	ns_require || return 1
	_ns_bridge || { fail "cannot create the bridge namespace $NS_BRIDGE"; return 1; }
	local name ns n
	touch "$BATS_TEST_TMPDIR/ns.hosts"
	for name in "$@"; do
		[[ $name =~ ^[a-z0-9]{1,12}$ ]] ||
		    { fail "ns_hosts: bad host name '$name' (a-z, 0-9, at most 12)"; return 1; }
		! grep -q "^$name " "$BATS_TEST_TMPDIR/ns.hosts" ||
		    { fail "ns_hosts: host $name exists already"; return 1; }
		n=$(($(wc -l <"$BATS_TEST_TMPDIR/ns.hosts") + 1))
		[ "$n" -le 250 ] || { fail "ns_hosts: too many hosts"; return 1; }
		ns=$(ns_ns "$name")
		_ns_track "$ns"
		echo "$name $NS_SUBNET.$n" >>"$BATS_TEST_TMPDIR/ns.hosts"
		# Both ends are created right in their namespaces, so no
		# name is ever taken in the machine's own namespace.
		ip netns add "$ns" &&
		    ip -n "$ns" link set lo up &&
		    ip link add eth0 netns "$ns" type veth \
			peer name "v-$name" netns "$NS_BRIDGE" &&
		    ip -n "$NS_BRIDGE" link set "v-$name" master br0 &&
		    ip -n "$NS_BRIDGE" link set "v-$name" up &&
		    ip -n "$ns" addr add "$NS_SUBNET.$n/24" dev eth0 &&
		    ip -n "$ns" link set eth0 up ||
		    { fail "ns_hosts: cannot create host $name (namespace $ns)"; return 1; }
	done
}

# ns_ip HOST: the address of HOST.
ns_ip() {
	local ip
	ip=$(awk -v h="$1" '$1 == h { print $2 }' "$BATS_TEST_TMPDIR/ns.hosts" 2>/dev/null)
	[ -n "$ip" ] || { echo "ns_ip: no host $1" >&2; return 1; }
	echo "$ip"
}

# ns_host_of IP: the host whose address is IP.
ns_host_of() {
	awk -v ip="$1" '$2 == ip { print $1 }' "$BATS_TEST_TMPDIR/ns.hosts"
}

# ns_run HOST CMD [ARG...]: run CMD on HOST (ip netns exec), in the
# foreground.
ns_run() {
	local ns
	ns=$(ns_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# ns_start HOST CMD [ARG...]: start daemon HOST running CMD on HOST as
# start_daemon does (CMD given `-r 3` by the caller): readiness on fd 3,
# output in HOST.out and HOST.err, pid in HOST.pid (ip netns exec execs
# CMD, so it is the daemon's own pid, for kill_daemon and crash_daemon).
# ns_start_as NAME HOST CMD...: the same, as daemon NAME.
ns_start_as() {
	local name=$1 host=$2
	shift 2
	start_daemon "$name" ip netns exec "$(ns_ns "$host")" "$@"
}
ns_start() {
	ns_start_as "$1" "$@"
}

# ns_process NAME HOST CMD [ARG...]: start_process on HOST, for programs
# with no readiness signal; the caller waits for what it needs.
ns_process() {
	local name=$1 host=$2
	shift 2
	start_process "$name" ip netns exec "$(ns_ns "$host")" "$@"
}

# ns_cut HOST / ns_heal HOST: take the link of HOST down, and up again.
# It is the bridge's end of the veth that goes down, as if the cable were
# pulled at the switch: HOST keeps its address and its route to the subnet,
# so its programs see silence (packets lost, ARP unanswered), not an
# instant "network unreachable" of their own that a down eth0 (whose
# route the kernel withdraws) would give; and its own loopback and address
# keep working, so `2pc-part -s ADDR -L` can still be run on it.
ns_cut() {
	ip -n "$NS_BRIDGE" link set "v-$1" down
}
ns_heal() {
	ip -n "$NS_BRIDGE" link set "v-$1" up
}

# ns_block A B / ns_unblock A B: a one-way partition: on A, a blackhole
# route to B's address, so nothing A sends reaches B (a send or connect
# there fails at once), while what B sends still reaches A.  (A TCP
# connection needs both ways, so it fails in either direction.)
ns_block() {
	ip -n "$(ns_ns "$1")" route add blackhole "$(ns_ip "$2")/32"
}
ns_unblock() {
	ip -n "$(ns_ns "$1")" route del blackhole "$(ns_ip "$2")/32"
}

# ns_pids: every process inside this test's namespaces.
ns_pids() {
	local ns
	[ -e "$BATS_TEST_TMPDIR/ns.list" ] || return 0
	while read -r ns; do
		[ -e "/run/netns/$ns" ] && ip netns pids "$ns" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/ns.list"
	return 0
}

# ns_namespaces: this test's namespaces that still exist.
ns_namespaces() {
	ip netns list | awk '{ print $1 }' | grep "^$NS_PREFIX-" || true
}

# ns_cleanup: kill every process inside this test's namespaces (stopped
# ones too), reap those this shell started, and delete the namespaces.
# Safe to call again, and from teardown after a failure half way through.
ns_cleanup() {
	local pids ns i
	for ((i = 0; i < 100; i++)); do
		pids=$(ns_pids)
		[ -z "$pids" ] && break
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.05
	done
	[ -z "$(ns_pids)" ] || echo "ns_cleanup: still running: $(ns_pids)" >&2
	# Reap what this shell started (stop_all_daemons would, but a wait
	# for a killed process fails, and this runs under set -e too).
	local f pid
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$f"
	done
	if [ -e "$BATS_TEST_TMPDIR/ns.list" ]; then
		while read -r ns; do
			[ ! -e "/run/netns/$ns" ] || ip netns del "$ns" || true
		done <"$BATS_TEST_TMPDIR/ns.list"
	fi
	# Any left by a list that was never written (a killed ns_hosts).
	for ns in $(ns_namespaces); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
		ip netns del "$ns" || true
	done
	rm -f "$BATS_TEST_TMPDIR/ns.list"
	[ -z "$(ns_namespaces)" ]
}

# ns_tcp_open HOST ADDR PORT: succeeds if HOST can open a TCP connection
# to ADDR:PORT within 2 s.
ns_tcp_open() {
	ns_run "$1" timeout 2 bash -c ': <"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null
}

# --- etcd ---

# etcd_start HOST...: one etcd member per HOST, a static cluster of them
# (one member alone when one HOST), client port 2379 and peer port 2380 on
# the host's address and clients also on 127.0.0.1 there; data in
# etcd-HOST.d, output in etcd-HOST.err.  Returns once every member reports
# itself healthy.
etcd_start() {
	local h cluster='' ip
	if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
		fail "etcd tests need etcd and etcdctl (apt-get install etcd-server etcd-client)"
		return 1
	fi
	for h in "$@"; do
		ip=$(ns_ip "$h") || return 1
		cluster+="${cluster:+,}$h=http://$ip:2380"
	done
	echo "$*" >"$BATS_TEST_TMPDIR/etcd.hosts"
	for h in "$@"; do
		ip=$(ns_ip "$h")
		ns_process "etcd-$h" "$h" etcd --name "$h" \
		    --data-dir "$BATS_TEST_TMPDIR/etcd-$h.d" \
		    --listen-client-urls "http://$ip:2379,http://127.0.0.1:2379" \
		    --advertise-client-urls "http://$ip:2379" \
		    --listen-peer-urls "http://$ip:2380" \
		    --initial-advertise-peer-urls "http://$ip:2380" \
		    --initial-cluster "$cluster" \
		    --initial-cluster-token "$NS_PREFIX" \
		    --initial-cluster-state new
	done
	for h in "$@"; do
		eventually etcd_healthy "$h" || {
			tail -n 20 "$BATS_TEST_TMPDIR/etcd-$h.err" >&2
			fail "etcd on $h did not become healthy"
			return 1
		}
	done
}

# etcd_hosts: the hosts given to etcd_start.
etcd_hosts() {
	cat "$BATS_TEST_TMPDIR/etcd.hosts"
}

# etcd_healthy HOST: the member on HOST answers and has a quorum.
etcd_healthy() {
	ns_run "$1" etcdctl --endpoints 127.0.0.1:2379 --dial-timeout 1s \
	    --command-timeout 2s endpoint health >/dev/null 2>&1
}

# etcd_endpoints: "IP:2379,IP:2379,..." of every member.
etcd_endpoints() {
	local h out=''
	for h in $(etcd_hosts); do
		out+="${out:+,}$(ns_ip "$h"):2379"
	done
	echo "$out"
}

# etcdctl_on HOST ARG...: etcdctl run on HOST, against every member.
etcdctl_on() {
	local h=$1
	shift
	ns_run "$h" etcdctl --endpoints "$(etcd_endpoints)" --dial-timeout 1s \
	    --command-timeout 3s "$@"
}

# etcd_leader: the host whose member is the raft leader: each member that
# answers within a second (on its host's loopback, so a cut host still
# answers for itself) says whether it is; exactly one must say so, else
# this fails (an election under way, or a stale leader not yet deposed).
etcd_leader() {
	local h st leaders=()
	for h in $(etcd_hosts); do
		# "ENDPOINT, ID, VERSION, SIZE, IS LEADER, IS LEARNER, TERM, ..."
		st=$(ns_run "$h" etcdctl --endpoints 127.0.0.1:2379 --dial-timeout 1s \
		    --command-timeout 1s endpoint status 2>/dev/null) || continue
		[ "$(echo "$st" | cut -d, -f5 | tr -d ' ')" = true ] && leaders+=("$h")
	done
	[ "${#leaders[@]}" -eq 1 ] || return 1
	echo "${leaders[0]}"
}

# etcd_kill HOST: kill -9 the member on HOST.
etcd_kill() {
	kill_daemon "etcd-$1" KILL
}

# etcd_stop HOST / etcd_cont HOST: SIGSTOP and SIGCONT the member on HOST.
etcd_stop() {
	kill -STOP "$(daemon_pid "etcd-$1")"
}
etcd_cont() {
	kill -CONT "$(daemon_pid "etcd-$1")"
}
