#!/usr/bin/env bats
# Identity, reads and retries: a member is a copy of the data, not a
# socket path; only the current primary answers a read through the lease;
# a connection's replies come in order; repl-client answers each stdin
# command with one line; a retried write is applied once; a restarted
# backup applies what it catches up on.  One story per finding of an
# audit, plus what a survivor refuses and one daemon per directory.

load helper
load repl-helper

# crash_together NAME...: kill -9 several daemons at once (one power cut).
crash_together() {
	local n pids=()
	for n in "$@"; do pids+=("$(daemon_pid "$n")"); done
	kill -KILL "${pids[@]}"
	for n in "$@"; do crash_daemon "$n"; done
}

# log_has NAME TEXT: how many records of NAME's log hold TEXT.
log_has() {
	grep -ao "$2" "$1.d/log" | wc -l
}

@test "an in-sync member back with an empty directory is a new copy: it cannot take over or cut anything" {
	start_primary p
	start_backup b1
	for i in 1 2 3; do rc put "k$i" "v$i" >/dev/null; done
	old=$(member_id b1)
	crash_together p b1
	# b1's disk is replaced: its copy of the data is gone.
	rm -rf b1.d
	start_backup b1
	[ "$(member_id b1)" != "$old" ]
	! grep -q "primary in epoch" b1.err
	# p has everything and takes over; b1 joins as a new backup.
	start_backup p
	is_primary p
	for i in 1 2 3; do
		run repl-client -L lease -t 2 get "k$i"
		assert_success
		assert_output "v$i"
	done
	[ "$(log_has p "put	k3	v3")" -eq 1 ]
	eventually in_sync b1
	converge p b1
	[ "$(role b1)" = backup ]
}

@test "a copy of a member's directory is a new member, which must catch up" {
	start_primary p
	start_backup b
	rc put k v >/dev/null
	kill_daemon b TERM
	cp -r b.d c.d
	start_backup c
	grep -q "c.d: it is not the directory its id was made for: this is a new copy of the data" c.err
	[ "$(member_id c)" != "$(member_id b)" ]
	in_sync c
	! in_sync b
	start_backup b
	converge p b c
}

@test "a read through the lease is answered only by the primary of the current epoch" {
	start_primary p
	rc put k1 v1 >/dev/null
	crash_daemon p
	# A member taking over holds the lease (here, the test itself) while
	# p comes back as a backup on the socket the lease still names.
	exec 9>>lease
	flock -n 9
	start_process p repl-backup -d p.d -s p.sock -L lease
	eventually repl-client -s p.sock -t 0.1 status
	run repl-client -L lease -t 0.5 get k1
	assert_failure 3
	assert_output "repl-client: no primary answered within 500 ms"
	# Asked as if it were the primary, the backup sends the client away;
	# asked for its own copy, it says it is a backup.
	run sock_say p.sock "GET k1"
	assert_output "RETRY no primary known"
	run sock_say p.sock "GETLOCAL k1"
	assert_output --regexp "^(VALUE|NONE) backup 1 "
	# The lease is free again: p takes over and serves the read.
	flock -u 9
	eventually is_primary p
	run rc get k1
	assert_output v1
	run sock_say p.sock "GET k1"
	assert_output "VALUE primary 2 3 v1"
}

@test "repl-client takes a read through the lease only from the primary of the lease's epoch" {
	# A member, played by socat, answers whatever the file "reply" says.
	: >lease
	printf 'hakit-lease 2\nepoch 2\nprimary %s %s/fake.sock\n' \
	    0123456789abcdef0123456789abcdef "$PWD" >lease.state
	start_process fake socat UNIX-LISTEN:fake.sock,fork \
	    SYSTEM:'read -r request; cat reply'
	eventually test -S fake.sock
	echo "VALUE backup 2 5 stale" >reply
	run repl-client -L lease -t 0.3 get k
	assert_failure 3
	assert_output "repl-client: no primary answered within 300 ms"
	echo "VALUE primary 1 5 old" >reply
	run repl-client -L lease -t 0.3 get k
	assert_failure 3
	echo "VALUE primary 2 5 current" >reply
	run repl-client -L lease -t 0.3 get k
	assert_success
	assert_output current
	# With -s, a backup's own copy is what was asked for.
	echo "VALUE backup 2 5 stale" >reply
	run repl-client -s fake.sock -v get k
	assert_output "$(printf 'backup\t2\t5\tstale')"
}

