#!/usr/bin/env bats
# What a newcomer meets first: -h matches the man page, a bad option or
# command says what is wrong and what would be right, a missing lease is
# said at once, status is labelled, and the README's snippet works when
# pasted into a script.

load helper
load repl-helper

# synopsis TOOL: the SYNOPSIS of TOOL's man page, on one line.
synopsis() {
	mandoc -Tascii "$HAKIT_ROOT/man/man1/$1.1" | col -b |
	    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \t\n' ' ' |
	    sed 's/^ //; s/ $//'
}

@test "-h prints the SYNOPSIS of the man page, -h and -V included" {
	for tool in repl-primary repl-backup repl-client; do
		run "$tool" -h
		assert_success
		assert_equal "$(echo "$output" | sed 's/^usage: //' |
		    tr -s ' \n' ' ' | sed 's/ $//')" "$(synopsis "$tool")"
		assert_output --regexp "^usage: $tool \[-[A-Za-z]*h[A-Za-z]*V\] "
	done
	run repl-client -h
	assert_output --partial " -L lease | -s sock "
	run repl-primary -V
	assert_success
	assert_output --regexp "^repl-primary [0-9]"
}

@test "a bad option says what is wrong and what is allowed" {
	run repl-primary -a maybe -d p.d -s p.sock -L lease
	assert_failure 2
	assert_line --index 0 "repl-primary: -a maybe: not an ack level (none, recv or fsync)"
	assert_line --index 1 --regexp "^usage: repl-primary "
	run repl-backup -k many -d b.d -s b.sock -L lease
	assert_failure 2
	assert_line --index 0 "repl-backup: -k many: not a number of backups from 0 to 1000"
	run repl-primary -t 0 -d p.d -s p.sock -L lease
	assert_line --index 0 "repl-primary: -t 0: not a lag in ms from 1 to 86400000"
	run repl-primary -m 999 -d p.d -s p.sock -L lease
	assert_line --index 0 "repl-primary: -m 999: not an octal mode"
	run repl-backup -p -d b.d -s b.sock -L lease
	assert_line --index 0 "repl-backup: -p: pipe mode is repl-primary's"
	run repl-primary -d p.d -s p.sock
	assert_failure 2
	assert_line --index 0 "repl-primary: -d, -s and -L are required"
	run repl-primary -d p.d -s p.sock -L lease extra
	assert_line --index 0 "repl-primary: unexpected operand: extra"
	run repl-client -L lease -t soon get k
	assert_failure 2
	assert_line --index 0 "repl-client: -t soon: not a number of seconds from 0 to 86400"
	run repl-client get k
	assert_failure 2
	assert_line --index 0 "repl-client: give one of -L lease and -s sock"
	[ ! -e p.d ] && [ ! -e lease ]
}

@test "-S and -A are no-sync and any-uid, as in 2PC; -n and -u still work" {
	start_primary p -S -A
	run rc put k v
	assert_success
	kill_daemon p TERM
	start_primary p -n -u
	run rc get k
	assert_output v
}

@test "repl-client: a bad command lists the commands; a missing lease or socket is said at once" {
	start_primary p
	run repl-client -L lease frob k
	assert_failure 2
	assert_output "repl-client: bad command: frob (commands: put KEY VALUE, get KEY, del KEY, append PAYLOAD, wait POSITION, status)"
	run repl-client -L lease get
	assert_failure 2
	assert_output --partial "repl-client: bad command: get (commands: "
	# With the default retry time of 10 s: no lease there is no group.
	run repl-client -L nolease get k
	assert_failure 3
	assert_output "repl-client: nolease: no such lease (is the group started?)"
	run repl-client -s nosock get k
	assert_failure 3
	assert_output "repl-client: nosock: no such socket (is the group started?)"
}

@test "repl-client status prints labelled fields" {
	start_primary p
	start_backup b
	rc put k v >/dev/null
	converge p b
	run repl-client -s p.sock status
	assert_output --regexp "^role=primary epoch=1 id=$(member_id p) records=3 applied=3 snapshot=0 digest=[0-9a-f]{8} insync-backups=1$"
	digest=$(status_field p digest)
	run repl-client -s b.sock status
	assert_output "role=backup epoch=1 id=$(member_id b) records=3 applied=3 snapshot=0 digest=$digest primary=$PWD/p.sock"
	run repl-client -L lease status
	assert_output --regexp "^role=primary epoch=1 "
}

@test "the README's replication snippet works pasted into a script" {
	awk '/^## Primary-backup replication/ { f = 1 }
	    f && /^```sh$/ { b = 1; next }
	    b && /^```$/ { exit }
	    b' "$HAKIT_ROOT/README.md" >snippet.sh
	grep -q "^repl-primary " snippet.sh
	# Whatever happens, nothing it started outlives it.
	run bash -c 'trap "kill \$(jobs -p) 2>/dev/null" EXIT; . ./snippet.sh 2>err'
	assert_success
	assert_output "$(printf '1\t2\nblue\n2\t4\ngreen')"
	run cat lease.state
	assert_line "epoch 2"
}

@test "a backup that may not take over says what it waits for" {
	start_primary p -a none -k 0
	rc put k v
	kill_daemon p KILL
	# A new member (an empty directory) is not in the in-sync set.
	t0=$SECONDS
	start_backup n
	eventually grep -q "no primary holds lease, and this member ($(member_id n | cut -c1-8)) may not take over: it is not in the in-sync set of epoch 1; waiting for a member that is" n.err
	# Said once, then at most every 10 s.
	local said=$(grep -c "may not take over" n.err) secs=$((SECONDS - t0))
	[ "$said" -le $((secs / 10 + 1)) ] || fail "said $said times in $secs s"
	# The old primary comes back as a backup and takes over; n follows.
	start_backup p
	eventually test "$(status_field n role)" = backup
	run repl-client -s n.sock -t 5 -w 2 get k
	assert_output v
}
