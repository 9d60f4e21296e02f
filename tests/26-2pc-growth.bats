#!/usr/bin/env bats
# Two-phase commit logs and memory grow with what is live, not with the
# history: both roles checkpoint their logs; the coordinator remembers the
# newest -w decided transactions (to tell retries their outcome), and
# participants forget what their coordinator's horizon has passed.

load helper
bats_require_minimum_version 1.5.0

# stat_of SOCK NAME: one counter from a daemon's STATS line.
stat_of() {
	sock_say "$1" STATS | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# transfers FROM TO PREFIX: lines PREFIX<FROM>..PREFIX<TO> for a and b.
transfers() {
	seq "$1" "$2" | awk -v p="$3" '{ printf "%s%d\ta=-%d\tb=%d\n", p, $1, $1, $1 }'
}

test_pending_zero() {
	[ "$(stat_of coord.sock pending)" = 0 ]
}

log_size() {
	stat -c %s "$1"
}

@test "2pc growth: 20000 transactions leave logs and memory the size of what is live" {
	start_part a -S
	start_part b -S
	start_coord -S -w 100 a=a.sock b=b.sock
	# One transaction stays in doubt at a throughout: b votes no on
	# nothing, but the coordinator dies before deciding it.
	transfers 1 20000 t | 2pc-coord -j 64 -C coord.sock >out
	assert_equal "$(grep -c $'\tcommit$' out)" 20000
	forgotten() { [ "$(stat_of a.sock transactions)" -lt 200 ] && [ "$(stat_of b.sock transactions)" -lt 200 ]; }
	eventually forgotten
	assert_equal "$(stat_of coord.sock remembered)" 100
	# Each log was checkpointed: about a megabyte at most, not the
	# 4 MB and more that 20000 transactions wrote.
	[ "$(log_size coord.log)" -lt 1500000 ]
	[ "$(log_size a.log)" -lt 1500000 ]
	[ "$(log_size b.log)" -lt 1500000 ]
	# A retry of a recent transaction is told its outcome; one older
	# than the window is a new transaction: it runs again.
	run 2pc-coord -C coord.sock <<<"$(printf 't19999\ta=-19999\tb=19999')"
	assert_output "$(printf 't19999\tcommit')"
	run 2pc-coord -C coord.sock <<<"$(printf 't5\ta=-5\tb=5')"
	assert_output "$(printf 't5\tcommit')"
	kill_daemon a TERM
	assert_equal "$(grep -c $'^t5\t' a.out)" 2
	assert_equal "$(grep -c $'^t19999\t' a.out)" 1
	# After a restart from the checkpointed logs, the same answers.
	kill_daemon coord TERM
	start_part a -S
	start_coord -S -w 100 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't19998\ta=-19998\tb=19998')"
	assert_output "$(printf 't19998\tcommit')"
	assert_equal "$(grep -c $'^t19998\t' a.out)" 1
}

@test "2pc growth: an in-doubt transaction outlives every checkpoint and is resolved after" {
	start_part a -t 1
	start_part b -t 1
	start_daemon coord env HAKIT_CRASH=coord.decided \
		2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 'keep\ta=x\tb=y')"
	daemon_died coord
	# Another coordinator runs enough through a and b to checkpoint
	# their logs several times.
	start_daemon other 2pc-coord -S -s other.sock -l other.log -r 3 a=a.sock b=b.sock
	transfers 1 15000 o | 2pc-coord -j 64 -C other.sock >out
	assert_equal "$(grep -c $'\tcommit$' out)" 15000
	[ "$(log_size a.log)" -lt 1500000 ]
	assert_equal "$(2pc-part -s a.sock -L | cut -f1)" keep
	# The participants restart from their checkpoints, still in doubt.
	kill_daemon a TERM
	kill_daemon b TERM
	start_part a -t 1
	start_part b -t 1
	assert_equal "$(2pc-part -s a.sock -L | cut -f1)" keep
	# The first coordinator returns: its decision was commit.
	start_coord a=a.sock b=b.sock
	resolved() { [ -z "$(2pc-part -s a.sock -L)$(2pc-part -s b.sock -L)" ]; }
	eventually resolved
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(grep -c '^keep' a.out b.out | cut -d: -f2 | tr '\n' ' ')" "1 1 "
}

