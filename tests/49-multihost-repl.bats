#!/usr/bin/env bats
# A replication group across hosts, its lease in etcd: three members, each
# on a host of its own (network namespaces, tests/netns-helper.bash), etcd
# on one host or three, the client on another, every link over TCP with a
# key (-K), -T 2 -k 1.  While client loops write, the primary is killed,
# stopped past its TTL, cut off the network, cut from etcd alone; a backup
# is cut off; the etcd leader is killed or stopped.  In every case, from
# what the clients were told:
#   - no acknowledged write is lost: each one reads back at the end from
#     the primary of the last epoch (and from a member that rejoined);
#   - no two positions were acknowledged for different writes;
#   - no write was acknowledged in an epoch after a later epoch had begun
#     (an ack's "EPOCH<TAB>POSITION" against the times the client sent it
#     and heard an ack of a later epoch);
#   - no epoch was taken by two members ("primary in epoch N" at most once);
#   - no member answered STATUS as the primary of an epoch once the primary
#     of a later one had answered (each member's role sampled on its host);
# and where the old primary can speak (cut off, or cut from etcd), it said
# it stepped down before the new epoch appeared in etcd.
# (The lease in etcd on loopback alone: tests/48-repl-etcd.bats.)

load helper
load tcp-helper
load netns-helper
bats_require_minimum_version 1.5.0

PORT=7000

# --- the group ---

# addr HOST: the member address on HOST.
addr() {
	echo "$(ns_ip "$1"):$PORT"
}

# member HOST ROLE: repl-ROLE on HOST, data in HOST.d, output in HOST.out
# and HOST.err (a backup is ready once it is in sync).
member() {
	ns_start "$1" "repl-$2" -K "$KEY" -d "$BATS_TEST_TMPDIR/$1.d" \
	    -s "$(addr "$1")" -L "$L" -T 2 -k 1 -r 3
}

# group ETCDHOST...: hosts for etcd (a cluster of one member per ETCDHOST),
# members m1 (the primary), m2 and m3 (backups), and c for the clients;
# returns once all three members are in sync.  Sets KEY and L.
group() {
	ns_hosts "$@" m1 m2 m3 c
	etcd_start "$@"
	make_key "$BATS_TEST_TMPDIR/key"
	KEY=$BATS_TEST_TMPDIR/key
	L="etcd://$(etcd_endpoints)/g"
	member m1 primary
	member m2 backup
	member m3 backup
	eventually insync_is m1 m2 m3
	primary_is m1
}

# member_id HOST: the id of the copy of the data on HOST.
member_id() {
	sed -n 's/^id //p' "$BATS_TEST_TMPDIR/$1.d/member"
}

# efield KEY: a field of the lease state, read from etcd on host c.
efield() {
	local st
	st=$(etcdctl_on c get --print-value-only g/state) || return 1
	awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print }' <<<"$st"
}

# primary_is HOST: the lease state names HOST's member as the primary.
primary_is() {
	[ "$(efield primary)" = "$(member_id "$1") $(addr "$1")" ]
}

# primary_host: the host the lease state names as the primary.
primary_host() {
	local p
	p=$(efield primary) || return 1
	p=${p#* }
	ns_host_of "${p%:*}"
}

# epoch_is N: the lease state is at epoch N.
epoch_is() {
	[ "$(efield epoch)" = "$1" ]
}

# insync_is HOST...: the in-sync set is exactly these hosts' members.
insync_is() {
	local h want=()
	for h in "$@"; do want+=("$(member_id "$h") $(addr "$h")"); done
	[ "$(efield insync | sort)" = "$(printf '%s\n' "${want[@]}" | sort)" ]
}

# status HOST: HOST's status line, asked on HOST itself (so a cut host
# answers too).
status() {
	ns_run "$1" repl-client -K "$KEY" -s "$(addr "$1")" -t 2 status
}

# role HOST: "primary" or "backup", as HOST's member says.
role() {
	status "$1" | tr ' ' '\n' | sed -n 's/^role=//p'
}

# history HOST: "RECORDS DIGEST" of what HOST holds, once it applied all.
history() {
	local s
	s=" $(status "$1") " || return 1
	[[ $s =~ \ records=([0-9]+)\ applied=([0-9]+)\ .*digest=([0-9a-f]+) ]] &&
	    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
	    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[3]}"
}

