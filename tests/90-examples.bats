#!/usr/bin/env bats
# The examples run and the checks they make hold: make demo is a test too.

load helper

@test "examples/ring-demo.sh: keys move only to a new node, only from a removed one" {
	run "$HAKIT_ROOT/examples/ring-demo.sh"
	assert_success
	assert_output --partial "they moved to: cache-e"
	assert_output --partial "all from: cache-b"
}

@test "examples/demo.sh runs the whole tour" {
	run "$HAKIT_ROOT/examples/demo.sh"
	assert_success
	assert_output --partial "######## failover.sh"
	assert_output --partial "every part of the tour ran and its checks held"
}
