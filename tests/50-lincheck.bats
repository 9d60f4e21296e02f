#!/usr/bin/env bats
# lincheck, the linearizability checker of the tests: hand-made histories
# it must accept, histories it must refuse, and malformed ones.  Each
# history is laid out in columns (PROCESS TYPE KEY VALUE INVOKE COMPLETE
# STATUS) and its spaces turned into TABs.

load helper

lincheck() {
	"$HAKIT_ROOT/tests/lincheck/lincheck" "$@"
}

# history FILE: writes stdin to FILE, each run of spaces made one TAB.
history() {
	tr -s ' ' '\t' >"$1"
}

millis() {
	echo $(($(date +%s%N) / 1000000))
}

# simulate SEED N: prints N operations of 4 clients on a register that
# really is linearizable: each operation takes effect at one tick inside
# its interval.  Of the puts, 3% time out having taken effect, 3% time out
# having not, and 2% fail.
simulate() {
	awk -v seed="$1" -v n="$2" '
	BEGIN {
		srand(seed); reg = "-"; started = done = t = 0
		while (done < n) {
			t++
			for (p = 1; p <= 4; p++) {
				if (!(p in type) && started < n) {
					started++
					r = rand()
					type[p] = r < .45 ? "put" : r < .95 ? "get" : "del"
					inv[p] = t; eff[p] = t + 1 + int(rand() * 3)
					end[p] = eff[p] + int(rand() * 3)
					val[p] = "-"; st[p] = "ok"; took[p] = 1
					if (type[p] == "put") {
						val[p] = "c" p "-" t; r = rand()
						if (r < .06) st[p] = "unknown"
						if (r < .03) took[p] = 0
						if (r >= .06 && r < .08) { st[p] = "fail"; took[p] = 0 }
					}
				}
				if (!(p in type))
					continue
				if (eff[p] == t && took[p]) {
					if (type[p] == "put") reg = val[p]
					else if (type[p] == "del") reg = "-"
					else { val[p] = reg; if (reg == "-") st[p] = "absent" }
				}
				if (end[p] == t) {
					printf "c%d\t%s\tk\t%s\t%d\t%s\t%s\n", p, type[p],
					    val[p], inv[p], st[p] == "unknown" ? "-" : end[p], st[p]
					delete type[p]; done++
				}
			}
		}
	}'
}

@test "a sequential history, with comments and blank lines" {
	history h <<-EOF
	# one client writes and reads back
	p1 put x a 10 20 ok
	p1 get x a 30 40 ok

	p1 put x b 50 60 ok
	p1 get x b 70 80 ok
	EOF
	run lincheck h
	assert_success
	assert_output "lincheck: 4 operations (4 ok, 0 unknown, 0 fail) on 1 keys: linearizable"
	run lincheck <h
	assert_success
}

@test "two overlapping puts may take effect in either order" {
	history a-last <<-EOF
	p1 put x a 10 50 ok
	p2 put x b 20 60 ok
	p3 get x a 70 80 ok
	EOF
	history b-last <<-EOF
	p1 put x a 10 50 ok
	p2 put x b 20 60 ok
	p3 get x b 70 80 ok
	EOF
	run lincheck a-last
	assert_success
	run lincheck b-last
	assert_success
	assert_output "lincheck: 3 operations (3 ok, 0 unknown, 0 fail) on 1 keys: linearizable"
}

@test "a put whose outcome is unknown, seen by later reads, took effect" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 put x b 30 - unknown
	p1 get x a 40 50 ok
	p1 get x b 60 70 ok
	p3 get x b 80 90 ok
	EOF
	run lincheck h
	assert_success
	assert_output "lincheck: 5 operations (4 ok, 1 unknown, 0 fail) on 1 keys: linearizable"
}

