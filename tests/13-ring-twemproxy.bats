#!/usr/bin/env bats
# ring-lookup against the real thing: keys stored through twemproxy
# (nutcracker) land on exactly the memcached servers ring-lookup names,
# for every key hash the two share.

load helper

HASHES="md5 fnv1a_64 fnv1_64 fnv1_32 fnv1a_32 one_at_a_time crc32 crc32a"

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	base=$((20000 + (RANDOM % 400) * 50))
	user=$(id -un)
	for i in 1 2 3 4; do
		start_process "mc$i" memcached -l 127.0.0.1 -p $((base + i)) -U 0 -u "$user" -m 16
	done
	for i in 1 2 3 4; do
		eventually port_open $((base + i))
	done
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
		    socat -t 5 - TCP:127.0.0.1:$((base + i)) |
		    awk -v s="mc$i" '$1 == "VALUE" { print $2, s }'
	done | sort
}

# store_through PORT PREFIX: set every key through twemproxy on PORT
store_through() {
	keys "$2" | awk '{ printf "set %s 0 0 1\r\nx\r\n", $0 }' |
	    socat -t 5 - TCP:127.0.0.1:"$1" | grep -c STORED
}

@test "twemproxy with named, weighted servers agrees for every hash" {
	{
		n=0
		for h in $HASHES; do
			n=$((n + 1))
			cat <<-CONF
			$h:
			  listen: 127.0.0.1:$((base + 10 + n))
			  hash: $h
			  distribution: ketama
			  servers:
			   - 127.0.0.1:$((base + 1)):1 cache-a
			   - 127.0.0.1:$((base + 2)):3 cache-b
			   - 127.0.0.1:$((base + 3)):1 cache-c
			   - 127.0.0.1:$((base + 4)):2 cache-d
			CONF
		done
	} >nutcracker.yml
	start_process nutcracker nutcracker -c nutcracker.yml -o nutcracker.log
	printf 'cache-a\ncache-b 3\ncache-c\ncache-d 2\n' >ring
	n=0
	for h in $HASHES; do
		n=$((n + 1))
		eventually port_open $((base + 10 + n))
		[ "$(store_through $((base + 10 + n)) "$h")" -eq 300 ]
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
	  listen: 127.0.0.1:$((base + 10))
	  hash: fnv1a_64
	  distribution: ketama
	  servers:
	   - 127.0.0.1:$((base + 1)):1
	   - 127.0.0.1:$((base + 2)):1
	   - 127.0.0.1:$((base + 3)):1
	CONF
	start_process nutcracker nutcracker -c nutcracker.yml -o nutcracker.log
	for i in 1 2 3; do ring-add -f ring "127.0.0.1:$((base + i))"; done
	eventually port_open $((base + 10))
	[ "$(store_through $((base + 10)) plain)" -eq 300 ]
	where_stored plain >got
	keys plain | ring-lookup -f ring -H fnv1a_64 |
	    sed "s/127.0.0.1:$((base + 1))\$/mc1/; s/127.0.0.1:$((base + 2))\$/mc2/; s/127.0.0.1:$((base + 3))\$/mc3/" |
	    tr '\t' ' ' | sort >want
	diff want got
}
