# hakit.bash: hakit pieces for bats tests.  Load it from a .bats file with
#
#	load /usr/local/share/hakit/hakit.bash	# or: bats_load_library hakit
#
# and start a ring, two-phase-commit participants and a coordinator, or a
# replicated group inside the test's own $BATS_TEST_TMPDIR.  Every start
# waits for the daemon's readiness (its -r option), never a fixed sleep,
# and every daemon started here is killed after the test by the teardown
# this file defines; a test file with a teardown of its own calls
# hakit_teardown from it.  See hakit(7), section BATS TESTS.

# hakit_path NAME: the path of NAME in this test's directory.
hakit_path() {
	printf '%s/%s\n' "$BATS_TEST_TMPDIR" "$1"
}

# hakit_start NAME CMD [ARG...]: start CMD (given -r 3 by the caller) with
# stdout in NAME.out and stderr in NAME.err, and wait up to 20 s for its
# readiness line.  Fails, showing NAME.err, if it is not ready.
hakit_start() {
	local name=$1 fifo line
	shift
	fifo=$(hakit_path "$name.ready")
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	"$@" 3>"$fifo" >>"$(hakit_path "$name.out")" \
	    2>>"$(hakit_path "$name.err")" </dev/null &
	echo "$!" >"$(hakit_path "$name.hakit-pid")"
	if ! read -r -t 20 line <"$fifo"; then
		echo "hakit: $name did not become ready: $*" >&2
		cat "$(hakit_path "$name.err")" >&2
		rm -f "$fifo"
		return 1
	fi
	rm -f "$fifo"
}

# hakit_kill NAME [SIGNAL]: signal a daemon started here (default KILL, a
# crash) and reap it.
hakit_kill() {
	local f pid
	f=$(hakit_path "$1.hakit-pid")
	[ -e "$f" ] || return 1
	pid=$(cat "$f")
	kill -"${2:-KILL}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	rm -f "$f"
	return 0
}

# hakit_teardown: kill every daemon started here.
hakit_teardown() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.hakit-pid; do
		[ -e "$f" ] || continue
		f=${f##*/}
		hakit_kill "${f%.hakit-pid}"
	done
	return 0
}

teardown() {
	hakit_teardown
}

# hakit_ring NAME NODE[:WEIGHT]...: write the ring file NAME.ring with
# these nodes (ring-add) and print its path.
hakit_ring() {
	local ring node
	ring=$(hakit_path "$1.ring")
	shift
	for node in "$@"; do
		case $node in
		*:*[!0-9]*|*:) ring-add -f "$ring" "$node" ;;
		*:*) ring-add -f "$ring" -w "${node##*:}" "${node%:*}" ;;
		*) ring-add -f "$ring" "$node" ;;
		esac || return 1
	done
	echo "$ring"
}

# hakit_part NAME [ARG...]: start a 2PC participant on NAME.sock with its
# log in NAME.log; ARGs are more 2pc-part options (hooks, -t).  Without
# hooks it writes what it commits to NAME.out.
hakit_part() {
	local name=$1
	shift
	hakit_start "$name" 2pc-part -s "$(hakit_path "$name.sock")" \
	    -l "$(hakit_path "$name.log")" -r 3 "$@"
}

# hakit_coord NAME [ARG...] PART...: start a 2PC coordinator daemon on
# NAME.sock with its log in NAME.log, for participants named PART, each
# started with hakit_part (or given as PART=SOCK).  Submit transactions
# with: printf 'TXID\tPART=PAYLOAD...\n' | 2pc-coord -C "$(hakit_path NAME.sock)"
hakit_coord() {
	local name=$1 a args=()
	shift
	for a in "$@"; do
		case $a in
		-*|*=*) args+=("$a") ;;
		*) args+=("$a=$(hakit_path "$a.sock")") ;;
		esac
	done
	hakit_start "$name" 2pc-coord -s "$(hakit_path "$name.sock")" \
	    -l "$(hakit_path "$name.log")" -r 3 "${args[@]}"
}

# hakit_group NAME N [ARG...]: start a replicated group of N members
# sharing the lease NAME.lease: NAME-1 the primary, NAME-2... backups,
# member NAME-i in directory NAME-i.d on NAME-i.sock.  Waits until every
# backup is in sync.  ARGs are more options for every member (-a, -k).
# Talk to it with: repl-client -L "$(hakit_path NAME.lease)" put KEY VALUE
hakit_group() {
	local name=$1 n=$2 i role
	shift 2
	for ((i = 1; i <= n; i++)); do
		role=backup
		[ "$i" -eq 1 ] && role=primary
		hakit_start "$name-$i" "repl-$role" \
		    -d "$(hakit_path "$name-$i.d")" \
		    -s "$(hakit_path "$name-$i.sock")" \
		    -L "$(hakit_path "$name.lease")" -r 3 "$@" || return 1
	done
}

# hakit_member_restart NAME-i: restart a member killed with hakit_kill as
# a backup on the same directory, and wait until it is in sync.
hakit_member_restart() {
	local member=$1
	hakit_start "$member" repl-backup -d "$(hakit_path "$member.d")" \
	    -s "$(hakit_path "$member.sock")" \
	    -L "$(hakit_path "${member%-*}.lease")" -r 3
}
