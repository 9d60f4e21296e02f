#!/usr/bin/env bats
# Two-phase commit: the happy path, negative outcomes, hooks, daemon mode.

load helper
bats_require_minimum_version 1.5.0

@test "2pc: two participants commit; each writes its part to stdout" {
	start_part a
	start_part b
	printf 't1\ta=-5\tb=+5\nt2\ta=x y\\tz\tb=q\n' >in
	run 2pc-coord -l c.log a=a.sock b=b.sock <in
	assert_success
	assert_equal "$(sort <<<"$output")" "$(printf 't1\tcommit\nt2\tcommit')"
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\t-5\nt2\tx y\\tz')"
	assert_equal "$(cat b.out)" "$(printf 't1\t+5\nt2\tq')"
	[ ! -e a.sock ] && [ ! -e b.sock ]
}

@test "2pc: five participants commit one transaction" {
	local line="t1" n
	for n in p1 p2 p3 p4 p5; do
		start_part "$n"
		line="$line	$n=$n-data"
	done
	run 2pc-coord -l c.log p1=p1.sock p2=p2.sock p3=p3.sock p4=p4.sock \
		p5=p5.sock <<<"$line"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	for n in p1 p2 p3 p4 p5; do
		kill_daemon "$n" TERM
		assert_equal "$(cat "$n.out")" "$(printf 't1\t%s-data' "$n")"
	done
}

@test "2pc: a no vote aborts everywhere; abort hooks undo the prepare hooks" {
	make_bank a
	make_bank b
	start_part a $(bank_opts a)
	start_part b $(bank_opts b)
	printf 't1\ta=-5\tb=5\nt2\ta=-3\tb=fail\n' >in
	run 2pc-coord -l c.log a=a.sock b=b.sock <in
	assert_failure 1
	assert_equal "$(sort <<<"$output")" "$(printf 't1\tcommit\nt2\tabort\tb voted no: prepare hook failed (status 1)')"
	eventually test -e a/aborted/t2
	eventually test -e b/aborted/t2
	nothing_staged() { [ -z "$(find a/staged b/staged -type f)" ]; }
	eventually nothing_staged
	assert_equal "$(balance a) $(balance b)" "-5 5"
	[ ! -e a/applied/t2 ] && [ ! -e b/applied/t2 ]
}

@test "2pc: a hanging prepare hook makes the vote time out" {
	start_part a
	start_part b -p 'sleep 30' -t 2
	run 2pc-coord -t 1 -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_failure 1
	assert_output "$(printf 't1\tabort\tb timed out')"
	kill_daemon a TERM
	assert_equal "$(cat a.out)" ""
	# b kills its hook after its own -t and records the abort.
	eventually grep -q 'prepare hook timed out' b.err
}

@test "2pc: an unreachable participant aborts the transaction" {
	start_part a
	run 2pc-coord -t 1 -l c.log a=a.sock b=nowhere.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_failure 1
	assert_output "$(printf 't1\tabort\tb unreachable')"
}

@test "2pc: hooks get the decoded payload on stdin and their names in the environment" {
	start_part a -p 'cat > "prep.$HAKIT_TXID"' \
		-c 'printf "%s %s\n" "$HAKIT_TXID" "$HAKIT_PARTICIPANT" > done'
	printf 'tx-1\ta=sp ace\\ttab\\nnl\\\\bs;$(x)`y`\n' >in
	run 2pc-coord -l c.log a=a.sock <in
	assert_success
	printf 'sp ace\ttab\nnl\\bs;$(x)`y`' >want
	cmp want prep.tx-1
	eventually test -s done
	assert_equal "$(cat done)" "tx-1 a"
}

@test "2pc: daemon mode serves many concurrent clients" {
	start_part a
	start_part b
	start_coord a=a.sock b=b.sock
	local c i pids=()
	for c in 1 2 3 4 5 6 7 8; do
		for i in $(seq 20); do
			printf 'c%s-%s\ta=%s\tb=%s\n' "$c" "$i" "$i" "$c"
		done >"in$c"
		2pc-coord -C coord.sock <"in$c" >"out$c" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat out? | sort >all
	assert_equal "$(wc -l <all)" 160
	assert_equal "$(cut -f2 all | sort -u)" commit
	kill_daemon coord TERM
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cut -f1 a.out | sort)" "$(cut -f1 all)"
	assert_equal "$(cut -f1 b.out | sort)" "$(cut -f1 all)"
	[ ! -e coord.sock ]
}

