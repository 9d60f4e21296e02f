#!/usr/bin/env bats
# The Promela model of two-phase commit (tests/model/2pc.pml), checked by
# spin with the quick bounds of tests/model/run (about 30 s on two cores);
# `make model` checks the full bounds.

load helper

# section NAME: the lines tests/model/run printed for check NAME.
section() {
	sed -n "/^model: $1 (/,/^  \(ok\|FAIL\)/p" <<<"$output"
}

@test "2pc model: TCConsistent holds, and findings 1 and 2 come back without their fixes" {
	run "$HAKIT_ROOT/tests/model/run" -q -o "$BATS_TEST_TMPDIR/model"
	assert_success
	assert_line "model: 13 checks, 0 failed"
	# Each configuration is searched to the end without an error.
	for c in a b b3; do
		section "$c" | grep -q ' errors 0$'
		section "$c" | grep -qx '  ok'
	done
	# Finding 1: a QUERY answered COMMIT by txid alone, for the reused t1.
	section a-reuse-NO_BEGIN_RECORD |
	    grep -q 'ok: assertion violated TCConsistent'
	section a-reuse-NO_BEGIN_RECORD | grep -q 'X: TX t1 (s1) accepted'
	section a-reuse-NO_BEGIN_RECORD | grep -q 'X: answer_query: COMMIT'
	# Finding 2: a STATE committed about the other coordinator's t1.
	section b-NO_CID | grep -q 'ok: assertion violated TCConsistent'
	section b-NO_CID | grep -q 'STATE committed from b: S_COMMITTED'
	section a-NO_DECIDING | grep -q 'ok: assertion violated TCConsistent'
}
