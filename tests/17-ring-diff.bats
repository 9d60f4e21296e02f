#!/usr/bin/env bats
# ring-diff: the migration plan for a ring change, the keys whose node
# changes, checked against ring-lookup on each ring.

load helper

# expected_diff OLD NEW KEYS [OPTION...]: the keys of file KEYS whose node
# differs between OLD and NEW, as ring-lookup places them on each.
expected_diff() {
	local old=$1 new=$2 keys=$3
	shift 3
	ring-lookup -f "$old" "$@" <"$keys" >before
	ring-lookup -f "$new" "$@" <"$keys" >after
	# The node is the last field (a key may hold a TAB).
	paste -d '\n' before after | awk '
	    { n = split($0, f, "\t"); node = f[n]; key = substr($0, 1, length($0) - length(node) - 1) }
	    NR % 2 == 1 { was = node; next }
	    node != was { print key "\t" was "\t" node }'
}

@test "ring-diff prints exactly the keys that change node, for every algorithm and hash" {
	printf 'mc1:11211\nmc2:11211 2\nmc3:11211\n' >old
	printf 'mc1:11211\nmc2:11211 3\nmc4:11211\nmc5:11211 2\n' >new
	printf 'a\nb\nc\n' >old-jump
	printf 'a\nb\nc\nd\n' >new-jump
	{ seq -f 'user:%g' 1 20000; printf 'key with spaces\nt\tab\n\xc3\xa9t\xc3\xa9\n'; } >keys
	for a in ketama maglev maglev:251 rendezvous jump; do
		o=old n=new
		[ "$a" = jump ] && o=old-jump n=new-jump
		for h in md5 fnv1a_64 crc32; do
			ring-diff -a "$a" -H "$h" "$o" "$n" <keys >plan
			expected_diff "$o" "$n" keys -a "$a" -H "$h" | diff -u - plan
			[ -s plan ]
		done
	done
	# mc3 leaves: every key it had is in the plan, from mc3.
	ring-diff old new <keys >plan
	[ "$(grep -c $'\tmc3:11211\t[^\t]*$' plan)" -eq "$(ring-lookup -f old <keys | grep -c $'\tmc3:11211$')" ]
	# ring-stats -c counts the same moves.
	ring-stats -f old -c new keys | grep -qx "keys moved	$(ring-diff old new <keys | wc -l)	.*"
}

@test "ring-diff: keys as operands, nothing for a ring compared with itself, a co-process answer" {
	printf 'a\nb\nc\n' >old
	printf 'a\nb\nc\nd\n' >new
	run ring-diff old old user:1 user:2 user:3
	assert_success
	assert_output ""
	moving=$(seq -f 'user:%g' 1 100 | ring-diff old new | head -1 | cut -f1)
	run ring-diff old new user:1 "$moving"
	assert_output "$(ring-diff old new <<<"$moving")"
	# One key in, its answer out, before the next key is written.
	coproc ring-diff old new
	pid=$COPROC_PID
	echo "$moving" >&"${COPROC[1]}"
	read -r -t 10 line <&"${COPROC[0]}"
	assert_equal "$line" "$(ring-diff old new "$moving")"
	exec {COPROC[1]}>&-
	wait "$pid"
}

@test "ring-diff: usage errors and bad input exit 2" {
	printf 'a\nb\n' >r
	printf 'a 2\nb\n' >w
	run ring-diff r
	assert_failure 2
	assert_output --partial "usage: ring-diff"
	run ring-diff r missing k
	assert_failure 2
	assert_output --partial "missing"
	run ring-diff -a jump w r k
	assert_failure 2
	run ring-diff -H sha1 r r k
	assert_failure 2
	run ring-diff -a rendezvous r w < <(printf 'k1\nbad\0key\n')
	assert_failure 2
	assert_output --partial "stdin:2: key contains a NUL byte"
	run ring-diff -h
	assert_success
	assert_output "usage: ring-diff [-hV] [-a algo] [-H hash] old new [key ...]"
}
