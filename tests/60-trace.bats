#!/usr/bin/env bats
# hakit-trace draws merged HAKIT_TRACE lines as a sequence diagram.  The
# fixtures are traces of real runs (tests/fixtures/make-traces.sh); the
# goldens are what hakit-trace drew from them, checked by eye.

load helper

fx=$BATS_TEST_DIRNAME/fixtures

# drawn_in_causal_order FILE...: hakit-trace draws the trace files FILE...
# (one per process) with every message paired, and each process's sends
# after everything that came before them in its own file: a reply after
# its request, a COMMIT after the ACKs it waited for.  The diagram is
# read back column by column (16 wide after an 8-column gutter at -w 1000).
drawn_in_causal_order() {
	local f
	hakit-trace -w 1000 "$@" >diagram || return 1
	# Random ids are drawn by their first four digits: compare so.
	mkdir -p short
	for f in "$@"; do
		sed -E 's/(^| )([0-9a-f]{4})[0-9a-f]{8,}( |$)/\1\2..\3/g;
		    s/(^| )([0-9a-f]{4})[0-9a-f]{8,}( |$)/\1\2..\3/g' \
		    "$f" >"short/${f##*/}"
	done
	(cd short && awk "$causal_order" ../diagram "${@##*/}")
}

causal_order=$(cat <<'AWK'
# The diagram first: its header names the columns, each 16 wide after an
# 8-column gutter, so column c is centred at 17 + 16c.
NR == FNR {
	if (FNR == 1) {
		ncol = NF - 1
		for (i = 2; i <= NF; i++)
			name[i - 2] = $i
		next
	}
	area = substr($0, 9, 16 * ncol)
	lab = substr($0, 8 + 16 * ncol + 2)
	if (area ~ /\?>|-x/) {
		print "unpaired: " $0
		bad = 1
		next
	}
	if ((p = index(area, "->")) > 0) {
		for (s = p; substr(area, s - 1, 1) == "-"; s--)
			;
		from = (s - 1 - 9) / 16
		to = (p + 2 - 9) / 16
	} else if ((p = index(area, "<-")) > 0) {
		for (e = p + 1; substr(area, e + 1, 1) == "-"; e++)
			;
		to = (p - 1 - 9) / 16
		from = (e + 1 - 9) / 16
	} else
		next
	add_row(name[from], ">" lab)
	add_row(name[to], "<" lab)
	next
}
/^[0-9]+ [^ ]+ [<>] / {
	msg = $0
	sub(/^[0-9]+ [^ ]+ [<>] [^ ]+ /, "", msg)
	item[$2, ++nitem[$2]] = $3 msg
}
function add_row(p, what) {
	k = ++nrow[p]
	at[p, what, ++seen[p, what]] = k
}
END {
	for (c = 0; c < ncol; c++) {
		p = name[c]
		last = 0
		delete count
		for (j = 1; j <= nitem[p]; j++) {
			what = item[p, j]
			k = at[p, what, ++count[what]]
			if (k == 0) {
				print p ": not drawn: " what
				bad = 1
			} else if (what ~ /^>/ && k < last) {
				print p ": sent " what " drawn before what came before it"
				bad = 1
			}
			if (k > last)
				last = k
		}
	}
	exit bad
}
AWK
)

@test "hakit-trace: a 2PC run with a coordinator crash, as text" {
	run hakit-trace "$fx/2pc-crash.trace"
	assert_success
	diff -u "$fx/2pc-crash.txt" <(printf '%s\n' "$output")
	assert_output --partial "X       2pc-coord: crash coord.decided"
	assert_output --partial "2pc-coord: restart"
}

@test "hakit-trace: a 2PC run as SVG is well-formed and matches its golden" {
	hakit-trace -T svg "$fx/2pc-crash.trace" >out.svg
	xmllint --noout out.svg
	diff -u "$fx/2pc-crash.svg" out.svg
}

