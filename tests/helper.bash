# Shared by every tests/*.bats file: load with `load helper`.
#
# Each test runs in its own $BATS_TEST_TMPDIR.  Daemons are started with
# start_daemon, which waits for the daemon's readiness line on fd 3 (its
# `-r 3` option) instead of sleeping, and every daemon started that way is
# killed in teardown, even when the test failed.

bats_load_library bats-support
bats_load_library bats-assert

HAKIT_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
export PATH="$HAKIT_ROOT/bin:$PATH"
# `make valgrind` runs every tool through a wrapper (tests/valgrind/run).
[ -z "${HAKIT_VALGRIND_BIN:-}" ] || PATH="$HAKIT_VALGRIND_BIN:$PATH"
unset HAKIT_RING HAKIT_TRACE HAKIT_CRASH

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}

teardown() {
	stop_all_daemons
}

# start_daemon NAME CMD [ARG...]: run CMD in the background with fd 3 as its
# readiness pipe, stdout in NAME.out and stderr in NAME.err, and wait until
# it writes its readiness line.  CMD must be given `-r 3` by the caller.
# Fails (and shows NAME.err) if the daemon exits before it is ready.
start_daemon() {
	local name=$1
	shift
	local fifo="$BATS_TEST_TMPDIR/$name.ready"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$@" 3>"$fifo" >>"$BATS_TEST_TMPDIR/$name.out" 2>>"$BATS_TEST_TMPDIR/$name.err" </dev/null &
	echo $! >"$BATS_TEST_TMPDIR/$name.pid"
	local line
	if ! read -r -t 20 line <"$fifo"; then
		echo "daemon $name did not become ready: $*" >&2
		cat "$BATS_TEST_TMPDIR/$name.err" >&2
		return 1
	fi
	rm -f "$fifo"
}

# daemon_pid NAME: the pid of a daemon started with start_daemon.
daemon_pid() {
	cat "$BATS_TEST_TMPDIR/$1.pid"
}

# kill_daemon NAME [SIGNAL]: signal a daemon (default KILL) and reap it.
kill_daemon() {
	local pid
	pid=$(daemon_pid "$1") || return 1
	kill -"${2:-KILL}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	rm -f "$BATS_TEST_TMPDIR/$1.pid"
	return 0
}

# wait_exit NAME: wait for a daemon to exit by itself; prints its status.
wait_exit() {
	local pid status
	pid=$(daemon_pid "$1") || return 1
	wait "$pid"
	status=$?
	rm -f "$BATS_TEST_TMPDIR/$1.pid"
	echo "$status"
}

stop_all_daemons() {
	local f pid
	for f in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rm -f "$f"
	done
	return 0
}

