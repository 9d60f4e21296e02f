#!/usr/bin/env bats
# Two-phase commit over two real PostgreSQL databases: the hooks in
# examples/postgres do PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK
# PREPARED; transfers between a few hot accounts are piped into a
# coordinator that is killed with kill -9 at random moments and restarted
# on what got no outcome yet (a retry, told its true outcome).  At the end
# money is conserved, every reported commit is in both databases, every
# reported abort in neither, and nothing is left prepared.
#
# Needs PostgreSQL's server (Debian's postgresql package, which .ci/run
# installs) and root, to run it as the postgres user.

load helper
bats_require_minimum_version 1.5.0

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

pg() {
	(cd / && runuser -u postgres -- "$PGBIN/$@")
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	[ -x "$PGBIN/postgres" ] || fail "PostgreSQL's server is not installed (apt-get install postgresql)"
	[ "$(id -u)" = 0 ] || fail "this test needs root, to run PostgreSQL as the postgres user"
	PGDIR=$(mktemp -d /tmp/hakit-pg.XXXXXX)
	echo "$PGDIR" >pgdir
	chown postgres "$PGDIR"
	pg initdb -D "$PGDIR/data" -A trust -U postgres >/dev/null
	pg pg_ctl -D "$PGDIR/data" -l "$PGDIR/log" -w -o \
		"-k $PGDIR -c listen_addresses= -c max_prepared_transactions=32" start >/dev/null
	export PGHOST=$PGDIR PGUSER=postgres
	local db
	for db in bank_a bank_b; do
		psql -X -q -d postgres -c "CREATE DATABASE $db"
		psql -X -q -d "$db" <<'SQL'
CREATE TABLE accounts (id int PRIMARY KEY,
    balance int NOT NULL CHECK (balance >= 0));
CREATE TABLE ledger (gid text PRIMARY KEY,
    account int NOT NULL REFERENCES accounts, amount int NOT NULL);
INSERT INTO accounts VALUES (1, 100), (2, 100), (3, 100);
SQL
	done
}

teardown() {
	stop_all_daemons
	PGDIR=$(cat "$BATS_TEST_TMPDIR/pgdir" 2>/dev/null) || return 0
	pg pg_ctl -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$PGDIR"
}

# sql DB QUERY: one value from a query.
sql() {
	psql -X -qAt -d "$1" -c "$2"
}

start_bank() {
	local hooks=$HAKIT_ROOT/examples/postgres
	start_daemon "$1" env PGDATABASE="bank_$1" 2pc-part -s "$1.sock" \
		-l "$1.log" -r 3 -t 2 -p "$hooks/prepare" -c "$hooks/commit" \
		-a "$hooks/abort"
}

@test "2pc with PostgreSQL: kill -9 of the coordinator mid-transfer loses no money and leaves nothing prepared" {
	local i from to amount sign kills=0 pid n
	start_bank a
	start_bank b
	RANDOM=7
	for i in $(seq 1 40); do
		from=$((RANDOM % 3 + 1))
		to=$((RANDOM % 3 + 1))
		amount=$((RANDOM % 60 + 1))
		if [ $((RANDOM % 2)) = 0 ]; then
			printf 't%s\ta=%s -%s\tb=%s %s\n' "$i" "$from" "$amount" "$to" "$amount"
		else
			printf 't%s\ta=%s %s\tb=%s -%s\n' "$i" "$from" "$amount" "$to" "$amount"
		fi
	done >transfers
	cp transfers todo
	: >outcomes
	while [ -s todo ]; do
		# Emptied here: a kill that comes before the child has opened
		# out (a sleep of 0.0) must not leave the last run's lines in it.
		: >out
		2pc-coord -t 5 -l coord.log a=a.sock b=b.sock <todo >out 2>>coord.err &
		pid=$!
		sleep "$((RANDOM % 2)).$((RANDOM % 10))"
		if kill -KILL "$pid" 2>/dev/null; then
			kills=$((kills + 1))
		fi
		wait "$pid" || true
		# Outcome lines come in input order: what is answered is done;
		# the rest, the one in flight included, goes again.
		cat out >>outcomes
		n=$(wc -l <out)
		tail -n +$((n + 1)) todo >todo.next
		mv todo.next todo
	done
	# Recovery delivers what the last kill left undelivered.
	run 2pc-coord -t 5 -l coord.log a=a.sock b=b.sock </dev/null
	assert_success
	nothing_prepared() {
		[ "$(sql bank_a 'SELECT count(*) FROM pg_prepared_xacts')" = 0 ] &&
			[ "$(sql bank_b 'SELECT count(*) FROM pg_prepared_xacts')" = 0 ]
	}
	eventually nothing_prepared
	assert_equal "$(2pc-part -s a.sock -L)$(2pc-part -s b.sock -L)" ""

	# Money is conserved, and each transfer is in both ledgers or neither.
	assert_equal "$(sql bank_a 'SELECT sum(balance) FROM accounts') $(sql bank_b 'SELECT sum(balance) FROM accounts')" \
		"$((300 + $(sql bank_a 'SELECT coalesce(sum(amount), 0) FROM ledger'))) $((300 + $(sql bank_b 'SELECT coalesce(sum(amount), 0) FROM ledger')))"
	assert_equal "$(($(sql bank_a 'SELECT sum(balance) FROM accounts') + $(sql bank_b 'SELECT sum(balance) FROM accounts')))" 600
	local id
	id=$(coord_id coord.log)
	assert_equal "$(sql bank_a "SELECT regexp_replace(gid, '-a\$', '') FROM ledger ORDER BY gid")" \
		"$(sql bank_b "SELECT regexp_replace(gid, '-b\$', '') FROM ledger ORDER BY gid")"
	# Every transfer has one outcome, and the databases agree with it.
	assert_equal "$(cut -f1 outcomes | sort)" "$(cut -f1 transfers | sort)"
	assert_equal "$(awk -F'\t' '$2 == "commit" { print "hakit-'"$id"'-" $1 "-a" }' outcomes | sort)" \
		"$(sql bank_a 'SELECT gid FROM ledger ORDER BY gid' | sort)"
	local commits
	commits=$(grep -c $'\tcommit$' outcomes) || true
	echo "# 40 transfers: $commits committed, $((40 - commits)) aborted; $kills coordinator kills" >&3
	[ "$kills" -ge 3 ]
	[ "$commits" -ge 10 ]
}
