#!/usr/bin/env bats
# TCP: both families across HOST:PORT and [V6ADDR]:PORT addresses, as on
# several hosts (here all on loopback): 2PC commits and recovers, a
# replication group fails over, UNIX socket paths are unchanged, bad
# addresses are refused at start, and a stopped peer is noticed within
# the timeout rather than after minutes of TCP retries.

load helper
load repl-helper
load tcp-helper
bats_require_minimum_version 1.5.0

# Two banks on TCP, a on 127.0.0.1 and b on ::1, and a coordinator on
# 127.0.0.1; ENV... (say HAKIT_CRASH=...) is given to WHO.
start_tcp_banks() {
	local who=$1
	shift
	pa=$(free_port) pb=$(free_port) pc=$(free_port)
	A=127.0.0.1:$pa B=[::1]:$pb C=127.0.0.1:$pc
	make_bank a
	make_bank b
	local ea=() eb=() ec=()
	case $who in
	a) ea=(env "$@") ;;
	coord) ec=(env "$@") ;;
	esac
	start_daemon a "${ea[@]}" 2pc-part -s "$A" -l a.log -r 3 -t 1 $(bank_opts a)
	start_daemon b "${eb[@]}" 2pc-part -s "$B" -l b.log -r 3 -t 1 $(bank_opts b)
	start_daemon coord "${ec[@]}" 2pc-coord -s "$C" -l coord.log -r 3 -t 2 \
	    "a=$A" "b=$B"
}

# Ten transfers of 1..10 from a to b.
transfers() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf 't%s\ta=-%s\tb=%s\n' "$i" "$i" "$i"
	done
}

# Nothing in doubt at either bank, nothing pending at the coordinator.
tcp_settled() {
	[ -z "$(2pc-part -s "$A" -L)" ] && [ -z "$(2pc-part -s "$B" -L)" ] &&
	    [ -z "$(find a/staged b/staged -type f)" ] &&
	    [[ $(tcp_say "$C" STATS) == *" pending=0"* ]]
}

@test "tcp: 2PC commits across participants on 127.0.0.1 and [::1], and a client on TCP" {
	start_tcp_banks none
	transfers >in
	run 2pc-coord -C "$C" <in
	assert_success
	assert_output "$(for i in $(seq 10); do printf 't%s\tcommit\n' "$i"; done)"
	eventually tcp_settled
	assert_equal "$(balance a)" -55
	assert_equal "$(balance b)" 55
	# Each participant knows the coordinator and the others by their
	# addresses as given (it records them with its yes vote).
	grep -aFq "$C" a.log
	grep -aFq "a=$A,b=$B" b.log
}

@test "tcp: a coordinator killed after its commit decision recovers and delivers it over TCP" {
	start_tcp_banks coord HAKIT_CRASH=coord.decided:3
	transfers >in
	2pc-coord -C "$C" <in >client.out 2>client.err || true
	daemon_died coord
	assert_equal "$died_status" 137
	# The restarted coordinator takes its port back at once and resends
	# the logged decision; the client resubmits what got no answer.
	start_daemon coord 2pc-coord -s "$C" -l coord.log -r 3 -t 2 "a=$A" "b=$B"
	grep -v $'\tunknown\t' client.out >answered || true
	tail -n +$(($(wc -l <answered) + 1)) in >rest
	2pc-coord -C "$C" <rest >>answered
	eventually tcp_settled
	assert_equal "$(cut -f2 answered | sort | uniq -c | awk '{ print $1, $2 }')" "10 commit"
	assert_equal "$(balance a)" -55
	assert_equal "$(balance b)" 55
}

@test "tcp: a participant killed after its yes vote is durable asks its TCP coordinator on restart" {
	start_tcp_banks a HAKIT_CRASH=part.prepared:2
	transfers >in
	2pc-coord -C "$C" <in >client.out 2>client.err || true
	daemon_died a
	assert_equal "$died_status" 137
	start_daemon a 2pc-part -s "$A" -l a.log -r 3 -t 1 $(bank_opts a)
	eventually tcp_settled
	# All or nothing: whatever the client was told holds at both banks.
	assert_equal "$(($(balance a) + $(balance b)))" 0
	for t in $(awk -F'\t' '$2 == "commit" { print $1 }' client.out); do
		[ -e "a/applied/$t" ] && [ -e "b/applied/$t" ]
	done
}

# The history ("RECORDS DIGEST") the member at ADDR holds, all applied.
tcp_history() {
	local s
	s=" $(repl-client -s "$1" -t 2 status) " || return 1
	[[ $s =~ \ records=([0-9]+)\ applied=([0-9]+)\ .*digest=([0-9a-f]+) ]] &&
	    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
	    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[3]}"
}

same_tcp_history() {
	local a b
	a=$(tcp_history "$1") && b=$(tcp_history "$2") && [ "$a" = "$b" ]
}

@test "tcp: a replication group on 127.0.0.1 and [::1] fails over, and the old primary rejoins" {
	P=127.0.0.1:$(free_port) B=[::1]:$(free_port)
	start_daemon p repl-primary -d p.d -s "$P" -L lease -r 3
	start_daemon b repl-backup -d b.d -s "$B" -L lease -r 3
	for i in 1 2 3; do rc put "k$i" "v$i" >/dev/null; done
	# The lease names members by their TCP addresses.
	assert_equal "$(lease_field primary | cut -d' ' -f2)" "$P"
	lease_field insync | grep -Fqx "$(member_id b) $B"
	kill_daemon p KILL || true
	# The client retries across the failover, through the lease.
	run rc put k4 v4
	assert_success
	assert_equal "$(lease_field epoch)" 2
	assert_equal "$(lease_field primary | cut -d' ' -f2)" "$B"
	run rc get k1
	assert_output v1
	# The old primary comes back on its port as a backup and catches up.
	start_daemon p repl-backup -d p.d -s "$P" -L lease -r 3
	rc put k5 v5 >/dev/null
	eventually same_tcp_history "$P" "$B"
	run repl-client -s "$P" -t 2 status
	assert_output --regexp "^role=backup epoch=2 .* primary=\[::1\]:[0-9]+$"
}

