#!/usr/bin/env bats
# Primary-backup replication: writes, reads, positions, catch-up, ack
# levels, pipe mode, and what every daemon must do with its socket.

load helper
load repl-helper

@test "put, get and del through the primary; replies name epoch and position" {
	start_primary p
	start_backup b
	run rc put colour blue
	assert_success
	assert_output "$(printf '1\t2')"
	run rc get colour
	assert_success
	assert_output blue
	run rc put "two words" "a	tab and spaces"
	assert_output "$(printf '1\t3')"
	run rc get "two words"
	assert_output "a	tab and spaces"
	run rc del colour
	assert_output "$(printf '1\t4')"
	run rc get colour
	assert_failure 1
	assert_output ""
	run rc get never-written
	assert_failure 1
	# The log holds the epoch record and the three writes, on both.
	converge p b
	run repl-client -s p.sock status
	assert_output --regexp "^role=primary epoch=1 id=$(member_id p) records=5 applied=5 snapshot=0 digest=[0-9a-f]{8} insync-backups=1$"
}

@test "reads at a backup say their role and position; -w waits for a position" {
	start_primary p
	start_backup b
	pos=$(rc put k v1 | cut -f2)
	run repl-client -s b.sock -v -w "$pos" get k
	assert_success
	assert_output "$(printf 'backup\t1\t%s\tv1' "$pos")"
	# A write sent to the backup is redirected to the primary.
	run repl-client -s b.sock put k v2
	assert_success
	pos=$(echo "$output" | cut -f2)
	run repl-client -s b.sock -w "$pos" get k
	assert_output v2
	# Waiting for a position nobody wrote times out with status 3.
	run repl-client -s b.sock -t 0.3 -w 99 get k
	assert_failure 3
	# After a redirected write, the next read is the backup's again.
	run bash -c "printf 'put k v3\nget k\n' | repl-client -s b.sock -v"
	assert_line --index 0 --regexp "^1	[0-9]+$"
	assert_line --index 1 --regexp "^backup	1	"
}

@test "raw appends reach the backup's applied stream on stdout" {
	start_primary p
	start_backup b -o
	rc append "raw	record one" >/dev/null
	rc put k v >/dev/null
	pos=$(rc del k | cut -f2)
	repl-client -s b.sock -w "$pos" get nothing || true
	# Each client write carries its request id, CLIENT:SEQ.
	id='[0-9a-f]{16}:1'
	run cat b.out
	assert_line --index 0 "$(printf '1\t1\tepoch\t%s/p.sock' "$PWD")"
	assert_line --index 1 --regexp "^2	1	append	raw\\\\trecord one	$id\$"
	assert_line --index 2 --regexp "^3	1	put	k	v	$id\$"
	assert_line --index 3 --regexp "^4	1	del	k	$id\$"
	[ "${#lines[@]}" -eq 4 ]
}

@test "pipe mode: writes from the primary's stdin, acks on its stdout" {
	mkfifo in
	exec 5<>in
	repl-primary -p -d p.d -s p.sock -L lease -r 3 <in >p.out 2>p.err 3>ready &
	echo $! >p.pid
	printf 'put\tk1\tone\nput k2 two words\ndel\tk1\nbogus\nappend x y\n' >&5
	eventually test -s ready
	eventually has_lines p.out 5
	run cat p.out
	assert_output "$(printf '1\t2\n1\t3\n1\t4\nfail\tbad command\n1\t5')"
	run rc get k2
	assert_output "two words"
	exec 5>&-
}

@test "a backup stopped for a while catches up from its position" {
	start_primary p
	start_backup b
	for i in 1 2 3; do rc put "k$i" "v$i" >/dev/null; done
	kill_daemon b TERM
	for i in 4 5 6 7; do rc put "k$i" "v$i" >/dev/null; done
	HAKIT_TRACE=1 start_backup b
	converge p b
	# It asked for what follows position 4 and got only that.
	grep -q '> primary SYNC 1 1 4 ' b.err
	run grep -c '< primary REC ' b.err
	assert_output 5
	run repl-client -s b.sock get k7
	assert_output v7
}

@test "a new, empty backup gets everything" {
	start_primary p -k 0
	for i in 1 2 3 4 5; do rc put "k$i" "v$i" >/dev/null; done
	HAKIT_TRACE=1 start_backup fresh
	grep -q '> primary SYNC 1 0 0 ' fresh.err
	converge p fresh
	run repl-client -s fresh.sock get k5
	assert_output v5
}

@test "ack levels none, recv and fsync all acknowledge durable writes" {
	for level in none recv fsync; do
		rm -rf ./*.d lease lease.state
		start_primary "p$level" -a "$level"
		start_backup "b$level"
		run rc put k "$level"
		assert_success
		run repl-client -s "b$level.sock" -w 2 get k
		assert_output "$level"
		[ "$(lease_field ack)" = "$level" ]
		kill_daemon "b$level" TERM
		kill_daemon "p$level" TERM
	done
}

@test "-k: too few in-sync backups make writes fail fast; reads go on" {
	start_primary p -k 1
	run rc put k before
	assert_failure 3
	assert_output --partial "too few in-sync backups (0 < 1)"
	start_backup b
	run rc put k v
	assert_success
	kill_daemon b TERM
	eventually bash -c '! grep -q b.sock lease.state'
	run rc put k v2
	assert_failure 3
	run rc get k
	assert_success
	assert_output v
}

@test "sockets: mode 0600 or -m, stale replaced, live refused, SIGTERM cleans up" {
	start_primary p
	[ "$(stat -c %a p.sock)" = 600 ]
	start_backup b -m 660
	[ "$(stat -c %a b.sock)" = 660 ]
	run repl-backup -d x.d -s b.sock -L lease
	assert_failure 3
	assert_output --partial "address in use"
	kill_daemon b KILL || true
	[ -S b.sock ]
	start_backup b
	kill_daemon b TERM
	[ ! -e b.sock ]
	run repl-primary -h
	assert_success
	assert_output --partial "usage: repl-primary"
	run repl-backup -Z
	assert_failure 2
	run repl-client -L lease bogus command
	assert_failure 2
	run repl-primary -d q.d -s q.sock -L lease
	assert_failure 3
	assert_output --partial "held by another primary"
}