# same_history HOST HOST...: every one holds the same history.
same_history() {
	local first h
	first=$(history "$1") || return 1
	shift
	for h in "$@"; do [ "$(history "$h")" = "$first" ] || return 1; done
}

# stepped_down HOST EPOCH: HOST said it is no longer the primary of EPOCH.
stepped_down() {
	grep -q "no longer the primary of epoch $2: " "$BATS_TEST_TMPDIR/$1.err"
}

# await_takeover OLD: waits for epoch 2 in etcd and prints the host it
# names as primary, which must be m2 or m3 (m1 led epoch 1); fails if,
# when epoch 2 is first seen, OLD (the old primary; "" for none to ask)
# has not yet said it stepped down.
await_takeover() {
	local old=$1 i new
	for ((i = 0; i < 600; i++)); do
		if epoch_is 2; then
			if [ -n "$old" ] && ! stepped_down "$old" 1; then
				echo "epoch 2 began before $old said it stepped down" >&2
				return 1
			fi
			new=$(primary_host)
			[[ $new == m2 || $new == m3 ]] ||
			    { echo "new primary: '$new'" >&2; return 1; }
			echo "$new"
			return 0
		fi
		sleep 0.05
	done
	echo "no takeover within 30 s: epoch $(efield epoch)" >&2
	return 1
}

# --- client loops ---

# writer NAME HOST ARG...: on HOST, put NAME-1=v1, NAME-2=v2, ... one at
# a time, each by a repl-client run with -K and ARG... (-L or -s, -t),
# until NAME.stop exists.  Each acknowledged put goes to NAME.acked as
# "KEY VALUE EPOCH POSITION T0 T1" (microseconds: before it was sent,
# after its ack), any other outcome to NAME.other.  (The script is
# writer-NAME: a bash reads its script as it goes, so each has its own.)
writer() {
	local name=$1 host=$2
	shift 2
	cat >"$BATS_TEST_TMPDIR/writer-$name" <<'EOF'
#!/bin/bash
name=$1 key=$2
shift 2
i=0
: >>"$name.acked"
while [ ! -e "$name.stop" ]; do
	i=$((i + 1))
	t0=${EPOCHREALTIME/./}
	out=$(repl-client -K "$key" "$@" put "$name-$i" "v$i" 2>>"$name.cerr")
	rc=$?
	t1=${EPOCHREALTIME/./}
	if [ "$rc" = 0 ]; then
		echo "$name-$i v$i ${out//$'\t'/ } $t0 $t1" >>"$name.acked"
	else
		echo "$name-$i exit $rc $t0 $t1 ${out//$'\t'/ }" >>"$name.other"
	fi
done
EOF
	ns_process "w-$name" "$host" bash "$BATS_TEST_TMPDIR/writer-$name" "$name" "$KEY" "$@"
	WRITERS+=" $name"
}

# sampler HOST: on HOST, ask HOST's member for its status over and over
# (a few times a second) until sample.stop exists (the script in
# sampler-HOST: each bash reads its own, as it goes); each answer goes to
# HOST.roles as "T0 T1 ROLE EPOCH" (microseconds: asked, answered).
sampler() {
	cat >"$BATS_TEST_TMPDIR/sampler-$1" <<'EOF'
#!/bin/bash
key=$1 addr=$2 host=$3
while [ ! -e sample.stop ]; do
	t0=${EPOCHREALTIME/./}
	s=" $(repl-client -K "$key" -s "$addr" -t 1 status 2>/dev/null) "
	t1=${EPOCHREALTIME/./}
	[[ $s =~ \ role=([a-z]+)\ epoch=([0-9]+)\  ]] &&
	    echo "$t0 $t1 ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$host.roles"
	sleep 0.05
done
EOF
	ns_process "s-$1" "$1" bash "$BATS_TEST_TMPDIR/sampler-$1" "$KEY" "$(addr "$1")" "$1"
	SAMPLERS+=" $1"
}

# samplers: one on each member's host.
samplers() {
	sampler m1
	sampler m2
	sampler m3
}

# now_us: the time, as the writers count it.
now_us() {
	echo "${EPOCHREALTIME/./}"
}

