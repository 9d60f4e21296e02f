#!/usr/bin/env bats
# Disk faults: a write, fsync, fdatasync or rename that fails (EIO or
# ENOSPC, injected by tests/faults/faultfs.so) is never acknowledged; the
# tool says what failed and stops; after a restart everything acknowledged
# before is intact.  Then a real full disk: a 1 MB tmpfs.

load helper
load repl-helper

@test "ring-add and ring-remove: a failed write, fsync or rename changes nothing and says so" {
	ring-add -f ring a b
	local spec node=n
	for spec in write:1 write:1:ENOSPC fsync:1 rename:1; do
		node="${node}x"
		run faulty "$spec" ring-add -f ring "$node"
		assert_failure 1
		assert_output --partial "ring-add: ring: "
		assert_output --partial "failed with"
		assert_equal "$(cat ring)" "$(printf 'a\nb')"
		assert_equal "$(ls)" ring
	done
	run faulty fsync:1 ring-remove -f ring a
	assert_failure 1
	assert_output --partial "ring-remove: ring: fsync the temporary file: Input/output error"
	assert_equal "$(cat ring)" "$(printf 'a\nb')"
	# The directory sync fails after the rename: the new ring is in
	# place but the change is not acknowledged (exit 1, not 0).
	run faulty fsync:2 ring-add -f ring c
	assert_failure 1
	assert_output --partial "ring-add: ring: fsync the directory: Input/output error"
	run ring-lookup -f ring -n 3 k
	assert_success
}

@test "2pc-part: a failed fdatasync or write is no yes vote; the participant exits; commits survive" {
	local spec
	start_part b
	start_part a
	run 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=one\tb=one')"
	assert_output "$(printf 't1\tcommit')"
	# (fdatasync #1 is log_open's: what a restarted daemon replays is
	# made durable first; #2 is the PREPARED record's.)
	for spec in fdatasync:2 fdatasync:2:ENOSPC write:1; do
		kill_daemon a TERM
		start_daemon a faulty "$spec" 2pc-part -s a.sock -l a.log -r 3
		run 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't-%s\ta=x\tb=x' "$spec")"
		assert_failure 1
		assert_output --regexp "^t-$spec	abort	a "
		daemon_died a
		assert_equal "$died_status" 1
		run cat a.err
		assert_output --regexp "faultfs: (fdatasync #2|write #1) failed"
		assert_output --regexp "2pc-part: a.log: (fdatasync|write): (Input/output error|No space left on device)"
		start_part a
	done
	run 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't2\ta=two\tb=two')"
	assert_output "$(printf 't2\tcommit')"
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\tone\nt2\ttwo')"
	assert_equal "$(cat b.out)" "$(printf 't1\tone\nt2\ttwo')"
}

@test "2pc-coord: a failed fdatasync of a commit decision commits nothing; recovery aborts it" {
	start_part a -t 1
	start_part b -t 1
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=one\tb=one')"
	assert_output "$(printf 't1\tcommit')"
	kill_daemon coord TERM
	start_daemon coord faulty fdatasync:2 2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't2\ta=two\tb=two')"
	assert_failure 3
	refute_output --partial "t2	commit"
	daemon_died coord
	assert_equal "$died_status" 1
	run cat coord.err
	assert_output --partial "faultfs: fdatasync #2 failed with EIO"
	assert_output --partial "2pc-coord: coord.log: fdatasync: Input/output error"
	# The restarted coordinator knows no decision for t2: presumed abort,
	# which the in-doubt participants learn when they ask it.
	start_coord a=a.sock b=b.sock
	both_decided() { [ "$(sock_say a.sock LIST)" = "LISTED 0" ] && [ "$(sock_say b.sock LIST)" = "LISTED 0" ]; }
	eventually both_decided
	run 2pc-coord -C coord.sock <<<"$(printf 't3\ta=three\tb=three')"
	assert_output "$(printf 't3\tcommit')"
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\tone\nt3\tthree')"
	assert_equal "$(cat b.out)" "$(printf 't1\tone\nt3\tthree')"
}

@test "repl-primary: a failed fdatasync or write is not acknowledged; the primary exits; acked writes survive" {
	local spec
	start_primary p -a none -k 0
	run rc put k1 v1
	assert_success
	for spec in fdatasync:4 fdatasync:4:ENOSPC; do
		kill_daemon p TERM
		start_daemon p faulty "$spec" repl-primary -d p.d -s p.sock -L lease -r 3 -a none -k 0
		run repl-client -L lease -t 2 put "k-$spec" v
		assert_failure 3
		daemon_died p
		assert_equal "$died_status" 1
		run cat p.err
		assert_output --regexp "repl-primary: p.d/log: fdatasync: (Input/output error|No space left on device)"
		start_primary p -a none -k 0
		run rc get k1
		assert_output v1
	done
	# A failed write at start (the new epoch's record) stops it too.
	kill_daemon p TERM
	run faulty write:1 repl-primary -d p.d -s p.sock -L lease -a none -k 0
	assert_failure 1
	assert_output --regexp "repl-primary: (p.d/log: write|lease.state: write the temporary file): Input/output error"
	start_primary p -a none -k 0
	run rc get k1
	assert_output v1
	run rc put k2 v2
	assert_success
	run rc get k2
	assert_output v2
}

