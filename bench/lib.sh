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
#   stop NAME             stops daemon NAME (SIGTERM) and waits for it
#   stop_all              stops every daemon started
#   median                the median of the numbers on stdin, one a line
#   medians FILE          the median of each column of FILE

bench_init() {
	root=$(cd "$(dirname "$0")/.." && pwd)
	bin=$root/bin
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1-bench.XXXXXX")
	pids=
	transport=unix
	key=
	trap 'stop_all; rm -rf "$tmp"' EXIT
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
	name=$1 cmd=$2
	shift 2
	mkfifo "$tmp/$name.ready"
	t0=$(now_ms)
	"$cmd" -r 3 "$@" 3>"$tmp/$name.ready" >/dev/null 2>>"$tmp/$name.err" &
	eval "pid_$name=$!"
	pids="$pids $!"
	if ! read -r _ <"$tmp/$name.ready"; then
		echo "$0: $name did not start: $cmd $*" >&2
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
