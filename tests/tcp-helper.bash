# Helpers for the TCP tests (tests/43-tcp.bats, tests/44-tcp-auth.bats):
# load after helper.  Every address is on 127.0.0.1 or ::1, at a port
# chosen free when the test runs.

# free_port: prints a TCP port that no socket uses now and that this test
# has not been given before, below the kernel's range of ephemeral ports.
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		grep -qx "$p" "$BATS_TEST_TMPDIR/ports" 2>/dev/null && continue
		[ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ] || continue
		echo "$p" >>"$BATS_TEST_TMPDIR/ports"
		echo "$p"
		return 0
	done
	echo "no free port found" >&2
	return 1
}

# tcp_say ADDR LINE: send one line to a daemon at HOST:PORT or [V6]:PORT,
# print the reply (no handshake: for daemons without -K).
tcp_say() {
	printf '%s\n' "$2" | socat -t 2 - "TCP:$1"
}

# make_key FILE: a fresh random key, readable by its owner only.
make_key() {
	head -c 32 /dev/urandom | base64 >"$1"
	chmod 600 "$1"
}

# ms_now: milliseconds since the epoch.
ms_now() {
	echo $(($(date +%s%N) / 1000000))
}
