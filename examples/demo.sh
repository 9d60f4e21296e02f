#!/usr/bin/env bash
# make demo: a sharded, replicated bank built from hakit's three families.
#
#   ring-add / ring-lookup   route each account to one of three shards
#   repl-primary / -backup   keep each shard on two members, with failover
#   2pc-coord / 2pc-part     move money between shards atomically; each
#                            shard's participant stages and applies the
#                            writes on its primary through repl-client
#
# Midway a shard primary is killed, and later the coordinator dies right
# after logging a commit decision.  The demo ends by checking that the
# money adds up, that no acknowledged write was lost and that nothing is
# left in doubt; it exits 0 only if every check holds.  Every daemon is
# traced (HAKIT_TRACE=1) into trace.log; set HAKIT_DEMO_KEEP=DIR to keep
# the run's files (traces included) in DIR.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
dir=$(mktemp -d "${TMPDIR:-/tmp}/hakit-demo.XXXXXX")
pids=()
cleanup() {
	trap - EXIT INT TERM
	exec 2>/dev/null	# no job notices for the daemons killed here
	[ "${#pids[@]}" -eq 0 ] || kill -9 "${pids[@]}" || true
	wait || true
	if [ -n "${HAKIT_DEMO_KEEP:-}" ]; then
		mkdir -p "$HAKIT_DEMO_KEEP"
		cp -R "$dir"/. "$HAKIT_DEMO_KEEP"/
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM
cd "$dir"
say() { printf '\n== %s\n' "$*"; }
fail() { echo "CHECK FAILED: $*"; exit 1; }

# daemon NAME CMD...: start a daemon (given -r 3), wait for its readiness.
daemon() {
	local name=$1; shift
	mkfifo "$name.ready"
	HAKIT_TRACE=1 "$@" 3>"$name.ready" 2>>trace.log </dev/null &
	pids+=($!)
	eval "pid_$name=$!"
	read -r _ <"$name.ready" || fail "$name did not start"
	rm -f "$name.ready"
}
shard_of() { ring-lookup -f ring "$1" | cut -f2; }
# rc SHARD CMD...: repl-client on the shard's lease (follows failover).
rc() { local s=$1; shift; repl-client -L "$s/lease" -t 15 "$@"; }
bal() { rc "$(shard_of "$1")" get "$1"; }

# The participants' hooks: the payload is "ACCOUNT DELTA".  Prepare checks
# the balance and stages the new one under staged:TXID on the shard; commit
# writes it and drops the staged record (re-running it is harmless, since
# the value is absolute); abort drops the staged record.  Transfers here
# run one at a time, so staging needs no lock.
cat >hook <<'EOF'
#!/bin/sh
lease=$1/lease st=staged:$HAKIT_TXID
rc() { repl-client -L "$lease" -t 15 "$@"; }
case $2 in
prepare)
	read -r acct delta
	old=$(rc get "$acct") || exit 1
	[ $((old + delta)) -ge 0 ] || exit 1
	rc put "$st" "$acct=$((old + delta))" >/dev/null ;;
commit)
	s=$(rc get "$st") || { [ $? -eq 1 ] && exit 0; exit 1; }
	rc put "${s%%=*}" "${s#*=}" >/dev/null && rc del "$st" >/dev/null ;;
abort)
	rc del "$st" >/dev/null || [ $? -eq 1 ] ;;
esac
EOF
chmod +x hook
shards="red green blue"
parts=$(for s in $shards; do printf '%s=%s/2pc.sock ' "$s" "$s"; done)
accounts="alice heidi bob carol frank grace"

say "Three shards on a ring (ring-add); each account lives on one (ring-lookup)"
ring-add -f ring $shards
for a in $accounts; do printf '   %-6s -> %s\n' "$a" "$(shard_of "$a")"; done

say "Each shard: a primary and a backup sharing a lease; a 2PC participant"
for s in $shards; do
	mkdir "$s"
	daemon "${s}_p" repl-primary -d "$s/p" -s "$s/p.sock" -L "$s/lease" -r 3
	daemon "${s}_b" repl-backup -d "$s/b" -s "$s/b.sock" -L "$s/lease" -r 3
	daemon "${s}_2pc" 2pc-part -s "$s/2pc.sock" -l "$s/2pc.log" -t 1 -r 3 \
	    -p "./hook $s prepare" -c "./hook $s commit" -a "./hook $s abort"
	echo "   $s: primary $s/p.sock, backup $s/b.sock, participant $s/2pc.sock"
done

