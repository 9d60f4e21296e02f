#!/usr/bin/env bats
# The crash matrix: every crash point of repl-primary and repl-backup,
# each followed by recovery and the guarantees: every acknowledged write
# is readable, and every member's log ends up identical.

load helper
load repl-helper

# put_keys FROM TO: put keys kFROM..kTO, noting acknowledged ones in acked.
put_keys() {
	local i
	for ((i = $1; i <= $2; i++)); do
		if rc put "k$i" "v$i" >/dev/null 2>>client.err; then
			echo "k$i v$i" >>acked
		fi
	done
}

# died NAME: succeeds once the daemon NAME has exited.
died() {
	! kill -0 "$(daemon_pid "$1")" 2>/dev/null
}

# crash_primary POINT: the primary dies at POINT while writes flow; a
# backup takes over; the old primary rejoins.
crash_primary() {
	HAKIT_CRASH=$1 start_primary p
	start_backup b1
	start_backup b2
	put_keys 1 12
	died p
	[ "$(wc -l <acked)" -eq 12 ]
	[ "$(lease_field epoch)" -eq 2 ]
	check_acked acked
	start_backup p
	converge p b1 b2
	check_acked acked
}

# crash_backup POINT: a backup dies at POINT while writes flow and
# rejoins; then the primary dies and an in-sync backup takes over.
crash_backup() {
	start_primary p
	HAKIT_CRASH=$1 start_backup b1
	start_backup b2
	put_keys 1 12
	died b1
	[ "$(wc -l <acked)" -eq 12 ]
	start_backup b1
	converge p b1 b2
	kill_daemon p KILL || true
	put_keys 13 15
	check_acked acked
	start_backup p
	converge p b1 b2
}

# crash_takeover POINT: the only backup dies at POINT while taking over,
# and takes over when restarted.
crash_takeover() {
	start_primary p
	HAKIT_CRASH=$1 start_backup b1
	put_keys 1 5
	kill_daemon p KILL || true
	eventually died b1
	start_backup b1
	is_primary b1
	put_keys 6 8
	[ "$(wc -l <acked)" -eq 8 ]
	check_acked acked
	start_backup p
	converge p b1
}

# Snapshots: members snapshot once their log holds 512 bytes.
G="-G 512"

# snapshot_crash NAME POINT: NAME (p, the primary, or b1, a backup) dies
# at POINT in its first snapshot while writes flow; it comes back from
# what the crash left, and the group converges; then the primary dies
# and a backup takes over, with every acknowledged write.
snapshot_crash() {
	local name=$1 point=$2
	if [ "$name" = p ]; then
		HAKIT_CRASH=$point start_primary p $G
	else
		start_primary p $G
	fi
	if [ "$name" = b1 ]; then
		HAKIT_CRASH=$point start_backup b1 $G
	else
		start_backup b1 $G
	fi
	start_backup b2 $G
	put_keys 1 40
	eventually died "$name"
	grep -q "crash point $point reached" "$name.err"
	[ "$(wc -l <acked)" -eq 40 ]
	start_backup "$name" $G
	converge p b1 b2
	check_acked acked
	crash_daemon "$(lease_field primary | sed 's|.*/||; s|\.sock$||')"
	put_keys 41 45
	[ "$(wc -l <acked)" -eq 45 ]
	check_acked acked
}

# transfer_crash NAME POINT: b2 is down while the log moves past it; back,
# it gets the primary's snapshot, and NAME (p or b2) dies at POINT of
# the transfer.  Every member then converges with every acknowledged write.
transfer_crash() {
	local name=$1 point=$2
	if [ "$name" = p ]; then
		HAKIT_CRASH=$point start_primary p $G
	else
		start_primary p $G
	fi
	start_backup b1 $G
	start_backup b2 $G
	put_keys 1 5
	kill_daemon b2 TERM
	put_keys 6 60
	# Snapshots come by the growth rule, at moments the load decides: one
	# may fall just short of 30 and the next be due only later.
	local n=60
	while ! snapshot_past p 30; do
		[ "$n" -lt 600 ] || fail "no snapshot past position 30"
		n=$((n + 1))
		put_keys "$n" "$n"
	done
	if [ "$name" = b2 ]; then
		HAKIT_CRASH=$point start_process b2 repl-backup -d b2.d \
		    -s b2.sock -L lease $G
	else
		start_process b2 repl-backup -d b2.d -s b2.sock -L lease $G
	fi
	eventually died "$name"
	grep -q "crash point $point reached" "$name.err"
	start_backup "$name" $G
	put_keys $((n + 1)) $((n + 5))
	[ "$(wc -l <acked)" -eq $((n + 5)) ]
	converge p b1 b2
	check_acked acked
}

@test "crash at primary.append" { crash_primary primary.append:4; }
@test "crash at primary.appended" { crash_primary primary.appended:4; }
@test "crash at primary.sent" { crash_primary primary.sent:4; }
@test "crash at primary.replicated" { crash_primary primary.replicated:4; }
@test "crash at primary.acked" { crash_primary primary.acked:4; }

