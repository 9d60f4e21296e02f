#!/usr/bin/env bats
# Two-phase commit across hosts: a coordinator and its participants each on
# a host of its own (network namespaces, tests/netns-helper.bash), over TCP
# with a shared key, through partitions made by cutting links and one-way
# blackhole routes: the outcome every participant applies is the one the
# coordinator decided, a cut participant learns it once healed (from the
# coordinator, or from a peer when the coordinator is gone), participants
# that cannot learn it stay in doubt, and a participant cut off while
# voting aborts with the coordinator.

load helper
load tcp-helper
load netns-helper
bats_require_minimum_version 1.5.0

PORT=7000

# mh_start COORD_T PART_T PART... : hosts c (the coordinator) and one per
# PART, a bank per PART (make_bank) with its participant on PART's host,
# and the coordinator on c, every daemon with -K key.  A participant named
# in $GATED runs a prepare hook that waits for its gate (see gate) and
# marks in PART/started/TX that it began.  $COORD_ENV and $PART_ENV (say
# HAKIT_CRASH=...) are given to the coordinator and the participants;
# every participant traces its messages.  Sets C and, per participant,
# the variable of its name in capitals (A, B, ...) to its address.
mh_start() {
	local ct=$1 pt=$2 p addr ops=() hook
	shift 2
	ns_hosts c "$@"
	make_key "$BATS_TEST_TMPDIR/key"
	KEY=$BATS_TEST_TMPDIR/key
	C=$(ns_ip c):$PORT
	for p in "$@"; do
		addr=$(ns_ip "$p"):$PORT
		printf -v "${p^^}" %s "$addr"
		ops+=("$p=$addr")
		make_bank "$p"
		mkdir -p "$p/started" "$p/gate"
		hook="$BATS_TEST_TMPDIR/$p/prepare"
		if [[ " ${GATED:-} " == *" $p "* ]]; then
			cat >"$BATS_TEST_TMPDIR/$p/gated" <<GATED
#!/bin/sh
touch "$BATS_TEST_TMPDIR/$p/started/\$HAKIT_TXID"
while [ ! -e "$BATS_TEST_TMPDIR/$p/gate/\$HAKIT_TXID" ]; do sleep 0.02; done
exec "$BATS_TEST_TMPDIR/$p/prepare"
GATED
			chmod +x "$BATS_TEST_TMPDIR/$p/gated"
			hook="$BATS_TEST_TMPDIR/$p/gated"
		fi
		ns_start "$p" env HAKIT_TRACE=1 ${PART_ENV:-} \
		    2pc-part -K "$KEY" -s "$addr" -l "$BATS_TEST_TMPDIR/$p.log" -r 3 \
		    -t "$pt" -p "$hook" -c "$BATS_TEST_TMPDIR/$p/commit" \
		    -a "$BATS_TEST_TMPDIR/$p/abort"
	done
	ns_start_as coord c env ${COORD_ENV:-} \
	    2pc-coord -K "$KEY" -s "$C" -l "$BATS_TEST_TMPDIR/coord.log" -r 3 \
	    -t "$ct" "${ops[@]}"
	PARTS="$*"
	OPS=("${ops[@]}")
}

# restart_coord: the coordinator again, on its log, as mh_start started it.
restart_coord() {
	ns_start_as coord c 2pc-coord -K "$KEY" -s "$C" -l "$BATS_TEST_TMPDIR/coord.log" \
	    -r 3 -t 5 "${OPS[@]}"
}

# client [ARG...]: 2pc-coord -C on the coordinator's host, stdin through.
client() {
	ns_run c 2pc-coord -K "$KEY" -C "$C" "$@"
}

# in_doubt PART: what PART lists as in doubt (-L), asked on its own host.
in_doubt() {
	local addr
	addr=$(ns_ip "$1"):$PORT
	ns_run "$1" 2pc-part -K "$KEY" -s "$addr" -L | cut -f1
}

# doubts PART TX: PART lists TX as in doubt.
doubts() {
	in_doubt "$1" | grep -qx "$2"
}

# gate PART TX: let PART's gated prepare hook for TX go on.
gate() {
	touch "$BATS_TEST_TMPDIR/$1/gate/$2"
}

# no_hazard PART...: none of them said HAZARD (a decision that contradicts
# another).
no_hazard() {
	local p
	for p in "$@"; do
		if grep -q HAZARD "$p.err"; then
			fail "$p: $(grep HAZARD "$p.err")"
			return 1
		fi
	done
}

# log_records LOG: the payload of every record of a hakit log, one a line
# (see LOGS in hakit(7): after the magic, a 4-byte little-endian length,
# a 4-byte checksum, the payload; zeros after the last).
log_records() {
	od -An -v -tu1 "$1" | awk '
	{ for (i = 1; i <= NF; i++) b[n++] = $i }
	END {
		p = 8
		while (p + 8 <= n) {
			len = b[p] + 256 * b[p + 1] + 65536 * b[p + 2] + 16777216 * b[p + 3]
			if (len == 0 || p + 8 + len > n)
				break
			s = ""
			for (i = p + 8; i < p + 8 + len; i++)
				s = s sprintf("%c", b[i])
			print s
			p += 8 + len
		}
	}'
}

