#!/usr/bin/env bats
# The nemesis: writers put unique keys while members are killed (-9),
# stopped and restarted at random.  In the end every acknowledged write
# must be there and every member's log must be the same.
# HAKIT_NEMESIS_SECS sets the length of the run (default 30).

load helper
load repl-helper

MEMBERS="m1 m2 m3"

# restart NAME: start a dead member again, as a backup.
restart() {
	start_process "$1" repl-backup -d "$1.d" -s "$1.sock" -L lease
}

alive() {
	[ -e "$1.pid" ] && kill -0 "$(cat "$1.pid")" 2>/dev/null
}

# writer ID: put unique keys until the file "stop" appears.
writer() {
	local n=0
	while [ ! -e stop ]; do
		n=$((n + 1))
		echo "w$1-$n" >>"tried.$1"
		if repl-client -L lease -t 3 put "w$1-$n" "v$n" >/dev/null \
		    2>>"writer.$1.err"; then
			echo "w$1-$n v$n" >>"acked.$1"
		else
			echo "w$1-$n" >>"failed.$1"
		fi
	done
}

@test "nemesis: random kills, stops and restarts lose no acknowledged write" {
	local secs=${HAKIT_NEMESIS_SECS:-30} end m pid action
	start_primary m1
	start_backup m2
	start_backup m3
	for w in 1 2 3; do
		writer "$w" &
		echo $! >"writer$w.pid"
	done
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		sleep "0.$((RANDOM % 5 + 1))"
		m=m$((RANDOM % 3 + 1))
		if ! alive "$m"; then
			restart "$m"
			continue
		fi
		pid=$(cat "$m.pid")
		action=$((RANDOM % 3))
		if [ "$action" -eq 0 ]; then
			kill -KILL "$pid"
			wait "$pid" 2>/dev/null || true
			echo "kill $m" >>nemesis.log
		elif [ "$action" -eq 1 ]; then
			kill -STOP "$pid"
			sleep "0.$((RANDOM % 9 + 1))"
			kill -CONT "$pid"
			echo "stop $m" >>nemesis.log
		else
			echo "spare $m" >>nemesis.log
		fi
	done
	touch stop
	for w in 1 2 3; do
		wait "$(cat "writer$w.pid")"
		rm -f "writer$w.pid"
	done
	for m in $MEMBERS; do
		alive "$m" || restart "$m"
	done
	converge $MEMBERS
	cat acked.* >acked
	tried=$(cat tried.* | wc -l)
	acked=$(wc -l <acked)
	failed=$(cat failed.* 2>/dev/null | wc -l)
	# One client reads every acknowledged key back (-v: one line each).
	cut -d' ' -f1 acked | sed 's/^/get\t/' |
	    repl-client -L lease -t 20 -v | cut -f3 >values || true
	lost=$(cut -d' ' -f2 acked | paste -d' ' - values |
	    awk '$1 != $2' | wc -l)
	echo "# nemesis ${secs}s: $(grep -c kill nemesis.log) kills," \
	    "$(grep -c stop nemesis.log) stops;" \
	    "writes tried $tried, acknowledged $acked, failed $failed," \
	    "lost $lost" >&3
	[ "$acked" -gt 0 ]
	[ "$((acked + failed))" -eq "$tried" ]
	[ "$lost" -eq 0 ]
	logs_identical $MEMBERS
}
