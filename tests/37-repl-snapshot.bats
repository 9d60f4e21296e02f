#!/usr/bin/env bats
# Bounded growth: a member snapshots its map and drops the log before it,
# by the growth rule (-g, -G); it restarts from the snapshot and the log
# after it; a backup behind the primary's log gets the snapshot, then the
# log; divergent tails are still cut after snapshots; -g 0 keeps the log
# whole.  The members here snapshot once their log holds 2 KB.

load helper
load repl-helper

@test "a snapshot is taken by the growth rule, and the directory stays the size of the live data" {
	start_primary p -G 2048
	start_backup b -G 2048
	puts 1 600
	eventually snapshot_past p 300
	eventually snapshot_past b 300
	check_values 600
	converge p b
	grep -q "snapshot at position [0-9]*: 10 keys" p.err
	grep -q "snapshot at position [0-9]*: 10 keys" b.err
	# The snapshot holds the 10 keys (and maybe converge's marker); the
	# log only what came after it.
	[ "$(grep -c "^put	k[0-9]	" p.d/snapshot)" -eq 10 ]
	kill_daemon b TERM
	kill_daemon p TERM
	[ "$(grep -ao "	put	" p.d/log | wc -l)" -lt 100 ]
	[ "$(du -sk p.d | cut -f1)" -lt 24 ]
	[ "$(du -sk b.d | cut -f1)" -lt 24 ]
}

@test "a member restarts from its snapshot and the log after it, request ids included" {
	start_primary p -G 2048
	start_backup b -G 2048
	# A write with a request id, then another value for its key.
	run sock_say p.sock "$(printf 'PUT once\tfirst\tme:1')"
	assert_output "OK 1 2"
	rc put once second >/dev/null
	puts 1 400
	eventually snapshot_past p 100
	converge p b
	records=$(status_field p records)
	crash_daemon b
	crash_daemon p
	start_primary p -G 2048
	start_backup b -G 2048
	# Everything is back, and one more record: the new epoch's.
	[ "$(status_field p snapshot)" -gt 100 ]
	[ "$(status_field p records)" -eq $((records + 1)) ]
	check_values 400
	# The retry is known from the snapshot: answered, not applied again.
	run sock_say p.sock "$(printf 'PUT once\tfirst\tme:1')"
	assert_output "OK 1 2"
	run rc get once
	assert_output second
	converge p b
}

@test "a backup that was down while the log moved on gets the snapshot, then the log" {
	start_primary p -G 2048
	start_backup b1 -G 2048
	start_backup b2 -G 2048
	puts 1 20
	converge p b1 b2
	kill_daemon b2 TERM
	puts 21 600
	eventually snapshot_past p 300
	start_backup b2 -G 2048
	grep -q "installed the primary's snapshot at position" b2.err
	in_sync b2
	converge p b1 b2
	# b2 can lead: the others die, it takes over with every write.
	crash_daemon p
	crash_daemon b1
	eventually is_primary b2
	check_values 600
}

@test "a new member catches up from the snapshot and can take over" {
	start_primary p -G 2048
	puts 1 500
	eventually snapshot_past p 200
	start_backup n -G 2048
	grep -q "installed the primary's snapshot at position" n.err
	in_sync n
	puts 501 530
	converge p n
	crash_daemon p
	eventually is_primary n
	check_values 530
}

@test "a divergent tail is cut after snapshots, where the epochs say" {
	HAKIT_CRASH=primary.appended:300 start_primary p -G 2048
	start_backup b -G 2048
	# p dies with its 300th write (position 301) durable only there; the
	# client's retry is acknowledged by b, in epoch 2.
	puts 1 400
	eventually is_primary b
	puts 401 600
	eventually snapshot_past b 400
	# b restarts: its epochs come from its snapshot now (epoch 3).
	kill_daemon b TERM
	start_backup b -G 2048
	is_primary b
	start_backup p -G 2048
	grep -q "truncating a divergent tail: positions 301 to 301" p.err
	converge b p
	check_values 600
}

@test "-g 0 takes no snapshot: the log keeps every record" {
	start_primary p -g 0 -G 2048
	puts 1 300
	[ "$(status_field p snapshot)" = 0 ]
	[ ! -e p.d/snapshot ]
	kill_daemon p TERM
	[ "$(grep -ao "	put	" p.d/log | wc -l)" -eq 300 ]
	! grep -q "snapshot at position" p.err
}

@test "a write synced by a snapshot's log rewrite still goes to the backup at once" {
	# One write at a time, each waiting for its acknowledgement: a record
	# left unsent after a snapshot would hold its writer for the lag time
	# and push the backup out of the in-sync set (-k 1 then fails).
	start_primary p -G 2048 -k 1 -t 2000
	start_backup b -G 2048
	puts 1 3000
	[ "$(grep -c 'snapshot at position' p.err)" -gt 10 ]
	run grep -c "from the in-sync set" p.err
	assert_output 0
	in_sync b
	check_values 3000
}
