#!/usr/bin/env bats
# ring-stats: shares, counted keys, moves between rings, points and pictures.

load helper

ring() {
	seq -f 'node-%g' 1 "$1" >"$2"
}

@test "-p lists every ketama point ascending: 10.0.0.1's include the MD5 words of 10.0.0.1-0" {
	printf '10.0.0.1\n10.0.0.2\n' >r
	ring-stats -f r -p >points
	[ "$(wc -l <points)" -eq 320 ]
	cut -f1 points | sort -n -c
	for v in 563378236 920037467 4058903954 1084864719; do
		grep -qx "$v	10.0.0.1" points
	done
	[ "$(grep -c $'\t10.0.0.1$' points)" -eq 160 ]
}

@test "-p lists maglev slots, jump buckets and rendezvous seeds" {
	printf 'a\nb\nc\n' >r
	run ring-stats -f r -a maglev:7 -p
	assert_success
	[ "${#lines[@]}" -eq 7 ]
	[ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = "0 1 2 3 4 5 6 " ]
	run ring-stats -f r -a jump -p
	assert_output $'0\ta\n1\tb\n2\tc'
	ring-stats -f r -a rendezvous -p >seeds
	[ "$(wc -l <seeds)" -eq 3 ]
	cut -f1 seeds | sort -n -c
}

@test "shares sum to 100% for every algorithm on 10, 100 and 1000 nodes" {
	for n in 10 100 1000; do
		ring "$n" r
		for a in ketama jump maglev rendezvous; do
			ring-stats -f r -a "$a" >stats
			[ "$(awk -F'\t' 'NR > 3 && $1 ~ /^node-/' stats | wc -l)" -eq "$n" ]
			sum=$(awk -F'\t' '$1 ~ /^node-/ { s += $4 } END { print s }' stats)
			awk -v s="$sum" 'BEGIN { exit !(s > 99.94 && s < 100.06) }'
			# peak/mean is the largest share/fair in the table.
			peak=$(awk -F'\t' '$1 ~ /^node-/ && $6 > m { m = $6 } END { printf "%.4f", m }' stats)
			grep -qx "peak/mean	$peak	.*" stats
		done
	done
}

@test "ketama shares are exact: ten equal nodes, fixed figures" {
	# The figures were computed separately from the points, MD5("NODE-i").
	seq -f '10.0.0.%g:11211' 1 10 >r
	run ring-stats -f r
	assert_line --index 0 "# ring r: 10 nodes, total weight 10; ketama, hash md5, 1600 points"
	assert_line --index 1 "# shares are exact, over all 2^32 key hashes"
	assert_line --index 2 $'node\tweight\tpoints\tshare\tfair\tshare/fair'
	assert_line --index 3 $'10.0.0.1:11211\t1\t160\t9.7164%\t10.0000%\t0.9716'
	assert_line "peak/mean	1.1305	10.0.0.8:11211"
}

@test "counted keys match the shares within sampling error" {
	seq -f 'user:%g' 1 200000 >k
	for n in 10 100; do
		ring "$n" r
		for a in ketama jump maglev rendezvous; do
			ring-stats -f r -a "$a" k >stats
			grep -qx 'keys	200000' stats
			# |keyshare - share| within 5 standard deviations.
			run awk -F'\t' '$1 ~ /^node-/ {
				p = $4 / 100; d = $8 / 100 - p; if (d < 0) d = -d
				if (d > 5 * sqrt(p * (1 - p) / 200000) + 0.0001) print
			}' stats
			assert_output ""
			[ "$(awk -F'\t' '$1 ~ /^node-/ { s += $7 } END { print s }' stats)" -eq 200000 ]
		done
	done
}

@test "keys are counted only when asked, from files or - for stdin: a while-read loop keeps its input" {
	ring 3 r1
	ring 4 r2
	run bash -c 'printf "r1\nr2\n" | while read -r r; do ring-stats -f "$r" >/dev/null; echo "$r"; done'
	assert_output "$(printf 'r1\nr2')"
	run ring-stats -f r1 <<<"$(seq -f 'user:%g' 1 10)"
	refute_line --regexp $'^keys\t'
	seq -f 'user:%g' 1 10 | ring-stats -f r1 - >stats
	grep -qx $'keys\t10' stats
	seq -f 'user:%g' 1 10 >k
	seq -f 'user:%g' 11 15 | ring-stats -f r1 k - k >stats
	grep -qx $'keys\t25' stats
	run ring-stats -f r1 -p k
	assert_failure 2
}