declare -A want
say "Every account opens with 100 (a put on its shard's primary)"
for a in $accounts; do
	rc "$(shard_of "$a")" put "$a" 100 >/dev/null
	want[$a]=100
done
show() {
	local a line=
	for a in $accounts; do line="$line $a $(bal "$a")"; done
	echo "  $line"
}
show
total() {
	local a t=0
	for a in $accounts; do t=$((t + $(bal "$a"))); done
	echo $t
}

n=0
# transfer FROM TO AMOUNT: one 2PC transaction across the two shards.
transfer() {
	local from=$1 to=$2 amt=$3 out
	n=$((n + 1))
	out=$(printf 't%d\t%s=%s -%d\t%s=%s %d\n' $n "$(shard_of "$from")" \
	    "$from" "$amt" "$(shard_of "$to")" "$to" "$amt" |
	    HAKIT_TRACE=1 2pc-coord -l coord.log $parts 2>>trace.log) || true
	printf '   t%d: %-5s -> %-5s %3d: %s\n' $n "$from" "$to" "$amt" \
	    "$(echo "${out:-x	no answer: the coordinator died}" |
	    cut -f2- | tr '\t' ' ')"
	case $out in
	*commit) want[$from]=$((want[$from] - amt)); want[$to]=$((want[$to] + amt)) ;;
	esac
}
say "Transfers between shards, each atomic (2pc-coord)"
transfer alice bob 30
transfer carol frank 20
transfer grace heidi 150
show

victim=$(shard_of bob)
say "Crash: kill -9 the primary of shard $victim (bob's shard)"
victim_pid=$(eval echo "\$pid_${victim}_p")
echo "$(date +%s%3N) $victim/p.sock ! crash kill -9" >>trace.log
kill -9 "$victim_pid"; wait "$victim_pid" 2>/dev/null || true
transfer bob grace 40
set -- $(repl-client -s "$victim/b.sock" status)
[ "$1" = role=primary ] || fail "the backup of $victim did not take over"
echo "   the client retried; $victim's backup took over: now ${1#role=} in epoch ${2#epoch=}"

say "The old primary comes back as a backup, fenced by the new epoch"
daemon "${victim}_p2" repl-backup -d "$victim/p" -s "$victim/p.sock" \
    -L "$victim/lease" -r 3
set -- $(repl-client -s "$victim/p.sock" status)
[ "$1" = role=backup ] || fail "the old primary of $victim is not a backup"
echo "   $victim/p.sock is now a ${1#role=} in epoch ${2#epoch=}: the lease fences its old epoch"

say "Crash: the coordinator dies once 'commit' is logged (coord.decided)"
since=$(date +%s%3N)
HAKIT_CRASH=coord.decided transfer heidi carol 25
for s in $shards; do
	l=$(2pc-part -s "$s/2pc.sock" -L | cut -f1 | tr '\n' ' ')
	[ -z "$l" ] || echo "   $s: in doubt: $l"
done
show

say "The coordinator restarts and finishes what it logged"
HAKIT_TRACE=1 2pc-coord -l coord.log $parts </dev/null 2>>trace.log ||
    fail "recovery did not complete"
want[heidi]=$((want[heidi] - 25)); want[carol]=$((want[carol] + 25))
show

say "That crash and recovery, as hakit-trace draws the trace"
awk -v t="$since" '$1 >= t' trace.log |
    grep -E '^[0-9]+ (2pc-coord|[a-z]+/2pc\.sock) [<>!] ' |
    grep -v -e RECOVER -e LIST -e INDOUBT | hakit-trace

say "Checks"
t=$(total)
echo "   total balance: $t (was 600)"
[ "$t" -eq 600 ] || fail "money was created or destroyed"
for a in $accounts; do
	[ "$(bal "$a")" = "${want[$a]}" ] ||
	    fail "$a has $(bal "$a"), want ${want[$a]}"
done
echo "   every acknowledged transfer is applied: balances match the ledger"
for s in $shards; do
	for i in $(seq 200); do cmp -s "$s/p/log" "$s/b/log" && break; sleep 0.05; done
	cmp -s "$s/p/log" "$s/b/log" || fail "$s: members' logs differ"
done
echo "   on every shard both members hold identical logs"
for s in $shards; do
	[ -z "$(2pc-part -s "$s/2pc.sock" -L)" ] || fail "$s has a txn in doubt"
	for i in $(seq "$n"); do
		! rc "$s" get "staged:t$i" >/dev/null 2>&1 || fail "$s: t$i still staged"
	done
done
echo "   nothing in doubt, nothing left staged"
echo; echo "demo: all checks passed ($(wc -l <trace.log) trace lines)"
