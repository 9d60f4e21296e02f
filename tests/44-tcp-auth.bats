#!/usr/bin/env bats
# Authentication over TCP: with -K KEYFILE every daemon and client proves
# that it knows a shared key, by HMAC-SHA-256 over fresh nonces, before a
# word of the protocol passes; the key itself never travels.  Peers that
# cannot are refused, clearly, while everyone else is served; a daemon
# without a key listens on loopback addresses only.

load helper
load repl-helper
load tcp-helper
bats_require_minimum_version 1.5.0

SHA256="$HAKIT_ROOT/tests/auth/sha256"

# hex_of TEXT: the bytes of TEXT in hex.
hex_of() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

# repeat N BYTEHEX: N times the byte BYTEHEX, in hex.
repeat() {
	local i s=
	for ((i = 0; i < $1; i++)); do s=$s$2; done
	echo "$s"
}

@test "sha256: the FIPS 180-4 example vectors (NIST)" {
	[ -x "$SHA256" ] || fail "missing $SHA256: run make faults"
	assert_equal "$(printf abc | "$SHA256")" \
	    ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
	assert_equal "$(printf '' | "$SHA256")" \
	    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	assert_equal "$(printf abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq | "$SHA256")" \
	    248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1
	assert_equal "$(printf abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu | "$SHA256")" \
	    cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1
	assert_equal "$(head -c 1000000 /dev/zero | tr '\0' a | "$SHA256")" \
	    cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0
	# Lengths around the padding boundary (55, 56 and 64 bytes) agree
	# with coreutils.
	for n in 55 56 63 64 65 119 120; do
		assert_equal "$(head -c "$n" /dev/zero | "$SHA256")" \
		    "$(head -c "$n" /dev/zero | sha256sum | cut -d' ' -f1)"
	done
}

@test "hmac-sha256: the RFC 4231 test cases" {
	hmac() { printf '%b' "$2" | "$SHA256" -k "$1"; }
	assert_equal "$(hmac "$(repeat 20 0b)" 'Hi There')" \
	    b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7
	assert_equal "$(hmac "$(hex_of Jefe)" 'what do ya want for nothing?')" \
	    5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
	assert_equal "$(hmac "$(repeat 20 aa)" "$(repeat 50 '\xdd')")" \
	    773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe
	assert_equal "$(hmac 0102030405060708090a0b0c0d0e0f10111213141516171819 "$(repeat 50 '\xcd')")" \
	    82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b
	# Test case 5 is truncated to 128 bits.
	assert_equal "$(hmac "$(repeat 20 0c)" 'Test With Truncation' | cut -c1-32)" \
	    a3b6167473100ee06e0c796c2955552b
	# Keys longer than a block are hashed first.
	assert_equal "$(hmac "$(repeat 131 aa)" 'Test Using Larger Than Block-Size Key - Hash Key First')" \
	    60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54
	assert_equal "$(hmac "$(repeat 131 aa)" 'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.')" \
	    9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2
}