@test "hakit-trace: a failover, as text and SVG" {
	run hakit-trace "$fx/failover.trace"
	assert_success
	diff -u "$fx/failover.txt" <(printf '%s\n' "$output")
	assert_output --partial "p.sock: crash primary.appended"
	assert_output --partial "p.sock: restart"
	hakit-trace -T svg "$fx/failover.trace" >out.svg
	xmllint --noout out.svg
	diff -u "$fx/failover.svg" out.svg
}

@test "hakit-trace: text fits the width asked for" {
	local w
	for w in 80 120; do
		hakit-trace -w "$w" "$fx/failover.trace" >out.txt
		run awk -v w="$w" 'length > w' out.txt
		assert_output ""
	done
}

@test "hakit-trace: a live 2PC run's traces, given as files, are drawn" {
	export HAKIT_TRACE=1
	start_part a
	start_part b
	printf 't1\ta=x\tb=y\n' | 2pc-coord -l coord.log a=a.sock b=b.sock 2>coord.err
	run hakit-trace a.err b.err coord.err
	assert_success
	# (Messages about a transaction may name its coordinator before it.)
	assert_output --regexp 'PREPARE ([0-9a-f]+(\.\.)? )?t1'
	assert_output --regexp 'ACK ([0-9a-f]+(\.\.)? )?t1'
	hakit-trace -T svg a.err b.err coord.err | xmllint --noout -
}

@test "hakit-trace: exit status 1 without trace lines, 2 on bad usage, 3 if strict and a message lost" {
	run hakit-trace </dev/null
	assert_failure 1
	run hakit-trace -T png "$fx/failover.trace"
	assert_failure 2
	run hakit-trace no-such-file
	assert_failure 2
	run hakit-trace -s "$fx/failover.trace"
	assert_failure 3
	assert_output --partial "1 messages with an end missing"
	run hakit-trace -s "$fx/2pc-crash.trace"
	assert_success
}

@test "hakit-trace: a 2PC run traced one file per process is drawn in causal order, whatever the files' order" {
	export HAKIT_TRACE=1
	start_part a
	start_part b
	printf 't%s\ta=-1\tb=1\n' 1 2 3 | 2pc-coord -l coord.log a=a.sock b=b.sock 2>coord.err
	kill_daemon a TERM
	kill_daemon b TERM
	for files in "a.err b.err coord.err" "coord.err b.err a.err" "b.err coord.err a.err"; do
		drawn_in_causal_order $files
		hakit-trace -s $files >/dev/null
	done
	# So the coordinator's decision comes after both votes.
	run sh -c "grep -oE '(VOTE|COMMIT) ([0-9a-f]+(\.\.)? )?t3' diagram | cut -d' ' -f1"
	assert_output "$(printf 'VOTE\nVOTE\nCOMMIT\nCOMMIT')"
}

@test "hakit-trace: a replication run traced one file per process draws each COMMIT after the ACK it waits for" {
	export HAKIT_TRACE=1
	start_daemon p repl-primary -d p -s p.sock -L lease -r 3
	start_daemon b repl-backup -d b -s b.sock -L lease -r 3
	for i in 1 2 3; do
		repl-client -L lease put "k$i" "v$i" >/dev/null 2>>client.err
	done
	kill_daemon b TERM
	kill_daemon p TERM
	for files in "p.err b.err client.err" "client.err b.err p.err"; do
		drawn_in_causal_order $files
		# The last write's messages, by their first word (the labels
		# start at column 58 with three columns).
		run sh -c "cut -c58- diagram | awk '/^PUT .*k3/ { on = 1 } on { print \$1 }'"
		assert_output --regexp $'^PUT\nREC\nACK\n(COMMIT\nOK|OK\nCOMMIT)$'
	done
}