# checkpoint_crash WHO POINT: WHO dies at POINT during a checkpoint; after
# a restart nothing decided is lost and the leftover is cleaned up.
checkpoint_crash() {
	local who=$1 point=$2
	start_daemon a env $([ "$who" = a ] && echo "HAKIT_CRASH=$point") \
		2pc-part -S -s a.sock -l a.log -r 3
	start_part b -S
	start_daemon coord env $([ "$who" = coord ] && echo "HAKIT_CRASH=$point") \
		2pc-coord -S -w 50000 -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	transfers 1 12000 t | 2pc-coord -j 64 -C coord.sock >out 2>&1 || true
	daemon_died "$who"
	assert_equal "$died_status" 137
	grep -q "crash point $point reached" "$who.err"
	[ "$point" != log.checkpoint-synced ] || [ -e "$who.log.checkpoint" ]
	case $who in
	a) start_part a -S ;;
	coord) start_coord -S -w 50000 a=a.sock b=b.sock ;;
	esac
	# (It may be writing a checkpoint of its own by now.)
	[ "$point" != log.checkpoint-synced ] ||
		grep -q "removed $who.log.checkpoint, left by a checkpoint a crash interrupted" "$who.err"
	# Everything that was answered is as it was: retries get the same.
	grep $'\tcommit$' out | cut -f1 | head -n 200 >answered
	[ -s answered ]
	local t
	for t in $(cat answered); do
		printf '%s\ta=-%s\tb=%s\n' "$t" "${t#t}" "${t#t}"
	done | 2pc-coord -C coord.sock >again
	assert_equal "$(cut -f2 again | sort -u)" commit
	eventually test_pending_zero
}

@test "2pc growth: coord killed after its checkpoint is synced, before the rename" {
	checkpoint_crash coord log.checkpoint-synced
}

@test "2pc growth: coord killed after its checkpoint's rename" {
	checkpoint_crash coord log.checkpoint-renamed
}

@test "2pc growth: participant killed after its checkpoint is synced, before the rename" {
	checkpoint_crash a log.checkpoint-synced
}

@test "2pc growth: participant killed after its checkpoint's rename" {
	checkpoint_crash a log.checkpoint-renamed
}

@test "2pc growth: a checkpoint that cannot be written stops the daemon; its old log is intact" {
	start_part a -S
	start_part b -S
	# fsync #1 is the new log's directory, #2 the first checkpoint's file.
	start_daemon coord faulty fsync:2:ENOSPC 2pc-coord -S -w 50000 -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	transfers 1 12000 t | 2pc-coord -j 64 -C coord.sock >out 2>&1 || true
	daemon_died coord
	assert_equal "$died_status" 1
	grep -q "coord.log: checkpoint: fsync .*coord.log.checkpoint: No space left on device" coord.err
	[ ! -e coord.log.checkpoint ]
	start_coord -S -w 50000 a=a.sock b=b.sock
	grep $'\tcommit$' out | cut -f1 | tail -n 100 >answered
	[ -s answered ]
	local t
	for t in $(cat answered); do
		printf '%s\ta=-%s\tb=%s\n' "$t" "${t#t}" "${t#t}"
	done | 2pc-coord -C coord.sock >again
	assert_equal "$(cut -f2 again | sort -u)" commit
}

@test "2pc growth: -g sets when a checkpoint is due; -g 0 never checkpoints" {
	start_part a -S -g 0
	start_part b -S
	start_coord -S -g 0 a=a.sock b=b.sock
	transfers 1 8000 t | 2pc-coord -j 64 -C coord.sock >out
	assert_equal "$(grep -c $'\tcommit$' out)" 8000
	[ "$(log_size coord.log)" -gt 1200000 ]
	[ "$(log_size a.log)" -gt 1200000 ]
	run 2pc-coord -g x -l c.log
	assert_failure 2
	assert_output --partial "bad -g 'x': give a percentage of log growth, or 0 for no checkpoints"
}
