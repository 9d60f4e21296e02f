#!/usr/bin/env bats
# Two-phase commit: what names a transaction, what a retry gets, and the
# ways an audit split a transaction (one participant committing what
# another aborted), each told as the story that found it.

load helper
bats_require_minimum_version 1.5.0

# Every daemon traces its messages: the stories read them.
setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	export HAKIT_TRACE=1
}

# resolved NAME...: nothing in doubt at these participants.
resolved() {
	local p
	for p in "$@"; do
		[ "$(sock_say "$p.sock" LIST)" = "LISTED 0" ] || return 1
	done
}

@test "2pc identity: a txid still voting when the coordinator dies is never reused for another transaction" {
	start_part a -t 1
	start_part b -t 1
	start_part c -t 1
	start_daemon coord env HAKIT_CRASH=coord.prepare-sent \
		2pc-coord -s x.sock -l x.log -r 3 a=a.sock b=b.sock c=c.sock
	# A transfer: a and b prepare, then the coordinator dies.
	run --separate-stderr 2pc-coord -C x.sock <<<"$(printf 't1\ta=debit\tb=credit')"
	assert_failure 3
	assert_output "$(printf 't1\tunknown\tconnection lost: resubmit the same line to learn the outcome')"
	daemon_died coord
	crash_daemon a
	start_daemon coord 2pc-coord -s x.sock -l x.log -r 3 a=a.sock b=b.sock c=c.sock
	# Another client picks the same txid for something else: refused.
	run 2pc-coord -C x.sock <<<"$(printf 't1\tc=other')"
	assert_failure 1
	assert_output "$(printf 't1\tabort\ttxid already used by another transaction')"
	# The transfer itself was never decided: it aborts everywhere.
	start_part a -t 1
	eventually resolved a b c
	run 2pc-coord -C x.sock <<<"$(printf 't1\ta=debit\tb=credit')"
	assert_output "$(printf 't1\tabort\tcoordinator restarted before deciding')"
	kill_daemon a TERM
	kill_daemon b TERM
	kill_daemon c TERM
	assert_equal "$(cat a.out b.out c.out)" ""
}

@test "2pc identity: two coordinators sharing a participant keep their t1 apart, in cooperative termination too" {
	start_part a -t 1
	start_part b -t 1
	start_part d -t 1
	# Coordinator Y commits its t1 at a and b.
	start_daemon y 2pc-coord -s y.sock -l y.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C y.sock <<<"$(printf 't1\ta=y\tb=y')"
	assert_output "$(printf 't1\tcommit')"
	# Coordinator X's own t1 at d and a: both prepare, X dies undecided.
	start_daemon x env HAKIT_CRASH=coord.prepare-sent \
		2pc-coord -s x.sock -l x.log -r 3 d=d.sock a=a.sock
	run 2pc-coord -C x.sock <<<"$(printf 't1\td=x\ta=x')"
	assert_failure 3
	daemon_died x
	# d asks a about X's t1 and must hear about X's t1, not Y's.
	local xid
	xid=$(coord_id x.log)
	eventually grep -q "< [^ ]*a.sock STATE $xid t1 indoubt\$" d.err
	assert_equal "$(2pc-part -s d.sock -L | cut -f1,3)" "$(printf 't1\t%s' "$xid")"
	# X comes back, knows no decision: its t1 aborts at both.
	start_daemon x 2pc-coord -s x.sock -l x.log -r 3 d=d.sock a=a.sock
	eventually resolved a d
	kill_daemon a TERM
	kill_daemon b TERM
	kill_daemon d TERM
	assert_equal "$(cat a.out)" "$(printf 't1\ty')"
	assert_equal "$(cat b.out)" "$(printf 't1\ty')"
	assert_equal "$(cat d.out)" ""
}
@test "2pc retries: a resubmitted txid is told its true outcome and nothing runs twice" {
	start_part a -p 'sleep 1'
	start_part b
	start_coord a=a.sock b=b.sock
	# A retry while the first submission is still voting waits for it.
	2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=1')" >first.out &
	local first=$!
	eventually grep -q 'PREPARE' a.err
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=1')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	wait "$first"
	assert_equal "$(cat first.out)" "$(printf 't1\tcommit')"
	# A retry after the commit, and after a restart of the coordinator.
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=1')"
	assert_output "$(printf 't1\tcommit')"
	kill_daemon coord TERM
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=1')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	# A retry on the same connection, right after the first.
	run 2pc-coord -C coord.sock <<<"$(printf 't3\ta=1\tb=1\nt3\ta=1\tb=1')"
	assert_output "$(printf 't3\tcommit\nt3\tcommit')"
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\t1\nt3\t1')"
	assert_equal "$(cat b.out)" "$(printf 't1\t1\nt3\t1')"
}