# acks NAME N [SINCE [EPOCH]]: NAME has at least N acks (of requests sent
# after SINCE, in EPOCH).
acks() {
	[ "$(awk -v s="${3:-0}" -v e="${4:-}" '$5 > s && (e == "" || $3 == e)' \
	    "$BATS_TEST_TMPDIR/$1.acked" | wc -l)" -ge "$2" ]
}

# stop_writers: stop every writer (waiting for the put each has under
# way) and every sampler.
stop_writers() {
	local w pid
	touch "$BATS_TEST_TMPDIR/sample.stop"
	for w in $WRITERS; do touch "$BATS_TEST_TMPDIR/$w.stop"; done
	for w in $WRITERS; do
		pid=$(daemon_pid "w-$w") || continue
		wait "$pid" || true
		rm -f "$BATS_TEST_TMPDIR/w-$w.pid"
	done
	for w in $SAMPLERS; do
		pid=$(daemon_pid "s-$w") || continue
		wait "$pid" || true
		rm -f "$BATS_TEST_TMPDIR/s-$w.pid"
	done
}

# check_roles: no member said it was the primary of an epoch when asked
# after another had answered as the primary of a later one.
check_roles() {
	local h
	for h in $SAMPLERS; do
		[ -s "$BATS_TEST_TMPDIR/$h.roles" ] || { echo "no status sampled from $h" >&2; return 1; }
	done
	cat "$BATS_TEST_TMPDIR"/m?.roles | awk '
	$3 == "primary" {
		n++; t0[n] = $1; e[n] = $4
		if (!($4 in first) || $2 < first[$4]) first[$4] = $2
	}
	END {
		for (i = 1; i <= n; i++)
			for (f in first)
				if (f + 0 > e[i] + 0 && t0[i] > first[f]) {
					print "a member said primary of epoch " e[i] " at " t0[i] \
					    ", after the primary of epoch " f " had answered at " first[f]
					bad = 1
				}
		exit bad
	}' >&2
}

# all_acked: every writer's acks, one file.
all_acked() {
	local w
	for w in $WRITERS; do cat "$BATS_TEST_TMPDIR/$w.acked"; done
}

# check_present [-s HOST]: every acknowledged put reads back with its
# value: through the lease (the primary of the current epoch), or with
# -s from HOST's own copy.  Lists what is lost.
check_present() {
	local how=(-L "$L" -t 20)
	[ "${1:-}" = -s ] && how=(-s "$(addr "$2")" -t 5)
	all_acked | awk '{ print $1, $2 }' >"$BATS_TEST_TMPDIR/want"
	[ -s "$BATS_TEST_TMPDIR/want" ] || { echo "no write was acknowledged" >&2; return 1; }
	awk '{ print "get " $1 }' "$BATS_TEST_TMPDIR/want" |
	    ns_run c repl-client -K "$KEY" "${how[@]}" >"$BATS_TEST_TMPDIR/got" 2>/dev/null || true
	paste -d' ' "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got" |
	    awk '$2 != $3 { print "lost: " $1 " (want " $2 ", got " substr($0, length($1 $2) + 3) ")"; bad = 1 }
		END { exit bad }'
}

# check_acks: no position acknowledged twice; no write acknowledged in an
# epoch after an ack of a later epoch had been heard (sent after the first
# ack of a later epoch came back, and acknowledged in the earlier one);
# no epoch taken by two members.
check_acks() {
	local dup
	dup=$(all_acked | awk '{ print $4 }' | sort | uniq -d)
	[ -z "$dup" ] || { echo "positions acknowledged twice: $dup" >&2; return 1; }
	all_acked | awk '
	{ k[NR] = $1; e[NR] = $3; t0[NR] = $5
	  if (!($3 in first) || $6 < first[$3]) first[$3] = $6 }
	END {
		for (i = 1; i <= NR; i++)
			for (f in first)
				if (f + 0 > e[i] + 0 && t0[i] > first[f]) {
					print k[i] " acknowledged in epoch " e[i] \
					    ", sent after an ack of epoch " f " came back"
					bad = 1
				}
		exit bad
	}' >&2 || return 1
	dup=$(cat "$BATS_TEST_TMPDIR"/m?.err | grep -o 'primary in epoch [0-9]*' | sort | uniq -d)
	[ -z "$dup" ] || { echo "taken twice: $dup" >&2; return 1; }
}