@test "repl-backup: a failed fdatasync stops the backup; the primary acknowledges nothing without it" {
	start_primary p -a fsync -k 1
	start_backup b
	run rc put k1 v1
	assert_success
	kill_daemon b TERM
	start_daemon b faulty fdatasync:2 repl-backup -d b.d -s b.sock -L lease -r 3
	run repl-client -L lease -t 2 put k2 v2
	assert_failure
	daemon_died b
	assert_equal "$died_status" 1
	run cat b.err
	assert_output --partial "repl-backup: b.d/log: fdatasync: Input/output error"
	start_backup b
	run rc put k3 v3
	assert_success
	converge p b
	kill_daemon p TERM
	eventually is_primary b
	run rc get k1
	assert_output v1
	run rc get k3
	assert_output v3
}

@test "repl: a failed write or fsync of a snapshot (EIO, ENOSPC) is reported and tried again; the member serves on, the old snapshot and the log intact" {
	local spec n=0 i
	start_primary p -G 1024
	seq 60 | awk '{ print "put k" $1 " v" $1 }' | rc >/dev/null
	snapshot_taken() { [ "$(status_field p snapshot)" -gt 0 ]; }
	eventually snapshot_taken
	snapshot_failed() { grep -Eq "the snapshot at position [0-9]+ failed" p.err; }
	for spec in write:1 write:1:ENOSPC fsync:1 fsync:1:ENOSPC; do
		kill_daemon p TERM
		cp p.d/snapshot old.snapshot
		: >p.err
		HAKIT_FAULT_FORKED=1 start_daemon p faulty "$spec" \
		    repl-primary -d p.d -s p.sock -L lease -r 3 -G 1024
		# Writes go on while the next snapshot fails, and after.
		while ! snapshot_failed; do
			n=$((n + 60))
			seq $((n - 59)) "$n" | awk '{ print "put k" $1 " v" $1 }' |
			    rc >out
			[ "$(grep -c . out)" -eq 60 ]
		done
		run cat p.err
		assert_output --regexp "faultfs: (write|fsync) #1 failed with (EIO|ENOSPC)"
		assert_output --regexp "repl-primary: p.d/snapshot.new: (write|fsync): (Input/output error|No space left on device)"
		assert_output --regexp "repl-primary: p.d/snapshot.new: the snapshot at position [0-9]+ failed \(exit status 1\); p.d/snapshot and the log are as they were; trying again in 10 s"
		cmp p.d/snapshot old.snapshot
		[ ! -e p.d/snapshot.new ]
		is_primary p
	done
	# Restarted without faults: it snapshots again, and nothing is lost.
	kill_daemon p TERM
	start_primary p -G 1024
	old=$(status_field p snapshot)
	snapshot_newer() { [ "$(status_field p snapshot)" -gt "$old" ]; }
	# Writes until the growth rule takes one (within 40 batches).
	for ((i = 0; i < 40; i++)); do
		seq $((n + 1)) $((n + 60)) | awk '{ print "put k" $1 " v" $1 }' |
		    rc >/dev/null
		n=$((n + 60))
		snapshot_newer && break
	done
	snapshot_newer
	for ((i = 1; i <= n; i++)); do
		[ "$(rc get "k$i")" = "v$i" ]
	done
}

@test "a real full disk (1 MB tmpfs): writes fail with ENOSPC, nothing acknowledged is lost" {
	# Mounted in a private user and mount namespace, so this works for
	# root (as in CI) and for anyone else where user namespaces are on.
	unshare -rm true || fail "unshare -rm is needed to mount a private tmpfs (user namespaces disabled?)"
	mkdir disk
	cat >full.sh <<'SCRIPT'
set -u
mount -t tmpfs -o size=1m tmpfs disk || exit 9
mkdir disk/p
# Room to free later, so the member can restart and be read back.
head -c 100000 /dev/zero >disk/filler
: >acks
# Put 2 KB values one at a time until the disk is full and a put fails.
v=$(head -c 2000 /dev/zero | tr '\0' v)
mkfifo ready
repl-primary -d disk/p -s p.sock -L disk/lease -a none -k 0 -r 3 3>ready 2>>err &
read -r _ <ready
i=0
while [ "$i" -lt 2000 ] && repl-client -s p.sock -t 2 put "k$((i + 1))" "$v" >/dev/null 2>&1; do
	i=$((i + 1))
	echo "k$i" >>acks
done
wait $!
echo "filled: exit $?"
rm disk/filler
repl-primary -d disk/p -s p.sock -L disk/lease -a none -k 0 -r 3 3>ready 2>>err &
read -r _ <ready
# Every acknowledged put reads back.
while read -r k; do
	got=$(repl-client -s p.sock get "$k") || echo "lost $k"
	[ "$got" = "$v" ] || echo "wrong $k"
done <acks
kill -TERM $!
wait $!
echo "restarted: exit $?"
# A ring update on the full disk fails and leaves the ring as it was.
ring-add -f disk/ring a b
head -c 2000000 /dev/zero >disk/filler 2>/dev/null
ring-add -f disk/ring c 2>>err
echo "ring-add: exit $? ring: $(cat disk/ring | tr '\n' ' ')"
SCRIPT
	run unshare -rm sh full.sh
	assert_output "$(printf 'filled: exit 1\nrestarted: exit 0\nring-add: exit 1 ring: a b ')"
	# The disk took some writes before it filled.
	[ "$(wc -l <acks)" -gt 100 ]
	run cat err
	assert_output --partial "repl-primary: disk/p/log: write: No space left on device"
	assert_output --partial "ring-add: disk/ring: write the temporary file: No space left on device"
}
