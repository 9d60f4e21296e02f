#!/usr/bin/env bash
# make demo: a guided tour of hakit, one family at a time.  Each part
# checks what it shows and exits non-zero if a check fails.
set -eu
cd "$(dirname "$0")"
for part in ring-demo.sh 2pc-transfer.sh failover.sh; do
	printf '\n######## %s\n' "$part"
	./"$part"
done
printf '\n######## every part of the tour ran and its checks held\n'
