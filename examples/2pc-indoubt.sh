#!/usr/bin/env bash
# Cooperative termination: a participant that voted yes and then lost the
# coordinator is in doubt, and must not decide alone.  With the coordinator
# gone for good, it asks its fellow participant, learns that the
# transaction committed there, and commits too.  The traced run is drawn
# at the end with hakit-trace.  Exits 0 only if both end up committed.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
dir=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
export HAKIT_TRACE=1
say() { printf '\n== %s\n' "$*"; }
part() {	# part NAME [VAR=VALUE...]: start a participant, wait until ready
	local n=$1; shift
	mkfifo ready
	env "$@" 2pc-part -s "$n.sock" -l "$n.log" -t 1 -r 3 \
	    3>ready 2>>trace >>"$n.out" </dev/null &
	pids+=($!); disown $!
	read -r _ <ready; rm ready
}

say "Participants a and b; b will die right after voting yes (part.voted)"
part a
part b HAKIT_CRASH=part.voted

say "t1: the coordinator decides commit; a applies it, b died first"
printf 't1\ta=-10\tb=10\n' |
	2pc-coord -t 2 -l coord.log a=a.sock b=b.sock 2>>trace |
	sed 's/^/   coordinator: /' || true
echo "   a applied: $(cat a.out)"
echo "   the coordinator has exited and is never restarted"

say "b restarts: t1 is prepared but undecided -- in doubt"
part b
echo "   b holds back its hooks and asks the coordinator: unreachable"
echo "   so it asks a, which answers: committed"
for i in $(seq 100); do [ -s b.out ] && break; sleep 0.1; done
echo "   b applied: $(cat b.out)"
[ "$(cut -f2 a.out) $(cut -f2 b.out)" = "-10 10" ]
[ -z "$(2pc-part -s b.sock -L)" ]

say "The run as hakit-trace draws it (X a crash, * a start or restart)"
hakit-trace -w 78 trace | grep -v -e LIST
echo; echo "in-doubt demo: b learned the outcome from a; both committed"
