#!/usr/bin/env bats
# Two-phase commit under crashes: every crash point of both roles, in-doubt
# transactions made visible, cooperative termination and heuristics.

load helper
bats_require_minimum_version 1.5.0

# Two banks a and b, and a coordinator daemon.  Extra environment for one
# of them (say HAKIT_CRASH) is given as WHO=VAR=VALUE.
start_banks() {
	local who=${1%%=*} env=${1#*=}
	make_bank a
	make_bank b
	local ea=() eb=() ec=()
	case $who in
	a) ea=(env "$env") ;;
	b) eb=(env "$env") ;;
	coord) ec=(env "$env") ;;
	esac
	start_daemon a "${ea[@]}" 2pc-part -s a.sock -l a.log -r 3 -t 1 $(bank_opts a)
	start_daemon b "${eb[@]}" 2pc-part -s b.sock -l b.log -r 3 -t 1 $(bank_opts b)
	start_daemon coord "${ec[@]}" 2pc-coord -s coord.sock -l coord.log -r 3 -t 2 a=a.sock b=b.sock
}

# Ten transfers of 1..10 from a to b; the fourth is refused by b.
transfers() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		if [ "$i" = 4 ]; then
			printf 't%s\ta=-%s\tb=fail\n' "$i" "$i"
		else
			printf 't%s\ta=-%s\tb=%s\n' "$i" "$i" "$i"
		fi
	done
}

restart() {
	case $1 in
	a) start_daemon a 2pc-part -s a.sock -l a.log -r 3 -t 1 $(bank_opts a) ;;
	b) start_daemon b 2pc-part -s b.sock -l b.log -r 3 -t 1 $(bank_opts b) ;;
	coord) start_daemon coord 2pc-coord -s coord.sock -l coord.log -r 3 -t 2 a=a.sock b=b.sock ;;
	esac
}

# Nothing in doubt, nothing staged, nothing pending at the coordinator.
settled() {
	[ -z "$(2pc-part -s a.sock -L)" ] && [ -z "$(2pc-part -s b.sock -L)" ] &&
		[ -z "$(find a/staged b/staged -type f)" ] &&
		[ "$(coord_pending coord.sock)" = 0 ]
}

# The guarantees, checked on the banks' files and the client's outcomes.
check_guarantees() {
	local t
	# The sum of balances is unchanged: every transfer is all or nothing.
	assert_equal "$(($(balance a) + $(balance b)))" 0
	for t in $(ls a/applied b/applied a/aborted b/aborted | grep '^t' | sort -u); do
		# No participant committed what another aborted.
		if [ -e "a/applied/$t" ] || [ -e "b/applied/$t" ]; then
			[ -e "a/applied/$t" ] && [ -e "b/applied/$t" ] ||
				fail "$t committed at one bank only"
			[ ! -e "a/aborted/$t" ] && [ ! -e "b/aborted/$t" ] ||
				fail "$t both committed and aborted"
		fi
	done
	# Every commit reported to the client is committed everywhere.
	for t in $(awk -F'\t' '$2 == "commit" { print $1 }' client.out); do
		[ -e "a/applied/$t" ] && [ -e "b/applied/$t" ] ||
			fail "$t reported committed but not applied"
	done
	# Every abort reported is aborted everywhere.
	for t in $(awk -F'\t' '$2 == "abort" { print $1 }' client.out); do
		[ ! -e "a/applied/$t" ] && [ ! -e "b/applied/$t" ] ||
			fail "$t reported aborted but applied"
	done
	# t4 was refused by b's prepare hook: never applied.
	[ ! -e a/applied/t4 ] && [ ! -e b/applied/t4 ]
}

# crash_matrix WHO POINT: run the transfers with WHO crashing at POINT,
# restart it, wait until everything is resolved, check the guarantees.
crash_matrix() {
	local who=$1 point=$2
	start_banks "$who=HAKIT_CRASH=$point"
	transfers >in
	2pc-coord -C coord.sock <in >client.out 2>client.err || true
	daemon_died "$who"
	assert_equal "$died_status" 137
	grep -q "crash point ${point%%:*} reached" "$who.err"
	restart "$who"
	# The client goes on after a participant's crash; after the
	# coordinator's, it resubmits what got no answer.
	if [ "$who" = coord ]; then
		# The one in flight at the crash is resubmitted too: a retry,
		# told its true outcome.
		grep -v $'\tunknown\t' client.out >answered || true
		tail -n +$(($(wc -l <answered) + 1)) in >rest
		mv answered client.out
		2pc-coord -C coord.sock <rest >>client.out 2>>client.err || true
	fi
	eventually settled
	check_guarantees
	# Every transaction got exactly one outcome.
	assert_equal "$(cut -f1 client.out | sort | uniq -d)" ""
	assert_equal "$(wc -l <client.out)" 10
}