@test "requests on one connection are answered in order" {
	start_primary p
	start_backup b
	pos=$(rc put k v | cut -f2)
	repl-client -s b.sock -w "$pos" get k >/dev/null
	# A WAIT that times out, then a read: the WAIT is answered first.
	run bash -c "printf 'WAIT 999 300\\nGETLOCAL k\\nGET k\\n' | socat -t 5 - UNIX-CONNECT:b.sock"
	assert_line --index 0 "FAIL timeout at position $pos"
	assert_line --index 1 "VALUE backup 1 $pos v"
	assert_line --index 2 "REDIRECT 1 $PWD/p.sock"
	run repl-client -s b.sock -t 0.3 -w 999 get k
	assert_failure 3
	assert_output "repl-client: timeout at position $pos"
	run repl-client -s b.sock -t 0.3 wait 999
	assert_failure 3
	assert_output "repl-client: timeout at position $pos"
	# A write, then a read of it, on one connection to the primary; then a
	# bad request, answered after both.
	run bash -c "printf 'PUT k\\tv2\\nGET k\\nFROB\\nGET k\\n' | socat -t 5 - UNIX-CONNECT:p.sock"
	assert_output "$(printf 'OK 1 %s\nVALUE primary 1 %s v2\nERR unknown verb' $((pos + 1)) $((pos + 1)))"
}

@test "repl-client answers every stdin command with one line, so it works as a co-process" {
	start_primary p
	run bash -c "printf 'put a 1\\nget a\\nget nothing\\nfrob x\\nput a\\nget\\nput\\tb\\tx\\ty\\nget b\\n' | repl-client -L lease 2>err"
	assert_failure 2
	commands="(commands: put KEY VALUE, get KEY, del KEY, append PAYLOAD, wait POSITION, status)"
	assert_output "$(printf '1\t2\n1\nnothing\tabsent\nerror\tbad command: frob %s\nerror\tbad command: put %s\nerror\tbad command: get %s\n1\t3\nx\\ty' "$commands" "$commands" "$commands")"
	# As a co-process: ask, read one line, ask again.
	coproc repl-client -L lease -t 0.5
	client=$COPROC_PID
	echo "get nothing" >&"${COPROC[1]}"
	read -r -t 20 line <&"${COPROC[0]}"
	[ "$line" = "$(printf 'nothing\tabsent')" ]
	echo "put c 3" >&"${COPROC[1]}"
	read -r -t 20 line <&"${COPROC[0]}"
	[ "$line" = "$(printf '1\t4')" ]
	kill_daemon p TERM
	echo "put c 4" >&"${COPROC[1]}"
	read -r -t 20 line <&"${COPROC[0]}"
	[ "$line" = "$(printf 'fail\tno primary answered within 500 ms')" ]
	exec {COPROC[1]}>&-
	wait "$client" || [ $? -eq 3 ]
}

