#!/usr/bin/env bats
# The ring demo runs, and its checks (keys move only to a new node, only
# from a removed one) hold.

load helper

@test "examples/ring-demo.sh runs and its checks hold" {
	run "$HAKIT_ROOT/examples/ring-demo.sh"
	assert_success
	assert_output --partial "they moved to: cache-e"
	assert_output --partial "all from: cache-b"
}
