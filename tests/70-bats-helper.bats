#!/usr/bin/env bats
# share/hakit/hakit.bash, the helper other projects load into their bats
# suites: a ring, 2PC daemons and a replicated group, each ready when its
# function returns, and nothing left running after the test or the file.
# The last tests run another project's suite, as its CI would, on this one.

load helper
load ../share/hakit/hakit.bash

@test "hakit.bash: hakit_ring takes HOST:PORT names, weights as ring-file lines" {
	ring=$(hakit_ring cache 10.0.0.1:11212 "10.0.0.3:11212 2" cache-c)
	assert_equal "$ring" "$BATS_TEST_TMPDIR/cache.ring"
	run cat "$ring"
	assert_output "$(printf '10.0.0.1:11212\n10.0.0.3:11212 2\ncache-c')"
	run ring-lookup -f "$ring" -n 3 user:1
	assert_success
	assert_output --regexp $'^user:1(\t(10.0.0.[13]:11212|cache-c)){3}$'
	# The ring is exactly the nodes given, also the second time.
	hakit_ring cache cache-d
	run cat "$ring"
	assert_output cache-d
	run hakit_ring bad "node 1 2"
	assert_failure
	assert_output --partial "bad ring line 'node 1 2'"
}

@test "hakit.bash: a coordinator commits across two participants; a crashed one recovers" {
	hakit_part a
	hakit_part b -t 1
	hakit_coord coord a b
	run 2pc-coord -C "$(hakit_path coord.sock)" <<<"$(printf 't1\ta=-5\tb=5')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	eventually test -s b.out
	hakit_kill b
	hakit_part b -t 1
	run 2pc-coord -C "$(hakit_path coord.sock)" <<<"$(printf 't2\ta=-1\tb=1')"
	assert_output "$(printf 't2\tcommit')"
	eventually grep -q t2 b.out
	assert_equal "$(cut -f1 a.out | tr '\n' ' ')" "t1 t2 "
}

@test "hakit.bash: hakit_coord passes options and their values through" {
	hakit_part a
	hakit_part b
	hakit_coord coord -t 1 a b
	run ps -o args= -p "$(cat "$(hakit_path coord.hakit-pid)")"
	# (2pc-coord splits its NAME=SOCK operands in place.)
	assert_output --regexp "-r 3 -t 1 a[= ]$BATS_TEST_TMPDIR/a\\.sock b[= ]$BATS_TEST_TMPDIR/b\\.sock"
	run 2pc-coord -C "$(hakit_path coord.sock)" <<<"$(printf 't1\ta=-5\tb=5')"
	assert_output "$(printf 't1\tcommit')"
}

@test "hakit.bash: a daemon that cannot start makes its function fail, showing why" {
	run hakit_part a -t not-a-number
	assert_failure
	assert_line --index 0 --partial "hakit: a did not become ready"
	# Then what it said on stderr.
	[ "${#lines[@]}" -gt 1 ]
	run hakit_start x no-such-command
	assert_failure
	assert_output --partial "no-such-command"
}

@test "hakit.bash: hooks run in the daemon's directory, not the caller's" {
	mkdir elsewhere
	cd elsewhere
	hakit_part a -p 'cat >staged' -c 'cat >>ledger'
	hakit_part b
	hakit_coord coord a b
	run 2pc-coord -C "$(hakit_path coord.sock)" <<<"$(printf 't1\ta=-5\tb=5')"
	assert_output "$(printf 't1\tcommit')"
	eventually test -s "$BATS_TEST_TMPDIR/ledger"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ledger")" -5
	assert_equal "$(ls)" ""
}

@test "hakit.bash: a replicated group of three keeps acknowledged writes through a primary crash" {
	hakit_group kv 3
	lease=$(hakit_path kv.lease)
	repl-client -L "$lease" put k1 v1
	hakit_kill kv-1
	repl-client -L "$lease" -t 20 put k2 v2
	hakit_member_restart kv-1
	assert_equal "$(repl-client -L "$lease" get k1)" v1
	assert_equal "$(repl-client -L "$lease" get k2)" v2
	run repl-client -s "$(hakit_path kv-1.sock)" status
	assert_output --regexp '^role=backup '
}

# other_suite NAME LOAD: write suite/NAME.bats, a bats file of another
# project that loads the helper with the line LOAD, from stdin; "%test"
# there stands for bats' test keyword (bats would take it here).
other_suite() {
	mkdir -p suite
	{ echo "$2"; sed 's/^%test/@test/'; } >"suite/$1.bats"
}

# run_other [VAR=VALUE...] FILE...: run another project's suite as its CI
# would, in a clean environment with hakit's tools in PATH (bats puts its
# own libexec first in PATH: that is not the bats command), failing after
# 60 s rather than hanging.  $BATS_TEST_TMPDIR/out is there as $OUT.
run_other() {
	local path
	path=$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)
	mkdir -p out
	run timeout 60 env -i PATH="$path" HOME="$HOME" \
	    TMPDIR="$BATS_TEST_TMPDIR" OUT="$BATS_TEST_TMPDIR/out" \
	    BATS_LIB_PATH=/usr/lib/bats "$@" 3>&-
}

