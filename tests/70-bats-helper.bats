#!/usr/bin/env bats
# share/hakit/hakit.bash, the helper other projects load into their bats
# suites: a ring, 2PC daemons and a replicated group, each ready when its
# function returns, and nothing left running after the test.

load helper
load ../share/hakit/hakit.bash

teardown() {
	hakit_teardown
	stop_all_daemons
}

@test "hakit.bash: hakit_ring writes a ring that routes keys" {
	ring=$(hakit_ring cache cache-a cache-b:2 cache-c)
	assert_equal "$ring" "$BATS_TEST_TMPDIR/cache.ring"
	run cat "$ring"
	assert_output "$(printf 'cache-a\ncache-b 2\ncache-c')"
	run ring-lookup -f "$ring" -n 3 user:1
	assert_success
	assert_output --regexp $'^user:1\tcache-.\tcache-.\tcache-.$'
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

@test "hakit.bash: installed by make install, loaded by another suite, leaves nothing running" {
	make -C "$HAKIT_ROOT" -s install PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root" >/dev/null
	helper=$BATS_TEST_TMPDIR/root/usr/share/hakit/hakit.bash
	test -f "$helper"
	mkdir suite
	at=@	# bats would take a literal test line here for one of its own
	cat >suite/store.bats <<BATS
load $helper

${at}test "a replicated store keeps a write" {
	hakit_group store 2
	repl-client -L "\$(hakit_path store.lease)" put greeting hello
	[ "\$(repl-client -L "\$(hakit_path store.lease)" get greeting)" = hello ]
}
BATS
	# A clean environment, as another project's suite would have (bats
	# puts its own libexec first in PATH; that is not the bats command).
	path=$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)
	run env -i PATH="$path" HOME="$HOME" TMPDIR="$BATS_TEST_TMPDIR" \
	    bats suite/store.bats 3>&-
	assert_success
	assert_output --partial "ok 1 a replicated store keeps a write"
	run pgrep -f "$BATS_TEST_TMPDIR/bats-run"
	assert_failure
	make -C "$HAKIT_ROOT" -s uninstall PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root"
	test ! -e "$helper"
}