@test "hakit-trace: clocks that disagree: receipts still follow their sends, and each row keeps its sender's time" {
	# The coordinator's clock is right, a's is 500 ms behind, b's 300 ms ahead.
	printf '%s\n' '1000 2pc-coord > a PREPARE t1 a' '1000 2pc-coord > b PREPARE t1 b' \
	    '1012 2pc-coord < a VOTE t1 yes' '1013 2pc-coord < b VOTE t1 yes' \
	    '1014 2pc-coord > a COMMIT t1' '1014 2pc-coord > b COMMIT t1' \
	    '1020 2pc-coord < a ACK t1' '1021 2pc-coord < b ACK t1' >coord.trace
	printf '%s\n' '501 a.sock < coord PREPARE t1 a' '511 a.sock > coord VOTE t1 yes' \
	    '515 a.sock < coord COMMIT t1' '519 a.sock > coord ACK t1' >a.trace
	printf '%s\n' '1301 b.sock < coord PREPARE t1 b' '1312 b.sock > coord VOTE t1 yes' \
	    '1315 b.sock < coord COMMIT t1' '1320 b.sock > coord ACK t1' >b.trace
	for files in "a.trace b.trace coord.trace" "b.trace coord.trace a.trace"; do
		run hakit-trace -s $files
		assert_success
		assert_output - <<'DIAGRAM'
msec      2pc-coord     a.sock       b.sock    
+0            |----------->|            |       PREPARE t1 a
+0            |------------------------>|       PREPARE t1 b
-489          |<-----------|            |       VOTE t1 yes
+312          |<------------------------|       VOTE t1 yes
+14           |----------->|            |       COMMIT t1
+14           |------------------------>|       COMMIT t1
-481          |<-----------|            |       ACK t1
+320          |<------------------------|       ACK t1
DIAGRAM
	done
}

@test "hakit-trace: -h prints the man page's SYNOPSIS; the page renders with quotes and brackets paired" {
	run "$HAKIT_ROOT/tests/man-check" "$HAKIT_ROOT/man/man1/hakit-trace.1"
	assert_success
	assert_output ""
	# The example of a kill line keeps its spaced "!".
	mandoc -Tutf8 "$HAKIT_ROOT/man/man1/hakit-trace.1" | grep -q ' p.sock ! crash kill -9'
}

@test "hakit-trace: two messages that cross are both drawn, the one sent first first" {
	# The primary streams record 2 while the backup acknowledges record 1.
	printf '%s\n' '100 p.sock > client REC 2' '103 p.sock < client ACK 1' >p.trace
	printf '%s\n' '101 b.sock > primary ACK 1' '102 b.sock < primary REC 2' >b.trace
	for files in "p.trace b.trace" "b.trace p.trace"; do
		run hakit-trace -s $files
		assert_success
		assert_output - <<'DIAGRAM'
msec         p.sock          b.sock     
+0              |-------------->|        REC 2
+1              |<--------------|        ACK 1
DIAGRAM
	done
}

@test "hakit-trace: a message too long for the line is cut between words, never mid-path" {
	printf '%s\n' \
		'1000 a.sock > b.sock PREPARE 0123456789abcdef t5 5 red - red=/tmp/some/long/directory/red.sock,green=/tmp/some/long/directory/green.sock 7' \
		'1001 b.sock < a.sock PREPARE 0123456789abcdef t5 5 red - red=/tmp/some/long/directory/red.sock,green=/tmp/some/long/directory/green.sock 7' >t.trace
	run hakit-trace t.trace
	assert_success
	assert_output --partial "PREPARE 0123.. t5 5 red - ..."
	refute_output --partial "/tmp/some/long"
	run hakit-trace -w 300 t.trace
	assert_output --partial "green=/tmp/some/long/directory/green.sock 7"
}

@test "hakit-trace: random ids are shown by their first four hex digits" {
	printf '%s\n' '1 a > b COMMIT 0123456789abcdef t1' '2 b < a COMMIT 0123456789abcdef t1' \
		'3 a > b PUT 0123456789abcdefx k' '4 b < a PUT 0123456789abcdefx k' >t.trace
	run hakit-trace t.trace
	assert_output --partial "COMMIT 0123.. t1"
	assert_output --partial "PUT 0123456789abcdefx k"
	hakit-trace -T svg t.trace | grep -q "COMMIT 0123.. t1"
}