@test "crash at primary.shrink and primary.shrunk" {
	for point in primary.shrink primary.shrunk; do
		rm -rf ./*.d lease lease.state acked
		HAKIT_CRASH=$point start_primary p
		start_backup b1
		start_backup b2
		put_keys 1 3
		kill_daemon b2 KILL || true
		eventually died p
		# b1 is in sync either way and takes over.
		put_keys 4 6
		is_primary b1
		if [ "$point" = primary.shrunk ]; then
			! in_sync b2
		fi
		check_acked acked
		start_backup b2
		start_backup p
		converge p b1 b2
		stop_all_daemons || true
	done
}

@test "crash at primary.grow: the backup never joined and cannot lead" {
	HAKIT_CRASH=primary.grow start_primary p
	start_backup b
	died p
	! in_sync b
	[ "$(role b)" = backup ]
	start_primary p
	eventually in_sync b
	put_keys 1 3
	converge p b
}

@test "crash at primary.grown: the backup joined and takes over" {
	HAKIT_CRASH=primary.grown start_primary p
	start_backup b
	eventually is_primary b
	[ "$(lease_field epoch)" -eq 2 ]
	put_keys 1 3
	start_backup p
	converge p b
}

@test "crash at backup.received" { crash_backup backup.received:5; }
@test "crash at backup.synced" { crash_backup backup.synced:5; }
@test "crash at backup.acked" { crash_backup backup.acked:5; }

@test "crash at backup.truncate and backup.truncated" {
	for point in backup.truncate backup.truncated; do
		rm -rf ./*.d lease lease.state acked
		HAKIT_CRASH=primary.appended:3 start_primary p
		start_backup b
		put_keys 1 3
		died p
		# p rejoins with an unacknowledged tail and dies cutting it.
		HAKIT_CRASH=$point start_backup p || true
		eventually died p
		start_backup p
		converge b p
		check_acked acked
		stop_all_daemons || true
	done
}

@test "crash at takeover.locked" { crash_takeover takeover.locked; }
@test "crash at takeover.recorded" { crash_takeover takeover.recorded; }
@test "crash at takeover.appended" { crash_takeover takeover.appended; }

@test "crash at member.identified: a new member dies as it makes its id, and starts again" {
	start_primary p
	rc put k v >/dev/null
	HAKIT_CRASH=member.identified start_process b repl-backup -d b.d \
	    -s b.sock -L lease
	eventually died b
	grep -q "^id " b.d/member
	! in_sync b
	start_backup b
	in_sync b
	converge p b
	# A first primary that dies there has recorded nothing in the lease.
	HAKIT_CRASH=member.identified start_process q repl-primary -d q.d \
	    -s q.sock -L qlease
	eventually died q
	[ ! -e qlease.state ]
	start_daemon q repl-primary -d q.d -s q.sock -L qlease -r 3
	run repl-client -L qlease put k v
	assert_output "$(printf '1\t2')"
}

@test "crash at primary.duplicate: a retried write is still applied once" {
	HAKIT_CRASH=primary.replicated start_primary p
	HAKIT_CRASH=primary.duplicate start_backup b
	# p dies before answering; b takes over, knows the retry and dies
	# before answering it; restarted, it answers it.
	rc put k v >put.out &
	client=$!
	eventually died p
	eventually died b
	grep -q "crash point primary.duplicate reached" b.err
	start_backup b
	wait "$client"
	[ "$(cat put.out)" = "$(printf '1\t2')" ]
	[ "$(lease_field epoch)" -eq 3 ]
	[ "$(grep -ao "put	k	v" b.d/log | wc -l)" -eq 1 ]
}

@test "crash at snapshot.written (primary)" { snapshot_crash p snapshot.written; }
@test "crash at snapshot.renamed (primary)" { snapshot_crash p snapshot.renamed; }
@test "crash at log.checkpoint-synced (primary)" { snapshot_crash p log.checkpoint-synced; }
@test "crash at log.checkpoint-renamed (primary)" { snapshot_crash p log.checkpoint-renamed; }
@test "crash at snapshot.written (backup)" { snapshot_crash b1 snapshot.written; }
@test "crash at snapshot.renamed (backup)" { snapshot_crash b1 snapshot.renamed; }
@test "crash at log.checkpoint-synced (backup)" { snapshot_crash b1 log.checkpoint-synced; }
@test "crash at log.checkpoint-renamed (backup)" { snapshot_crash b1 log.checkpoint-renamed; }
@test "crash at snapshot.sent" { transfer_crash p snapshot.sent; }
@test "crash at snapshot.received" { transfer_crash b2 snapshot.received; }
@test "crash at snapshot.installed" { transfer_crash b2 snapshot.installed; }

@test "a lone primary dies at each step of a snapshot and restarts from what the crash left" {
	local point i
	for point in snapshot.written snapshot.renamed log.checkpoint-synced \
	    log.checkpoint-renamed; do
		rm -rf ./*.d lease lease.state
		HAKIT_CRASH=$point start_primary p $G
		seq 40 | awk '{ print "put k" $1 " v" $1 }' |
		    repl-client -L lease -t 20 >out &
		client=$!
		eventually died p
		start_primary p $G
		wait "$client"
		[ "$(wc -l <out)" -eq 40 ]
		# Each write once, all there: the first epoch's record, 40
		# writes, the second epoch's record.
		[ "$(status_field p records)" -eq 42 ]
		for ((i = 1; i <= 40; i++)); do
			[ "$(rc get "k$i")" = "v$i" ]
		done
		stop_all_daemons || true
	done
}