@test "a write retried after a failover is applied once and never undoes a newer write" {
	HAKIT_CRASH=primary.replicated start_primary p
	start_backup b
	# Client A's write reaches both members; p dies before answering it.
	printf 'PUT k\told\tA:1\n' | socat -t 5 - UNIX-CONNECT:p.sock
	daemon_died p
	eventually is_primary b
	# Client B overwrites it and is acknowledged.
	run rc put k new
	assert_output "$(printf '2\t4')"
	# A retries with the same request id: told the first outcome, and
	# nothing is applied again.
	run sock_say b.sock "$(printf 'PUT k\told\tA:1')"
	assert_output "OK 1 2"
	run rc get k
	assert_output new
	[ "$(log_has b "put	k	old")" -eq 1 ]
	# repl-client retries the same way by itself.
	kill_daemon b TERM
	rm -rf ./*.d lease lease.state
	HAKIT_CRASH=primary.replicated start_primary p
	start_backup b
	run rc put k v
	assert_success
	assert_output "$(printf '1\t2')"
	[ "$(log_has b "put	k	v")" -eq 1 ]
}

@test "request ids: a retry is answered with the first outcome; one too old is unknown, never applied again" {
	start_primary p
	run sock_say p.sock "$(printf 'PUT k\tv20\tA:20')"
	assert_output "OK 1 2"
	run sock_say p.sock "$(printf 'PUT k\tv20\tA:20')"
	assert_output "OK 1 2"
	# A:5 was never written and is within 16 of A:20: it is new.
	run sock_say p.sock "$(printf 'PUT k\tv5\tA:5')"
	assert_output "OK 1 3"
	# A:4 is 16 behind: the primary cannot tell, so it says so.
	run sock_say p.sock "$(printf 'PUT k\tv4\tA:4')"
	assert_output "UNKNOWN request A:4 is 16 or more writes behind its client's last: its outcome is not known"
	# Another client's ids are its own; a malformed id is refused.
	run sock_say p.sock "$(printf 'DEL k\tB:20')"
	assert_output "OK 1 4"
	run sock_say p.sock "$(printf 'DEL k\tB:x')"
	assert_output "ERR bad arguments"
	run rc get k
	assert_failure 1
	[ "$(log_has p "A:20")" -eq 1 ]
}

@test "a backup restarted behind the primary applies what it catches up on at once" {
	start_primary p
	start_backup b
	rc put k0 v0 >/dev/null
	kill_daemon b TERM
	for i in 1 2 3; do rc put "k$i" "v$i" >/dev/null; done
	start_backup b
	# No new write arrives: the records it caught up on are applied anyway.
	run repl-client -s b.sock -t 2 -w 5 get k3
	assert_success
	assert_output v3
	[ "$(status_field b applied)" -eq 5 ]
}

@test "a backup that is ready after rejoining has applied every acknowledged write" {
	start_primary p
	start_backup b
	kill_daemon b TERM
	for i in 1 2 3; do rc put "k$i" "v$i" >/dev/null; done
	start_backup b
	run repl-client -s b.sock get k3
	assert_success
	assert_output v3
}

@test "records replayed at start do not make a connected in-sync backup look lagging" {
	fake=0123456789abcdef0123456789abcdef
	start_primary p -t 60000
	rc put k1 v1 >/dev/null
	kill_daemon p TERM
	# A backup, played here by the test, is in the in-sync set; while it
	# is away p appends a write it cannot commit, and dies.
	echo "insync $fake $PWD/fake.sock" >>lease.state
	start_primary p -t 60000
	run repl-client -L lease -t 0.3 put k2 v2
	assert_failure 3
	crash_daemon p
	start_primary p -t 60000
	# The backup connects, 2 records behind; it is sent them and never
	# answers, but it is allowed the lag (60 s), counted from p's start.
	mkfifo fake.in
	socat - UNIX-CONNECT:p.sock <fake.in >fake.out &
	fakepid=$!
	exec 8>fake.in
	echo "SYNC 3 1 2 $fake $PWD/fake.sock" >&8
	eventually grep -q "^REC 3 5 " fake.out
	# A WAIT times out only from a tick of the loop, which checks lags.
	run sock_say p.sock "WAIT 999 100"
	assert_output "FAIL timeout at position 2"
	! grep -q removing p.err
	grep -q "^insync $fake " lease.state
	exec 8>&-
	wait "$fakepid" || true
}

@test "a survivor never cuts records it knows are committed, whoever asks" {
	start_primary p
	start_backup b
	for i in 1 2 3; do rc put "k$i" "v$i" >/dev/null; done
	repl-client -s b.sock -w 4 get k3 >/dev/null
	kill_daemon b TERM
	grep -qx "commit 4" b.d/member
	crash_daemon p
	# Someone starts a new group on the same lease with an empty member,
	# which knows nothing b holds.
	rm lease lease.state
	start_primary e
	start_process b repl-backup -d b.d -s b.sock -L lease
	eventually grep -q "refusing to cut positions 2 to 4, known to be committed, for the primary of epoch 1" b.err
	[ "$(log_has b "put	k3	v3")" -eq 1 ]
	run repl-client -s b.sock get k3
	assert_output v3
}

@test "a second member on the same data directory refuses to start, naming the holder" {
	start_primary p
	pid=$(daemon_pid p)
	for tool in repl-primary repl-backup; do
		run "$tool" -d p.d -s q.sock -L lease
		assert_failure 3
		assert_output "$tool: p.d/log: in use by another process (pid $pid); one daemon at a time may use it"
	done
	[ ! -e q.sock ]
	run rc put k v
	assert_success
}
