#!/usr/bin/env bats
# Socket abuse against every daemon, while a well-behaved client keeps
# being served: 1,000 connections held open, half a line and then silence,
# a 10 MB line, random bytes, a connect-and-close storm, a peer of another
# uid.  The limits (hakit(7), SECURITY): SOCK_MAX_FDS descriptors, lines of
# WIRE_MAX_LINE bytes, WIRE_MAX_QUEUE unread reply bytes per peer; the
# daemon's resident memory must stay bounded through all of it.

load helper
load repl-helper

HOLD="$HAKIT_ROOT/tests/abuse/holdconns"

# rss_kb PID: the resident set of a process, in KiB.
rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

# served CMD [ARG...]: the well-behaved client (a command or a function)
# completes within a generous bound (30 s) and succeeds.
served() {
	local p i
	"$@" >/dev/null &
	p=$!
	for ((i = 0; i < 600; i++)); do
		if process_ended "$p"; then
			wait "$p"
			return
		fi
		sleep 0.05
	done
	kill "$p"
	wait "$p"
	echo "not served within 30 s: $*"
	return 1
}

# abuse NAME SOCK CLIENT [ARG...]: every kind of abuse against daemon NAME
# listening on SOCK; after each, CLIENT must still be served and NAME
# still running.  Fails if the daemon's memory grew by more than 64 MB.
abuse() {
	local name=$1 sock=$2 pid rss0 rss1 i
	shift 2
	pid=$(daemon_pid "$name")
	served "$@" || { echo "not served before the abuse"; return 1; }
	rss0=$(rss_kb "$pid")

	start_process hold "$HOLD" "$sock" 1000
	eventually grep -qx 'held 1000' hold.out || { cat hold.err; return 1; }
	served "$@" || { echo "not served with 1,000 connections held"; return 1; }

	start_process half "$HOLD" "$sock" 20 half
	eventually grep -qx 'held 20' half.out
	served "$@" || { echo "not served with 20 half lines pending"; return 1; }

	head -c 10000000 /dev/zero | tr '\0' x |
	    socat -t 5 - "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
	served "$@" || { echo "not served after a 10 MB line"; return 1; }

	for i in 1 2 3 4 5; do
		head -c 200000 /dev/urandom |
		    socat -t 2 - "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
	done
	served "$@" || { echo "not served after random bytes"; return 1; }

	for i in 1 2 3 4 5; do
		"$HOLD" "$sock" 200 storm >/dev/null
	done
	served "$@" || { echo "not served after 1,000 connect-and-close"; return 1; }

	kill -0 "$pid" || { echo "$name died"; return 1; }
	rss1=$(rss_kb "$pid")
	echo "# $name: VmRSS ${rss0} KiB before, ${rss1} KiB after" >&3
	[ "$rss1" -lt $((rss0 + 65536)) ] || { echo "memory grew: $rss0 -> $rss1 KiB"; return 1; }
	kill_daemon hold || true
	kill_daemon half || true
}

@test "2pc-part survives abuse; a coordinator keeps committing" {
	start_part a
	start_part b
	abuse a a.sock sock_say a.sock LIST
	run 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_output "$(printf 't1\tcommit')"
}

@test "2pc-coord -s survives abuse; clients keep committing" {
	start_part a
	start_coord a=a.sock
	# Each call runs in the background: a fresh txid from the clock.
	commit() {
		local t
		t=t$(date +%s%N)
		[ "$(2pc-coord -C coord.sock <<<"$(printf '%s\ta=x' "$t")")" = "$(printf '%s\tcommit' "$t")" ]
	}
	abuse coord coord.sock commit
}

@test "repl-primary survives abuse; writes and reads go on" {
	start_primary p -a none -k 0
	put_get() { repl-client -s p.sock -t 5 put k v && [ "$(repl-client -s p.sock -t 5 get k)" = v ]; }
	abuse p p.sock put_get
}

