#!/usr/bin/env bats
# ring-lookup against libmemcached's weighted ketama
# (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED): the same server for every key.

load helper

setup_file() {
	cc -o "$BATS_FILE_TMPDIR/libmemcached-lookup" \
	    "$BATS_TEST_DIRNAME/peers/libmemcached-lookup.c" \
	    $(pkg-config --cflags --libs libmemcached)
}

# compare RING KEYS ARGS...: ring-lookup on RING and libmemcached with the
# servers ARGS (HOST PORT WEIGHT ...) place every key in KEYS alike.
# libmemcached names a server HOST:PORT and hashes "HOST" for port 11211.
compare() {
	local ring=$1 keys=$2
	shift 2
	"$BATS_FILE_TMPDIR/libmemcached-lookup" "$@" <"$keys" |
	    sed 's/:11211$//' >want
	ring-lookup -f "$ring" <"$keys" >got
	[ "$(wc -l <got)" -eq "$(wc -l <"$keys")" ]
	diff want got
}

@test "100 equal servers: 20000 keys placed alike" {
	args=()
	for i in $(seq 1 100); do
		echo "10.0.$((i / 250)).$((i % 250))" >>ring
		args+=("10.0.$((i / 250)).$((i % 250))" 11211 1)
	done
	{ seq -f 'user:%g' 1 19000; seq -f 'k%g' 1 1000 | sed 's/$/\xc3\xa9\xff/'; } >keys
	compare ring keys "${args[@]}"
}

@test "weighted servers, some off the default port: placed alike" {
	args=()
	for i in $(seq 1 30); do
		w=$(((i * 7) % 5 + 1))
		if ((i % 3)); then
			echo "cache$i $w" >>ring
			args+=("cache$i" 11211 "$w")
		else
			echo "cache$i:11300 $w" >>ring
			args+=("cache$i" 11300 "$w")
		fi
	done
	seq -f 'session-%g' 1 10000 >keys
	compare ring keys "${args[@]}"
}
