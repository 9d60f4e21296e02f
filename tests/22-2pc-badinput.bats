#!/usr/bin/env bats
# Two-phase commit with bad input: garbage and huge lines on the sockets,
# malformed transactions, reused txids, torn and corrupt logs.

load helper
bats_require_minimum_version 1.5.0

# One good transaction through the coordinator daemon.
commit_one() {
	run 2pc-coord -C coord.sock <<<"$(printf '%s\ta=1\tb=2' "$1")"
	assert_success
	assert_output "$(printf '%s\tcommit' "$1")"
}

@test "2pc bad input: garbage and unknown verbs get ERR; others keep being served" {
	start_part a
	start_part b
	start_coord a=a.sock b=b.sock
	run sock_say a.sock 'garbage here'
	assert_output --partial "ERR unknown verb or wrong arguments: garbage (verbs: PREPARE,"
	run sock_say a.sock 'FOO'
	assert_output --partial "ERR unknown verb or wrong arguments: FOO (verbs: PREPARE,"
	run sock_say a.sock 'PREPARE c1 t9 1 a - a=x payload'
	assert_output "ERR PREPARE before RECOVER"
	run sock_say coord.sock 'FROB x'
	assert_output "ERR unknown verb or wrong arguments: FROB (verbs: TX, QUERY, STATS)"
	run sock_say coord.sock "$(printf 'TX t1\tzz=1')"
	assert_output "$(printf 'OUTCOME t1\tabort\tbad input: unknown participant zz')"
	run sock_say coord.sock "$(printf 'TX t1\ta=bad\\qescape')"
	assert_output "$(printf 'OUTCOME t1\tabort\tbad input: bad escape in payload for a')"
	commit_one t1
}

@test "2pc bad input: 10 MB lines are refused on both sockets while a client commits" {
	HAKIT_TRACE=1 start_part a
	start_part b
	HAKIT_TRACE=1 start_coord a=a.sock b=b.sock
	head -c 10000000 /dev/zero | tr '\0' x >big
	socat -t 5 - UNIX-CONNECT:a.sock <big >a.reply &
	local p1=$!
	socat -t 5 - UNIX-CONNECT:coord.sock <big >c.reply &
	local p2=$!
	commit_one t1
	wait "$p1" "$p2" || true
	# The peer may be gone before it reads the reply: the trace shows it.
	grep -Eq '^[0-9]+ [^ ]*a.sock > peer-[0-9]+ ERR line too long$' a.err
	grep -Eq '^[0-9]+ [^ ]*coord.sock > client-[0-9]+ ERR line too long$' coord.err
	commit_one t2
}

@test "2pc bad input: half a line and then silence is cut off" {
	start_part a
	start_part b
	start_coord a=a.sock b=b.sock
	(printf 'STATUS t1'; sleep 15) | socat -t 20 - UNIX-CONNECT:a.sock >reply &
	local p=$!
	commit_one t1
	wait "$p" || true
	assert_equal "$(cat reply)" "ERR incomplete line"
}

@test "2pc bad input: malformed stdin lines abort with a reason; exit 2" {
	start_part a
	printf 'no-tab-here\nt1\ta=ok\nt2\tq=1\nt3\tnoequals\nt 4\ta=1\nt5\ta=x\ta=y\n' >in
	run --separate-stderr 2pc-coord -l c.log a=a.sock <in
	assert_failure 2
	assert_equal "$(sort <<<"$output")" "$(printf '%s\n' \
		"-	abort	bad input: bad txid" \
		"-	abort	bad input: no participant (fields are separated by TABs)" \
		"t1	commit" \
		"t2	abort	bad input: unknown participant q" \
		"t3	abort	bad input: field without '='" \
		"t5	abort	bad input: participant a named twice")"
}

@test "2pc bad input: a reused txid is refused, across restarts too" {
	start_part a
	start_part b
	start_coord a=a.sock b=b.sock
	commit_one t1
	kill_daemon coord TERM
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=9\tb=9')"
	assert_failure 1
	assert_output "$(printf 't1\tabort\ttxid already used by another transaction')"
	# A coordinator with another log is another coordinator: its t1 is
	# another transaction, kept apart from the first by the participants.
	run 2pc-coord -l fresh.log a=a.sock b=b.sock <<<"$(printf 't1\ta=9\tb=9')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\t1\nt1\t9')"
	assert_equal "$(cat b.out)" "$(printf 't1\t2\nt1\t9')"
}

