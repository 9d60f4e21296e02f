#!/usr/bin/env bats
# Two-phase commit as a newcomer meets it: usage errors that say what was
# wrong and what to give, a stuck recovery that says what it waits for,
# the in-doubt list naming a coordinator that has no socket.

load helper
bats_require_minimum_version 1.5.0

@test "2pc usage: a bad value or operand says what was wrong and what to give" {
	run 2pc-coord -t abc -l c.log a=a.sock
	assert_failure 2
	assert_line --index 0 "2pc-coord: bad timeout 'abc': give whole seconds from 1 to 86400"
	assert_line --index 1 --partial "usage: 2pc-coord"
	run 2pc-coord -l c.log a
	assert_failure 2
	assert_line --index 0 "2pc-coord: 'a' is not a participant: give NAME=SOCK"
	run 2pc-coord -l c.log a=a.sock a=b.sock
	assert_failure 2
	assert_line --index 0 "2pc-coord: participant a named twice"
	run 2pc-coord -j 0 -l c.log a=a.sock
	assert_failure 2
	assert_line --index 0 "2pc-coord: bad -j '0': give a number of transactions from 1 to 100000"
	run 2pc-part -t 0 -s a.sock -l a.log
	assert_failure 2
	assert_line --index 0 "2pc-part: bad timeout '0': give whole seconds from 1 to 86400"
	run 2pc-part -l a.log
	assert_failure 2
	assert_line --index 0 "2pc-part: no socket: give -s SOCK"
	# Nothing was created by a refused start.
	[ ! -e a.sock ] && [ ! -e c.log.lock ]
}

@test "2pc recovery: a participant whose socket is gone is named, once, with the decision it waits for" {
	start_part a
	start_part b
	run env HAKIT_CRASH=coord.decided 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_failure 137
	crash_daemon b
	rm b.sock
	run --separate-stderr 2pc-coord -t 2 -l c.log a=a.sock b=b.sock </dev/null
	assert_failure 3
	assert_equal "$(grep -c "b: cannot deliver the commit of t1 yet: $PWD/b.sock: No such file or directory" <<<"$stderr")" 1
	grep -q "t1: commit not yet delivered to every participant" <<<"$stderr"
	# a got it; b gets it once it is back.
	assert_equal "$(cat a.out)" "$(printf 't1\t1')"
	start_part b
	run 2pc-coord -l c.log a=a.sock b=b.sock </dev/null
	assert_success
	assert_equal "$(cat b.out)" "$(printf 't1\t2')"
}

@test "2pc-part -L names a coordinator that runs without a socket by its log and id" {
	start_part a -t 30
	start_part b -t 30
	run env HAKIT_CRASH=coord.voted 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_failure 137
	run 2pc-part -s a.sock -L
	assert_success
	assert_output "$(printf 't1\t%s/c.log\t%s' "$PWD" "$(coord_id c.log)")"
}