@test "2pc retries: stdin runs one transaction at a time by default, outcomes in input order; -j runs more" {
	start_part a -p 'sleep 0.2'
	start_part b
	printf 't%s\ta=%s\tb=%s\n' 1 1 1 2 2 2 3 3 3 4 4 4 >in
	# Each transaction starts after the one before ended: PREPAREs of
	# t2 come after t1's COMMIT.
	run --separate-stderr 2pc-coord -l c.log a=a.sock b=b.sock <in
	assert_success
	assert_output "$(printf 't1\tcommit\nt2\tcommit\nt3\tcommit\nt4\tcommit')"
	local id
	id=$(coord_id c.log)
	assert_equal "$(grep -oE "< coord (PREPARE|COMMIT) $id t[0-9]" a.err | cut -d' ' -f3,5 | tr '\n' ' ')" \
		"PREPARE t1 COMMIT t1 PREPARE t2 COMMIT t2 PREPARE t3 COMMIT t3 PREPARE t4 COMMIT t4 "
	# With -j 4 all four prepare at once; outcomes still come in order.
	printf 'u%s\ta=%s\tb=%s\n' 4 4 4 3 3 3 2 2 2 1 1 1 >in
	run --separate-stderr 2pc-coord -j 4 -l c.log a=a.sock b=b.sock <in
	assert_success
	assert_output "$(printf 'u4\tcommit\nu3\tcommit\nu2\tcommit\nu1\tcommit')"
	assert_equal "$(grep -oE "< coord (PREPARE|COMMIT) $id u[0-9]" a.err | head -n 4 | cut -d' ' -f3 | sort -u)" PREPARE
}

@test "2pc logs: a torn last record followed by the preallocated zeros is truncated, not refused" {
	start_part a
	run 2pc-coord -l c.log a=a.sock <<<"$(printf 't1\ta=1')"
	assert_success
	kill_daemon a TERM
	# What a power cut leaves: half a record, then the zeros written ahead.
	local end
	end=$(stat -c %s a.log)
	printf '\x64\x00\x00\x00\x01\x02\x03\x04half a rec' >>a.log
	truncate -s 1048576 a.log
	start_part a
	assert_equal "$(grep -c "a.log: torn record at offset $end: truncating $((1048576 - end)) bytes" a.err)" 1
	local id
	id=$(coord_id c.log)
	assert_equal "$(sock_say a.sock "STATUS $id t1 1")" "STATE $id t1 committed"
}

@test "2pc logs: a second daemon on the same log refuses to start, naming the holder" {
	start_part a
	start_coord a=a.sock
	run timeout 5 2pc-part -s a2.sock -l a.log
	assert_failure 3
	assert_output "2pc-part: a.log: in use by another process (pid $(daemon_pid a)); one daemon at a time may use it"
	[ ! -e a2.sock ]
	run timeout 5 2pc-coord -l coord.log a=a.sock </dev/null
	assert_failure 3
	assert_output "2pc-coord: coord.log: in use by another process (pid $(daemon_pid coord)); one daemon at a time may use it"
	# The first ones go on, their logs intact.
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=1')"
	assert_output "$(printf 't1\tcommit')"
	kill_daemon coord TERM
	kill_daemon a TERM
	start_part a
	start_coord a=a.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=1')"
	assert_output "$(printf 't1\tcommit')"
}