@test "2pc: recovery with nothing to do exits 0; an undeliverable decision exits 3" {
	run 2pc-coord -l c.log </dev/null
	assert_success
	assert_output ""
	start_part a
	start_part b
	HAKIT_CRASH=coord.decided run 2pc-coord -l c.log a=a.sock b=b.sock <<<"$(printf 't1\ta=1\tb=2')"
	assert_failure 137
	crash_daemon b
	run 2pc-coord -t 1 -l c.log a=a.sock b=b.sock </dev/null
	assert_failure 3
	assert_output --partial "t1: commit not yet delivered"
	start_part b
	run 2pc-coord -l c.log a=a.sock b=b.sock </dev/null
	assert_success
	kill_daemon a TERM
	kill_daemon b TERM
	assert_equal "$(cat a.out)" "$(printf 't1\t1')"
	assert_equal "$(cat b.out)" "$(printf 't1\t2')"
}

@test "2pc: usage, version and socket rules" {
	run 2pc-coord -h
	assert_success
	assert_output --partial "usage: 2pc-coord"
	run 2pc-coord -x
	assert_failure 2
	run 2pc-part -l x.log
	assert_failure 2
	run 2pc-part -V
	assert_success
	assert_output --regexp '^2pc-part [0-9]'
	start_part a
	assert_equal "$(stat -c %a a.sock)" 600
	run 2pc-part -s a.sock -l other.log
	assert_failure 3
	assert_output --partial "a.sock: address in use"
	crash_daemon a
	[ -S a.sock ]
	start_part a -m 660
	assert_equal "$(stat -c %a a.sock)" 660
	kill_daemon a TERM
	[ ! -e a.sock ]
}

@test "2pc: HAKIT_TRACE shows every message with time, self, direction, peer" {
	start_part a
	HAKIT_TRACE=1 run --separate-stderr 2pc-coord -l c.log a=a.sock <<<"$(printf 't1\ta=x')"
	assert_success
	local id
	id=$(coord_id c.log)
	[[ $id =~ ^[0-9a-f]{16}$ ]]
	[[ "${stderr_lines[0]}" =~ ^[0-9]{13}\ 2pc-coord\ \>\ a\ RECOVER\ $id\ / ]]
	grep -Eq "^[0-9]{13} 2pc-coord > a PREPARE $id t1 1 a - a=/.*/a.sock x\$" <<<"$stderr"
	grep -Eq "^[0-9]{13} 2pc-coord < a VOTE $id t1 yes\$" <<<"$stderr"
	grep -Eq "^[0-9]{13} 2pc-coord > a COMMIT $id t1\$" <<<"$stderr"
	grep -Eq "^[0-9]{13} 2pc-coord < a ACK $id t1\$" <<<"$stderr"
}

@test "2pc: a failing commit hook is re-run until it succeeds" {
	# The hook fails twice, then records the payload.
	start_part a -c 'n=$(cat tries 2>/dev/null || echo 0); echo $((n + 1)) > tries; [ "$n" -ge 2 ] && cat > applied'
	run 2pc-coord -t 10 -l c.log a=a.sock <<<"$(printf 't1\ta=paid')"
	assert_success
	assert_output "$(printf 't1\tcommit')"
	# The coordinator finished only once the hook had succeeded.
	assert_equal "$(cat tries)" 3
	assert_equal "$(cat applied)" paid
	grep -q 't1: commit hook failed (status 1); retrying' a.err
}

@test "2pc: peers of another uid are refused unless -A" {
	start_part a -m 666
	# Refused: closed without a reply (socat may see EPIPE on stderr).
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups socat -t 2 - UNIX-CONNECT:a.sock <<<LIST
	assert_output ""
	grep -q 'refused a peer of uid 65534' a.err
	kill_daemon a TERM
	start_part a -m 666 -A
	run setpriv --reuid=65534 --regid=65534 --clear-groups socat -t 2 - UNIX-CONNECT:a.sock <<<LIST
	assert_output "LISTED 0"
}

@test "2pc: a client that cannot reach the coordinator exits 3" {
	run 2pc-coord -C nowhere.sock <<<"$(printf 't1\ta=1')"
	assert_failure 3
	assert_output --partial "nowhere.sock"
}

@test "2pc: a malformed HAKIT_CRASH is a usage error" {
	HAKIT_CRASH=part.prepared:0 run 2pc-part -s a.sock -l a.log
	assert_failure 2
	assert_output "2pc-part: HAKIT_CRASH: bad count: part.prepared:0"
	[ ! -e a.sock ]
}

@test "the README's two-phase commit snippet works pasted into a script" {
	awk '/^## Two-phase commit/ { f = 1 }
	    f && /^```sh$/ { b = 1; next }
	    b && /^```$/ { exit }
	    b' "$HAKIT_ROOT/README.md" >snippet.sh
	grep -q "2pc-coord -l c.log" snippet.sh
	run bash -c 'trap "kill \$(jobs -p) 2>/dev/null" EXIT; . ./snippet.sh 2>err'
	assert_success
	assert_output "$(printf 't1\tcommit\n-10\n10')"
}