@test "-c with keys: how many move, and per node how many leave and arrive, as ring-lookup on both rings says" {
	printf 'mc1:11211\nmc2:11211 2\nmc3:11211\n' >old
	printf 'mc1:11211\nmc2:11211 2\nmc4:11211\nmc5:11211 3\n' >new
	printf 'a\nb\nc\n' >old-jump
	printf 'a\nb\nc\nd\n' >new-jump
	seq -f 'user:%g' 1 20000 >k
	for a in ketama maglev rendezvous jump; do
		o=old n=new
		[ "$a" = jump ] && o=old-jump n=new-jump
		for h in md5 fnv1a_64; do
			ring-stats -f "$o" -c "$n" -a "$a" -H "$h" k >stats
			ring-lookup -f "$o" -a "$a" -H "$h" <k >before
			ring-lookup -f "$n" -a "$a" -H "$h" <k >after
			# Old nodes in ring order, then the new ones.
			{ cut -d' ' -f1 "$o"; cut -d' ' -f1 "$n" | grep -vxFf <(cut -d' ' -f1 "$o"); } >order
			paste before after | awk -F'\t' -v OFS='\t' '
			    NR == FNR { order[++n] = $1; next }
			    { b[$2]++; a[$4]++; all++ }
			    $2 != $4 { moved++; leave[$2]++; arrive[$4]++ }
			    END {
				printf "keys moved\t%d\t%.4f%%\n", moved, 100 * moved / all
				for (i = 1; i <= n; i++) {
					x = order[i]
					print "moves", x, b[x] + 0, leave[x] + 0, arrive[x] + 0, a[x] + 0
				}
			    }' order - >expected
			grep -E $'^(keys moved|moves)\t' stats | diff -u expected -
		done
	done
	# mc3 leaves the ring: all its keys leave, none arrive.
	ring-stats -f old -c new k >stats
	n3=$(ring-lookup -f old <k | grep -c $'\tmc3:11211$')
	grep -qx "moves	mc3:11211	$n3	$n3	0	0" stats
	# Without keys, the moves are not reported.
	run ring-stats -f old -c new
	refute_line --regexp '^(keys moved|moves)'
}

@test "-c: moved fraction against the ideal, adding and removing a node" {
	ring 10 r10
	ring 11 r11
	run ring-stats -f r10 -c r11
	assert_line "moved	8.1674%	ideal	9.0909%	moved/ideal	0.8984	exact"
	run ring-stats -f r11 -c r10
	assert_line --regexp $'^moved\t8\\.1674%\tideal\t9\\.0909%\t'
	ring 9 r9
	run ring-stats -f r10 -a maglev -c r9
	assert_line --regexp $'^moved\t[0-9.]+%\tideal\t10\\.0000%\tmoved/ideal\t1\\.[0-4][0-9]*\texact$'
	run ring-stats -f r10 -a jump -c r11
	assert_line --regexp $'\testimated$'
	# A ring compared with itself moves nothing.
	run ring-stats -f r10 -a rendezvous -c r10
	assert_line "moved	0.0000%	ideal	0.0000%	moved/ideal	0.0000	estimated"
}

@test "-c agrees with the keys that actually move" {
	ring 100 a
	ring 101 b
	seq -f 'user:%g' 1 100000 >k
	for alg in ketama maglev; do
		pct=$(ring-stats -f a -a $alg -c b | awk -F'\t' '$1 == "moved" { print $2 + 0 }')
		ring-lookup -f a -a $alg <k >before
		ring-lookup -f b -a $alg <k >after
		moved=$(paste before after | awk -F'\t' '$2 != $4' | wc -l)
		# Within 5 standard deviations of the exact fraction.
		awk -v p="$pct" -v m="$moved" 'BEGIN {
			p /= 100; d = m / 100000 - p; if (d < 0) d = -d
			exit !(d < 5 * sqrt(p * (1 - p) / 100000))
		}'
	done
}

@test "the SVG is well-formed XML for every algorithm, with odd node names escaped" {
	printf 'a&b\n<c>\n"d"\n' >odd
	ring-stats -f odd -T svg >odd.svg
	xmllint --noout odd.svg
	grep -q 'a&amp;b' odd.svg
	for n in 10 1000; do
		ring "$n" r
		for a in ketama jump maglev rendezvous; do
			ring-stats -f r -a "$a" -T svg >ring.svg
			xmllint --noout ring.svg
			grep -q '>node-1<' ring.svg
		done
	done
	grep -q 'and 985 more nodes' ring.svg
}

@test "the SVG colours one arc per node for a ring without positions" {
	printf 'a 1\nb 2\nc 1\n' >r
	ring-stats -f r -a rendezvous -T svg >r.svg
	[ "$(grep -c '^<path ' r.svg)" -eq 3 ]
	[ "$(grep -c '^<path .*Z"/>$' r.svg)" -eq 3 ]
}

@test "usage errors and unusable rings exit 2" {
	ring 3 r
	run ring-stats -f r -T png
	assert_failure 2
	run ring-stats -f r extra
	assert_failure 2
	run ring-stats -f missing
	assert_failure 2
	run ring-stats
	assert_failure 2
	run ring-stats -h
	assert_success
	assert_output --partial "usage: ring-stats"
	: >empty
	run ring-stats -f empty
	assert_failure 2
	assert_output --partial "no nodes"
}
