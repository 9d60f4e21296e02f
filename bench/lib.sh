# bench/lib.sh: what the benchmark scripts share.  Sourced (POSIX sh, so
# by sh and bash scripts alike), never run.
#
#   bench_init NAME       sets root, bin and tmp (a fresh directory, removed
#                         at exit with every daemon still running), builds
#                         the tools
#   build_load PROG...    builds bench/PROG.c (with load.h) into $tmp/PROG
#   use_transport T       unix (the default), tcp or tcp+key: how addr names
#                         daemons, and $key: "-K KEYFILE" for every daemon
#                         and client (tcp+key), or nothing; used unquoted,
#                         so TMPDIR may hold no blanks
#   addr NAME             the address daemon NAME listens on: $tmp/NAME.sock,
#                         or 127.0.0.1:PORT, a port of its own
#   start NAME CMD ARG... runs a daemon, CMD -r 3 ARG..., and waits for its
#                         readiness line; leaves its pid in pid_NAME and
#                         how long it took in ready_ms
#   start_on HOST NAME CMD ARG...
#                         the same on network-namespace host HOST
#   stop NAME             stops daemon NAME (SIGTERM) and waits for it
#   stop_all              stops every daemon started
#   median                the median of the numbers on stdin, one a line
#   medians FILE          the median of each column of FILE
#
# Hosts (as root): network namespaces on one bridge, as tests/netns-helper.bash
# makes them, removed at exit with every process inside them (stopped ones
# too), also after a failure or Ctrl-C.
#
#   net_init              checks for root and ip(8), makes the bridge
#   net_host NAME...      a host per NAME: a namespace whose eth0 (a veth,
#                         the other end a port of the bridge) has the next
#                         address of a /24 of its own
#   host_ip NAME          the address of host NAME
#   on HOST CMD ARG...    runs CMD on HOST, in the foreground (for one in
#                         the background, ip netns exec "$net-HOST" CMD &:
#                         $! of a function is its subshell's)
#   net_cut HOST / net_heal HOST
#                         takes HOST's link down at the bridge's end, as if
#                         its cable were pulled at the switch (HOST's own
#                         programs see silence, not "network unreachable"),
#                         and up again
#   net_cleanup           kills everything on the hosts, deletes them

bench_init() {
	root=$(cd "$(dirname "$0")/.." && pwd)
	bin=$root/bin
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1-bench.XXXXXX")
	pids=
	transport=unix
	key=
	# (Quiet: bash reports every daemon killed.)
	trap '{ net_cleanup; stop_all; } 2>/dev/null; rm -rf "$tmp"' EXIT
	trap 'exit 1' INT TERM
	make -s -C "$root" all
}

build_load() {
	for prog in "$@"; do
		${CC:-cc} -O2 -I"$root/lib" -o "$tmp/$prog" \
		    "$root/bench/$prog.c" "$root/lib/libhakit.a" -lm
	done
}

use_transport() {
	transport=$1
	case $transport in
	unix | tcp)
		key= ;;
	tcp+key)
		(umask 077 && head -c 32 /dev/urandom | base64 >"$tmp/key")
		key="-K $tmp/key" ;;
	*)
		echo "$0: transport $transport: not unix, tcp or tcp+key" >&2
		exit 2 ;;
	esac
}

# TCP ports are handed out in order from a random base below Linux's
# ephemeral range (32768 up), one per daemon name, and noted in $tmp/ports
# (addr runs in command substitutions).
port_base=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 11000))

addr() {
	if [ "$transport" = unix ]; then
		echo "$tmp/$1.sock"
		return
	fi
	touch "$tmp/ports"
	grep -q "^$1 " "$tmp/ports" ||
		echo "$1 $((port_base + $(wc -l <"$tmp/ports")))" >>"$tmp/ports"
	awk -v n="$1" '$1 == n { print "127.0.0.1:" $2 }' "$tmp/ports"
}

now_ms() {
	date +%s%3N
}

start() {
	start_on '' "$@"
}

start_on() {
	host=$1 name=$2 cmd=$3
	shift 3
	if [ -n "$host" ]; then
		set -- ip netns exec "$net-$host" "$cmd" -r 3 "$@"
	else
		set -- "$cmd" -r 3 "$@"
	fi
	mkfifo "$tmp/$name.ready"
	t0=$(now_ms)
	# ip netns exec execs the command: $! is the daemon's own pid.
	"$@" 3>"$tmp/$name.ready" >/dev/null 2>>"$tmp/$name.err" &
	eval "pid_$name=$!"
	pids="$pids $!"
	if ! read -r _ <"$tmp/$name.ready"; then
		echo "$0: $name did not start: $*" >&2
		cat "$tmp/$name.err" >&2
		exit 1
	fi
	ready_ms=$(($(now_ms) - t0))
	rm -f "$tmp/$name.ready"
}

stop() {
	eval "p=\$pid_$1"
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

stop_all() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# medians FILE: the median of each column of FILE's lines (numbers
# separated by one space), on one line.
medians() {
	n=$(head -n 1 "$1" | wc -w)
	i=1
	while [ "$i" -le "$n" ]; do
		printf '%s%s' "$([ "$i" = 1 ] || echo ' ')" \
		    "$(cut -d' ' -f"$i" "$1" | median)"
		i=$((i + 1))
	done
	echo
}

net=

net_init() {
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		echo "$0: needs root and ip(8) (network namespaces)" >&2
		exit 2
	fi
	net=hkb$$
	subnet=10.215.$(($$ % 250))
	: >"$tmp/hosts"
	echo "$net-br" >"$tmp/namespaces"
	ip netns add "$net-br"
	ip -n "$net-br" link set lo up
	ip -n "$net-br" link add br0 type bridge forward_delay 0 stp_state 0
	ip -n "$net-br" link set br0 up
}

net_host() {
	for h in "$@"; do
		n=$(($(wc -l <"$tmp/hosts") + 1))
		echo "$h $subnet.$n" >>"$tmp/hosts"
		echo "$net-$h" >>"$tmp/namespaces"
		ip netns add "$net-$h"
		ip -n "$net-$h" link set lo up
		# Both ends made in their namespaces: no name is ever taken
		# in the machine's own.
		ip link add eth0 netns "$net-$h" type veth \
		    peer name "v-$h" netns "$net-br"
		ip -n "$net-br" link set "v-$h" master br0 up
		ip -n "$net-$h" addr add "$subnet.$n/24" dev eth0
		ip -n "$net-$h" link set eth0 up
	done
}

host_ip() {
	awk -v h="$1" '$1 == h { print $2 }' "$tmp/hosts"
}

on() {
	h=$1
	shift
	ip netns exec "$net-$h" "$@"
}

net_cut() {
	ip -n "$net-br" link set "v-$1" down
}

net_heal() {
	ip -n "$net-br" link set "v-$1" up
}

net_cleanup() {
	[ -n "$net" ] && [ -e "$tmp/namespaces" ] || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		ns_pids=$(while read -r ns; do
			ip netns pids "$ns" 2>/dev/null
		done <"$tmp/namespaces")
		[ -n "$ns_pids" ] || break
		# shellcheck disable=SC2086
		kill -KILL $ns_pids 2>/dev/null || true
		sleep 0.1
	done
	while read -r ns; do
		[ ! -e "/run/netns/$ns" ] || ip netns del "$ns" || true
	done <"$tmp/namespaces"
	rm -f "$tmp/namespaces"
}