@test "a put or a del whose outcome is unknown, never seen, may not have happened" {
	history put <<-EOF
	p1 put x a 10 20 ok
	p2 put x b 30 - unknown
	p1 get x a 40 50 ok
	p1 get x a 1000 1010 ok
	EOF
	history del <<-EOF
	p1 put x a 10 20 ok
	p2 del x - 30 35 unknown
	p1 get x a 40 50 ok
	EOF
	run lincheck put
	assert_success
	assert_output "lincheck: 4 operations (3 ok, 1 unknown, 0 fail) on 1 keys: linearizable"
	run lincheck del
	assert_success
}

@test "a failed put is never seen" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 put x b 30 40 fail
	p1 get x a 50 60 ok
	EOF
	run lincheck h
	assert_success
	assert_output "lincheck: 3 operations (2 ok, 0 unknown, 1 fail) on 1 keys: linearizable"
}

@test "operations that meet at one tick count as concurrent" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 get x - 20 30 absent
	EOF
	run lincheck h
	assert_success
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 get x - 21 30 absent
	EOF
	run lincheck h
	assert_failure 1
}

@test "several keys are checked each on its own" {
	history h <<-EOF
	p1 put x 1 10 20 ok
	p2 put y 1 12 22 ok
	p3 put z 1 14 24 ok
	p1 put y 2 30 40 ok
	p2 get x 1 32 42 ok
	p3 get y 2 45 50 ok
	p1 get z 1 45 50 ok
	p2 get y 2 45 50 ok
	EOF
	run lincheck -v h
	assert_success
	assert_output - <<-EOF
	lincheck: key x: 2 operations: linearizable
	lincheck: key y: 4 operations: linearizable
	lincheck: key z: 2 operations: linearizable
	lincheck: 8 operations (8 ok, 0 unknown, 0 fail) on 3 keys: linearizable
	EOF
}

@test "a key starts absent, and a del makes it absent again" {
	history h <<-EOF
	p1 get x - 1 2 absent
	p1 put x a 10 20 ok
	p2 get x a 25 30 ok
	p2 del x - 40 50 ok
	p1 get x - 60 70 absent
	EOF
	run lincheck h
	assert_success
	assert_output "lincheck: 5 operations (5 ok, 0 unknown, 0 fail) on 1 keys: linearizable"
}

@test "3000 operations of 4 clients on a linearizable register check quickly" {
	simulate 7 3000 >h
	[ "$(grep -c unknown h)" -gt 30 ]
	[ "$(grep -c fail h)" -gt 10 ]
	start=$(millis)
	run lincheck -t 30 h
	took=$(($(millis) - start))
	assert_success
	assert_output --regexp '^lincheck: 3000 operations \([0-9]+ ok, [0-9]+ unknown, [0-9]+ fail\) on 1 keys: linearizable$'
	echo "took $took ms"
	[ "$took" -lt 2000 ]
}

@test "a stale read: the old value after a newer put completed" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p1 put x b 30 40 ok
	p2 get x a 50 60 ok
	EOF
	run lincheck h
	assert_failure 1
	assert_output - <<-EOF
	lincheck: key x: not linearizable
	  longest linearizable prefix: 2 of 3 operations, leaving x = b
	    line 1: p1	put	x	a	10	20	ok
	    line 2: p1	put	x	b	30	40	ok
	  none of these can come next:
	    line 3: p2	get	x	a	50	60	ok
	EOF
}

@test "a read of a value never written" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 get x zzz 15 25 ok
	EOF
	run lincheck h
	assert_failure 1
	assert_line --index 0 "lincheck: key x: not linearizable"
	assert_line --index 1 "  longest linearizable prefix: 1 of 2 operations, leaving x = a"
	assert_line --index 4 $'    line 2: p2\tget\tx\tzzz\t15\t25\tok'
}

@test "a lost acknowledged write: the key absent after its put completed" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 get x - 30 40 absent
	EOF
	run lincheck h
	assert_failure 1
	assert_line --index 0 "lincheck: key x: not linearizable"
	assert_line --index 4 $'    line 2: p2\tget\tx\t-\t30\t40\tabsent'
}

