#!/usr/bin/env bats
# The readers of etcd's v3 JSON gateway: JSON documents, base64 and HTTP/1.1
# responses, checked by tests/unit/json-http, a table of cases built by
# `make faults` (so by `make check`).  Every HTTP case is also fed a byte at
# a time, cut in two at every offset and read into a one-byte body buffer.

load helper

JSON_HTTP="$HAKIT_ROOT/tests/unit/json-http"

@test "parsers: every case of the table reads as expected" {
	[ -x "$JSON_HTTP" ] || fail "missing $JSON_HTTP: run make faults"
	run "$JSON_HTTP"
	assert_success
	assert_output --regexp '^([0-9]+) of \1 cases passed$'
}

@test "parsers: a wrong expectation fails, and the case is named" {
	[ -x "$JSON_HTTP" ] || fail "missing $JSON_HTTP: run make faults"
	# A lease id is read exactly: one off in the last digit is a failure.
	run "$JSON_HTTP" "int: a lease id as a string, every digit kept" \
	    7587899285589627140
	assert_failure 1
	assert_line "FAIL int: a lease id as a string, every digit kept"
	assert_line "  got:  7587899285589627141"
	assert_line --regexp '^([0-9]+) of ([0-9]+) cases passed$'
	refute_line --regexp '^([0-9]+) of \1 cases passed$'
	# So is a wrong HTTP reading, however the response was cut.
	run "$JSON_HTTP" "http: two responses back to back" "200 ab"
	assert_failure 1
	assert_line "FAIL http: two responses back to back"
	assert_line "  got:  200 ab | 200 cd"
	# The right expectation given the same way passes.
	run "$JSON_HTTP" "http: two responses back to back" "200 ab | 200 cd"
	assert_success
	# A case that does not exist is a usage error, not a pass.
	run "$JSON_HTTP" "no such case" x
	assert_failure 2
	assert_output --partial "no case named 'no such case'"
}
