#!/usr/bin/env bats
# Snapshots attacked: crashes at every snapshot, transfer and checkpoint
# point (a backup crashed while installing the primary's snapshot, then
# crashed again, keeps the primary's history), damaged snapshot files,
# faults while a snapshot is adopted, divergent tails across snapshots, a
# backup killed mid-transfer.

load helper
load repl-helper

# A backup that crashes at snapshot.installed still has its old log
# records (positions 1..N, N < the snapshot's position P) under no base
# record.  Were it to append the records after P behind them, the file
# would number record P+1 as N+1, and a second crash before any checkpoint
# would lose or misplace acknowledged records.
@test "a backup crashed at snapshot.installed, restarted and crashed again, keeps every record" {
	start_primary p -G 2048 -k 1
	start_backup b -G 60000000
	puts 1 20
	converge p b
	kill_daemon b TERM
	# b is out of the in-sync set; the writes go on without it (-k 1
	# needs a backup: a second one keeps writes flowing).
	start_backup c -G 2048
	puts 21 600
	eventually snapshot_past p 300
	HAKIT_CRASH=snapshot.installed start_backup b -G 60000000 || true
	grep -q "crash point snapshot.installed reached" b.err
	crash_daemon b
	[ -e b.d/snapshot ]
	# Restarted with no snapshot of its own to take: it follows again,
	# its log rewritten first to begin where the snapshot ends (the
	# primary may or may not send it a newer snapshot, which would do
	# the same).
	start_backup b -G 60000000
	grep -q "b.d/log: rewritten to begin after b.d/snapshot's position" b.err
	in_sync b
	puts 601 640
	converge p b c
	id=$(member_id b)
	# A power cut takes all three at once (the primary first, so that
	# nobody is left to change the in-sync set); b comes back first.
	kill -9 "$(daemon_pid p)" "$(daemon_pid c)" "$(daemon_pid b)"
	crash_daemon p
	crash_daemon c
	crash_daemon b
	start_backup b -G 60000000
	run grep "lacks records it knew were committed" b.err
	assert_failure
	[ "$(member_id b)" = "$id" ]
	eventually is_primary b
	check_values 640
}

# The same, second form: with more records after the restart than the
# gap between the old log's end and the snapshot, the misnumbered records
# reach past the snapshot and are taken for later positions: the member
# holds a different history and says nothing.
@test "a backup crashed at snapshot.installed holds the primary's history after another crash" {
	start_primary p -G 2048 -k 1
	start_backup b -G 60000000
	start_backup c -G 2048
	puts 1 200
	converge p b c
	n=$(status_field b records)
	kill_daemon b TERM
	puts 201 260
	eventually snapshot_past p "$n"
	HAKIT_CRASH=snapshot.installed start_backup b -G 60000000 || true
	crash_daemon b
	grep -q "crash point snapshot.installed reached" b.err
	start_backup b -G 60000000
	# A key written once, just after b's snapshot position.
	rc put lonely yes
	puts 261 400
	converge p b c
	crash_daemon b
	start_backup b -G 60000000
	run grep -E "lacks records it knew|is not of the epoch" b.err
	assert_failure
	converge p c
	sleep 1
	for m in p b c; do echo "$m: $(repl-client -s $m.sock -t 2 status)"; done
	# b is in sync: it can take over, and must serve what p acked.
	in_sync b
	crash_daemon p
	crash_daemon c
	eventually is_primary b
	run rc get lonely
	assert_output yes
	check_values 400
}

# --- the crash matrix, at the snapshot and checkpoint points ---

# idput NAME KEY VALUE ID: a write with a request id, straight to NAME.
idput() {
	sock_say "$1.sock" "$(printf 'PUT %s\t%s\t%s' "$2" "$3" "$4")"
}

# crash_primary_at POINT: the primary dies at POINT (its second pass: a
# snapshot already exists) while writes flow; b takes over; p rejoins;
# then b dies and p leads again.  Every write is there, the retried write
# is recognised, the histories agree.
crash_primary_at() {
	HAKIT_CRASH=$1:2 start_primary p -G 2048
	start_backup b -G 2048
	run idput p once first me:1
	assert_output "OK 1 2"
	puts 1 600
	[ ! -e "p.pid" ] || ! kill -0 "$(daemon_pid p)" 2>/dev/null
	grep -q "crash point $1 reached" p.err
	crash_daemon p
	eventually is_primary b
	start_backup p -G 2048
	converge b p
	check_values 600
	run idput b once first me:1
	assert_output "OK 1 2"
	crash_daemon b
	eventually is_primary p
	check_values 600
	run idput p once first me:1
	assert_output "OK 1 2"
	run rc get once
	assert_output first
	start_backup b -G 2048
	converge p b
}

