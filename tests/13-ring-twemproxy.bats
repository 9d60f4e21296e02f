#!/usr/bin/env bats
# ring-lookup against the real thing: keys stored through twemproxy
# (nutcracker) land on exactly the memcached servers ring-lookup names,
# for every key hash the two share.

load helper

HASHES="md5 fnv1a_64 fnv1_64 fnv1_32 fnv1a_32 one_at_a_time crc32 crc32a"

# unix_open PATH: succeeds if something accepts connections on PATH.
unix_open() {
	[ -S "$1" ] && socat -u /dev/null UNIX-CONNECT:"$1" 2>/dev/null
}

# The memcached servers listen on UNIX sockets (mcN.sock), or, for the
# test of HOST:PORT names, on 127.0.0.1 ports that nothing else is using.
setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	user=$(id -un)
	MC_TCP=
	[[ $BATS_TEST_DESCRIPTION == *HOST:PORT* ]] && MC_TCP=1
	for i in 1 2 3 4; do
		if [ -n "${MC_TCP:-}" ]; then
			start_memcached_tcp "$i"
		else
			start_process "mc$i" memcached -s "$PWD/mc$i.sock" -u "$user" -m 16
			eventually unix_open "$PWD/mc$i.sock"
		fi
		kill -0 "$(daemon_pid "mc$i")"
	done
}

# start_memcached_tcp I: memcached I on a free port, in portI; another port
# is tried if the one picked is taken meanwhile.
start_memcached_tcp() {
	local try port pid
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		port_open "$port" && continue
		start_process "mc$1" memcached -l 127.0.0.1 -p "$port" -U 0 -u "$user" -m 16
		pid=$(daemon_pid "mc$1")
		while kill -0 "$pid" 2>/dev/null && ! port_open "$port"; do sleep 0.05; done
		if kill -0 "$pid" 2>/dev/null; then
			eval "port$1=$port"
			return 0
		fi
	done
	return 1
}

# mc_addr I: where memcached I listens, as socat and twemproxy name it
mc_addr() {
	local p="port$1"
	if [ -n "${MC_TCP:-}" ]; then echo "TCP:127.0.0.1:${!p}"; else echo "UNIX-CONNECT:$PWD/mc$1.sock"; fi
}

# keys PREFIX: 300 keys, some with bytes of 0x80 and above
keys() {
	seq -f "$1:user:%g" 1 250
	for i in $(seq 1 50); do printf '%s:caf\xc3\xa9\xff%d\n' "$1" "$i"; done
}

# where_stored PREFIX: "KEY SERVER" for every key, asking each memcached
where_stored() {
	local i
	for i in 1 2 3 4; do
		keys "$1" | xargs -d '\n' -n 20 echo get | sed 's/$/\r/' |
		    socat -t 5 - "$(mc_addr "$i")" |
		    awk -v s="mc$i" '$1 == "VALUE" { print $2, s }'
	done | sort
}

# store_through SOCK PREFIX: set every key through twemproxy at SOCK
store_through() {
	keys "$2" | awk '{ printf "set %s 0 0 1\r\nx\r\n", $0 }' |
	    socat -t 5 - UNIX-CONNECT:"$1" | grep -c STORED
}

@test "twemproxy with named, weighted servers agrees for every hash" {
	{
		for h in $HASHES; do
			cat <<-CONF
			$h:
			  listen: $PWD/$h.sock
			  hash: $h
			  distribution: ketama
			  servers:
			   - $PWD/mc1.sock:1 cache-a
			   - $PWD/mc2.sock:3 cache-b
			   - $PWD/mc3.sock:1 cache-c
			   - $PWD/mc4.sock:2 cache-d
			CONF
		done
	} >nutcracker.yml
	start_process nutcracker nutcracker -c nutcracker.yml -o nutcracker.log
	printf 'cache-a\ncache-b 3\ncache-c\ncache-d 2\n' >ring
	for h in $HASHES; do
		eventually unix_open "$PWD/$h.sock"
		[ "$(store_through "$PWD/$h.sock" "$h")" -eq 300 ]
		where_stored "$h" >got
		keys "$h" | ring-lookup -f ring -H "$h" |
		    sed 's/cache-a$/mc1/; s/cache-b$/mc2/; s/cache-c$/mc3/; s/cache-d$/mc4/' |
		    tr '\t' ' ' | sort >want
		[ "$(wc -l <want)" -eq 300 ]
		diff want got
	done
}

@test "unnamed servers hash as HOST:PORT, as twemproxy does off port 11211" {
	cat >nutcracker.yml <<-CONF
	pool:
	  listen: $PWD/nc.sock
	  hash: fnv1a_64
	  distribution: ketama
	  servers:
	   - 127.0.0.1:$port1:1
	   - 127.0.0.1:$port2:1
	   - 127.0.0.1:$port3:1
	   - 127.0.0.1:$port4:1
	CONF
	start_process nutcracker nutcracker -c nutcracker.yml -o nutcracker.log
	for i in 1 2 3 4; do p="port$i"; ring-add -f ring "127.0.0.1:${!p}"; done
	eventually unix_open "$PWD/nc.sock"
	[ "$(store_through "$PWD/nc.sock" plain)" -eq 300 ]
	where_stored plain >got
	keys plain | ring-lookup -f ring -H fnv1a_64 |
	    sed "s/127.0.0.1:$port1\$/mc1/; s/127.0.0.1:$port2\$/mc2/; s/127.0.0.1:$port3\$/mc3/; s/127.0.0.1:$port4\$/mc4/" |
	    tr '\t' ' ' | sort >want
	diff want got
}