# ended TX: the coordinator logged END for TX (every participant acked).
ended() {
	log_records "$BATS_TEST_TMPDIR/coord.log" | grep -qx "E	$1"
}

# settled PART...: nothing in doubt and nothing staged at any of them.
settled() {
	local p
	for p in "$@"; do
		[ -z "$(in_doubt "$p")" ] && [ -z "$(ls "$p/staged")" ] || return 1
	done
}

# applied PART: the transactions PART applied, sorted, on one line.
applied() {
	ls "$1/applied" | grep -v '\.tmp$' | sort | tr '\n' ' '
}

# aborted PART TX: PART ran its abort hook for TX and applied nothing.
aborted() {
	[ -e "$1/aborted/$2" ] && [ ! -e "$1/applied/$2" ] && [ ! -e "$1/staged/$2" ]
}

# committed PART TX: PART applied TX and holds nothing staged for it.
committed() {
	[ -e "$1/applied/$2" ] && [ ! -e "$1/staged/$2" ] && [ ! -e "$1/aborted/$2" ]
}

# hold_t1: t1, a pays b 5, from the coordinator's host (in the
# background, $cl, its output in client.out), held at a's gated prepare
# hook once b has voted yes.
hold_t1() {
	GATED=a mh_start 5 2 a b
	printf 't1\ta=-5\tb=5\n' | client >client.out &
	cl=$!
	eventually test -e a/started/t1
	eventually doubts b t1
}

# release_t1: a's prepare hook goes on; the client is told commit and a
# commits.
release_t1() {
	gate a t1
	wait "$cl"
	assert_equal "$(cat client.out)" "$(printf 't1\tcommit')"
	eventually committed a t1
}

# b_heard_from_a: b learnt t1's commit from a, not from the coordinator.
# (Trace lines: "MS SELF < PEER MESSAGE", SELF and PEER addresses.)
b_heard_from_a() {
	grep -Eq "^[0-9]+ $B < $A STATE [0-9a-f]{16} t1 committed$" b.err
	if grep -Eq "^[0-9]+ $B < ($C|coord) COMMIT " b.err; then
		fail "b heard the commit from the coordinator"
	fi
}

# paid_5: a paid b 5, once, and neither saw a contradiction.
paid_5() {
	assert_equal "$(balance a)" -5
	assert_equal "$(balance b)" 5
	no_hazard a b
}

@test "multihost 2PC: transactions commit across three participant hosts, and every participant applied the same ones" {
	mh_start 5 5 a b d
	# The daemons listen on their hosts' addresses, not on loopback.
	run ns_run a ss -Htln "sport = :$PORT"
	assert_output --partial "$A"
	for i in $(seq 1 12); do
		# Every fourth is refused by d's prepare hook.
		if ((i % 4 == 0)); then
			printf 't%s\ta=-%s\tb=%s\td=fail\n' "$i" "$i" "$i"
		else
			printf 't%s\ta=-%s\tb=%s\td=0\n' "$i" "$i" "$i"
		fi
	done >in
	run client -j 4 <in
	assert_failure 1
	for i in $(seq 1 12); do
		if ((i % 4 == 0)); then
			assert_line --index $((i - 1)) --regexp "^t$i	abort	d voted no: prepare hook failed \(status 1\)$"
		else
			assert_line --index $((i - 1)) "$(printf 't%s\tcommit' "$i")"
		fi
	done
	want="t1 t10 t11 t2 t3 t5 t6 t7 t9 "
	eventually settled a b d
	for i in 1 2 3 5 6 7 9 10 11; do eventually ended "t$i"; done
	assert_equal "$(applied a)" "$want"
	assert_equal "$(applied b)" "$want"
	assert_equal "$(applied d)" "$want"
	for i in 4 8 12; do
		aborted a "t$i" && aborted b "t$i" || fail "t$i is not aborted at a and b"
		[ ! -e "d/applied/t$i" ] || fail "d applied t$i"
	done
	assert_equal "$(balance a)" -54
	assert_equal "$(balance b)" 54
	assert_equal "$(balance d)" 0
	# Participants know the coordinator and each other by their
	# addresses on the other hosts.
	for p in a b d; do
		grep -aFq "$C" "$p.log"
		grep -aFq "a=$A,b=$B,d=$D" "$p.log"
	done
	# The connections were across hosts: a's peer is c's address.
	run ns_run a ss -Htn state established "( sport = :$PORT )"
	assert_output --partial "$(ns_ip c):"
}