@test "2pc crash: coord.prepare" { crash_matrix coord coord.prepare:2; }
@test "2pc crash: coord.begun" { crash_matrix coord coord.begun:2; }
@test "2pc crash: coord.prepare-sent" { crash_matrix coord coord.prepare-sent:2; }
@test "2pc crash: coord.voted" { crash_matrix coord coord.voted:2; }
@test "2pc crash: coord.decided" { crash_matrix coord coord.decided:2; }
@test "2pc crash: coord.commit-sent" { crash_matrix coord coord.commit-sent:2; }
@test "2pc crash: coord.answered" { crash_matrix coord coord.answered:2; }
@test "2pc crash: coord.acked" { crash_matrix coord coord.acked:2; }
@test "2pc crash: part.prepare-received" { crash_matrix a part.prepare-received:2; }
@test "2pc crash: part.intent-logged" { crash_matrix a part.intent-logged:2; }
@test "2pc crash: part.prepare-hook-done" { crash_matrix a part.prepare-hook-done:2; }
@test "2pc crash: part.prepared" { crash_matrix a part.prepared:2; }
@test "2pc crash: part.voted" { crash_matrix a part.voted:2; }
@test "2pc crash: part.committed" { crash_matrix a part.committed:2; }
@test "2pc crash: part.acked" { crash_matrix a part.acked:2; }
@test "2pc crash: part.commit-hook" { crash_matrix a part.commit-hook:2; }
@test "2pc crash: part.commit-hook-done" { crash_matrix a part.commit-hook-done:2; }
@test "2pc crash: part.abort-hook (b, after its no vote)" { crash_matrix b part.abort-hook:1; }
@test "2pc crash: part.abort-hook-done" { crash_matrix b part.abort-hook-done:1; }

@test "2pc crash: a COMMIT resent while the first is still being applied is acknowledged once applied" {
	start_part a -c 'sleep 1; cat >>applied'
	start_daemon coord env HAKIT_CRASH=coord.commit-sent \
		2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=x')"
	daemon_died coord
	# The restarted coordinator sends COMMIT again on a new connection
	# while the commit hook still runs for the first one, which is gone.
	start_coord a=a.sock
	acked() { [ "$(coord_pending coord.sock)" = 0 ]; }
	eventually acked
	assert_equal "$(cat applied)" x
	kill_daemon a TERM
}

@test "2pc in doubt: listed while the coordinator is down, resolved when it returns" {
	HAKIT_TRACE=1 start_part a -t 1
	HAKIT_TRACE=1 start_part b -t 1
	start_daemon coord env HAKIT_CRASH=coord.decided 2pc-coord -s coord.sock -l coord.log -r 3 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=-7\tb=7')"
	assert_failure 3
	daemon_died coord
	assert_equal "$died_status" 137
	local id
	id=$(coord_id coord.log)
	run 2pc-part -s a.sock -L
	assert_success
	assert_output "$(printf 't1\t%s/coord.sock\t%s' "$PWD" "$id")"
	run 2pc-part -s b.sock -L
	assert_output "$(printf 't1\t%s/coord.sock\t%s' "$PWD" "$id")"
	# They ask each other, learn that both are in doubt, and stay so:
	# a participant that voted yes never decides alone.
	eventually grep -q "^[0-9]* [^ ]*a.sock < [^ ]*b.sock STATE $id t1 indoubt\$" a.err
	eventually grep -q "^[0-9]* [^ ]*b.sock < [^ ]*a.sock STATE $id t1 indoubt\$" b.err
	assert_equal "$(2pc-part -s a.sock -L | cut -f1)" t1
	# In doubt means held back: nothing committed yet.
	assert_equal "$(cat a.out b.out)" ""
	start_coord a=a.sock b=b.sock
	eventually test -s a.out
	eventually test -s b.out
	assert_equal "$(cat a.out)" "$(printf 't1\t-7')"
	assert_equal "$(cat b.out)" "$(printf 't1\t7')"
	assert_equal "$(2pc-part -s a.sock -L)" ""
	assert_equal "$(2pc-part -s b.sock -L)" ""
}

