#!/usr/bin/env bats
# ring-add and ring-remove: atomic, all-or-nothing, safe under concurrency.

load helper

@test "ring-add creates the ring, appends nodes and keeps comments" {
	run ring-add -f ring a b
	assert_success
	assert_equal "$(cat ring)" "$(printf 'a\nb')"
	printf '# tier 1\na\n\n# tier 2\nb  # old box\n' >ring
	ring-add -f ring -w 3 c
	assert_equal "$(cat ring)" "$(printf '# tier 1\na\n\n# tier 2\nb  # old box\nc 3')"
	ring-add -f ring -w 2 b
	assert_equal "$(cat ring)" "$(printf '# tier 1\na\n\n# tier 2\nb 2  # old box\nc 3')"
	ring-add -f ring -w 1 b
	assert_equal "$(cat ring)" "$(printf '# tier 1\na\n\n# tier 2\nb  # old box\nc 3')"
}

@test "without -w a node already there keeps its weight" {
	printf 'mc1:11211\nmc4:11211 2\n' >ring
	before=$(stat -c %i:%Y ring)
	run ring-add -f ring mc4:11211
	assert_success
	assert_equal "$(cat ring)" "$(printf 'mc1:11211\nmc4:11211 2')"
	[ "$(stat -c %i:%Y ring)" = "$before" ]
	# New nodes beside it get weight 1; -w sets every node named.
	ring-add -f ring mc4:11211 mc5:11211
	assert_equal "$(cat ring)" "$(printf 'mc1:11211\nmc4:11211 2\nmc5:11211')"
	ring-add -f ring -w 3 mc4:11211 mc5:11211
	assert_equal "$(cat ring)" "$(printf 'mc1:11211\nmc4:11211 3\nmc5:11211 3')"
}

@test "adding a node already there with the same weight changes nothing" {
	printf 'a\nb 2\n' >ring
	before=$(stat -c %i:%Y ring)
	run ring-add -f ring a
	assert_success
	run ring-add -f ring -w 2 b
	assert_success
	[ "$(stat -c %i:%Y ring)" = "$before" ]
}

@test "a file without a final newline gets one before the new node" {
	printf 'a' >ring
	ring-add -f ring b
	assert_equal "$(cat ring)" "$(printf 'a\nb')"
}

@test "bad node names and weights are refused before the ring is touched" {
	run ring-add -f ring "a b"
	assert_failure 2
	assert_output --partial "bad node name 'a b'"
	run ring-add -f ring "#x"
	assert_failure 2
	run ring-add -f ring ""
	assert_failure 2
	run ring-add -f ring -w 0 a
	assert_failure 2
	assert_output --partial "bad weight '0'"
	[ ! -e ring ]
}

@test "ring-remove is all or nothing" {
	printf 'a\nb\nc\n' >ring
	cp ring before
	run ring-remove -f ring a nosuch c
	assert_failure 1
	assert_output --partial "no node 'nosuch'"
	cmp ring before
	run ring-remove -f ring a c
	assert_success
	assert_equal "$(cat ring)" "b"
	run ring-remove -f missing a
	assert_failure 2
	assert_output --partial "missing: No such file or directory"
	[ ! -e missing ]
}

@test "removing a node drops only its line" {
	printf '# keep\na 2 # first\nb\n# keep too\nc\n' >ring
	ring-remove -f ring a
	assert_equal "$(cat ring)" "$(printf '# keep\nb\n# keep too\nc')"
}

@test "updates leave no temporary files and keep the file mode" {
	printf 'a\n' >ring
	chmod 640 ring
	ring-add -f ring b
	ring-remove -f ring a
	[ "$(stat -c %a ring)" = 640 ]
	[ "$(ls -A | tr '\n' ' ')" = "ring " ]
}

@test "20 concurrent ring-add processes leave exactly 20 nodes" {
	for i in $(seq 1 20); do
		ring-add -f ring "node$i" &
	done
	wait
	[ "$(wc -l <ring)" -eq 20 ]
	[ "$(sort -u ring | wc -l)" -eq 20 ]
	for i in $(seq 1 20); do grep -qx "node$i" ring; done
	run ring-lookup -f ring -n 20 k
	assert_success
	[ "$(ls -A | tr '\n' ' ')" = "ring " ]
}

@test "concurrent adds and removes lose no update" {
	printf 'keep%d\n' $(seq 1 10) >ring
	for i in $(seq 1 10); do
		ring-add -f ring "new$i" &
		ring-remove -f ring "keep$i" &
	done
	wait
	assert_equal "$(sort ring | tr '\n' ' ')" "$(printf 'new%d\n' $(seq 1 10) | sort | tr '\n' ' ')"
}

@test "ring-add killed at random moments never leaves a torn ring" {
	ring-add -f ring base
	for i in $(seq 1 40); do
		ring-add -f ring "node$i" &
		pid=$!
		# (the writer may have finished already: then kill fails)
		((i % 3)) && { kill -9 "$pid" 2>/dev/null || true; }
		wait "$pid" || true
		# the ring is always whole: it parses, and every line is a node
		run ring-lookup -f ring -n 1 k
		assert_success
		run grep -cvxE 'base|node[0-9]+' ring
		assert_output 0
	done
	grep -qx base ring
	# temporaries of killed writers are swept by the next update
	: >.ring.AbC123
	ring-add -f ring last
	[ "$(ls -A | tr '\n' ' ')" = "ring " ]
}