@test "multihost 2PC: a participant cut off after its yes vote, while the coordinator commits, learns the commit from the coordinator once healed" {
	# b votes yes; a's prepare hook is held until b is cut.
	hold_t1
	ns_cut b
	release_t1
	# b cannot learn the outcome while it is cut: it keeps asking and
	# stays in doubt, deciding nothing alone.
	eventually grep -q "t1: in doubt for [0-9]* s: waiting for the decision of coordinator .*asking the other participants" b.err
	doubts b t1
	[ ! -e b/applied/t1 ] && [ ! -e b/aborted/t1 ] && [ -e b/staged/t1 ] ||
	    fail "b decided t1 alone"
	if ended t1; then fail "END for t1 logged while b is cut off"; fi
	ns_heal b
	eventually committed b t1
	eventually settled a b
	# The coordinator got b's acknowledgement: END is logged.
	eventually ended t1
	paid_5
}

@test "multihost 2PC: a participant cut off while the coordinator commits, with the coordinator dead before it heals, learns the commit from its peer" {
	hold_t1
	ns_cut b
	release_t1
	crash_daemon coord
	eventually grep -q "t1: in doubt for [0-9]* s: .*asking the other participants" b.err
	doubts b t1
	ns_heal b
	# The coordinator's host is up but nothing listens there: b asks a,
	# which committed.
	eventually committed b t1
	eventually settled a b
	b_heard_from_a
	paid_5
}

@test "multihost 2PC: the coordinator killed with its participants prepared, its host cut: a peer that saw the commit tells the other" {
	hold_t1
	# What the coordinator sends b from now on is lost (one way: b's
	# packets still reach c); then a votes yes and the commit is decided.
	ns_block c b
	release_t1
	# The coordinator dies, and its host is cut off for good.
	crash_daemon coord
	ns_cut c
	ns_unblock c b
	# b, in doubt, cannot reach the coordinator and asks a, which knows.
	eventually committed b t1
	eventually settled a b
	b_heard_from_a
	paid_5
}

# indoubt_answers PART PEER N: PART heard PEER say "in doubt" about t1 at
# least N times.
indoubt_answers() {
	local me peer
	me=$(ns_ip "$1"):$PORT peer=$(ns_ip "$2"):$PORT
	[ "$(grep -Ec "^[0-9]+ $me < $peer STATE [0-9a-f]{16} t1 indoubt$" "$1.err")" -ge "$3" ]
}

@test "multihost 2PC: the coordinator killed right after deciding commit, its host cut: participants that know nothing stay in doubt until it returns" {
	COORD_ENV=HAKIT_CRASH=coord.decided mh_start 5 1 a b
	run client <<<"$(printf 't1\ta=-5\tb=5')"
	assert_failure 3
	assert_line --regexp "^t1	unknown	"
	daemon_died coord
	assert_equal "$died_status" 137
	ns_cut c
	# Both are in doubt, ask each other, and hear "in doubt", again and
	# again: neither decides alone.
	doubts a t1
	doubts b t1
	eventually indoubt_answers a b 3
	eventually indoubt_answers b a 3
	doubts a t1
	doubts b t1
	for p in a b; do
		[ -e "$p/staged/t1" ] && [ ! -e "$p/applied/t1" ] && [ ! -e "$p/aborted/t1" ] ||
		    fail "$p decided t1 alone"
	done
	# The coordinator's host comes back, the coordinator restarts on its
	# log and delivers the commit it had decided.
	ns_heal c
	restart_coord
	eventually committed a t1
	eventually committed b t1
	eventually settled a b
	eventually ended t1
	paid_5
}

@test "multihost 2PC: a participant cut off while voting: the coordinator aborts after its timeout, and the healed participant aborts too" {
	GATED=b mh_start 3 2 a b
	t0=$(ms_now)
	printf 't1\ta=-5\tb=5\n' | client >client.out &
	cl=$!
	# a votes yes; b's prepare hook runs, then b is cut and votes yes
	# into the void.
	eventually doubts a t1
	eventually test -e b/started/t1
	ns_cut b
	gate b t1
	eventually doubts b t1
	wait "$cl" || true
	took=$(($(ms_now) - t0))
	run cat client.out
	# Whichever the coordinator notices first: no vote within -t, or
	# b's connection silent for -t.
	assert_output --regexp "^t1	abort	b (timed out|unreachable)$"
	# Either way it waited the coordinator's -t 3.
	[ "$took" -ge 2900 ] || fail "aborted after $took ms"
	eventually aborted a t1
	# b voted yes, so it may not abort alone: in doubt while cut.
	eventually grep -q "t1: in doubt for [0-9]* s: .*asking the other participants" b.err
	doubts b t1
	[ -e b/staged/t1 ] && [ ! -e b/aborted/t1 ] || fail "b decided t1 alone"
	ns_heal b
	eventually aborted b t1
	eventually settled a b
	assert_equal "$(balance a)" 0
	assert_equal "$(balance b)" 0
	# And the group works again across the healed link.
	gate b t2
	run client <<<"$(printf 't2\ta=-1\tb=1')"
	assert_output "$(printf 't2\tcommit')"
	eventually committed b t2
	eventually settled a b
	no_hazard a b
}