# crash_backup_at POINT: a backup dies at POINT (second pass) while
# writes flow, restarts, catches up; then the primary dies and it leads.
crash_backup_at() {
	start_primary p -G 2048
	HAKIT_CRASH=$1:2 start_backup b -G 2048
	start_backup c -G 2048
	run idput p once first me:1
	assert_output "OK 1 2"
	puts 1 600
	eventually grep -q "crash point $1 reached" b.err
	crash_daemon b
	start_backup b -G 2048
	converge p b c
	crash_daemon p
	crash_daemon c
	eventually is_primary b
	check_values 600
	run idput b once first me:1
	assert_output "OK 1 2"
	start_backup p -G 2048
	start_backup c -G 2048
	converge b p c
}

@test "crash: primary at snapshot.written" { crash_primary_at snapshot.written; }
@test "crash: primary at snapshot.renamed" { crash_primary_at snapshot.renamed; }
@test "crash: primary at log.checkpoint-synced" { crash_primary_at log.checkpoint-synced; }
@test "crash: primary at log.checkpoint-renamed" { crash_primary_at log.checkpoint-renamed; }
@test "crash: backup at snapshot.written" { crash_backup_at snapshot.written; }
@test "crash: backup at snapshot.renamed" { crash_backup_at snapshot.renamed; }
@test "crash: backup at log.checkpoint-synced" { crash_backup_at log.checkpoint-synced; }
@test "crash: backup at log.checkpoint-renamed" { crash_backup_at log.checkpoint-renamed; }

# --- crashes during a snapshot transfer ---

# transfer_crash POINT: backup b, behind p's log, dies at POINT while it
# receives and installs p's snapshot; restarted, it catches up, takes a
# write, crashes again (a power cut), and then leads with every write.
transfer_crash() {
	start_primary p -G 2048 -k 1
	start_backup b -G 60000000
	start_backup c -G 2048
	puts 1 200
	converge p b c
	n=$(status_field b records)
	kill_daemon b TERM
	puts 201 260
	eventually snapshot_past p "$n"
	HAKIT_CRASH=$1 start_backup b -G 60000000 || true
	crash_daemon b
	grep -q "crash point $1 reached" b.err
	start_backup b -G 60000000
	rc put lonely yes
	puts 261 400
	converge p b c
	crash_daemon b
	start_backup b -G 60000000
	converge p b c
	crash_daemon p
	crash_daemon c
	eventually is_primary b
	run rc get lonely
	assert_output yes
	check_values 400
}

@test "transfer crash: backup at snapshot.received" { transfer_crash snapshot.received; }
@test "transfer crash: backup at snapshot.installed" { transfer_crash snapshot.installed; }
@test "transfer crash: backup at log.checkpoint-synced (installing)" { transfer_crash log.checkpoint-synced; }
@test "transfer crash: backup at log.checkpoint-renamed (installing)" { transfer_crash log.checkpoint-renamed; }

@test "transfer crash: primary at snapshot.sent; the in-sync backup leads, the new one follows it" {
	HAKIT_CRASH=snapshot.sent start_primary p -G 2048
	start_backup b -G 2048
	run idput p once first me:1
	puts 1 500
	eventually snapshot_past p 200
	start_backup n -G 2048 || true
	eventually grep -q "crash point snapshot.sent reached" p.err
	crash_daemon p
	eventually is_primary b
	eventually in_sync n
	puts 501 530
	converge b n
	start_backup p -G 2048
	converge b n p
	crash_daemon b
	# Both are in sync: either may take over.
	either_leads() { is_primary n || is_primary p; }
	eventually either_leads
	check_values 530
	if is_primary n; then lead=n; else lead=p; fi
	run idput "$lead" once first me:1
	assert_output "OK 1 2"
}

# --- damaged files ---

# snapdir: p.d with a snapshot past position 300, p stopped cleanly.
snapdir() {
	start_primary p -G 2048
	puts 1 600
	eventually snapshot_past p 300
	kill_daemon p TERM
}

# refuses NAME WHAT: repl-primary on NAME.d exits 2, naming NAME.d/WHAT.
refuses() {
	run repl-primary -d "$1.d" -s "$1.sock" -L lease
	echo "$output"
	[ "$status" -eq 2 ]
	[[ $output == *"$1.d/$2"* ]]
}

@test "damaged: a truncated snapshot stops the member (exit 2, naming it)" {
	snapdir
	size=$(stat -c %s p.d/snapshot)
	truncate -s $((size - 20)) p.d/snapshot
	refuses p snapshot
}

@test "damaged: a flipped byte in the snapshot stops the member" {
	snapdir
	printf 'X' | dd of=p.d/snapshot bs=1 seek=60 conv=notrunc 2>/dev/null
	refuses p snapshot
}

@test "damaged: an empty snapshot stops the member" {
	snapdir
	: >p.d/snapshot
	refuses p snapshot
}

@test "damaged: a missing snapshot, the log after it, stops the member" {
	snapdir
	rm p.d/snapshot
	refuses p snapshot
}

@test "damaged: a valid snapshot from another directory (older) stops the member" {
	start_primary p -G 2048
	puts 1 200
	eventually snapshot_past p 50
	cp p.d/snapshot old-snapshot
	puts 201 600
	eventually snapshot_past p 300
	kill_daemon p TERM
	cp old-snapshot p.d/snapshot
	refuses p snapshot
}