@test "2pc bad input: a torn log tail is truncated and reported" {
	start_part a
	run 2pc-coord -l c.log a=a.sock <<<"$(printf 't1\ta=1')"
	assert_success
	kill_daemon a TERM
	local size
	size=$(stat -c %s a.log)
	printf '\100\000\000\000\000\000\000\000abcdefghij' >>a.log
	start_part a
	grep -q "a.log: torn record at offset $size: truncating 18 bytes" a.err
	assert_equal "$(stat -c %s a.log)" "$size"
	run 2pc-coord -l c.log a=a.sock <<<"$(printf 't2\ta=2')"
	assert_success
}

@test "2pc bad input: a flipped byte mid-log refuses to start, naming file and offset" {
	start_part a
	run 2pc-coord -l c.log a=a.sock <<<"$(printf 't1\ta=1\nt2\ta=2')"
	assert_success
	kill_daemon a TERM
	cp a.log a.good
	# Offset 20 is inside the first record (8 bytes of magic, 8 of header).
	printf 'Z' | dd of=a.log bs=1 seek=20 conv=notrunc status=none
	run 2pc-part -s a.sock -l a.log
	assert_failure 2
	assert_output "2pc-part: a.log: corrupt record at offset 8: bad checksum"
	cmp -s a.log a.good && fail "the log was not changed"
	printf 'Z' | dd of=c.log bs=1 seek=20 conv=notrunc status=none
	run 2pc-coord -l c.log </dev/null
	assert_failure 2
	assert_output "2pc-coord: c.log: corrupt record at offset 8: bad checksum"
}

@test "2pc logs: after kill -9 the preallocated zeros are a clean end, not a torn tail" {
	start_part a
	run 2pc-coord -l c.log a=a.sock <<<"$(printf 't1\ta=1')"
	assert_success
	crash_daemon a
	[ "$(stat -c %s a.log)" -ge 1048576 ]
	start_part a
	! grep -q torn a.err
	local id
	id=$(coord_id c.log)
	assert_equal "$(sock_say a.sock "STATUS $id t1 1")" "STATE $id t1 committed"
	kill_daemon a TERM
	[ "$(stat -c %s a.log)" -lt 4096 ]
}

@test "2pc bad input: a client that never reads its replies is cut off" {
	start_part a
	start_part b
	start_coord a=a.sock b=b.sock
	# socat may finish writing first, or see EPIPE once it is cut off.
	yes 'QUERY 0 x a' | head -n 3000000 | socat -u - UNIX-CONNECT:coord.sock || true
	eventually grep -Eq 'client-[0-9]+: not reading its replies; closing' coord.err
	commit_one t1
}

@test "2pc bad input: over the socket a bad line gets an outcome line and the client goes on" {
	start_part a
	start_part b
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 'r1\ta=1\tb=1\nr2\tq=1\nr3 a=1 b=1\nr4\ta=1\tb=1')"
	assert_failure 2
	assert_output "$(printf 'r1\tcommit\nr2\tabort\tbad input: unknown participant q\n-\tabort\tbad input: no participant (fields are separated by TABs)\nr4\tcommit')"
	run 2pc-coord -C coord.sock -l x.log a=a.sock
	assert_failure 2
	assert_output --partial "-C SOCK takes no other option than -j and -K, and no operand"
}

@test "2pc recovery: participants still voting when the coordinator died are told the abort" {
	start_part a -t 30 -p 'sleep 2' -a 'touch a-aborted'
	start_part b -t 30 -a 'touch b-aborted'
	run env HAKIT_CRASH=coord.prepare-sent 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 'g1\ta=-1\tb=1')"
	assert_failure 137
	# Recovery (no socket: nobody could ask it later) runs while a's
	# prepare hook still runs; both learn the abort from it.
	run 2pc-coord -l c.log a=a.sock b=b.sock </dev/null
	assert_success
	eventually test -e a-aborted
	eventually test -e b-aborted
	assert_equal "$(2pc-part -s a.sock -L)$(2pc-part -s b.sock -L)" ""
}