# nothing_left: no process runs from this test's directory any more.
nothing_left() {
	run pgrep -f "$BATS_TEST_TMPDIR/"
	assert_failure
}

teardown() {
	local pid
	for pid in $(pgrep -f "$BATS_TEST_TMPDIR/"); do
		kill -KILL "$pid"
	done
	hakit_teardown
	stop_all_daemons
}

@test "hakit.bash: pieces started in setup_file serve every test of the file and stop after it" {
	other_suite shared "load $HAKIT_ROOT/share/hakit/hakit.bash" <<'BATS'
setup_file() {
	hakit_group hakit-shared 2
	hakit_part a
	hakit_part b
	hakit_coord coord a b
	hakit_ring cache cache-a cache-b >/dev/null
}

%test "a write to the file's group" {
	[ "$(hakit_path hakit-shared.lease)" = "$BATS_FILE_TMPDIR/hakit-shared.lease" ]
	repl-client -L "$(hakit_path hakit-shared.lease)" put k v
}

%test "the next test reads it; a crashed member comes back" {
	[ "$(repl-client -L "$(hakit_path hakit-shared.lease)" get k)" = v ]
	hakit_kill hakit-shared-1
	repl-client -L "$(hakit_path hakit-shared.lease)" -t 20 put k2 v2
	hakit_member_restart hakit-shared-1
	[ "$(repl-client -L "$(hakit_path hakit-shared.lease)" get k2)" = v2 ]
}

%test "a test's own participant beside the file's coordinator and ring" {
	hakit_part c
	[ "$(hakit_path c.sock)" = "$BATS_TEST_TMPDIR/c.sock" ]
	[ "$(printf 't1\ta=1\tb=2\n' | 2pc-coord -C "$(hakit_path coord.sock)")" = "$(printf 't1\tcommit')" ]
	[ "$(ring-lookup -f "$(hakit_path cache.ring)" -n 2 k | cut -f2- | tr '\t' '\n' | sort | paste -sd' ')" = "cache-a cache-b" ]
	pgrep -f "$BATS_FILE_TMPDIR/" >"$OUT/running"
}
BATS
	run_other bats suite/shared.bats
	assert_success
	assert_output --partial "ok 3 a test's own participant"
	# The file's five: two members, two participants, the coordinator.
	assert_equal "$(wc -l <out/running)" 5
	nothing_left
	run ls -d /hakit-shared.lease /hakit-shared-1.d
	assert_failure
}

@test "hakit.bash: a teardown of the suite's own, before or after loading, does not leave daemons running" {
	other_suite before "" <<'BATS'
teardown() {
	echo "own teardown $BATS_TEST_NUMBER" >>"$OUT/log"
}
load "$HAKIT_ROOT/share/hakit/hakit.bash"

%test "starts a participant" {
	hakit_part a
	cat "$(hakit_path a.hakit-pid)" >>"$OUT/pids"
}
BATS
	other_suite after "load $HAKIT_ROOT/share/hakit/hakit.bash" <<'BATS'
teardown() {
	echo "forgetful teardown $BATS_TEST_NUMBER" >>"$OUT/log"
}

%test "starts a participant and forgets it" {
	hakit_part a
	cat "$(hakit_path a.hakit-pid)" >>"$OUT/pids"
}
BATS
	run_other HAKIT_ROOT="$HAKIT_ROOT" bats suite/before.bats suite/after.bats
	assert_success
	run cat out/log
	assert_output "$(printf 'own teardown 1\nforgetful teardown 1')"
	assert_equal "$(wc -l <out/pids)" 2
	nothing_left
}

@test "hakit.bash: installed by make install, hakit(7)'s example runs with bats_load_library" {
	make -C "$HAKIT_ROOT" -s install PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	share=$BATS_TEST_TMPDIR/root/usr/share
	test -f "$share/hakit/hakit.bash"
	test -f "$share/hakit/load.bash"
	mkdir suite
	awk '/^A complete test file/ { f = 1 } f && /^\.Ed/ { exit }
	    p { print } f && /^\.Bd -literal/ { p = 1 }' \
	    "$HAKIT_ROOT/man/man7/hakit.7" | sed 's/\\e/\\/g' >suite/example.bats
	head -1 suite/example.bats | grep -qx 'bats_load_library hakit'
	run_other BATS_LIB_PATH="$share:/usr/lib/bats" bats suite/example.bats
	assert_success
	assert_output --partial "ok 1 the session store survives a failover"
	assert_output --partial "ok 2 a transfer commits on both banks"
	nothing_left
	# The same from the source tree.
	run_other BATS_LIB_PATH="$HAKIT_ROOT/share" bats suite/example.bats
	assert_success
	nothing_left
	make -C "$HAKIT_ROOT" -s uninstall PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root"
	test ! -e "$share/hakit"
}