@test "2pc in doubt: a forged STATE aborted on a participant's socket does not abort a yes vote" {
	start_part a -t 1
	start_part b -t 1
	start_daemon coord env HAKIT_CRASH=coord.decided \
		2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=x\tb=y')"
	daemon_died coord
	local id
	id=$(coord_id coord.log)
	run sock_say a.sock "STATE $id t1 aborted"
	eventually grep -q "STATE for t1 that we did not ask for; ignored" a.err
	assert_equal "$(2pc-part -s a.sock -L | cut -f1)" t1
	# The coordinator had decided commit: both commit.
	start_coord a=a.sock b=b.sock
	eventually resolved a b
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out) $(cat b.out)" "$(printf 't1\tx t1\ty')"
}

@test "2pc commit decision: no participant hears commit before the decision is durable" {
	# A participant played by hand: it votes yes, asks at once, and then
	# sends garbage, so the coordinator closes the connection in the same
	# round (closing writes what is queued).  The decision's sync fails.
	cat >fake <<'FAKE'
#!/bin/sh
while read -r verb id tx rest; do
	case $verb in
	PREPARE) printf 'VOTE %s %s yes\nQUERY %s %s a\nbogus\n' "$id" "$tx" "$id" "$tx" ;;
	esac
	printf '%s %s %s\n' "$verb" "$id" "$tx" >>heard
done
FAKE
	chmod +x fake
	socat UNIX-LISTEN:a.sock,fork EXEC:./fake &
	echo $! >socat.pid
	eventually test -S a.sock
	2pc-coord -t 1 -l coord.log a=a.sock </dev/null || true
	# fdatasync #1 is the log's at open, #2 its preallocation's, #3 the
	# BEGIN record's, #4 the COMMIT decision's.
	run faulty fdatasync:4 2pc-coord -l coord.log a=a.sock <<<"$(printf 't1\ta=x')"
	assert_failure 1
	assert_output --partial "coord.log: fdatasync: Input/output error"
	kill "$(cat socat.pid)"
	grep -q '^PREPARE' heard
	grep -q '^PENDING' heard
	refute grep -q '^COMMIT' heard
	# After the restart nothing is decided: t1 aborted.
	run 2pc-coord -l coord.log -t 1 </dev/null
	assert_success
	grep -aq $'A\tt1\tcoordinator restarted before deciding' coord.log
}

@test "2pc in doubt: a stopped coordinator does not keep a participant from asking its peers" {
	start_part a -t 1 -a 'touch a-aborted'
	start_part b -t 5 -p 'sleep 10' -a 'touch b-aborted'
	start_coord -t 30 a=a.sock b=b.sock
	2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=2')" >client.out &
	local client=$!
	in_doubt_at_a() { [ "$(2pc-part -s a.sock -L | cut -f1)" = t1 ]; }
	eventually in_doubt_at_a
	kill -STOP "$(daemon_pid coord)"
	# a's QUERY goes unanswered; a asks b, which has not voted: abort.
	eventually test -e a-aborted
	grep -q "t1: in doubt for [0-9]* s: waiting for the decision of coordinator .*coord.sock (not answering); asking the other participants" a.err
	eventually test -e b-aborted
	kill -CONT "$(daemon_pid coord)"
	wait "$client" || true
	assert_equal "$(cat client.out)" "$(printf 't1\tabort\tb voted no: aborted')"
	assert_equal "$(cat a.out b.out)" ""
}

@test "2pc disk faults: after a failed sync of a decision the restarted coordinator does not trust it" {
	start_part a -t 1
	start_part b -t 1
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=one\tb=one')"
	assert_output "$(printf 't1\tcommit')"
	crash_daemon coord	# the log keeps its preallocated zeros
	# fdatasync #1 is the log's at open, #2 the BEGIN record's, #3 the
	# COMMIT decision's: it fails, but the record is in the page cache.
	start_daemon coord faulty fdatasync:3 2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't2\ta=two\tb=two')"
	assert_failure 3
	daemon_died coord
	assert_equal "$died_status" 1
	start_coord a=a.sock b=b.sock
	eventually resolved a b
	run 2pc-coord -C coord.sock <<<"$(printf 't2\ta=two\tb=two')"
	assert_output "$(printf 't2\tabort\tcoordinator restarted before deciding')"
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\tone')"
	assert_equal "$(cat b.out)" "$(printf 't1\tone')"
}
