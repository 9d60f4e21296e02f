#!/usr/bin/env bats
# Two-phase commit against what an adversarial review tried: a participant
# back on an empty log, hooks that leave their process group, closed
# standard descriptors, huge lines, a coordinator without a socket, races
# between an operator and a coordinator, a participant that moved.

load helper
bats_require_minimum_version 1.5.0

# Every daemon traces its messages: the stories read them.
setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	export HAKIT_TRACE=1
}

resolved() {
	local p
	for p in "$@"; do
		[ "$(sock_say "$p.sock" LIST)" = "LISTED 0" ] || return 1
	done
}

@test "2pc hardening: a participant back on an empty log never tells a peer it did not vote" {
	start_part a
	start_daemon b env HAKIT_CRASH=part.voted 2pc-part -s b.sock -l b.log -r 3 -t 1 \
		-c 'echo commit >>b.result' -a 'echo abort >>b.result'
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=-5\tb=5')"
	assert_output "$(printf 't1\tcommit')"
	daemon_died b
	eventually test -s a.out
	crash_daemon coord
	# a's disk is lost after it committed; b comes back in doubt and
	# asks a, which cannot know what an earlier copy of it did.
	kill_daemon a TERM
	rm a.log
	start_part a
	start_part b -c 'echo commit >>b.result' -a 'echo abort >>b.result'
	eventually grep -q "STATE $(coord_id coord.log) t1 unknown" b.err
	assert_equal "$(2pc-part -s b.sock -L | cut -f1)" t1
	[ ! -e b.result ]
	# The coordinator returns: b commits, as a did.
	start_coord a=a.sock b=b.sock
	eventually test -s b.result
	assert_equal "$(cat b.result)" commit
}

@test "2pc hardening: what a hook started in another session dies with its participant" {
	start_part a -t 30 -p 'setsid sh -c "echo \$\$ >hook.pid; sleep 30"'
	start_part b
	start_coord -t 30 a=a.sock b=b.sock
	2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=1')" >/dev/null 2>&1 &
	eventually test -s hook.pid
	crash_daemon a
	eventually process_ended "$(cat hook.pid)"
}

@test "2pc hardening: what a hook leaves running when it exits is killed" {
	start_part a -p 'setsid sh -c "echo \$\$ >left.pid; sleep 30" & sleep 0.1'
	start_part b
	run --separate-stderr 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=1')"
	assert_output "$(printf 't1\tcommit')"
	eventually process_ended "$(cat left.pid)"
}

@test "2pc hardening: closed standard descriptors are neither read as signals nor written into" {
	mkfifo a.ready
	2pc-part -s a.sock -l a.log -r 3 -p 'printf "\017 hello"' 3>a.ready <&- >&- 2>&- &
	echo $! >a.pid
	read -r _ <a.ready
	start_part b
	run --separate-stderr 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=1')"
	assert_output "$(printf 't1\tcommit')"
	local status=0
	kill -TERM "$(cat a.pid)"
	wait "$(cat a.pid)" || status=$?
	rm a.pid
	assert_equal "$status" 0
	# A coordinator started with its standard input closed still stops
	# on SIGTERM (its signal pipe does not take descriptor 0).
	mkfifo c.ready
	2pc-coord -s c.sock -l c.log -r 3 b=b.sock 3>c.ready <&- 2>c.err &
	echo $! >c.pid
	read -r _ <c.ready
	kill -TERM "$(cat c.pid)"
	eventually process_ended "$(cat c.pid)"
	wait "$(cat c.pid)" || status=$?
	rm c.pid
	assert_equal "$status" 0
}

@test "2pc hardening: a line longer than the input buffer is refused alone" {
	start_part a
	start_part b
	{
		printf 't1\ta=-5\tb=5\n'
		printf 't2\ta='
		head -c 200000 /dev/zero | tr '\0' x
		printf '\tb=1\nt3\ta=-1\tb=1\n'
	} >in
	run --separate-stderr 2pc-coord -l x.log a=a.sock b=b.sock <in
	assert_failure 2
	assert_output "$(printf 't1\tcommit\n-\tabort\tbad input: line too long\nt3\tcommit')"
}

@test "2pc hardening: a coordinator without a socket is asked on its own connection" {
	start_part a -t 1
	start_part b -t 10 -p 'sleep 3'
	run --separate-stderr 2pc-coord -t 10 -l x.log a=a.sock b=b.sock <<<"$(printf 't1\ta=-5\tb=5')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	# a asked it (and was told to wait), not b.
	grep -q "> coord QUERY $(coord_id x.log) t1 a" a.err
	! grep -q "STATUS" a.err
}

@test "2pc hardening: a transaction whose PREPARE would not fit a line is refused, others go on" {
	start_part a -t 5 -p 'sleep 1'
	start_part b
	start_coord a=a.sock b=b.sock
	2pc-coord -C coord.sock <<<"$(printf 't4\ta=1\tb=1')" >t4.out &
	local t4=$! big
	big=$(head -c 65500 /dev/zero | tr '\0' x)
	run --separate-stderr 2pc-coord -C coord.sock <<<"$(printf 't5\ta=%s\tb=1' "$big")"
	assert_failure 2
	assert_output "$(printf 't5\tabort\tbad input: too large: a PREPARE would be over 65536 bytes')"
	wait "$t4"
	assert_equal "$(cat t4.out)" "$(printf 't4\tcommit')"
}

@test "2pc hardening: an operator's heuristic and the coordinator's COMMIT, queued together, each get their answer" {
	start_part a -t 1
	start_part b -t 1
	start_daemon coord env HAKIT_CRASH=coord.decided \
		2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=x\tb=y')"
	daemon_died coord
	kill -STOP "$(daemon_pid b)"
	2pc-part -s b.sock -F commit t1 >op.out 2>op.err &
	local op=$!
	start_coord a=a.sock b=b.sock
	kill -CONT "$(daemon_pid b)"
	wait "$op"
	assert_equal "$(cat op.out)" "t1 heuristic commit"
	eventually test "$(coord_pending coord.sock)" = 0
	! grep -q malformed coord.err
}

@test "2pc hardening: a participant that moved to another socket gets and acknowledges the commit" {
	start_part a -t 1
	start_part b -t 1
	start_daemon coord env HAKIT_CRASH=coord.decided \
		2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=x\tb=y')"
	daemon_died coord
	kill_daemon a TERM
	start_daemon a 2pc-part -s moved.sock -l a.log -r 3 -t 1
	start_coord a=moved.sock b=b.sock
	eventually test "$(coord_pending coord.sock)" = 0
	eventually resolved b
	assert_equal "$(2pc-part -s moved.sock -L)" ""
	assert_equal "$(cat a.out)" "$(printf 't1\tx')"
}
