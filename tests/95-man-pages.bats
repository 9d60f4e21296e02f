#!/usr/bin/env bats
# Every man page: lint-clean, quotes and brackets paired as rendered, and
# for every tool a SYNOPSIS that is word for word what its -h prints.

load helper

@test "every tool has a page whose SYNOPSIS is its -h; every page renders with quotes and brackets paired" {
	local tool
	for tool in "$HAKIT_ROOT"/bin/*; do
		[ -e "$HAKIT_ROOT/man/man1/${tool##*/}.1" ] ||
			fail "${tool##*/} has no man page"
	done
	run "$HAKIT_ROOT/tests/man-check" "$HAKIT_ROOT"/man/man1/*.1 "$HAKIT_ROOT"/man/man7/*.7
	assert_success
	assert_output ""
	run mandoc -Tlint -W warning "$HAKIT_ROOT"/man/man1/*.1 "$HAKIT_ROOT"/man/man7/*.7
	assert_success
}
