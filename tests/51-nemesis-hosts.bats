#!/usr/bin/env bats
# The nemesis across hosts: the three members each on a host of its own
# (network namespaces on one bridge), their lease in etcd on another, the
# 4 clients on a fifth, every link TCP and keyed.  Members are killed
# (-9), stopped and restarted (some to die at a crash point), as in
# tests/33-repl-nemesis.bats, and the network is partitioned: a member's
# host cut off for longer than the TTL, or a member and etcd cut from each
# other, one way or both.  The recorded history must be linearizable
# (tests/lincheck/lincheck), every member must end with the same history,
# and no member may exit but by SIGKILL.  tests/nemesis/hosts does it;
# `make nemesis-hosts NEMESIS_SECS=N` runs it longer.  HAKIT_NEMESIS_SECS
# sets the length of this run (default 30).  Needs root: without it the
# test fails, saying so.

load helper

@test "nemesis across hosts: kills, stops, restarts and partitions; the history is linearizable" {
	[ "$(id -u)" = 0 ] ||
	    fail "the multi-host nemesis needs root (network namespaces and veth links): run it as root"
	command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	    fail "the multi-host nemesis needs etcd and etcdctl (apt-get install etcd-server etcd-client)"
	local secs=${HAKIT_NEMESIS_SECS:-30}
	run "$HAKIT_ROOT/tests/nemesis/hosts" "$secs" "$BATS_TEST_TMPDIR/group"
	echo "$output" | sed 's/^/# /' >&3
	if [ "$status" -ne 0 ]; then
		# Keep the histories and the members' logs for a look.
		local keep
		keep=$(mktemp -d /tmp/nemesis-hosts.XXXXXX) &&
		    cp -a "$BATS_TEST_TMPDIR/group/." "$keep/" &&
		    echo "# the files are kept in $keep" >&3
	fi
	assert_success
	assert_line --regexp "^lincheck: [0-9]+ operations .* on [0-9]+ keys: linearizable$"
	assert_line "nemesis: same history: yes; unexpected exits: 0"
	assert_line --regexp "^nemesis: [1-9][0-9]* snapshots taken, "
	# Faults, partitions among them, were injected and writes
	# acknowledged through them.
	assert_line --regexp "^nemesis: ${secs}s, [1-9][0-9]* faults .*, [1-9][0-9]* partitions\)$"
	assert_line --regexp "^nemesis: [1-9][0-9]* partitions: [0-9]+ hosts cut off, [0-9]+ members cut from etcd "
	assert_line --regexp "^record: [0-9]+ operations \([1-9][0-9]* ok"
}
