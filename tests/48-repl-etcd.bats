#!/usr/bin/env bats
# The replication lease in etcd (-L etcd://HOST:PORT/PREFIX), against a
# real etcd on loopback: takeover after the TTL, handover on SIGTERM,
# fencing of a primary that was replaced while stopped, a primary cut
# from etcd alone stepping down, the state readable with etcdctl, and bad
# names refused.  (Across hosts, with partitions: tests/49-multihost-repl.)

load helper
load repl-helper
load tcp-helper
bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	command -v etcd >/dev/null || fail "etcd is not installed (Debian: etcd-server)"
	EP=$(free_port)
	start_process etcd etcd --data-dir etcd.d --name e1 \
	    --listen-client-urls "http://127.0.0.1:$EP" \
	    --advertise-client-urls "http://127.0.0.1:$EP" \
	    --listen-peer-urls "http://127.0.0.1:$(free_port)"
	eventually etcdctl --endpoints "127.0.0.1:$EP" endpoint health
	L=etcd://127.0.0.1:$EP/g
}

ectl() {
	etcdctl --endpoints "127.0.0.1:$EP" "$@"
}

# The lease state's field KEY, from etcd.
efield() {
	ectl get --print-value-only g/state | awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print }'
}

# member NAME on TCP port PORT_NAME (its address is in ${NAME}_A).
member() {
	local role=$1 name=$2
	shift 2
	local port
	port=$(free_port)
	printf -v "${name}_A" '127.0.0.1:%s' "$port"
	start_daemon "$name" "repl-$role" -d "$name.d" -s "127.0.0.1:$port" \
	    -L "${L_OF_MEMBER:-$L}" -T 2 -r 3 "$@"
}

erc() {
	repl-client -L "$L" -t 20 "$@"
}

primary_is() {
	[ "$(efield primary | cut -d' ' -f2)" = "$1" ]
}

eroles() {
	echo "$(repl-client -s "$p_A" -t 2 status | tr ' ' '\n' | sed -n 's/^role=//p')"
}