@test "damaged: leftovers snapshot.new, snapshot.recv, log.checkpoint are removed, reported, and nothing is lost" {
	snapdir
	echo garbage >p.d/snapshot.new
	head -c 100 p.d/snapshot >p.d/snapshot.recv
	echo garbage >p.d/log.checkpoint
	start_primary p -G 2048
	grep -q "removed p.d/snapshot.new" p.err
	grep -q "removed p.d/snapshot.recv" p.err
	grep -q "log.checkpoint" p.err
	[ ! -e p.d/snapshot.new ] && [ ! -e p.d/snapshot.recv ] &&
	    [ ! -e p.d/log.checkpoint ]
	check_values 600
}

# --- faults in the member itself (not its child) during a snapshot ---

@test "faults: a failed rename, fsync or write in the member while it adopts a snapshot stops it; restarted, every acked write is there" {
	local spec n=0 i
	start_primary p -G 1024
	seq 60 | awk '{ print "put k" $1 " v" $1 }' | rc >/dev/null
	eventually snapshot_past p 0
	for spec in rename:2 rename:3 rename:4 rename:3:ENOSPC fsync:3 fsync:4 fsync:5 fsync:6 write:5:ENOSPC write:8; do
		kill_daemon p TERM
		: >p.err
		if ! start_daemon p faulty "$spec" \
		    repl-primary -d p.d -s p.sock -L lease -r 3 -G 1024; then
			daemon_died p
			echo "$spec: at start: exit $died_status: $(grep -v faultfs p.err | head -1)" >>faults
			start_primary p -G 1024
			continue
		fi
		n=$((n + 60))
		seq $((n + 1)) $((n + 60)) | awk '{ print "put k" $1 " v" $1 }' |
		    rc >out 2>client.err &
		client=$!
		sleep 1
		if ! kill -0 "$(daemon_pid p)" 2>/dev/null; then
			daemon_died p
			echo "$spec: exit $died_status: $(grep -v faultfs p.err | head -2)" >>faults
			assert_equal "$died_status" 1
			start_primary p -G 1024
		else
			echo "$spec: no fault hit" >>faults
		fi
		wait "$client"
		[ "$(wc -l <out)" -eq 60 ]
	done
	cat faults
	for ((i = 1; i <= n; i++)); do
		[ "$(rc get "k$i")" = "v$i" ] || { echo "lost k$i"; false; }
	done
}

# --- divergent tails across snapshots ---

@test "an old primary with a divergent tail and its own snapshots rejoins a new primary that snapshotted past the divergence, two epochs on" {
	# puts_past NAME POS: writes on from $last, 100 at a time, until
	# NAME's snapshot is past POS (when it snapshots depends on how fast
	# it writes them).
	puts_past() {
		while ! snapshot_past "$1" "$2"; do
			puts $((last + 1)) $((last + 100))
			last=$((last + 100))
		done
	}
	HAKIT_CRASH=primary.appended:300 start_primary p -G 2048
	start_backup b -G 2048
	puts 1 400
	last=400
	grep -q "crash point primary.appended reached" p.err
	crash_daemon p
	[ "$(status_field b epoch)" -eq 2 ]
	puts_past b 450
	# Another epoch: b restarts and takes over again.
	crash_daemon b
	start_backup b -G 2048
	eventually is_primary b
	[ "$(lease_field epoch)" -eq 3 ]
	puts_past b $((last + 100))
	start_backup p -G 2048
	grep -q "truncating a divergent tail: positions 301 to 301" p.err
	converge b p
	crash_daemon b
	eventually is_primary p
	check_values "$last"
	start_backup b -G 2048
	converge p b
}

# --- a backup that dies mid-transfer ---

@test "a new backup killed mid-transfer of a 10 MB snapshot restarts clean, gets it whole, and can lead" {
	start_primary p -G 65536 -g 20
	start_backup b -G 65536 -g 20
	v=$(head -c 5000 /dev/zero | tr '\0' v)
	seq 2000 | awk -v v="$v" '{ print "put big" $1 " " v $1 }' |
	    repl-client -L lease -t 20 >/dev/null
	puts 1 100
	eventually snapshot_past p 1500
	[ "$(stat -c %s p.d/snapshot)" -gt 5000000 ]
	start_process n repl-backup -d n.d -s n.sock -L lease -G 65536
	eventually [ -s n.d/snapshot.recv ]
	kill -STOP "$(daemon_pid n)"
	ls -l n.d >&2
	crash_daemon n
	[ -e n.d/snapshot.recv ]
	start_backup n -G 65536
	grep -q "removed n.d/snapshot.recv" n.err
	grep -q "installed the primary's snapshot" n.err
	[ ! -e n.d/snapshot.recv ]
	in_sync n
	converge p b n
	crash_daemon p
	crash_daemon b
	eventually is_primary n
	check_values 100
	run rc get big1999
	assert_output "${v}1999"
}