@test "a failed put whose value is read later" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 put x b 30 40 fail
	p1 get x b 50 60 ok
	EOF
	run lincheck h
	assert_failure 1
	assert_line --index 0 "lincheck: key x: not linearizable"
	assert_line --index 4 $'    line 3: p1\tget\tx\tb\t50\t60\tok'
}

@test "a new-old inversion: each read alone is fine, the two together are not" {
	history h <<-EOF
	p1 put x a 0 10 ok
	p2 put x b 5 100 ok
	p3 get x b 20 30 ok
	p4 get x a 40 50 ok
	EOF
	grep -v p4 h >new-only
	grep -v p3 h >old-only
	run lincheck new-only
	assert_success
	run lincheck old-only
	assert_success
	run lincheck h
	assert_failure 1
	assert_output - <<-EOF
	lincheck: key x: not linearizable
	  longest linearizable prefix: 3 of 4 operations, leaving x = b
	    line 1: p1	put	x	a	0	10	ok
	    line 2: p2	put	x	b	5	100	ok
	    line 3: p3	get	x	b	20	30	ok
	  none of these can come next:
	    line 4: p4	get	x	a	40	50	ok
	EOF
}

@test "an unknown put, once seen, cannot be undone" {
	history h <<-EOF
	p1 put x a 10 20 ok
	p2 put x b 30 - unknown
	p1 get x b 40 50 ok
	p3 get x a 60 70 ok
	EOF
	run lincheck h
	assert_failure 1
	assert_line --index 0 "lincheck: key x: not linearizable"
	assert_line --index 1 "  longest linearizable prefix: 3 of 4 operations, leaving x = b"
	assert_line --index 6 $'    line 4: p3\tget\tx\ta\t60\t70\tok'
}

@test "only the keys that are wrong are named" {
	history h <<-EOF
	p1 put x 1 10 20 ok
	p2 put y 1 10 20 ok
	p1 put y 2 30 40 ok
	p2 get x 1 50 60 ok
	p1 get y 1 50 60 ok
	p2 put z 1 70 80 ok
	p1 get z - 90 95 absent
	EOF
	run lincheck h
	assert_failure 1
	assert_equal "$(grep '^lincheck' <<<"$output")" "$(printf '%s\n' \
	    'lincheck: key y: not linearizable' \
	    'lincheck: key z: not linearizable')"
}

@test "3000 operations with one stale read at the end fail quickly, naming the read" {
	simulate 7 3000 >h
	last=$(awk -F'\t' '$6 != "-" && $6 > m { m = $6 } END { print m }' h)
	first=$(awk -F'\t' '$2 == "put" && $7 == "ok" { print $4; exit }' h)
	history end <<-EOF
	c1 put k final $((last + 1)) $((last + 2)) ok
	c2 get k $first $((last + 3)) $((last + 4)) ok
	EOF
	cat end >>h
	start=$(millis)
	run lincheck -t 30 h
	took=$(($(millis) - start))
	assert_failure 1
	assert_line --index 0 "lincheck: key k: not linearizable"
	assert_line --partial 'longest linearizable prefix: '
	assert_equal "${lines[-1]}" "    line 3002: $(tail -1 h)"
	assert_line --regexp '^    \([0-9]+ earlier operations; -v shows them\)$'
	echo "took $took ms"
	[ "$took" -lt 2000 ]
	run lincheck -v h
	assert_failure 1
	refute_output --partial 'earlier operations'
}

# unknown_reads N: N unknown puts, each seen by a read, all concurrent, and
# a final read of a value never written: to say no, a search must rule
# out every order of them.
unknown_reads() {
	for i in $(seq "$1"); do
		printf 'w%d\tput\tk\tu%d\t1\t-\tunknown\n' "$i" "$i"
		printf 'r%d\tget\tk\tu%d\t2\t100\tok\n' "$i" "$i"
	done
	printf 'z\tget\tk\tnever\t200\t210\tok\n'
}

