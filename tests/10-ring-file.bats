#!/usr/bin/env bats
# Ring files: what is accepted, and how bad files are refused.

load helper

# refused RING PATTERN: ring-lookup refuses RING with exit 2 and a message
# matching PATTERN (which names the file and line).
refused() {
	run ring-lookup -f "$1" somekey
	assert_failure 2
	assert_output --regexp "$2"
	refute_output --partial somekey
}

@test "comments, blank lines, blanks and weights are accepted" {
	printf '# cache tier\n\n  a\t2  # big\nb\r\n#c\nd 1 #x\n' >ring
	run ring-lookup -f ring -n 3 k
	assert_success
	[ "$(cut -f2- <<<"$output" | tr '\t' '\n' | sort | tr '\n' ' ')" = "a b d " ]
}

@test "a duplicate node names both lines" {
	printf 'a\nb\n# x\na 2\n' >ring
	refused ring "ring:4: duplicate node 'a' \(first on line 1\)"
}

@test "bad weights: 0, -1, 1e99, text, too large" {
	for w in 0 -1 1e99 heavy 1000001 1.5; do
		printf 'a\nb %s\n' "$w" >ring
		refused ring "ring:2: bad weight '$w'"
	done
	printf 'a 1 2\n' >ring
	refused ring "ring:1: extra field '2'"
}

@test "a NUL byte, a 1 MB line and a directory are refused" {
	printf 'a\nb\0c\n' >ring
	refused ring 'ring:2: NUL byte'
	{ echo a; head -c 1000000 /dev/zero | tr '\0' n; echo; } >ring
	refused ring 'ring:2: line longer than 4096 bytes'
	mkdir dir
	refused dir 'dir: Is a directory'
}

@test "a missing ring and an empty ring get clear errors" {
	refused nosuch 'nosuch: No such file or directory'
	printf '# nothing yet\n\n' >ring
	refused ring 'ring: the ring has no nodes'
	: >ring
	refused ring 'ring: the ring has no nodes'
}

@test "ring-add and ring-remove refuse a bad ring and leave it alone" {
	printf 'a\na\n' >ring
	cp ring before
	run ring-add -f ring b
	assert_failure 2
	assert_output --partial "ring:2: duplicate node 'a'"
	run ring-remove -f ring a
	assert_failure 2
	cmp ring before
	mkdir dir
	run ring-add -f dir b
	assert_failure 2
	assert_output --partial "dir:"
}

@test "every ring tool's -h prints its man page's SYNOPSIS; the pages render with quotes and brackets paired" {
	run "$HAKIT_ROOT/tests/man-check" "$HAKIT_ROOT"/man/man1/ring-*.1
	assert_success
	assert_output ""
	[ -e "$HAKIT_ROOT/man/man1/ring-diff.1" ]
}