@test "repl-backup survives abuse; it keeps replicating and serving reads" {
	start_primary p -a fsync -k 1
	start_backup b
	# A write acknowledged at level fsync is durable on the backup too.
	replicated() {
		local v ack
		v=$(date +%s%N)
		ack=$(rc put k "$v") &&
		    [ "$(repl-client -s b.sock -t 5 -w "${ack#*$'\t'}" get k)" = "$v" ]
	}
	abuse b b.sock replicated
	converge p b
}

@test "every daemon refuses a peer of another uid, even on a socket mode 0666" {
	[ "$(id -u)" = 0 ] || fail "needs root to connect as another uid (setpriv); CI runs as root"
	# The sockets live where uid 65534 may reach them: only SO_PEERCRED
	# can turn it away.
	local dir
	dir=$(mktemp -d /tmp/hakit-uid.XXXXXX)
	chmod 755 "$dir"
	start_daemon a 2pc-part -s "$dir/a.sock" -l a.log -m 666 -r 3
	start_daemon coord 2pc-coord -s "$dir/c.sock" -l c.log -m 666 -r 3 a="$dir/a.sock"
	start_daemon p repl-primary -d p.d -s "$dir/p.sock" -L lease -m 666 -a none -k 0 -r 3
	start_daemon b repl-backup -d b.d -s "$dir/b.sock" -L lease -m 666 -r 3
	local d
	for d in a:a c:coord p:p b:b; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups \
		    sh -c 'echo STATS | socat -t 2 - "UNIX-CONNECT:$1" 2>/dev/null' \
		    sh "$dir/${d%%:*}.sock"
		assert_output ""
		eventually grep -q "refused a peer of uid 65534" "${d#*:}.err"
	done
	# Our own uid is still served.
	run sock_say "$dir/a.sock" LIST
	assert_output "LISTED 0"
	stop_all_daemons || true
	rm -rf "$dir"
}

@test "out of descriptors, a daemon turns connections away and recovers" {
	# A descriptor limit of 64 instead of SOCK_MAX_FDS (4096).
	start_daemon a sh -c 'ulimit -n 64 && exec 2pc-part -s a.sock -l a.log -r 3'
	start_process hold "$HOLD" a.sock 200
	eventually grep -qx 'held 200' hold.out
	eventually grep -q "2pc-part: too many connections (Too many open files): refusing new ones" a.err
	kill -0 "$(daemon_pid a)"
	kill_daemon hold || true
	served sock_say a.sock LIST
	run sock_say a.sock LIST
	assert_output "LISTED 0"
}

# protocol_noise SEED: 3,000 lines of every verb of the 2PC and
# replication protocols with random, missing, extra or malformed
# arguments (numbers out of range, bad escapes, stale and future epochs).
protocol_noise() {
	awk -v seed="$1" 'BEGIN {
		srand(seed)
		nv = split("PREPARE COMMIT ABORT QUERY RECOVER RECOVERED LIST STATS STATUS HEURISTIC VOTE STATE PENDING ERR ACK SYNC START TRUNC REC INSYNC APPEND PUT GET DEL WAIT", verb, " ")
		na = split("0 1 2 -1 18446744073709551616 99999999999 t1 t2 a b coord / /x \\\\ \\\\q \\\\t \\\\n a,b , commit abort yes no fsync none recv x=y", arg, " ")
		for (i = 0; i < 3000; i++) {
			line = verb[int(rand() * nv) + 1]
			if (rand() < 0.1)
				line = tolower(line)
			n = int(rand() * 7)
			for (j = 0; j < n; j++)
				line = line (rand() < 0.05 ? "  " : " ") arg[int(rand() * na) + 1]
			print line
		}
	}'
}

@test "protocol noise: every verb with random arguments; daemons stay up and keep serving" {
	start_part a
	start_coord a=a.sock
	start_primary p -a fsync -k 1
	start_backup b
	local s seed=1
	for s in a.sock coord.sock p.sock b.sock; do
		for seed in 1 2 3 4 5; do
			protocol_noise "$seed$s" | socat -t 2 - "UNIX-CONNECT:$s" >/dev/null 2>&1 || true
			# And each line on a connection of its own, as a new peer.
			protocol_noise "$seed$s" | head -n 100 | while IFS= read -r line; do
				printf '%s\n' "$line" | socat -t 1 - "UNIX-CONNECT:$s" >/dev/null 2>&1 || true
			done
		done
	done
	for s in a coord p b; do
		kill -0 "$(daemon_pid "$s")"
	done
	run 2pc-coord -C coord.sock <<<"$(printf 'ok1\ta=x')"
	assert_output "$(printf 'ok1\tcommit')"
	run rc put k v
	assert_success
	converge p b
}
