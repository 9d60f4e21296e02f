# hakit.bash: hakit pieces for bats tests.  Load it from a .bats file with
#
#	load /usr/local/share/hakit/hakit.bash
#
# or, with the directory above this one in BATS_LIB_PATH (say
# BATS_LIB_PATH=/usr/local/share:/usr/lib/bats, or the share directory of
# hakit's source tree), with
#
#	bats_load_library hakit
#
# and start a ring, two-phase-commit participants and a coordinator, or a
# replicated group, in a test or in setup_file.  Every start waits for the
# daemon's readiness (its -r option), never a fixed sleep.
#
# Where things live: a piece started in a test lives in $BATS_TEST_TMPDIR
# and is killed after that test; one started in setup_file lives in
# $BATS_FILE_TMPDIR, is shared by the file's tests and is killed after the
# last of them.  Nothing is written anywhere else.  Each daemon runs in its
# directory, so hooks and relative paths in options are relative to it, and
# holds no descriptor of bats' own, so a forgotten one cannot keep bats
# waiting.
#
# This file defines teardown and teardown_file.  One defined before it is
# loaded is kept and runs first; one defined after it replaces this file's,
# and should then call hakit_teardown (or hakit_teardown_file).  Should it
# not, the daemons of a test are still killed after the file's last test.
# See hakit(7), section BATS TESTS.

# hakit_dir: the directory new pieces go in: the test's, or in setup_file
# and teardown_file the file's.  Fails outside a bats test.
hakit_dir() {
	if [ -n "${BATS_TEST_TMPDIR:-}" ]; then
		printf '%s\n' "$BATS_TEST_TMPDIR"
	elif [ -n "${BATS_FILE_TMPDIR:-}" ]; then
		printf '%s\n' "$BATS_FILE_TMPDIR"
	else
		echo "hakit: not in a bats test or setup_file" >&2
		return 1
	fi
}

# hakit_path NAME: the path of NAME: in the test's directory if it is
# there, else in the file's if it is there (a piece of setup_file), else
# where a new NAME goes (hakit_dir).
hakit_path() {
	local d
	for d in "${BATS_TEST_TMPDIR:-}" "${BATS_FILE_TMPDIR:-}"; do
		if [ -n "$d" ] && [ -e "$d/$1" ]; then
			printf '%s/%s\n' "$d" "$1"
			return 0
		fi
	done
	d=$(hakit_dir) || return 1
	printf '%s/%s\n' "$d" "$1"
}

# hakit_start NAME CMD [ARG...]: start CMD (given -r 3 by the caller) in
# hakit_dir, with stdout in NAME.out and stderr in NAME.err there, and wait
# up to 20 s for its readiness line.  Fails, showing NAME.err, if it is not
# ready.
hakit_start() {
	local dir
	dir=$(hakit_dir) || return 1
	hakit_start_in "$dir" "$@"
}

# hakit_start_in DIR NAME CMD [ARG...]: hakit_start in directory DIR.
hakit_start_in() {
	local dir=$1 name=$2 fifo line
	shift 2
	fifo=$dir/$name.ready
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	(
		# The readiness pipe first, so that any failure ends the read.
		exec 3>"$fifo"
		cd "$dir" || exit 1
		for fd in /dev/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 3 ] && eval "exec $fd>&-"
		done 2>/dev/null
		exec "$@" >>"$name.out" 2>>"$name.err" </dev/null
	) &
	echo "$!" >"$dir/$name.hakit-pid"
	if [ -n "${BATS_FILE_TMPDIR:-}" ]; then
		echo "$dir/$name.hakit-pid" >>"$BATS_FILE_TMPDIR/hakit.started"
	fi
	if ! read -r -t 20 line <"$fifo"; then
		echo "hakit: $name did not become ready: $*" >&2
		cat "$dir/$name.err" >&2
		rm -f "$fifo"
		return 1
	fi
	rm -f "$fifo"
}

# hakit_stop PIDFILE SIGNAL: signal the daemon whose pid PIDFILE holds and
# wait until it is gone: by wait(1) if this shell started it, else (a
# daemon of setup_file, seen from a test) by polling for up to 20 s.
hakit_stop() {
	local pid i stat
	pid=$(cat "$1" 2>/dev/null) || return 0
	rm -f "$1"
	kill -"$2" "$pid" 2>/dev/null || return 0
	if [[ " $(jobs -p | tr '\n' ' ') " == *" $pid "* ]]; then
		wait "$pid" 2>/dev/null || true
		return 0
	fi
	for ((i = 0; i < 400; i++)); do
		stat=$(ps -o stat= -p "$pid") || return 0
		[[ $stat == Z* ]] && return 0
		sleep 0.05
	done
	echo "hakit: process $pid did not exit on SIG$2" >&2
	return 1
}

# hakit_kill NAME [SIGNAL]: signal a daemon started here (default KILL, a
# crash) and wait until it is gone.
hakit_kill() {
	local f
	f=$(hakit_path "$1.hakit-pid") || return 1
	[ -e "$f" ] || return 1
	hakit_stop "$f" "${2:-KILL}"
}

