# hakit: consistent hashing, two-phase commit and primary-backup replication
# as small Unix tools.  See README.md.

include config.mk

LIBSRC = $(wildcard lib/*.c)
LIBOBJ = $(LIBSRC:.c=.o)
LIBHDR = $(wildcard lib/*.h)
LIB    = lib/libhakit.a
TOOLS  = $(patsubst src/%.c,bin/%,$(wildcard src/*.c))
MAN1   = $(wildcard man/man1/*.1)
MAN7   = $(wildcard man/man7/*.7)
SHARE  = $(wildcard share/hakit/*.bash)

all: $(TOOLS)

# Everything is rebuilt when the compiler or its flags change (say, after
# `make asan`), so a build never mixes objects made with different flags.
.buildflags: FORCE
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS)' > $@

lib/%.o: lib/%.c $(LIBHDR) .buildflags
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

bin/%: src/%.c $(LIB) $(LIBHDR) .buildflags
	@mkdir -p bin
	$(CC) $(CPPFLAGS) $(CFLAGS) -Ilib $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

check: all faults
	mandoc -Tlint -W warning $(MAN1) $(MAN7)
	tests/run

asan:
	$(MAKE) CFLAGS='$(CFLAGS) $(SANFLAGS)' LDFLAGS='$(LDFLAGS) $(SANFLAGS)' check

# Hardening (tests only, never installed).  `make valgrind` runs a subset
# of the suite with every tool under valgrind memcheck; `make fuzz` runs
# each libFuzzer target for FUZZ_SECS seconds from its seed corpus in
# tests/fuzz/; tests/faults/faultfs.so makes write, fsync, fdatasync or
# rename fail on demand (see tests/faults/faultfs.c); tests/abuse/holdconns
# holds many connections open; tests/lincheck/lincheck checks that a
# recorded history is linearizable; tests/nemesis/record records the
# histories of the replication nemesis (`make nemesis` runs it for
# NEMESIS_SECS seconds).
FUZZ_CC = clang
FUZZ_SECS = 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZ_TARGETS = ring wire auth kvlog 2pc-coord 2pc-part json http
FUZZ_BIN = $(FUZZ_TARGETS:%=tests/fuzz/fuzz-%)
VALGRIND_TESTS = tests/10-ring-file.bats \
	tests/20-2pc-basic.bats tests/30-repl-basic.bats tests/40-disk-faults.bats

# Targets that call code exiting on bad input wrap err, errx and the
# allocators (tests/fuzz/track.h).
FUZZ_WRAP = -Wl,--wrap=err,--wrap=errx,--wrap=xmalloc,--wrap=xcalloc,--wrap=xrealloc,--wrap=xstrdup,--wrap=xmemdup,--wrap=xasprintf,--wrap=xvasprintf,--wrap=free

tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/track.h $(LIBSRC) $(LIBHDR) \
    $(wildcard src/2pc-*.c)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -Ilib -o $@ $< $(LIBSRC) \
	    $(if $(filter-out %ring %wire %auth %json %http,$@),$(FUZZ_WRAP)) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/$$t.corpus || exit 1; \
		echo "fuzz: $$t for $(FUZZ_SECS) s"; \
		tests/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECS) \
		    -print_final_stats=1 -artifact_prefix=tests/fuzz/$$t- \
		    tests/fuzz/$$t.corpus tests/fuzz/$$t 2>tests/fuzz/$$t.out; \
		s=$$?; grep -E 'number_of_executed_units|new_units_added' \
		    tests/fuzz/$$t.out; \
		[ $$s = 0 ] || { tail -40 tests/fuzz/$$t.out; exit 1; }; \
	done

tests/faults/faultfs.so: tests/faults/faultfs.c
	$(CC) -std=c11 -O2 -g -Wall -Wextra -fPIC -shared -o $@ $< -ldl

tests/abuse/holdconns: tests/abuse/holdconns.c
	$(CC) -std=c11 -O2 -g -Wall -Wextra $(CPPFLAGS) -o $@ $<

tests/lincheck/lincheck: tests/lincheck/lincheck.c
	$(CC) -std=c11 -O2 -g -Wall -Wextra $(CPPFLAGS) -o $@ $<

tests/nemesis/record: tests/nemesis/record.c
	$(CC) -std=c11 -O2 -g -Wall -Wextra $(CPPFLAGS) -o $@ $<

tests/auth/sha256: tests/auth/sha256.c $(LIB) lib/sha256.h .buildflags
	$(CC) $(CPPFLAGS) $(CFLAGS) -Ilib $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tests/unit/json-http: tests/unit/json-http.c $(LIB) lib/json.h lib/base64.h \
    lib/http.h .buildflags
	$(CC) $(CPPFLAGS) $(CFLAGS) -Ilib $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

faults: tests/faults/faultfs.so tests/abuse/holdconns tests/lincheck/lincheck \
    tests/nemesis/record tests/auth/sha256 tests/unit/json-http

NEMESIS_SECS = 300
nemesis: all faults
	tests/nemesis/run $(NEMESIS_SECS) "$$(mktemp -d)"

# The same across hosts (network namespaces, etcd; needs root).
nemesis-hosts: all faults
	tests/nemesis/hosts $(NEMESIS_SECS) "$$(mktemp -d)"
.PHONY: nemesis-hosts

valgrind: all faults
	tests/valgrind/run $(VALGRIND_TESTS)

# The Promela model of two-phase commit, checked exhaustively with spin
# (tests/model/2pc.pml; tests/model/run -q is the quick check that
# tests/29-2pc-model.bats runs).
model:
	tests/model/run
.PHONY: model

demo: all
	examples/demo.sh

# The README's pictures, committed in doc/: a ring drawn by ring-stats and a
# sequence diagram drawn by hakit-trace from a traced 2PC run.
pictures: all
	bin/ring-stats -T svg -f doc/cache.ring </dev/null >doc/ring.svg
	bin/hakit-trace -T svg tests/fixtures/2pc-crash.trace >doc/2pc-crash.svg
	xmllint --noout doc/ring.svg doc/2pc-crash.svg

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	cp -f $(TOOLS) $(DESTDIR)$(BINDIR)/
	cp -f $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp -f $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	mkdir -p $(DESTDIR)$(SHAREDIR)
	cp -f $(SHARE) $(DESTDIR)$(SHAREDIR)/

uninstall:
	for t in $(notdir $(TOOLS)); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(notdir $(MAN1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(notdir $(MAN7)); do rm -f $(DESTDIR)$(MANDIR)/man7/$$m; done
	for f in $(notdir $(SHARE)); do rm -f $(DESTDIR)$(SHAREDIR)/$$f; done
	-rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null

clean:
	rm -f $(LIBOBJ) $(LIB) $(TOOLS) .buildflags $(FUZZ_BIN) \
	    tests/faults/faultfs.so tests/abuse/holdconns tests/lincheck/lincheck \
	    tests/nemesis/record tests/auth/sha256 tests/unit/json-http

FORCE:
.PHONY: all check asan fuzz faults nemesis valgrind demo pictures install uninstall clean FORCE
.PRECIOUS: $(LIBOBJ)
