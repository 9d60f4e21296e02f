#!/usr/bin/env bats
# Two-phase commit under a random mix: two coordinators sharing four
# banks, clients that reuse txids (for the same transfer: a retry; for
# another: to be refused) and retry after lost connections, and kill -9 of
# every role at random moments, each staying down for a random while (so
# that in-doubt banks ask each other), and crash points armed at random,
# for the narrow moments a kill rarely hits.  At the end no transaction is
# split, every reported outcome holds and no money was made or lost.
#
# HAKIT_2PC_RANDOM_SECS sets how long the faults go on (default 20).

load helper
bats_require_minimum_version 1.5.0

BANKS=(a b c d)
COORDS=(x y)
COORD_POINTS=(coord.prepare coord.begun coord.prepare-sent coord.voted
	coord.decided coord.commit-sent coord.answered coord.acked)
PART_POINTS=(part.prepare-received part.intent-logged part.prepare-hook-done
	part.prepared part.voted part.committed part.acked part.commit-hook
	part.commit-hook-done part.abort-hook part.abort-hook-done)

# crash_env POINT...: half the time, HAKIT_CRASH at one of the points, the
# 1st to 5th time it is passed (a crash where a kill -9 rarely lands).
crash_env() {
	local points=("$@")
	[ $((RANDOM % 2)) = 0 ] || return 0
	echo "HAKIT_CRASH=${points[RANDOM % ${#points[@]}]}:$((RANDOM % 5 + 1))"
}

# start_bank NAME [ENV...], start_coordinator NAME [ENV...]
start_bank() {
	start_daemon "$1" env "${@:2}" 2pc-part -s "$1.sock" -l "$1.log" -r 3 \
		-t 1 $(bank_opts "$1")
}

start_coordinator() {
	start_daemon "$1" env "${@:2}" 2pc-coord -s "$1.sock" -l "$1.log" -r 3 \
		-t 2 a=a.sock b=b.sock c=c.sock d=d.sock
}

# start_role NAME: starts it, maybe with a crash point armed (and again
# without one if it reached it before it was ready).
start_role() {
	case $1 in
	[abcd]) start_bank "$1" $(crash_env "${PART_POINTS[@]}") ||
		start_bank "$1" ;;
	*) start_coordinator "$1" $(crash_env "${COORD_POINTS[@]}") ||
		start_coordinator "$1" ;;
	esac
}

# The line a client sends for txid T at coordinator C.  It depends only on
# (C, T, VARIANT), so that sending it again is a retry; variant 1 is
# another transaction reusing the txid (and must be refused).
tx_line() {
	local c=$1 t=$2 variant=$3 h from to amount
	h=$(printf '%s %s %s' "$c" "$t" "$variant" | cksum | cut -d' ' -f1)
	from=${BANKS[h % 4]}
	to=${BANKS[(h / 4 % 3 + 1 + h % 4) % 4]}
	amount=$((h / 7 % 9 + 1))
	printf '%s\t%s=-%s\t%s=%s\n' "$t" "$from" "$amount" "$to" "$amount"
}

# client N: submits random transactions until the file "stop" appears;
# resubmits a line after a lost connection until it gets an outcome.
# Appends "COORD<TAB>LINE<TAB>OUTCOME..." to results.
client() {
	local n=$1 c t v line out
	RANDOM=$n
	while [ ! -e stop ]; do
		c=${COORDS[RANDOM % 2]}
		t=t$((RANDOM % 20))
		v=$((RANDOM % 10 < 3))
		line=$(tx_line "$c" "$t" "$v")
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			out=$(2pc-coord -C "$c.sock" <<<"$line" 2>/dev/null) || true
			case $out in *$'\t'commit | *$'\t'abort$'\t'*) break ;; esac
			out=""
			sleep 0.2
		done
		[ -z "$out" ] || printf '%s\t%s\t%s\n' "$c" "$line" "${out#*$'\t'}" >>results
	done
}

# Everything decided, applied or undone, and delivered.
settled() {
	local p c
	for p in "${BANKS[@]}"; do
		[ -z "$(2pc-part -s "$p.sock" -L)" ] || return 1
		[ -z "$(find "$p/staged" -type f)" ] || return 1
	done
	for c in "${COORDS[@]}"; do
		[ "$(coord_pending "$c.sock")" = 0 ] || return 1
	done
}