# eventually CMD [ARG...]: retry CMD every 50 ms for up to 20 s until it
# succeeds.  For conditions that have no readiness signal of their own.
eventually() {
	local i
	for ((i = 0; i < 400; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# start_process NAME CMD [ARG...]: run CMD in the background like
# start_daemon, for programs with no readiness signal of their own; the
# caller waits for what it needs (say, `eventually port_open PORT`).
start_process() {
	local name=$1
	shift
	"$@" >>"$BATS_TEST_TMPDIR/$name.out" 2>>"$BATS_TEST_TMPDIR/$name.err" </dev/null 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}

# port_open PORT: succeeds if something accepts TCP connections on
# 127.0.0.1:PORT.
port_open() {
	(: </dev/tcp/127.0.0.1/"$1") 2>/dev/null
}

# faulty OP:N[:ERRNO] CMD [ARG...]: run CMD with the N-th OP (write, fsync,
# fdatasync or rename) failing, as tests/faults/faultfs.c describes (with
# HAKIT_FAULT_FORKED=1 in the environment, in the processes CMD forks).
FAULTFS="$HAKIT_ROOT/tests/faults/faultfs.so"
faulty() {
	local spec=$1
	shift
	[ -e "$FAULTFS" ] || { echo "missing $FAULTFS: run make faults" >&2; return 1; }
	exec env LD_PRELOAD="$FAULTFS" HAKIT_FAULT="$spec" HAKIT_FAULT_PROG="${1##*/}" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    "$@"
}

# --- two-phase commit ---

# start_part NAME [ARG...]: start a 2pc-part daemon NAME listening on
# NAME.sock with its log in NAME.log.
start_part() {
	local name=$1
	shift
	start_daemon "$name" 2pc-part -s "$name.sock" -l "$name.log" -r 3 "$@"
}

# start_coord [ARG...] NAME=SOCK...: start a 2pc-coord daemon "coord" on
# coord.sock with its log in coord.log.
start_coord() {
	start_daemon coord 2pc-coord -s coord.sock -l coord.log -r 3 "$@"
}

# coord_id LOG: the id of the coordinator whose log is LOG (its first
# record), which every 2PC message about its transactions carries.
coord_id() {
	grep -ao $'N\t[0-9a-f]\{16\}' "$1" | head -n 1 | cut -f2
}

# coord_pending SOCK: how many transactions the coordinator at SOCK has
# live (voting, or committed but not yet acknowledged by all).
coord_pending() {
	sock_say "$1" STATS | sed 's/.*pending=\([0-9]*\).*/\1/'
}

# sock_say SOCK LINE: send one line to a daemon's socket, print the reply.
sock_say() {
	printf '%s\n' "$2" | socat -t 2 - "UNIX-CONNECT:$1"
}

# make_bank DIR [bycoord]: a bank account kept by hooks in DIR, for a
# participant started with `-p DIR/prepare -c DIR/commit -a DIR/abort`.
# The payload is an amount; prepare stages it in staged/TX (and votes no on
# the amount "fail"), commit moves it to applied/TX atomically
# (idempotent), abort removes it and marks aborted/TX.  TX is the txid, or
# with "bycoord" COORD-TXID (for participants of several coordinators).
# The balance is the sum of applied/*.
make_bank() {
	local d tx='$HAKIT_TXID'
	[ "${2:-}" = bycoord ] && tx='$HAKIT_COORD-$HAKIT_TXID'
	mkdir -p "$1"
	d=$(cd "$1" && pwd)
	mkdir -p "$d/staged" "$d/applied" "$d/aborted"
	cat >"$d/prepare" <<PREP
#!/bin/sh
read -r v
test "\$v" != fail && echo "\$v" > "$d/staged/$tx"
PREP
	cat >"$d/commit" <<COMMIT
#!/bin/sh
cat > "$d/applied/$tx.tmp" &&
mv "$d/applied/$tx.tmp" "$d/applied/$tx" &&
rm -f "$d/staged/$tx"
COMMIT
	cat >"$d/abort" <<ABORT
#!/bin/sh
rm -f "$d/staged/$tx" && touch "$d/aborted/$tx"
ABORT
	chmod +x "$d/prepare" "$d/commit" "$d/abort"
}

# bank_opts DIR: the hook options for a participant keeping bank DIR.
bank_opts() {
	local d
	d=$(cd "$1" && pwd)
	echo "-p $d/prepare -c $d/commit -a $d/abort"
}

# balance DIR: the sum of the amounts applied in a bank directory.
balance() {
	local sum=0 f
	for f in "$1"/applied/*; do
		[ -e "$f" ] && [ "${f%.tmp}" = "$f" ] || continue
		sum=$((sum + $(cat "$f")))
	done
	echo "$sum"
}

# crash_daemon NAME: kill -9 a daemon (a power cut) and reap it.
crash_daemon() {
	kill_daemon "$1" KILL 2>/dev/null || true
}

# daemon_died NAME: wait up to 20 s for a daemon to die by itself (say, at
# a crash point) and reap it; its exit status (137 for SIGKILL) is left in
# $died_status.  Call it directly, not in $(...): only the shell that
# started a daemon can reap it.
daemon_died() {
	local pid
	died_status=0
	pid=$(daemon_pid "$1") || return 1
	eventually process_ended "$pid" || return 1
	wait "$pid" 2>/dev/null || died_status=$?
	rm -f "$BATS_TEST_TMPDIR/$1.pid"
}

# process_ended PID: true if PID is gone or a zombie.
process_ended() {
	local stat
	stat=$(ps -o stat= -p "$1") || return 0
	[[ $stat == Z* ]]
}
