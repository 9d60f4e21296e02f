#!/bin/sh
# Two banks, one atomic transfer, a coordinator that dies right after its
# decision, participants in doubt, and recovery.  Exits 0 only if the money
# adds up at every step.
set -eu
PATH=$(cd "$(dirname "$0")/.." && pwd)/bin:$PATH
dir=$(mktemp -d)
cd "$dir"
pids=
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; cd /; rm -rf "$dir"' EXIT
say() { printf '\n== %s\n' "$*"; }
check() { [ "$1" = "$2" ] || { echo "CHECK FAILED: $3: $1, want $2"; exit 1; }; }

# A bank's balance is 100 plus its ledger; hooks stage, apply or drop an
# amount (payload on stdin).  Renames keep each hook atomic and idempotent.
bank() {
	mkfifo "$1.ready"
	2pc-part -s "$1.sock" -l "$1.log" -t 1 -r 3 \
		-p "cat > $1.staged.\$HAKIT_TXID" \
		-c "mv $1.staged.\$HAKIT_TXID $1.ledger.\$HAKIT_TXID 2>/dev/null || test -e $1.ledger.\$HAKIT_TXID" \
		-a "rm -f $1.staged.\$HAKIT_TXID" 3>"$1.ready" 2>>"$1.err" &
	pids="$pids $!"
	read -r _ <"$1.ready"
}
balance() {
	b=100
	for f in "$1".ledger.*; do [ -e "$f" ] && b=$((b + $(cat "$f"))); done
	echo "$b"
}
show() { echo "bank a: $(balance a)   bank b: $(balance b)"; }

say "Two banks, a and b, with 100 each"
bank a
bank b
show

say "t1: move 30 from a to b"
printf 't1\ta=-30\tb=30\n' | 2pc-coord -l coord.log a=a.sock b=b.sock
show
check "$(balance a) $(balance b)" "70 130" "after t1"

say "t2: move 20, but the coordinator dies right after logging 'commit'"
printf 't2\ta=-20\tb=20\n' |
	HAKIT_CRASH=coord.decided 2pc-coord -l coord.log a=a.sock b=b.sock 2>&1 || true

say "Both banks voted yes and now hold t2 in doubt: nothing applied yet"
2pc-part -s a.sock -L
2pc-part -s b.sock -L
show
check "$(2pc-part -s a.sock -L | cut -f1)" t2 "a in doubt"

say "The coordinator comes back and resends its decision (traced)"
HAKIT_TRACE=1 2pc-coord -l coord.log a=a.sock b=b.sock </dev/null 2>&1 |
	cut -d' ' -f2- | grep -v -e RECOVER -e ' ! '
show
check "$(balance a) $(balance b)" "50 150" "after recovery"
check "$(( $(balance a) + $(balance b) ))" 200 "money is conserved"
check "$(2pc-part -s a.sock -L)$(2pc-part -s b.sock -L)" "" "nothing in doubt"
say "Done: the decision survived the crash and was applied everywhere"