@test "tcp: UNIX socket paths are unchanged, and unix:PATH names a path that looks like HOST:PORT" {
	start_daemon a 2pc-part -s unix:x:1 -l a.log -r 3
	[ -S x:1 ]
	run 2pc-part -s ./x:1 -L
	assert_success
	start_daemon coord 2pc-coord -s coord.sock -l coord.log -r 3 a=unix:x:1
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=hello')"
	assert_output "$(printf 't1\tcommit')"
	eventually grep -q "^t1	hello$" a.out
	# The participant was told the coordinator's absolute path, as before.
	grep -aq "$PWD/coord.sock" a.log
	kill_daemon a TERM
	[ ! -e x:1 ]
}

@test "tcp: a host name is resolved (getaddrinfo) and kept as the name peers know" {
	A=localhost:$(free_port) C=localhost:$(free_port)
	start_daemon a 2pc-part -s "$A" -l a.log -r 3
	start_daemon coord 2pc-coord -s "$C" -l coord.log -r 3 "a=$A"
	run 2pc-coord -C "$C" <<<"$(printf 't1\ta=hello')"
	assert_output "$(printf 't1\tcommit')"
	eventually grep -q "^t1	hello$" a.out
	grep -aFq $'\t'"$C"$'\t' a.log
}

@test "tcp: bad addresses are refused at start (exit 2), a port in use is (exit 3)" {
	run 2pc-part -s 127.0.0.1:0 -l a.log
	assert_failure 2
	assert_output "2pc-part: 127.0.0.1:0: a port is a number from 1 to 65535"
	run repl-primary -d p.d -s 127.0.0.1:70000 -L lease
	assert_failure 2
	assert_output --partial "127.0.0.1:70000: a port is a number from 1 to 65535"
	run 2pc-coord -l c.log a=[::1x]:5000 </dev/null
	assert_failure 2
	assert_output "2pc-coord: [::1x]:5000: not an IPv6 address between the brackets"
	run repl-client -s no-such-host.invalid:5000 get x
	assert_failure 2
	assert_output --regexp "^repl-client: no-such-host.invalid:5000: cannot resolve no-such-host.invalid: "
	port=$(free_port)
	start_daemon a 2pc-part -s "127.0.0.1:$port" -l a.log -r 3
	run 2pc-part -s "127.0.0.1:$port" -l b.log
	assert_failure 3
	assert_output "2pc-part: 127.0.0.1:$port: address in use"
	# Nothing was created for the TCP addresses.
	[ -z "$(find . -name '*:*')" ]
}

@test "tcp: a stopped participant is noticed within the coordinator's timeout, and a TX aborts (no key)" {
	A=127.0.0.1:$(free_port) C=127.0.0.1:$(free_port)
	start_daemon a 2pc-part -s "$A" -l a.log -r 3 -t 2
	start_daemon coord 2pc-coord -s "$C" -l coord.log -r 3 -t 2 "a=$A"
	run 2pc-coord -C "$C" <<<"$(printf 't1\ta=x')"
	assert_output "$(printf 't1\tcommit')"
	# The connection is idle; a stopped participant sends no heartbeats.
	kill -STOP "$(daemon_pid a)"
	t0=$(ms_now)
	eventually grep -q "$A: silent for [0-9]* ms: giving the connection up" coord.err
	took=$(($(ms_now) - t0))
	[ "$took" -lt 3500 ] || fail "noticed after $took ms"
	run 2pc-coord -C "$C" <<<"$(printf 't2\ta=y')"
	assert_output --regexp "^t2	abort	a (timed out|unreachable)$"
	kill -CONT "$(daemon_pid a)"
}

@test "tcp: a backup notices a stopped primary within the lag time, and the primary a stopped backup (with a key)" {
	make_key key
	P=127.0.0.1:$(free_port) B=127.0.0.1:$(free_port)
	start_daemon p repl-primary -K key -d p.d -s "$P" -L lease -r 3 -t 1000
	start_daemon b repl-backup -K key -d b.d -s "$B" -L lease -r 3 -t 1000
	repl-client -K key -L lease put a 1 >/dev/null
	kill -STOP "$(daemon_pid p)"
	t0=$(ms_now)
	eventually grep -q "$P: silent for [0-9]* ms" b.err
	took=$(($(ms_now) - t0))
	[ "$took" -lt 2500 ] || fail "noticed after $took ms"
	kill -CONT "$(daemon_pid p)"
	following() {
		[[ $(repl-client -K key -s "$B" -t 2 status) == *" primary=$P" ]]
	}
	eventually following
	# The primary names the backup's end of the connection, and then the
	# member it drops from the in-sync set.
	: >p.err
	kill -STOP "$(daemon_pid b)"
	t0=$(ms_now)
	eventually grep -q "silent for [0-9]* ms: giving the connection up" p.err
	took=$(($(ms_now) - t0))
	[ "$took" -lt 2500 ] || fail "noticed after $took ms"
	grep -q "removing $B (member .*) from the in-sync set: disconnected" p.err
	kill -CONT "$(daemon_pid b)"
}