@test "etcd lease: a group keeps its leader and state in etcd, readable with etcdctl" {
	member primary p
	member backup b
	run erc put k1 v1
	assert_success
	run erc get k1
	assert_output v1
	run ectl get --print-value-only g/leader
	assert_output "$(member_id p) $p_A"
	assert_equal "$(efield epoch)" 1
	assert_equal "$(efield primary)" "$(member_id p) $p_A"
	eventually eval '[ "$(efield insync | sort)" = "$(printf "%s\n" "$(member_id p) $p_A" "$(member_id b) $b_A" | sort)" ]'
	# The leader key lives on an etcd lease with the TTL asked for.
	run ectl get g/leader -w json
	[[ $output =~ \"lease\":([0-9]+) ]]
	run ectl lease timetolive "$(printf '%x' "${BASH_REMATCH[1]}")"
	assert_output --regexp 'granted with TTL\(2s\)'
}

@test "etcd lease: kill -9 of the primary: a backup takes over once the TTL runs out, with every acknowledged write" {
	member primary p
	member backup b
	local i
	for i in $(seq 20); do erc put "k$i" "v$i" >/dev/null || fail "put k$i"; done
	kill_daemon p
	run erc put after kill
	assert_success
	assert_equal "$(efield epoch)" 2
	primary_is "$b_A"
	for i in $(seq 20); do
		assert_equal "$(erc get "k$i")" "v$i"
	done
}

@test "etcd lease: SIGTERM revokes the lease: the leader key is gone when the primary has exited" {
	member primary p
	member backup b
	erc put k v >/dev/null
	local pid
	pid=$(daemon_pid p)
	kill -TERM "$pid"
	wait "$pid" || true
	rm -f p.pid
	# Revoked before the exit, so either no leader or already the backup.
	run ectl get --print-value-only g/leader
	[ "$output" != "$(member_id p) $p_A" ] || fail "the leader key outlived the primary: $output"
	run erc put k2 v2
	assert_success
	primary_is "$b_A"
}

@test "etcd lease: a stopped primary is replaced after the TTL; resumed, it is fenced and steps down" {
	member primary p
	member backup b
	erc put before stop >/dev/null
	kill -STOP "$(daemon_pid p)"
	eventually primary_is "$b_A"
	run erc put during stop
	assert_success
	local epoch
	epoch=$(efield epoch)
	kill -CONT "$(daemon_pid p)"
	eventually eval '[ "$(eroles)" = backup ]'
	# The old primary changed nothing in etcd: the state is the new one's.
	assert_equal "$(efield epoch)" "$epoch"
	primary_is "$b_A"
	grep -q "no longer the primary of epoch 1" p.err
	# It rejoins as a backup and has every write.
	run erc put after resume
	assert_success
	eventually eval '[ "$(repl-client -s "$p_A" -t 2 get-local during 2>/dev/null)" = stop ]' ||
	    eventually eval '[ "$(efield insync | grep -c .)" = 2 ]'
	assert_equal "$(erc get before)" stop
	assert_equal "$(erc get during)" stop
}

@test "etcd lease: a primary cut from etcd alone stops acknowledging and steps down; a backup takes over" {
	# The primary reaches etcd through a proxy, the backup directly.
	local px
	px=$(free_port)
	start_process proxy socat "TCP-LISTEN:$px,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$EP"
	eventually port_open "$px"
	L_OF_MEMBER=etcd://127.0.0.1:$px/g member primary p
	member backup b
	erc put k1 v1 >/dev/null
	# Cut: the proxy and every connection through it stop.
	kill -STOP "$(daemon_pid proxy)"
	pkill -STOP -P "$(daemon_pid proxy)" || true
	eventually eval '[ "$(eroles)" = backup ]'
	grep -q "no longer the primary of epoch 1: .*no keepalive answered" p.err
	eventually primary_is "$b_A"
	run erc put k2 v2
	assert_success
	assert_equal "$(erc get k1)" v1
	pkill -CONT -P "$(daemon_pid proxy)" || true
	kill -CONT "$(daemon_pid proxy)"
}

@test "etcd lease: malformed etcd names and an unreachable etcd are refused with the reason" {
	local dead
	dead=$(free_port)
	run -2 repl-primary -d p.d -s p.sock -L etcd://127.0.0.1:$EP
	assert_output --partial "no /PREFIX"
	run -2 repl-primary -d p.d -s p.sock -L etcd://nowhere/g
	assert_output --partial "is not HOST:PORT"
	run -2 repl-client -L etcd:///g get k
	assert_output --partial "etcd://HOST:PORT"
	run -2 repl-primary -d p.d -s p.sock -L etcd://127.0.0.1:$EP/g/
	assert_output --partial "trailing '/'"
	run -2 repl-primary -d p.d -s p.sock -L etcd://127.0.0.1:$EP//g
	assert_output --partial "empty part"
	run -2 repl-primary -d p.d -s p.sock -L http://127.0.0.1:$EP/g
	assert_output --partial "not a lease"
	run -2 repl-primary -d p.d -s p.sock -L etcd://127.0.0.1:99999/g
	assert_output --partial "from 1 to 65535"
	run -3 repl-client -L etcd://127.0.0.1:$EP/never get k
	assert_output --partial "no lease state in etcd"
	run -3 repl-client -t 1 -L "etcd://127.0.0.1:$dead/g" get k
	assert_output --partial "etcd at 127.0.0.1:$dead: Connection refused"
	run -3 repl-primary -d p.d -s p.sock -L "etcd://127.0.0.1:$dead/g"
	assert_output --partial "etcd at 127.0.0.1:$dead"
	[ ! -e p.sock ]
}

@test "etcd lease: a primary whose lease was revoked cannot change the state: the fencing token stops it" {
	member primary p
	member backup b
	erc put k1 v1 >/dev/null
	eventually eval '[ "$(efield insync | grep -c .)" = 2 ]'
	local id
	[[ $(ectl get g/leader -w json) =~ \"lease\":([0-9]+) ]]
	id=$(printf '%x' "${BASH_REMATCH[1]}")
	# The lease goes (as if etcd expired it early), and at once the
	# backup dies: the primary, still counting its lease as held, wants
	# to drop the backup from the in-sync set.
	ectl lease revoke "$id" >/dev/null
	kill_daemon b
	eventually grep -q "no longer the primary of epoch 1" p.err
	grep -Eq "no longer the primary of epoch 1: .*(leader key is no longer ours|lease .* has expired)" p.err
	# Whatever it tried, the in-sync set of epoch 1 still names b.
	if [ "$(efield epoch)" = 1 ]; then
		efield insync | grep -q "$b_A"
	fi
	! grep -q "removing 127.0.0.1.* from the in-sync set" p.err ||
	    grep -q "leader key is no longer ours" p.err
}

@test "etcd lease: two failovers in a row: the backup that lost the first race takes the second" {
	member primary p
	member backup b
	member backup c
	local i
	for i in $(seq 10); do erc put "k$i" "v$i" >/dev/null || fail "put k$i"; done
	eventually eval '[ "$(efield insync | grep -c .)" = 3 ]'
	kill_daemon p
	eventually eval 'primary_is "$b_A" || primary_is "$c_A"'
	local winner=b loser=c
	primary_is "$c_A" && winner=c loser=b
	erc put k11 v11 >/dev/null
	eventually eval '[ "$(efield insync | grep -c .)" = 2 ]'
	kill_daemon "$winner"
	local la=${loser}_A
	eventually primary_is "${!la}"
	for i in $(seq 11); do
		assert_equal "$(erc get "k$i")" "v$i"
	done
}
