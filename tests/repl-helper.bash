# Helpers for the replication tests (tests/3*-repl-*.bats): load after
# helper.  Every member NAME keeps its data in NAME.d, listens on
# NAME.sock and shares the lease file "lease" with its group.

# start_primary NAME [ARG...] / start_backup NAME [ARG...]: start a member
# and wait for its readiness (a backup is ready once it is in sync).
start_primary() {
	local name=$1
	shift
	start_daemon "$name" repl-primary -d "$name.d" -s "$name.sock" \
	    -L lease -r 3 "$@"
}

start_backup() {
	local name=$1
	shift
	start_daemon "$name" repl-backup -d "$name.d" -s "$name.sock" \
	    -L lease -r 3 "$@"
}

# rc ARG...: repl-client on the group's lease, retrying for up to 20 s.
rc() {
	repl-client -L lease -t 20 "$@"
}

# status_field NAME FIELD: one labelled field of NAME's status line.
status_field() {
	repl-client -s "$1.sock" -t 2 status | tr ' ' '\n' |
	    sed -n "s/^$2=//p"
}

# role NAME: prints "primary" or "backup", as the member says.
role() {
	status_field "$1" role
}

# is_primary NAME: succeeds if NAME serves as primary.
is_primary() {
	[ "$(role "$1")" = primary ]
}

# lease_field KEY: the value of a line of the lease state.
lease_field() {
	awk -v k="$1" '$1 == k { sub(/^[^ ]* /, ""); print }' lease.state
}

# member_id NAME: the id of the copy of the data in NAME.d.
member_id() {
	sed -n 's/^id //p' "$1.d/member"
}

# in_sync NAME: succeeds if NAME, as the copy of the data in NAME.d, is in
# the in-sync set.
in_sync() {
	lease_field insync | grep -qx "$(member_id "$1") $PWD/$1.sock"
}

# history NAME: "RECORDS DIGEST" of the history NAME holds, if it has
# applied every record it holds (snapshots make logs differ, not this).
history() {
	local status
	status=$(repl-client -s "$1.sock" -t 2 status) || return 1
	status=" $status "
	[[ $status =~ \ records=([0-9]+)\ applied=([0-9]+)\ .*digest=([0-9a-f]+) ]] &&
	    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
	    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[3]}"
}

# same_history NAME...: succeeds if every member holds the same history,
# all of it applied.
same_history() {
	local first n h
	first=$(history "$1") || return 1
	shift
	for n in "$@"; do
		h=$(history "$n") && [ "$h" = "$first" ] || return 1
	done
}

# converge NAME...: write a marker through the primary, then wait until
# every member holds the same history.
converge() {
	rc put converge-marker "$RANDOM" >/dev/null || return 1
	eventually same_history "$@"
}

# check_acked FILE: every "KEY VALUE" line of FILE reads back the same
# from the primary; prints each missing key and fails if there is one.
check_acked() {
	local k v got bad=0
	while read -r k v; do
		got=$(rc get "$k") || got="<absent>"
		if [ "$got" != "$v" ]; then
			echo "lost: $k (want $v, got $got)"
			bad=1
		fi
	done <"$1"
	return "$bad"
}

# has_lines FILE N: succeeds if FILE exists and has at least N lines.
has_lines() {
	[ -e "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# --- snapshots ---

# puts FROM TO: put k(I % 10) = vI for I from FROM to TO, through the lease
# (one client, one write at a time).
puts() {
	seq "$1" "$2" | awk '{ print "put k" $1 % 10 " v" $1 }' |
	    repl-client -L lease -t 20 >/dev/null
}

# check_values TO: every key k0..k9 reads back the last value put by
# "puts 1 TO" (read through the lease).
check_values() {
	local k want
	for k in 0 1 2 3 4 5 6 7 8 9; do
		want=$(( ($1 - k) / 10 * 10 + k ))
		run rc get "k$k"
		assert_output "v$want"
	done
}

# snapshot_past NAME POS: succeeds once NAME's snapshot is past POS.
snapshot_past() {
	[ "$(status_field "$1" snapshot)" -gt "$2" ]
}
