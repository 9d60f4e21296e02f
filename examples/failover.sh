#!/usr/bin/env bash
# Primary-backup failover in one minute: writes flow, the primary is
# killed, the backup takes over, and the old primary comes back fenced
# off: its unacknowledged write is cut and every log ends up identical.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
dir=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
say() { printf '\n== %s\n' "$*"; }
start() {	# start NAME ROLE [ARG...]: wait for its readiness line
	local name=$1 role=$2; shift 2
	"repl-$role" -d "$name" -s "$name.sock" -L lease -r 3 "$@" 3>ready 2>>"$name.err" &
	pids+=($!); disown $!
	while [ ! -s ready ]; do sleep 0.01; done; rm -f ready
}
say "A primary (which will die after its 6th write is durable, before sending it) and a backup"
HAKIT_CRASH=primary.appended:6 start p primary
start b backup
sed 's/^/   /' lease.state

say "Five writes, each acknowledged once durable on both (EPOCH, POSITION)"
for i in 1 2 3 4 5; do echo "   put k$i: $(repl-client -L lease put "k$i" "v$i")"; done

say "The sixth write: the primary dies mid-way; the client retries"
echo "   put k6: $(repl-client -L lease put k6 v6) -- acknowledged by the new primary"
echo "   the backup took over: $(repl-client -s b.sock status | cut -d' ' -f1,2)"
grep -q '^epoch 2$' lease.state

say "The old primary's log has k6 in epoch 1, never acknowledged there"
grep -aq "$(printf '1\tput\tk6\tv6')" p/log && echo "   p/log ends with: 1<TAB>put<TAB>k6<TAB>v6"

say "It restarts as a backup: the divergent tail is truncated"
start p backup
grep truncating p.err | sed 's/^/   /'
repl-client -L lease put k7 v7 >/dev/null
while ! cmp -s p/log b/log; do sleep 0.01; done
echo "   logs identical: $(md5sum p/log b/log | cut -c1-12 | tr '\n' ' ')"

say "Every acknowledged write reads back, at the new primary and at the backup"
for i in 1 2 3 4 5 6 7; do
	[ "$(repl-client -L lease get "k$i")" = "v$i" ]
	[ "$(repl-client -s p.sock -w 9 get "k$i")" = "v$i" ]
done
echo "   k1..k7 all present on both"

say "A message from the old epoch is refused"
echo "   $(printf 'SYNC 1 1 7 /x\n' | socat -t 1 - UNIX-CONNECT:b.sock)"
echo; echo "failover demo: all checks passed"
