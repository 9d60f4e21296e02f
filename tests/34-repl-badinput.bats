#!/usr/bin/env bats
# Bad input on a member's socket gets ERR and a closed connection, and
# hurts nobody else; a corrupt log refuses to start.

load helper
load repl-helper

@test "malformed lines and unknown verbs get ERR; others are unaffected" {
	start_primary p
	start_backup b
	run sock_say p.sock "FROB x"
	assert_output "ERR unknown verb"
	run sock_say p.sock "PUT"
	assert_output "ERR bad arguments"
	run sock_say p.sock "PUT key-only"
	assert_output "ERR bad arguments"
	run sock_say p.sock 'PUT k\q	v'
	assert_output "ERR bad arguments"
	run sock_say p.sock "SYNC x y z"
	assert_output "ERR bad SYNC"
	run sock_say p.sock "ACK 1 2 3"
	assert_output "ERR ACK before SYNC"
	run sock_say p.sock "WAIT -1"
	assert_output "ERR bad arguments"
	run sock_say b.sock "SYNC 1 0 0 /x.sock"
	assert_output "ERR not primary"
	run rc put k v
	assert_output "$(printf '1\t2')"
	run repl-client -s b.sock -w 2 get k
	assert_output v
}

@test "a line over 64 KiB and half a line then silence get ERR" {
	start_primary p
	start_backup b
	# Half a line, then silence, on a connection kept open in the background.
	(printf 'PUT half' && sleep 12) | socat -t 13 - UNIX-CONNECT:p.sock >half.out &
	half=$!
	run bash -c "head -c 70000 /dev/zero | tr '\\0' x | socat -t 2 - UNIX-CONNECT:p.sock"
	assert_output "ERR line too long"
	# Meanwhile everyone else is served.
	run rc put k v
	assert_success
	wait "$half"
	run cat half.out
	assert_output "ERR incomplete line"
}

@test "a corrupt log refuses to start, naming the file and offset" {
	start_primary p -k 0
	rc put k v >/dev/null
	kill_daemon p TERM
	# Flip a byte inside the first record (after the 8-byte magic).
	printf 'X' | dd of=p.d/log bs=1 seek=20 conv=notrunc 2>/dev/null
	run repl-primary -d p.d -s p.sock -L lease
	assert_failure 2
	assert_output --partial "p.d/log: corrupt record at offset 8"
	run repl-backup -d p.d -s p.sock -L lease
	assert_failure 2
	[ ! -e p.sock ] || [ -S p.sock ]
}

@test "a torn tail is truncated and reported; the member starts" {
	start_primary p -k 0
	rc put k v >/dev/null
	kill_daemon p TERM
	size=$(stat -c %s p.d/log)
	printf '\023\000\000\000abc' >>p.d/log
	start_primary p -k 0
	grep -q "torn record" p.err
	[ "$(stat -c %s p.d/log)" -gt "$size" ]
	run rc get k
	assert_output v
}

@test "a malformed member file or a lease state of an older hakit refuses to start" {
	start_primary p -k 0
	rc put k v >/dev/null
	kill_daemon p TERM
	cp p.d/member member.good
	sed -i 's/^id .*/id not-hex/' p.d/member
	run repl-primary -d p.d -s p.sock -L lease
	assert_failure 2
	assert_output "repl-primary: p.d/member: malformed member file at line 2"
	grep -v '^commit ' member.good >p.d/member
	run repl-backup -d p.d -s p.sock -L lease
	assert_failure 2
	assert_output "repl-backup: p.d/member: malformed member file: it lacks a line"
	cp member.good p.d/member
	printf 'hakit-lease 1\nepoch 1\nprimary %s/p.sock\ninsync %s/p.sock\n' \
	    "$PWD" "$PWD" >lease.state
	run repl-primary -d p.d -s p.sock -L lease
	assert_failure 2
	assert_output "repl-primary: lease.state: lease state of an older hakit (version 1, members without ids): start the group on a new lease"
	[ ! -e p.sock ]
}
