#!/usr/bin/env bats
# Failover and fencing: an in-sync backup takes over when the primary
# dies, nothing acknowledged is lost, the old primary's unacknowledged
# tail is cut, and no member ever follows an older epoch.

load helper
load repl-helper

# writer ID N: put N unique keys, noting each acknowledged one in acked.ID.
writer() {
	local i
	for ((i = 1; i <= $2; i++)); do
		if repl-client -L lease -t 20 put "w$1-$i" "v$i" >/dev/null \
		    2>>"writer.$1.err"; then
			echo "w$1-$i v$i" >>"acked.$1"
		fi
	done
}

@test "kill -9 of the primary under write load loses no acknowledged write" {
	start_primary p
	start_backup b1
	start_backup b2
	writer 1 80 &
	w1=$!
	writer 2 80 &
	w2=$!
	eventually has_lines acked.1 20
	kill_daemon p KILL || true
	wait "$w1" "$w2"
	# Every write was acknowledged: the clients retried across the failover.
	[ "$(cat acked.1 acked.2 | wc -l)" -eq 160 ]
	[ "$(lease_field epoch)" -eq 2 ]
	run check_acked <(cat acked.1 acked.2)
	assert_success
	# The old primary comes back as a backup and converges.
	start_backup p
	converge p b1 b2
	[ "$(role p)" = backup ]
}

@test "the old primary's unacknowledged tail is truncated when it rejoins" {
	HAKIT_CRASH=primary.appended:3 start_primary p
	start_backup b
	rc put a 1 >/dev/null
	rc put b 2 >/dev/null
	# The third write is durable on p only when p dies; the client retries
	# and the new primary acknowledges it in epoch 2.
	run rc put c 3
	assert_success
	assert_output "$(printf '2\t5')"
	grep -qa "$(printf '1\tput\tc\t3')" p.d/log
	start_backup p
	grep -q "truncating a divergent tail: positions 4 to 4" p.err
	converge b p
	! grep -qa "$(printf '1\tput\tc\t3')" p.d/log
	run repl-client -s p.sock -w 5 get c
	assert_output 3
}

@test "a stopped primary keeps the lease: no second primary appears" {
	start_primary p
	start_backup b
	rc put k 1 >/dev/null
	kill -STOP "$(daemon_pid p)"
	run repl-client -L lease -t 1 put k 2
	assert_failure 3
	run repl-client -s b.sock -t 1 status
	assert_output --regexp "^role=backup epoch=1 "
	[ "$(lease_field epoch)" -eq 1 ]
	kill -CONT "$(daemon_pid p)"
	run rc put k 3
	assert_success
	assert_output --regexp "^1	"
	run rc get k
	assert_output 3
}

@test "a member rejects a message from an older epoch" {
	start_primary p
	start_backup b
	rc put k v >/dev/null
	kill_daemon p KILL || true
	eventually is_primary b
	run sock_say b.sock "SYNC 1 1 3 $(member_id p) $PWD/p.sock"
	assert_output "ERR stale epoch 1 < 2"
	run sock_say b.sock "SYNC 2 1 2 $(member_id p) $PWD/p.sock"
	assert_line --index 0 --regexp "^START 2 2 fsync [23]$"
	# The new primary still serves everyone else.
	run rc get k
	assert_output v
}

@test "a lagging backup outside the in-sync set never takes over" {
	start_primary p -t 300
	start_backup b1
	start_backup b2
	kill -STOP "$(daemon_pid b2)"
	rc put k 1 >/dev/null
	! in_sync b2
	in_sync b1
	kill_daemon p KILL || true
	eventually is_primary b1
	kill_daemon b1 KILL || true
	kill -CONT "$(daemon_pid b2)"
	run repl-client -L lease -t 1 put k 2
	assert_failure 3
	[ "$(role b2)" = backup ]
	[ "$(lease_field epoch)" -eq 2 ]
	# The in-sync member comes back and takes over; the others follow.
	start_backup b1
	is_primary b1
	[ "$(lease_field epoch)" -eq 3 ]
	run rc get k
	assert_output 1
	start_backup p
	converge b1 b2 p
}
