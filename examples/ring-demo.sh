#!/usr/bin/env bash
# Consistent hashing in one minute: build a ring, place keys, add a node
# and see how few keys move -- and that every one of them moves to the new
# node -- then remove a node and see that only its keys move.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ring=$dir/cache.ring
say() { printf '\n== %s\n' "$*"; }
tally() { cut -f2 "$1" | sort | uniq -c | awk '{ printf "   %-10s %5d keys\n", $2, $1 }'; }

say "A ring of four cache servers"
ring-add -f "$ring" cache-a cache-b cache-c cache-d
sed 's/^/   /' "$ring"

say "Where 10000 keys live (ring-lookup, ketama as twemproxy computes it)"
seq -f 'user:%g' 1 10000 >"$dir/keys"
ring-lookup -f "$ring" <"$dir/keys" >"$dir/before"
tally "$dir/before"

say "Add cache-e: which keys move?"
ring-add -f "$ring" cache-e
ring-lookup -f "$ring" <"$dir/keys" >"$dir/after"
paste "$dir/before" "$dir/after" | awk -F'\t' '$2 != $4' >"$dir/moved"
moved=$(wc -l <"$dir/moved")
echo "   $moved of 10000 keys moved (the new node's fair share: 1/5 = 2000)"
echo "   they moved to: $(cut -f4 "$dir/moved" | sort -u | tr '\n' ' ')"
[ "$(cut -f4 "$dir/moved" | sort -u)" = cache-e ]

say "Remove cache-b: only its keys move, spread over the others"
ring-remove -f "$ring" cache-b
ring-lookup -f "$ring" <"$dir/keys" >"$dir/final"
paste "$dir/after" "$dir/final" | awk -F'\t' '$2 != $4' >"$dir/moved"
echo "   $(wc -l <"$dir/moved") keys moved, all from: $(cut -f2 "$dir/moved" | sort -u | tr '\n' ' ')"
[ "$(cut -f2 "$dir/moved" | sort -u)" = cache-b ]
tally "$dir/final"

say "Give cache-d twice the weight: its share about doubles"
ring-add -f "$ring" -w 2 cache-d
ring-lookup -f "$ring" <"$dir/keys" >"$dir/final"
tally "$dir/final"

say "A key's replica set: its owner and the next two distinct nodes"
ring-lookup -f "$ring" -n 3 user:42 | sed 's/^/   /'