# check_history: what was acknowledged and what members said hold
# together (check_acks, check_roles), and every acknowledged put reads
# back from the primary (check_present).
check_history() {
	check_acks
	check_roles
	check_present
}

# epochs: the epochs acknowledged, in order, once each.
epochs() {
	all_acked | awk '{ print $3 }' | sort -n | uniq | tr '\n' ' '
}

# others HOST...: the hosts of m1 m2 m3 that are not among HOST...
others() {
	local h
	for h in m1 m2 m3; do [[ " $* " == *" $h "* ]] || echo "$h"; done
}

@test "multihost repl: kill -9 of the primary: a backup takes over, with every acknowledged write" {
	group e1
	samplers
	writer lw c -L "$L" -t 20
	eventually acks lw 10
	kill_daemon m1 KILL
	t=$(now_us)
	new=$(await_takeover "")
	# Writes go on in epoch 2, and the surviving backup follows.
	eventually acks lw 10 "$t" 2
	eventually insync_is m2 m3
	stop_writers
	assert_equal "$(epochs)" "1 2 "
	check_history
	[ "$(role "$new")" = primary ]
	[ "$(role "$(others m1 "$new")")" = backup ]
}

@test "multihost repl: SIGSTOP of the primary past its TTL: a backup takes over; resumed, the old one steps down, rejoins and has every write" {
	group e1
	samplers
	writer lw c -L "$L" -t 20
	# One client talks to the primary alone (a backup would redirect it).
	writer pw c -s "$(addr m1)" -t 3
	eventually acks lw 5
	eventually acks pw 5
	kill -STOP "$(daemon_pid m1)"
	t=$(now_us)
	new=$(await_takeover "")
	eventually acks lw 5 "$t" 2
	# Stopped, it has said nothing yet.
	run ! stepped_down m1 1
	kill -CONT "$(daemon_pid m1)"
	eventually stepped_down m1 1
	eventually eval '[ "$(role m1)" = backup ]'
	# Fenced: the state is still the new primary's.
	epoch_is 2
	primary_is "$new"
	# It rejoins the in-sync set and streams from the new primary.
	eventually insync_is m1 m2 m3
	eventually acks pw 3 "$(now_us)" 2
	stop_writers
	epoch_is 2
	assert_equal "$(epochs)" "1 2 "
	check_history
	eventually same_history "$new" m1
	check_present -s m1
	grep -q "primary=$(addr "$new")" <<<"$(status m1)"
}

@test "multihost repl: the primary cut off the network stops acknowledging and steps down; a backup takes over; healed, it rejoins fenced and catches up" {
	group e1
	samplers
	writer lw c -L "$L" -t 20
	# A client on the primary's own host, which still reaches it when cut.
	writer pw m1 -s "$(addr m1)" -t 3
	eventually acks lw 5
	eventually acks pw 5
	ns_cut m1
	t=$(now_us)
	new=$(await_takeover m1)
	eventually acks lw 5 "$t" 2
	# Nothing sent to it after the cut was acknowledged in epoch 1: it
	# could not reach its in-sync backups, nor etcd to drop them.
	run awk -v t="$t" '$5 > t && $3 == 1' lw.acked pw.acked
	assert_output ""
	# Still cut, it is a backup, and etcd's state is the new primary's.
	[ "$(role m1)" = backup ]
	epoch_is 2
	ns_heal m1
	eventually insync_is m1 m2 m3
	eventually acks pw 3 "$(now_us)" 2
	stop_writers
	# Healed, it changed nothing: same epoch, same primary, and it never
	# took an epoch again.
	epoch_is 2
	primary_is "$new"
	[ "$(grep -c 'primary in epoch' m1.err)" = 1 ]
	assert_equal "$(epochs)" "1 2 "
	check_history
	eventually same_history "$new" m1
	check_present -s m1
}

@test "multihost repl: a backup cut off is dropped from the in-sync set, writes go on, and healed it rejoins" {
	group e1
	samplers
	writer lw c -L "$L" -t 20
	eventually acks lw 5
	ns_cut m3
	eventually insync_is m1 m2
	grep -q "removing $(addr m3) (member [0-9a-f]*) from the in-sync set" m1.err
	t=$(now_us)
	eventually acks lw 10 "$t" 1
	ns_heal m3
	eventually insync_is m1 m2 m3
	t=$(now_us)
	eventually acks lw 5 "$t" 1
	stop_writers
	# No failover: the cut backup, out of the in-sync set, took nothing.
	epoch_is 1
	primary_is m1
	run ! grep -q 'primary in epoch' m3.err
	assert_equal "$(epochs)" "1 "
	check_history
	eventually same_history m1 m2 m3
	check_present -s m3
}