@test "auth: 2PC and replication work end to end with -K, and the key never travels" {
	make_key key
	A=127.0.0.1:$(free_port) B=[::1]:$(free_port) C=127.0.0.1:$(free_port)
	HAKIT_TRACE=1 start_daemon a 2pc-part -K key -s "$A" -l a.log -r 3
	HAKIT_TRACE=1 start_daemon b 2pc-part -K key -s "$B" -l b.log -r 3
	HAKIT_TRACE=1 start_daemon coord 2pc-coord -K key -s "$C" -l coord.log \
	    -r 3 "a=$A" "b=$B"
	run 2pc-coord -K key -C "$C" <<<"$(printf 't1\ta=debit\tb=credit')"
	assert_output "$(printf 't1\tcommit')"
	eventually grep -q "^t1	credit$" b.out
	run 2pc-part -K key -s "$A" -L
	assert_success
	assert_output ""
	P=127.0.0.1:$(free_port) Q=[::1]:$(free_port)
	HAKIT_TRACE=1 start_daemon p repl-primary -K key -d p.d -s "$P" -L lease -r 3
	HAKIT_TRACE=1 start_daemon q repl-backup -K key -d q.d -s "$Q" -L lease -r 3
	run repl-client -K key -L lease put k v
	assert_success
	run repl-client -K key -L lease get k
	assert_output v
	run repl-client -K key -s "$Q" status
	assert_output --regexp "^role=backup epoch=1 .* primary=$P$"
	# Each connection opened with a handshake: nonces and proofs only.
	grep -Eq " > (a|b) AUTH [0-9a-f]{64} beat$" coord.err
	grep -Eq " < (a|b) AUTH [0-9a-f]{64} [0-9a-f]{64}$" coord.err
	grep -Eq " < (a|b) AUTH OK$" coord.err
	grep -Eq " > primary AUTH [0-9a-f]{64} beat$" q.err
	! grep -qF "$(tr -d '\n' <key)" ./*.err ./*.out ./*.log
}

# handshake ADDR NC: opens fd 5 to ADDR, says AUTH NC and reads the
# server's nonce and proof into ns and sproof.
handshake() {
	local host=${1%:*} port=${1##*:} line
	exec 5<>"/dev/tcp/$host/$port"
	printf 'AUTH %s\n' "$2" >&5
	read -r -t 5 line <&5
	read -r _ ns sproof <<<"$line"
}

@test "auth: garbage, no handshake, a wrong key, forged and replayed proofs are refused; a keyed client is served throughout" {
	make_key key
	make_key other
	keyhex=$(hex_of "$(cat key)")
	P=127.0.0.1:$(free_port)
	start_daemon p repl-primary -K key -d p.d -s "$P" -L lease -r 3
	# A keyed client holds its connection open through what follows.
	mkfifo cmds
	repl-client -K key -s "$P" <cmds >held.out 2>held.err &
	held=$!
	exec 4>cmds
	echo "put a 1" >&4
	eventually grep -q . held.out
	# No handshake: refused at the first line.
	run tcp_say "$P" "get a"
	assert_output "ERR authentication failed: no handshake (this daemon takes TCP peers that prove they know its key, -K)"
	# Before the handshake nothing longer than a handshake line.
	run bash -c "{ head -c 1000 /dev/urandom | tr -d '\\n\\0'; echo; } | socat -t 2 - TCP:$P"
	assert_output --partial "ERR line too long"
	# A client with another key sees that the daemon cannot prove it
	# knows its key, and stops there.
	run repl-client -K other -s "$P" get a
	assert_failure 2
	assert_output "repl-client: $P: authentication failed: the peer could not prove that it knows the key (are the two key files the same?)"
	# A shell that knows the key can speak the handshake (hakit(7)).
	nc=$(repeat 32 ab)
	handshake "$P" "$nc"
	want=$(printf 'hakit-server %s %s' "$nc" "$ns" | "$SHA256" -k "$keyhex")
	assert_equal "$sproof" "$want"
	cproof=$(printf 'hakit-client %s %s' "$nc" "$ns" | "$SHA256" -k "$keyhex")
	printf 'AUTH %s\nGET a\n' "$cproof" >&5
	read -r -t 5 ok <&5
	read -r -t 5 reply <&5
	exec 5<&-
	assert_equal "$ok" "AUTH OK"
	[[ $reply == "VALUE primary "*" 1" ]] || fail "got: $reply"
	# That proof, replayed with the same client nonce, is refused: the
	# server's nonce is new.
	handshake "$P" "$nc"
	printf 'AUTH %s\n' "$cproof" >&5
	read -r -t 5 reply <&5
	exec 5<&-
	assert_equal "$reply" "ERR authentication failed: wrong key"
	# A forged proof, and a malformed one.
	handshake "$P" "$(repeat 32 01)"
	printf 'AUTH %s\n' "$(repeat 32 00)" >&5
	read -r -t 5 reply <&5
	exec 5<&-
	assert_equal "$reply" "ERR authentication failed: wrong key"
	run tcp_say "$P" "AUTH short"
	assert_output "ERR authentication failed: a malformed AUTH line"
	# A handshake begun and left hanging is cut off after the timeout.
	run bash -c "{ echo AUTH $nc; sleep 5; } | socat -t 5 - TCP:$P"
	assert_line --index 1 "ERR authentication timed out"
	grep -q "refused a TCP peer: wrong key" p.err
	grep -q "no handshake within 1000 ms: closing" p.err
	# The held client was never disturbed.
	echo "get a" >&4
	exec 4>&-
	wait "$held"
	assert_equal "$(cat held.out)" "$(printf '1\t2\n1')"
	run repl-client -K key -s "$P" get a
	assert_output 1
}

@test "auth: a keyed peer and an unkeyed one cannot talk, and both say so" {
	make_key key
	A=127.0.0.1:$(free_port) C=127.0.0.1:$(free_port)
	start_daemon a 2pc-part -s "$A" -l a.log -r 3
	start_daemon coord 2pc-coord -K key -s "$C" -l coord.log -r 3 -t 2 "a=$A"
	run 2pc-coord -K key -C "$C" <<<"$(printf 't1\ta=x')"
	assert_output --regexp "^t1	abort	a (unreachable|timed out)$"
	grep -q "$A: authentication failed: " coord.err
	# A client without the key is told what the daemon wants.
	run 2pc-coord -C "$C" <<<"$(printf 't2\ta=x')"
	assert_failure 2
	assert_output "2pc-coord: ERR authentication failed: no handshake (this daemon takes TCP peers that prove they know its key, -K)"
	run 2pc-part -K key -s "$A" -L
	assert_failure 2
	assert_output --partial "2pc-part: $A: authentication failed: "
}

@test "auth: a UNIX socket needs no handshake; -K changes nothing there" {
	make_key key
	start_daemon a 2pc-part -K key -s a.sock -l a.log -r 3
	run 2pc-part -s a.sock -L
	assert_success
	run sock_say a.sock LIST
	assert_output "LISTED 0"
}

@test "auth: without -K a daemon refuses to listen on a non-loopback address (exit 2)" {
	make_key key
	port=$(free_port)
	msg="not a loopback address: listening on it needs a shared key (-K KEYFILE)"
	run 2pc-part -s "0.0.0.0:$port" -l a.log
	assert_failure 2
	assert_output "2pc-part: 0.0.0.0:$port: $msg"
	run 2pc-coord -s "[::]:$port" -l c.log a=a.sock </dev/null
	assert_failure 2
	assert_output "2pc-coord: [::]:$port: $msg"
	run repl-primary -d p.d -s "192.0.2.1:$port" -L lease
	assert_failure 2
	assert_output "repl-primary: 192.0.2.1:$port: $msg"
	run repl-backup -d b.d -s "[2001:db8::1]:$port" -L lease
	assert_failure 2
	assert_output "repl-backup: [2001:db8::1]:$port: $msg"
	# With a key the address is taken (192.0.2.1 is no address of this
	# host, so binding it fails: nothing listens beyond loopback here).
	run 2pc-part -K key -s "192.0.2.1:$port" -l a.log
	assert_failure 1
	assert_output "2pc-part: 192.0.2.1:$port: bind: Cannot assign requested address"
}

@test "auth: key file problems are refused with a clear message (exit 2), daemons and clients alike" {
	make_key key
	run 2pc-part -K nokey -s a.sock -l a.log
	assert_failure 2
	assert_output "2pc-part: key file nokey: No such file or directory"
	: >empty
	chmod 600 empty
	run repl-primary -K empty -d p.d -s p.sock -L lease
	assert_failure 2
	assert_output "repl-primary: key file empty: empty"
	printf '\n\n' >blank
	chmod 600 blank
	run repl-client -K blank -s 127.0.0.1:1 get a
	assert_failure 2
	assert_output "repl-client: key file blank: empty"
	printf 'secret\n' >short
	chmod 600 short
	run 2pc-coord -K short -C 127.0.0.1:1 </dev/null
	assert_failure 2
	assert_output "2pc-coord: key file short: 6 bytes is too short a key: use at least 16 random bytes (say, head -c 32 /dev/urandom | base64)"
	chmod 644 key
	run repl-backup -K key -d b.d -s b.sock -L lease
	assert_failure 2
	assert_output "repl-backup: key file key: readable or writable by group or others (mode 644): chmod 600 it"
	chmod 640 key
	run 2pc-part -K key -s a.sock -L
	assert_failure 2
	assert_output --partial "readable or writable by group or others (mode 640)"
	mkdir keydir
	chmod 700 keydir
	run 2pc-coord -K keydir -s c.sock -l c.log a=a.sock </dev/null
	assert_failure 2
	assert_output "2pc-coord: key file keydir: not a regular file"
	[ ! -e a.sock ] && [ ! -e p.sock ] && [ ! -e b.sock ] && [ ! -e c.sock ]
}

@test "auth: the README's TCP snippet works pasted into a script (on ports free now)" {
	p0=$(free_port) p1=$(free_port) p2=$(free_port)
	awk '/^## Across hosts/ { f = 1 }
	    f && /^```sh$/ { b = 1; next }
	    b && /^```$/ { exit }
	    b' "$HAKIT_ROOT/README.md" |
	    sed "s/:7000/:$p0/g; s/:7001/:$p1/g; s/:7002/:$p2/g" >snippet.sh
	grep -q "^2pc-coord -K hakit.key -s 127.0.0.1:$p0 " snippet.sh
	run bash -c 'trap "kill \$(jobs -p) 2>/dev/null" EXIT; . ./snippet.sh 2>err'
	assert_success
	assert_output "$(printf 't1\tcommit')"
}

# fds PID: how many descriptors a process holds.
fds() {
	ls "/proc/$1/fd" | wc -l
}

@test "auth: 200 TCP connections that never finish a handshake are cut off after the timeout; keyed clients are served meanwhile" {
	make_key key
	P=127.0.0.1:$(free_port)
	start_daemon p repl-primary -K key -d p.d -s "$P" -L lease -r 3 -t 1000
	before=$(fds "$(daemon_pid p)")
	for ((i = 0; i < 200; i++)); do
		exec {fd}<>"/dev/tcp/${P%:*}/${P##*:}"
		held+=("$fd")
		# Half of them begin a handshake and stop there.
		((i % 2)) && printf 'AUTH %s\n' "$(repeat 32 cd)" >&"$fd"
	done
	run repl-client -K key -s "$P" put k v
	assert_success
	run repl-client -K key -s "$P" get k
	assert_output v
	cut_off() { [ "$(fds "$(daemon_pid p)")" -le "$before" ]; }
	eventually cut_off
	# A few refusals a second are said, with how many were not.
	grep -q "no handshake within 1000 ms: closing" p.err
	grep -Eq "\(and [0-9]+ more refused, not said\)" p.err
	[ "$(grep -c 'refused a TCP peer\|no handshake within' p.err)" -lt 40 ]
	for fd in "${held[@]}"; do exec {fd}>&-; done
}

@test "auth: a member with another key is refused, says so every 10 s, and tries once a second, not at every tick" {
	make_key key
	make_key other
	P=127.0.0.1:$(free_port) B=127.0.0.1:$(free_port)
	start_daemon p repl-primary -K key -d p.d -s "$P" -L lease -r 3
	# Not ready until in sync, which it never is: wait for its attempts.
	start_process b repl-backup -K other -d b.d -s "$B" -L lease
	eventually grep -q "refused a TCP peer: it left during the handshake, after our proof: does it have another key?" p.err
	# Three more attempts take two seconds or more, not three ticks.
	t0=$(ms_now)
	tried() { [ "$(grep -c "after our proof" p.err)" -ge 4 ]; }
	eventually tried
	took=$(($(ms_now) - t0))
	[ "$took" -ge 1900 ] || fail "4 attempts within $took ms"
	assert_equal "$(grep -c "$P: authentication failed: the peer could not prove that it knows the key" b.err)" 1
	# The group goes on without it.
	run repl-client -K key -L lease put k v
	assert_success
}
