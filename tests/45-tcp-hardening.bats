#!/usr/bin/env bats
# TCP and key files against abuse: a mistyped address is refused, not
# made a socket file; a key file too long or a FIFO is refused at once;
# connections that never finish a handshake cannot keep keyed peers out
# nor make a daemon hold more than a handshake line each.

load helper
load tcp-helper
bats_require_minimum_version 1.5.0

@test "tcp: a mistyped TCP address is a usage error, not a socket file in the current directory" {
	local a
	for a in localhost: '[::1]:' :7999 '[::1]' ::1:7999 localhost:http \
	    127.0.0.1:80x 127.0.0.1:+80 a:b.sock; do
		run timeout 5 2pc-part -s "$a" -l p.log
		assert_failure 2
		assert_output --partial "$a: "
		[ ! -e "$a" ]
	done
	run 2pc-coord -l c.log a=db1: </dev/null
	assert_failure 2
	assert_output --partial "db1:: give HOST:PORT or [V6ADDR]:PORT (a path needs a / or unix:)"
	# A path with a colon is still one, with a slash or unix: in front.
	start_daemon p 2pc-part -s ./a:b.sock -l p.log -r 3
	[ -S a:b.sock ]
}

@test "tcp: a key file over 4096 bytes, newlines aside, is refused, not cut short; a FIFO is refused at once" {
	head -c 4098 /dev/zero | tr '\0' k >long
	chmod 600 long
	run 2pc-part -K long -s "127.0.0.1:$(free_port)" -l p.log
	assert_failure 2
	assert_output --partial "key file long: more than 4096 bytes"
	{ head -c 4096 /dev/zero | tr '\0' k; printf '\n\n'; } >edge
	chmod 600 edge
	start_daemon p 2pc-part -K edge -s "127.0.0.1:$(free_port)" -l p.log -r 3
	mkfifo fifo
	chmod 600 fifo
	run timeout 5 2pc-part -K fifo -s "127.0.0.1:$(free_port)" -l q.log
	assert_failure 2
	assert_output --partial "key file fifo: not a regular file"
}

# hold N PORT: opens N connections to PORT that say nothing, and keeps
# them open until killed; creates "opened" once all are.
hold() {
	local i fd
	ulimit -n 8192
	for ((i = 0; i < $1; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$2" || break
	done
	touch opened
	exec sleep 60
}

@test "tcp: 4200 connections that never start a handshake do not keep a keyed client out" {
	make_key key
	port=$(free_port)
	start_daemon p 2pc-part -K key -s "127.0.0.1:$port" -l p.log -r 3 -t 5
	hold 4200 "$port" &
	holder=$!
	eventually test -e opened
	run timeout 10 2pc-part -K key -s "127.0.0.1:$port" -L
	kill "$holder"
	assert_success
	# At most WIRE_MAX_HANDSHAKES (64) were kept waiting, the oldest given
	# up first; the refusals said a few a second, with how many were not.
	grep -q "refused a TCP peer: too many handshakes under way" p.err
	grep -Eq "\(and [0-9]+ more refused, not said\)" p.err
	[ "$(wc -l <p.err)" -lt 100 ]
}

@test "tcp: before its handshake a peer may send no more than a handshake line" {
	make_key key
	port=$(free_port)
	start_daemon p 2pc-part -K key -s "127.0.0.1:$port" -l p.log -r 3 -t 5
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	head -c 1000 /dev/zero | tr '\0' A >&"$fd"
	run timeout 5 cat <&"$fd"
	exec {fd}>&-
	assert_output --partial "ERR line too long"
	run timeout 10 2pc-part -K key -s "127.0.0.1:$port" -L
	assert_success
}