@test "multihost repl: the primary cut from etcd alone steps down before its TTL runs out; a backup takes over" {
	group e1
	samplers
	writer lw c -L "$L" -t 20
	writer pw c -s "$(addr m1)" -t 3
	eventually acks lw 5
	eventually acks pw 5
	ns_block m1 e1
	ns_block e1 m1
	t=$(now_us)
	new=$(await_takeover m1)
	grep -q "no longer the primary of epoch 1: .*no keepalive answered" m1.err
	[ "$(role m1)" = backup ]
	eventually acks lw 5 "$t" 2
	# Reaching etcd again, it finds the new primary, follows it and
	# rejoins the in-sync set, changing nothing else.
	ns_unblock m1 e1
	ns_unblock e1 m1
	eventually insync_is m1 m2 m3
	eventually acks pw 3 "$(now_us)" 2
	stop_writers
	epoch_is 2
	primary_is "$new"
	[ "$(grep -c 'primary in epoch' m1.err)" = 1 ]
	eventually same_history "$new" m1
	check_present -s m1
	assert_equal "$(epochs)" "1 2 "
	check_history
}

# etcd_member_id HOST: the etcd member id (hex) of the member on HOST.
etcd_member_id() {
	etcdctl_on c member list | awk -F', ' -v h="$1" '$3 == h { print $1 }'
}

# lead_e1: make the etcd member on e1 (the members' first endpoint) the
# leader, so that losing the leader is also losing what they talk to.
lead_e1() {
	local l
	eventually etcd_leader >/dev/null
	l=$(etcd_leader)
	[ "$l" = e1 ] && return 0
	ns_run "$l" etcdctl --endpoints 127.0.0.1:2379 move-leader "$(etcd_member_id e1)" >/dev/null
	eventually eval '[ "$(etcd_leader)" = e1 ]'
}

# exactly_one_primary: one member says it is the primary, the one the
# lease state names.
exactly_one_primary() {
	local h n=0 p
	for h in m1 m2 m3; do
		[ "$(role "$h")" = primary ] && { n=$((n + 1)); p=$h; }
	done
	[ "$n" = 1 ] && primary_is "$p"
}

# etcd3_writing: the group on an etcd cluster of three led by e1, its
# samplers, and two writers (through the lease, and to m1) acknowledged.
etcd3_writing() {
	group e1 e2 e3
	lead_e1
	samplers
	writer lw c -L "$L" -t 20
	writer pw c -s "$(addr m1)" -t 3
	eventually acks lw 5
}

# settled_one_primary: the writers stop, one primary is left, the history
# holds together, and every epoch acknowledged is one the lease state has
# reached.
settled_one_primary() {
	local e x
	stop_writers
	eventually exactly_one_primary
	check_history
	e=$(efield epoch)
	for x in $(epochs); do [ "$x" -le "$e" ] || return 1; done
}

@test "multihost repl: the etcd leader of three killed: the group keeps serving, one primary, no acknowledged write lost" {
	etcd3_writing
	etcd_kill e1
	t=$(now_us)
	eventually etcd_leader >/dev/null
	[ "$(etcd_leader)" != e1 ]
	# Writes are acknowledged again, perhaps after a pause (and by a new
	# primary, if the old one's keepalives went unanswered too long).
	eventually acks lw 10 "$t"
	settled_one_primary
	for h in $(others "$(primary_host)"); do
		eventually eval '[ "$(role "$h")" = backup ]'
	done
}

@test "multihost repl: the etcd leader of three stopped, then resumed: the group keeps serving, one primary, no acknowledged write lost" {
	etcd3_writing
	etcd_stop e1
	t=$(now_us)
	new_leader() { local l; l=$(etcd_leader) && [ "$l" != e1 ]; }
	eventually new_leader
	eventually acks lw 10 "$t"
	etcd_cont e1
	eventually etcd_healthy e1
	t=$(now_us)
	eventually acks lw 5 "$t"
	settled_one_primary
}
