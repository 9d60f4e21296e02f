#!/usr/bin/env bats
# The examples run and the checks they make hold: make demo is a test too.

load helper

# no_process_left: nothing still runs from this test's directory.
no_process_left() {
	! pgrep -f "$BATS_TEST_TMPDIR" >/dev/null
}

@test "examples/ring-demo.sh: keys move only to a new node, only from a removed one" {
	run "$HAKIT_ROOT/examples/ring-demo.sh"
	assert_success
	assert_output --partial "they moved to: cache-e"
	assert_output --partial "all from: cache-b"
}

@test "examples/2pc-transfer.sh: the decision survives the coordinator's crash" {
	run "$HAKIT_ROOT/examples/2pc-transfer.sh"
	assert_success
	assert_output --partial "Both banks voted yes and now hold t2 in doubt"
	assert_output --partial "bank a: 50   bank b: 150"
}

@test "examples/2pc-indoubt.sh: an in-doubt participant learns the outcome from its peer" {
	run "$HAKIT_ROOT/examples/2pc-indoubt.sh"
	assert_success
	assert_output --partial "b.sock: crash part.voted"
	assert_output --regexp "STATE [0-9a-f]{4}\.\. t1 committed"
	assert_output --partial "both committed"
}

@test "examples/failover.sh: the backup takes over, the old primary is fenced" {
	run "$HAKIT_ROOT/examples/failover.sh"
	assert_success
	assert_output --partial "failover demo: all checks passed"
}

@test "examples/multi-host.sh: a primary cut off its hosts' network is replaced, and rejoins (as root)" {
	run "$HAKIT_ROOT/examples/multi-host.sh"
	assert_success
	assert_output --partial "multi-host demo: all checks passed"
	assert_output --partial "no longer the primary of epoch 1"
	[ -z "$(ip netns list | grep '^hkdemo')" ]
}

@test "examples/demo.sh: the sharded, replicated bank survives both crashes" {
	TMPDIR=$BATS_TEST_TMPDIR run "$HAKIT_ROOT/examples/demo.sh"
	assert_success
	assert_output --partial "green's backup took over: now primary in epoch 2"
	assert_output --partial "red: in doubt: t5"
	assert_output --partial "X            |            |       2pc-coord: crash coord.decided"
	assert_output --partial "total balance: 600 (was 600)"
	assert_output --partial "demo: all checks passed"
	no_process_left
}

@test "examples/demo.sh: Ctrl-C midway leaves no process behind" {
	# A background job starts with SIGINT ignored; env restores it, as
	# a terminal's Ctrl-C would find it.
	: >demo.out
	TMPDIR=$BATS_TEST_TMPDIR setsid env --default-signal=INT \
	    "$HAKIT_ROOT/examples/demo.sh" >demo.out 2>&1 &
	local pid=$!
	eventually grep -q "Transfers between shards" demo.out
	kill -INT -- -"$pid"
	# Not `run wait`: run's subshell cannot wait for this shell's child.
	local status=0
	wait "$pid" || status=$?
	[ "$status" -ne 0 ]
	eventually no_process_left
	run ls "$BATS_TEST_TMPDIR"
	refute_output --partial hakit-demo
}