@test "2pc in doubt: cooperative termination while the coordinator stays down" {
	start_part a -t 1
	start_daemon b env HAKIT_CRASH=part.voted 2pc-part -s b.sock -l b.log -r 3 -t 1
	start_coord a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=-7\tb=7')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	daemon_died b
	assert_equal "$died_status" 137
	eventually test -s a.out
	crash_daemon coord
	# b comes back in doubt, cannot reach the coordinator, asks a.
	start_part b -t 1
	eventually test -s b.out
	assert_equal "$(cat b.out)" "$(printf 't1\t7')"
	assert_equal "$(2pc-part -s b.sock -L)" ""
}

@test "2pc in doubt: a peer that never voted answers aborted and then votes no" {
	start_part a -t 1 -a 'touch a-aborted'
	start_part b -t 1 -p 'sleep 2' -a 'touch b-aborted'
	start_coord -t 10 a=a.sock b=b.sock
	2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=2')" >client.out 2>&1 &
	local client=$!
	in_doubt_at_a() { [ "$(2pc-part -s a.sock -L | cut -f1)" = t1 ]; }
	eventually in_doubt_at_a
	crash_daemon coord
	wait "$client" || true
	# a asks b, whose prepare hook is still running: b records an abort.
	eventually test -e a-aborted
	eventually test -e b-aborted
	assert_equal "$(2pc-part -s a.sock -L)" ""
	assert_equal "$(cat a.out b.out)" ""
	# The restarted coordinator, asked again, gives t1's true outcome.
	start_coord -t 10 a=a.sock b=b.sock
	run 2pc-coord -C coord.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_failure 1
	assert_output "$(printf 't1\tabort\tcoordinator restarted before deciding')"
	# And b never votes yes on it later.
	assert_equal "$(sock_say b.sock "STATUS $(coord_id coord.log) t1 1")" \
		"STATE $(coord_id coord.log) t1 aborted"
}

@test "2pc heuristics: an operator forces outcomes; a contradiction is flagged" {
	start_part a -t 1
	start_part b -t 1
	HAKIT_CRASH=coord.decided run 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=x\tb=y')"
	assert_failure 137
	run 2pc-part -s a.sock -F abort t1
	assert_success
	assert_output "t1 heuristic abort"
	run 2pc-part -s b.sock -F commit t1
	assert_success
	assert_output "t1 heuristic commit"
	eventually grep -q 'HEURISTIC commit forced by the operator' b.err
	assert_equal "$(cat b.out)" "$(printf 't1\ty')"
	assert_equal "$(2pc-part -s a.sock -L)" ""
	run 2pc-part -s a.sock -F commit t1
	assert_failure 1
	assert_output --partial "not in doubt"
	# The coordinator's recovery delivers commit: a's abort contradicts it.
	run 2pc-coord -l c.log a=a.sock b=b.sock </dev/null
	assert_success
	grep -q "HEURISTIC HAZARD: t1 (coordinator $(coord_id c.log)) was aborted by the operator but the outcome is commit" a.err
	! grep -q HAZARD b.err
	assert_equal "$(cat a.out)" ""
	assert_equal "$(cat b.out)" "$(printf 't1\ty')"
}

@test "2pc hooks die with their participant; the successor runs the abort hook" {
	local hook='echo $$ > hook.pid; sleep 30 & echo $! > child.pid; wait; touch late'
	start_part a -t 10 -p "$hook" -a 'touch undone'
	start_coord -t 10 a=a.sock
	2pc-coord -C coord.sock <<<"$(printf 't1\ta=1')" >client.out 2>&1 &
	local client=$!
	eventually test -s child.pid
	crash_daemon a
	# The hook is killed with the participant, and what it started too.
	eventually process_ended "$(cat hook.pid)"
	eventually process_ended "$(cat child.pid)"
	wait "$client" || true
	assert_equal "$(cat client.out)" "$(printf 't1\tabort\ta unreachable')"
	# The intent was logged: the restarted participant undoes the hook.
	start_part a -t 10 -p "$hook" -a 'touch undone'
	eventually test -e undone
	[ ! -e late ]
}