# hakit_teardown: kill every daemon started in this test (in setup_file,
# or teardown_file: in this file).
hakit_teardown() {
	local dir f
	dir=$(hakit_dir) || return 0
	for f in "$dir"/*.hakit-pid; do
		[ -e "$f" ] && hakit_stop "$f" KILL
	done
	return 0
}

# hakit_teardown_file: kill every daemon started in this file, in
# setup_file or in a test whose teardown did not.
hakit_teardown_file() {
	local f
	[ -e "$BATS_FILE_TMPDIR/hakit.started" ] || return 0
	while read -r f; do
		hakit_stop "$f" KILL
	done <"$BATS_FILE_TMPDIR/hakit.started"
	rm -f "$BATS_FILE_TMPDIR/hakit.started"
}

# hakit_hook HOOK CLEANUP: define bats' HOOK to run CLEANUP, after the
# HOOK defined before this file was loaded, if any.
hakit_hook() {
	local hook=$1 cleanup=$2 prior
	if prior=$(declare -f "$hook"); then
		eval "hakit_prior_$hook${prior#"$hook"}"
		eval "$hook() { local s=0; hakit_prior_$hook || s=\$?; \
$cleanup; return \$s; }"
	else
		eval "$hook() { $cleanup; }"
	fi
}
hakit_hook teardown hakit_teardown
hakit_hook teardown_file hakit_teardown_file

# hakit_ring NAME NODE...: write the ring file NAME.ring with exactly these
# nodes, in this order, and print its path.  Each NODE is a ring-file line,
# "NODE" or "NODE WEIGHT" (one argument, quoted): node names have no
# blanks, so HOST:PORT and any other name stand as they are.
hakit_ring() {
	local ring spec node weight extra
	ring=$(hakit_dir)/$1.ring || return 1
	shift
	rm -f "$ring"
	for spec in "$@"; do
		read -r node weight extra <<<"$spec"
		if [ -n "$extra" ] || [ -z "$node" ]; then
			echo "hakit: bad ring line '$spec': want NODE [WEIGHT]" >&2
			return 1
		fi
		ring-add -f "$ring" ${weight:+-w "$weight"} "$node" || return 1
	done
	echo "$ring"
}

# hakit_part NAME [ARG...]: start a 2PC participant on NAME.sock with its
# log in NAME.log; ARGs are more 2pc-part options (hooks, -t).  Without
# hooks it writes what it commits to NAME.out.
hakit_part() {
	local name=$1 dir
	shift
	dir=$(hakit_dir) || return 1
	: >"$dir/$name.hakit-part"
	hakit_start_in "$dir" "$name" 2pc-part -s "$dir/$name.sock" \
	    -l "$dir/$name.log" -r 3 "$@"
}

# hakit_coord NAME [ARG...]: start a 2PC coordinator daemon on NAME.sock
# with its log in NAME.log.  Each ARG that names a participant started
# with hakit_part (in this test or in setup_file, running or not) becomes
# PART=SOCK for it; every other ARG (options and their values, PART=SOCK
# operands) goes to 2pc-coord as it is.  Submit transactions with:
#	printf 'TXID\tPART=PAYLOAD...\n' | 2pc-coord -C "$(hakit_path NAME.sock)"
hakit_coord() {
	local name=$1 dir a part args=()
	shift
	dir=$(hakit_dir) || return 1
	for a in "$@"; do
		part=
		[[ $a == */* ]] || part=$(hakit_path "$a.hakit-part")
		if [ -n "$part" ] && [ -e "$part" ]; then
			args+=("$a=${part%.hakit-part}.sock")
		else
			args+=("$a")
		fi
	done
	hakit_start_in "$dir" "$name" 2pc-coord -s "$dir/$name.sock" \
	    -l "$dir/$name.log" -r 3 "${args[@]}"
}

# hakit_group NAME N [ARG...]: start a replicated group of N members
# sharing the lease NAME.lease: NAME-1 the primary, NAME-2... backups,
# member NAME-i in directory NAME-i.d on NAME-i.sock.  Waits until every
# backup is in sync.  ARGs are more options for every member (-a, -k),
# kept for hakit_member_restart.
# Talk to it with: repl-client -L "$(hakit_path NAME.lease)" put KEY VALUE
hakit_group() {
	local name=$1 n=$2 i role dir
	shift 2
	dir=$(hakit_dir) || return 1
	: >"$dir/$name.hakit-args"
	[ "$#" -eq 0 ] || printf '%s\0' "$@" >"$dir/$name.hakit-args"
	for ((i = 1; i <= n; i++)); do
		role=backup
		[ "$i" -eq 1 ] && role=primary
		hakit_member "$dir" "$name" "$i" "repl-$role" "$@" || return 1
	done
}

# hakit_member DIR GROUP I TOOL [ARG...]: start member GROUP-I of a group
# in DIR with TOOL.
hakit_member() {
	local dir=$1 group=$2 i=$3 tool=$4
	shift 4
	hakit_start_in "$dir" "$group-$i" "$tool" -d "$dir/$group-$i.d" \
	    -s "$dir/$group-$i.sock" -L "$dir/$group.lease" -r 3 "$@"
}

# hakit_member_restart NAME-i [ARG...]: restart a member killed with
# hakit_kill as a backup on the same directory, with the group's options
# and ARGs, and wait until it is in sync.
hakit_member_restart() {
	local member=$1 dir args=()
	shift
	dir=$(hakit_path "$member.d") || return 1
	dir=${dir%/*}
	if [ -e "$dir/${member%-*}.hakit-args" ]; then
		mapfile -d '' args <"$dir/${member%-*}.hakit-args"
	fi
	hakit_member "$dir" "${member%-*}" "${member##*-}" repl-backup \
	    "${args[@]}" "$@"
}
