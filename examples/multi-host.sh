#!/usr/bin/env bash
# A replicated group across three hosts, its lease in etcd on a fourth:
# writes flow, the primary's host is cut off the network, it stops
# acknowledging and steps down, a backup takes over once etcd lets the
# lease go, and the healed host rejoins as a backup with every write.
# The hosts are network namespaces on one bridge (run as root).
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
[ "$(id -u)" = 0 ] || { echo "multi-host.sh: run as root (network namespaces)" >&2; exit 2; }
command -v etcd >/dev/null || { echo "multi-host.sh: needs etcd (Debian: etcd-server)" >&2; exit 2; }
dir=$(mktemp -d) ns=hkdemo$$ net=10.214.$((RANDOM % 200 + 20))
cleanup() {
	for h in etcd m1 m2 m3 br; do
		ip netns pids "$ns-$h" 2>/dev/null | xargs -r kill -9
		ip netns del "$ns-$h" 2>/dev/null
	done
	rm -rf "$dir"
}
trap cleanup EXIT; trap "exit 1" INT TERM
cd "$dir"
say() { printf '\n== %s\n' "$*"; }
wait_for() {	# wait_for CMD...: up to 20 s, else show what the members said
	local i; for ((i = 0; i < 400; i++)); do "$@" && return; sleep 0.05; done
	echo "multi-host.sh: gave up waiting for: $*" >&2; cat ./*.err >&2; exit 1
}
on() { local h=$1; shift; ip netns exec "$ns-$h" "$@"; }
ip netns add "$ns-br"; ip -n "$ns-br" link add br0 type bridge; ip -n "$ns-br" link set br0 up
declare -A ip=([etcd]=$net.1 [m1]=$net.2 [m2]=$net.3 [m3]=$net.4)
for h in etcd m1 m2 m3; do	# host H: one veth to the bridge, address ${ip[H]}
	ip netns add "$ns-$h"; ip -n "$ns-$h" link set lo up
	ip link add eth0 netns "$ns-$h" type veth peer name "v-$h" netns "$ns-br"
	ip -n "$ns-br" link set "v-$h" master br0 up
	ip -n "$ns-$h" addr add "${ip[$h]}/24" dev eth0; ip -n "$ns-$h" link set eth0 up
done
E=$net.1:2379 L=etcd://$net.1:2379/bank
head -c 32 /dev/urandom | base64 >key; chmod 600 key
# -T 2: a 2 s etcd lease (about etcd's least), for a quick failover;
# -k 1: every write needs one in-sync backup besides the primary.
start() {	# start HOST ROLE: a member on HOST:7000, waiting for its readiness line
	on "$1" "repl-$2" -K key -d "$1.d" -s "$(addr "$1")" -L "$L" -T 2 -k 1 -r 3 3>ready 2>>"$1.err" &
	while [ ! -s ready ]; do sleep 0.01; done; rm -f ready
}
addr() { echo "${ip[$1]}:7000"; }
client() { on m3 repl-client -K key -L "$L" -t 20 "$@"; }
insync() { [ "$(state | grep -c "^ *insync ")" = "$1" ]; }
state() { on m3 etcdctl --endpoints "$E" get --print-value-only bank/state | sed '/^$/d; s/^/   /'; }

say "etcd on $net.1; members on m1, m2, m3 ($net.2-4:7000), every link keyed (-K)"
on etcd etcd --data-dir etcd.d --listen-client-urls "http://$net.1:2379" \
    --advertise-client-urls "http://$net.1:2379" >etcd.log 2>&1 &
until on m3 etcdctl --endpoints "$E" endpoint health >/dev/null 2>&1; do sleep 0.1; done
start m1 primary; start m2 backup; start m3 backup
# (Position 1 of each epoch is its own epoch record.)
for i in 1 2 3; do echo "   put k$i: $(client put "k$i" "v$i") (epoch, position)"; done
wait_for insync 3
state

say "m1, the primary, is cut off (its link on the bridge goes down): it cannot reach its
   backups, nor etcd to drop them from the in-sync set, so it steps down"
ip -n "$ns-br" link set v-m1 down
echo "   put k4: $(client put k4 v4) -- acknowledged by the new primary"
wait_for grep -q "no longer the primary" m1.err
grep "no longer the primary\|primary in epoch 2" m1.err m2.err m3.err | sed 's/^/   /; s/\.err:/: /'
state

say "The link heals: m1 follows the new primary as a backup and catches up"
ip -n "$ns-br" link set v-m1 up
wait_for insync 3
for i in 1 2 3 4; do
	v=$(on m3 repl-client -K key -s "$(addr m1)" get "k$i"); echo "   get k$i from m1: $v"; [ "$v" = "v$i" ]
done
state | grep -qx '   epoch 2'
state | grep '^ *insync'
printf '\nmulti-host demo: all checks passed\n'
