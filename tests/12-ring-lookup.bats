#!/usr/bin/env bats
# ring-lookup: ketama placement that agrees with twemproxy and libmemcached
# bit for bit, checked against published facts and an independent
# reference computed here from md5sum and the ring's points.

load helper

# equal_ring N FILE: a ring of N equal nodes 10.0.0.1 ... 10.0.0.N
equal_ring() {
	local i
	for ((i = 1; i <= $1; i++)); do echo "10.0.0.$i"; done >"$2"
}

# md5_le32 KEY: the first four bytes of MD5(KEY), little-endian, in decimal
md5_le32() {
	local h
	h=$(printf '%s' "$1" | md5sum | cut -c1-8)
	echo $((16#${h:6:2}${h:4:2}${h:2:2}${h:0:2}))
}

# points_per_node RING: "NODE COUNT" for each node, sorted by node
points_per_node() {
	ring-stats -p -f "$1" | cut -f2 | sort | uniq -c | awk '{print $2, $1}'
}

@test "the key hashes are the published values" {
	run ring-lookup -x -f /dev/stdin foo <<<"n1"
	assert_success
	assert_output "$(printf 'foo\t3675831724\tn1')"
	run ring-lookup -x -H fnv1a_64 -f /dev/stdin foo <<<"n1"
	assert_output "$(printf 'foo\t4275688823\tn1')"
	# twemproxy reads bytes as signed chars: these are its values
	printf 'n1\n' >ring
	run ring-lookup -x -H fnv1a_64 -f ring "$(printf '\xff')" "$(printf 'caf\xc3\xa9')" "$(printf '\x80\x81key')"
	assert_output "$(printf '\xff\t2046707310\tn1\ncaf\xc3\xa9\t3472276361\tn1\n\x80\x81key\t2415298993\tn1')"
}

@test "the points of 10.0.0.1 start with the MD5 words of 10.0.0.1-0" {
	echo 10.0.0.1 >ring
	run ring-stats -p -f ring
	assert_success
	for v in 563378236 920037467 4058903954 1084864719; do
		assert_line "$(printf '%s\t10.0.0.1' "$v")"
	done
	# md5_le32 is an independent check of the first word
	[ "$(md5_le32 10.0.0.1-0)" = 563378236 ]
}

@test "equal nodes get 160 points at 10 nodes and 156 at 25, 50 and 100" {
	for n in 10 25 50 100; do
		equal_ring "$n" ring
		want=$([ "$n" = 10 ] && echo 160 || echo 156)
		run points_per_node ring
		[ "${#lines[@]}" -eq "$n" ]
		[ "$(awk '{print $2}' <<<"$output" | sort -u)" = "$want" ]
	done
}

@test "weighted rings split points by twemproxy's single-precision formula" {
	printf 'a 1\nb 2\nc 3\n' >ring
	run points_per_node ring
	assert_output "$(printf 'a 80\nb 160\nc 240')"
	printf 'a 100\nb 1\nc 37\nd 250\ne 3\n' >ring
	run points_per_node ring
	# b's share is too small for even one group of four points
	assert_output "$(printf 'a 204\nc 72\nd 508\ne 4')"
	run ring-lookup -f ring -n 5 k
	assert_failure 2
	assert_output --partial "has 4 that own points"
}

@test "every key maps to the first point at or after its hash" {
	equal_ring 20 ring
	ring-stats -p -f ring >points
	for k in foo bar "user:1" "user:42" "a b" "$(printf 'tab\there')" \
	    "$(printf 'caf\xc3\xa9')" "$(printf '\xff\xfe')" "" "x y z"; do
		h=$(md5_le32 "$k")
		want=$(awk -F'\t' -v h="$h" '
		    NR == 1 { first = $2 }
		    $1 + 0 >= h + 0 { print $2; found = 1; exit }
		    END { if (!found) print first }' points)
		run ring-lookup -f ring "$k"
		assert_output "$k$(printf '\t')$want"
	done
}

@test "keys on stdin map like operands, whatever bytes they hold" {
	equal_ring 10 ring
	printf 'plain\nwith space\nwith\ttab\ncaf\xc3\xa9\n\x80\xff\n\nlast without newline' >keys
	while IFS= read -r k; do
		ring-lookup -f ring "$k"
	done <keys >expected
	ring-lookup -f ring "last without newline" >>expected
	ring-lookup -f ring <keys >got
	[ "$(wc -l <got)" -eq 7 ]
	diff expected got
	# the node is the last field even when the key holds a tab
	[ "$(grep '^with' got | awk -F'\t' '{print $NF}' | wc -l)" -eq 2 ]
}

@test "-n gives N distinct nodes in ring order, owner first" {
	equal_ring 10 ring
	ring-stats -p -f ring >points
	for k in alpha beta gamma "user:7"; do
		h=$(md5_le32 "$k")
		want=$(awk -F'\t' -v h="$h" -v n=4 '
		    { v[NR] = $1; o[NR] = $2 }
		    END {
			for (i = 1; i <= NR && v[i] + 0 < h + 0; i++) ;
			got = 0; out = ""
			for (s = 0; got < n; s++) {
				j = (i - 1 + s) % NR + 1
				if (!(o[j] in seen)) { seen[o[j]] = 1; out = out "\t" o[j]; got++ }
			}
			print out
		    }' points)
		run ring-lookup -f ring -n 4 "$k"
		assert_output "$k$want"
	done
	run ring-lookup -f ring -n 1 alpha
	assert_output "$(ring-lookup -f ring alpha)"
	run ring-lookup -f ring -n 10 alpha
	assert_success
	[ "$(tr '\t' '\n' <<<"$output" | tail -n 10 | sort -u | wc -l)" -eq 10 ]
	run ring-lookup -f ring -n 11 alpha
	assert_failure 2
	assert_output --partial "asked for 11 nodes but the ring has 10"
}

@test "HAKIT_RING names the ring when -f is not given" {
	equal_ring 3 ring
	HAKIT_RING=ring run ring-lookup foo
	assert_success
	assert_output "$(ring-lookup -f ring foo)"
	run ring-lookup foo
	assert_failure 2
	assert_output --partial "no ring"
}

@test "a co-process gets each answer before it sends the next key" {
	equal_ring 5 ring
	mkfifo to from
	ring-lookup -f ring <to >from &
	pid=$!
	exec 4>to 5<from
	for k in one two three; do
		echo "$k" >&4
		read -r -t 10 answer <&5
		[ "$answer" = "$(ring-lookup -f ring "$k")" ]
	done
	exec 4>&-
	wait "$pid"
	exec 5<&-
}

@test "bad keys on stdin: NUL byte and a key over 1 MiB" {
	equal_ring 3 ring
	run ring-lookup -f ring < <(printf 'ok\nbad\0key\n')
	assert_failure 2
	assert_line --index 0 --partial "ok"
	assert_output --partial "stdin:2: key contains a NUL byte"
	run ring-lookup -f ring < <(echo first; head -c 1100000 /dev/zero | tr '\0' x; echo)
	assert_failure 2
	assert_output --partial "stdin:2: key longer than 1048576 bytes"
}

@test "usage: -h, -V, bad options and bad values" {
	run ring-lookup -h
	assert_success
	assert_output --partial "usage: ring-lookup"
	run ring-lookup -V
	assert_success
	assert_output --regexp '^ring-lookup [0-9]+\.[0-9]+'
	run ring-lookup -Q
	assert_failure 2
	run ring-lookup -f ring -H sha1 k
	assert_failure 2
	assert_output "ring-lookup: unknown hash 'sha1': use one of md5, fnv1a_64, fnv1_64, fnv1_32, fnv1a_32, one_at_a_time, crc32, crc32a"
	run ring-lookup -f ring -n 0 k
	assert_failure 2
}
