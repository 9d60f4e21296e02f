#!/usr/bin/env bats
# hakit-trace draws merged HAKIT_TRACE lines as a sequence diagram.  The
# fixtures are traces of real runs (tests/fixtures/make-traces.sh); the
# goldens are what hakit-trace drew from them, checked by eye.

load helper

fx=$BATS_TEST_DIRNAME/fixtures

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
	assert_output --partial "PREPARE t1"
	assert_output --partial "ACK t1"
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