@test "remembering configurations keeps a failing search short" {
	unknown_reads 9 >h
	start=$(millis)
	run lincheck -t 5 h
	took=$(($(millis) - start))
	assert_failure 1
	assert_line --index 0 "lincheck: key k: not linearizable"
	assert_line --index 1 "  longest linearizable prefix: 18 of 19 operations, leaving k = u9"
	echo "took $took ms"
	[ "$took" -lt 2000 ]
}

@test "a search that passes its memory or time bound gives up and says so" {
	unknown_reads 14 >h
	run lincheck -m 1 -t 30 h
	assert_failure 3
	assert_output "lincheck: key k: gave up: the search needs more than 1 MiB (-m); linearizability unknown"
	start=$(millis)
	run lincheck -t 1 h
	took=$(($(millis) - start))
	assert_failure 3
	assert_output "lincheck: key k: gave up: the search takes more than 1 s (-t); linearizability unknown"
	[ "$took" -lt 5000 ]
}

@test "malformed lines are refused with their file and line" {
	good=$'p1\tput\tx\ta\t10\t20\tok'
	while IFS='|' read -r line message; do
		printf '# a history\n%s\n%s\n' "$good" "$line" >h
		run lincheck h
		assert_failure 2
		assert_output "lincheck: h:3: $message"
	done <<-EOF
	p1	put	x	a	10	20|6 fields, expected 7 separated by TABs
	p1	put	x	a	10	20	ok	extra|8 fields, expected 7 separated by TABs
	p1 put x a 10 20 ok|1 fields, expected 7 separated by TABs
	p1	cas	x	a	10	20	ok|unknown type 'cas'
	p1	put	x	a	10	20	done|unknown status 'done'
	p1	put		a	10	20	ok|empty KEY field
	p1	put	x	a	10	20	absent|status absent on a put
	p1	put	x	a	ten	20	ok|bad INVOKE time 'ten'
	p1	put	x	a	-5	20	ok|bad INVOKE time '-5'
	p1	put	x	a	30	2x	ok|bad COMPLETE time '2x'
	p1	put	x	a	30	20	ok|COMPLETE 20 is before INVOKE 30
	p1	get	x	a	30	-	ok|status ok needs a COMPLETE time
	p1	put	x	a	30	-	fail|status fail needs a COMPLETE time
	p1	put	x	b	15	25	ok|process p1 starts while its operation on line 2 runs
	EOF
	printf '%s\np2\tget\tx\ta\0b\t30\t40\tok\n' "$good" >h
	run lincheck h
	assert_failure 2
	assert_output "lincheck: h:2: NUL byte"
	run lincheck - <<<"p1 put x a 1 2 ok"
	assert_failure 2
	assert_output "lincheck: stdin:1: 1 fields, expected 7 separated by TABs"
}

# bad_usage ARG...: lincheck refuses ARG... with its usage and exit 2.
bad_usage() {
	run lincheck "$@"
	assert_failure 2
	assert_equal "${lines[-1]}" "usage: lincheck [-hv] [-m mib] [-t seconds] [file]"
}

@test "usage: -h, bad options and operands, a missing file" {
	run lincheck -h
	assert_success
	assert_output "usage: lincheck [-hv] [-m mib] [-t seconds] [file]"
	bad_usage -x
	bad_usage -m 0
	bad_usage -m lots
	bad_usage -m 16385
	bad_usage -t 0
	bad_usage a b
	run lincheck nosuch
	assert_failure 2
	assert_output "lincheck: nosuch: No such file or directory"
	: >empty
	run lincheck empty
	assert_success
	assert_output "lincheck: 0 operations (0 ok, 0 unknown, 0 fail) on 0 keys: linearizable"
}
