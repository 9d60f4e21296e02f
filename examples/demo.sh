#!/usr/bin/env bash
# make demo: a guided tour of hakit, one family at a time.
set -eu
cd "$(dirname "$0")"
for part in ring-demo.sh; do
	printf '\n######## %s\n' "$part"
	./"$part"
done
