#!/usr/bin/env bats
# Socket paths longer than a socket address holds (107 bytes, as an
# absolute path: the name peers reach a daemon by) are refused at start
# with a message naming the limit, not accepted and then never reachable.

load helper
bats_require_minimum_version 1.5.0

# A directory deep enough that "x.sock" in it is over the limit, though
# short as a relative path.
deep_dir() {
	local d=$BATS_TEST_TMPDIR
	while [ "${#d}" -lt 110 ]; do
		d=$d/dddddddddd
	done
	mkdir -p "$d"
	echo "$d"
}

@test "socket paths: every daemon refuses a socket path over the limit, relative or absolute" {
	cd "$(deep_dir)"
	run 2pc-part -s x.sock -l x.log
	assert_failure 2
	assert_output --regexp "^2pc-part: x.sock: a socket path may be at most 107 bytes, and as an absolute path \(.*/x.sock\) this one has [0-9]+: use a shorter one$"
	run 2pc-coord -s x.sock -l c.log a=a.sock </dev/null
	assert_failure 2
	assert_output --partial "a socket path may be at most 107 bytes"
	run 2pc-coord -l c.log a=a.sock </dev/null
	assert_failure 2
	assert_output --partial "2pc-coord: a.sock: a socket path may be at most 107 bytes"
	run repl-primary -d p.d -s x.sock -L lease
	assert_failure 2
	assert_output --partial "repl-primary: x.sock: a socket path may be at most 107 bytes"
	run repl-backup -d b.d -s x.sock -L lease
	assert_failure 2
	assert_output --partial "repl-backup: x.sock: a socket path may be at most 107 bytes"
	[ ! -e x.sock ]
}