# The clients stop with the test, even a failed one.
teardown() {
	touch stop
	[ ! -e clients.pid ] || kill $(cat clients.pid) 2>/dev/null || true
	stop_all_daemons
}

@test "2pc random: retries, txid reuse, two coordinators, kill -9 of every role" {
	local p c i victim victims secs=${HAKIT_2PC_RANDOM_SECS:-20} kills=0 deaths=0 end
	for p in "${BANKS[@]}" "${COORDS[@]}"; do
		[ "${p#[abcd]}" != "" ] || make_bank "$p" bycoord
		start_role "$p"
	done
	local clients=()
	for i in 1 2 3; do
		client "$i" &
		clients+=($!)
	done
	echo "${clients[@]}" >clients.pid
	end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		sleep "0.$((RANDOM % 9 + 1))"
		# Whoever died at its crash point comes back, sooner or later.
		for victim in "${BANKS[@]}" "${COORDS[@]}"; do
			if [ -e "$victim.pid" ] && process_ended "$(daemon_pid "$victim")"; then
				daemon_died "$victim"
				deaths=$((deaths + 1))
			fi
			[ -e "$victim.pid" ] || [ $((RANDOM % 2)) = 0 ] ||
				start_role "$victim"
		done
		# One role or two at once, down for a moment or for a while.
		victims=$(printf '%s\n' "${BANKS[@]}" "${COORDS[@]}" | shuf -n $((RANDOM % 2 + 1)))
		for victim in $victims; do
			crash_daemon "$victim"
			kills=$((kills + 1))
		done
		[ $((RANDOM % 3)) != 0 ] || sleep "1.$((RANDOM % 9))"
		for victim in $victims; do
			start_role "$victim"
		done
	done
	touch stop
	wait "${clients[@]}"
	# Everyone back, with no crash point armed.
	for p in "${BANKS[@]}"; do
		crash_daemon "$p"
		start_bank "$p"
	done
	for c in "${COORDS[@]}"; do
		crash_daemon "$c"
		start_coordinator "$c"
	done
	if ! eventually settled; then
		for p in "${BANKS[@]}"; do
			echo "$p in doubt: $(2pc-part -s "$p.sock" -L | tr '\n' ' ')"
		done
		for c in "${COORDS[@]}"; do
			echo "$c: $(sock_say "$c.sock" STATS)"
			grep 'cannot deliver' "$c.err" | tail -n 2
		done
		fail "the banks and coordinators never settled"
	fi

	local key id from to committed aborted n_commit=0 n_abort=0
	# Money is conserved: every transfer was all or nothing.
	assert_equal "$(($(balance a) + $(balance b) + $(balance c) + $(balance d)))" 0
	# No transaction committed at one bank and aborted at another.
	for key in $(ls a/applied b/applied c/applied d/applied | grep -- - | sort -u); do
		for p in "${BANKS[@]}"; do
			[ ! -e "$p/aborted/$key" ] || fail "$key applied somewhere, aborted at $p"
		done
	done
	# Every outcome a client was told holds at both of its banks.
	while IFS=$'\t' read -r c t from to outcome reason; do
		id=$(coord_id "$c.log")
		from=${from%%=*}
		to=${to%%=*}
		key="$id-$t"
		committed=0
		aborted=0
		[ -e "$from/applied/$key" ] && [ -e "$to/applied/$key" ] && committed=1
		[ ! -e "$from/applied/$key" ] && [ ! -e "$to/applied/$key" ] && aborted=1
		case $outcome in
		commit)
			[ "$committed" = 1 ] || fail "$c $t reported committed, applied at: $(ls -d ./*/applied/"$key" 2>/dev/null)"
			n_commit=$((n_commit + 1)) ;;
		abort)
			# "txid already used" speaks of the submission, not of
			# the transaction that owns the txid.
			[ "$reason" = "txid already used by another transaction" ] ||
				[ "$aborted" = 1 ] || fail "$c $t reported aborted ($reason) but applied"
			n_abort=$((n_abort + 1)) ;;
		esac
	done <results
	echo "# $kills kills, $deaths deaths at crash points; $n_commit commits and $n_abort aborts reported" >&3
	[ "$kills" -gt 5 ] && [ "$n_commit" -gt 10 ]
}
