#!/usr/bin/env bats
# The nemesis: 4 clients put unique values and read 5 keys through the
# lease while members are killed (-9), stopped and restarted at random;
# the recorded history must be linearizable (tests/lincheck/lincheck), so
# no acknowledged write is lost and no read sees what it should not, and
# every member must end up with the same history.  Members snapshot every
# 4 KB of log, so snapshots and their transfers happen among the faults.  tests/nemesis/run does it;
# `make nemesis NEMESIS_SECS=N` runs it longer.  HAKIT_NEMESIS_SECS sets
# the length of this run (default 30).

load helper

@test "nemesis: random kills, stops and restarts; the history is linearizable" {
	local secs=${HAKIT_NEMESIS_SECS:-30}
	run "$HAKIT_ROOT/tests/nemesis/run" "$secs" "$BATS_TEST_TMPDIR/group"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	assert_line --regexp "^lincheck: [0-9]+ operations .* on [0-9]+ keys: linearizable$"
	assert_line "nemesis: same history: yes; unexpected exits: 0"
	assert_line --regexp "^nemesis: [1-9][0-9]* snapshots taken, "
	# Faults were injected and writes acknowledged through them.
	assert_line --regexp "^nemesis: ${secs}s, [1-9][0-9]* faults "
	assert_line --regexp "^record: [0-9]+ operations \([1-9][0-9]* ok"
}
