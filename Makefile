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

check: all
	mandoc -Tlint -W warning $(MAN1) $(MAN7)
	tests/run

asan:
	$(MAKE) CFLAGS='$(CFLAGS) $(SANFLAGS)' LDFLAGS='$(LDFLAGS) $(SANFLAGS)' check

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
	cp -f share/hakit/hakit.bash $(DESTDIR)$(SHAREDIR)/

uninstall:
	for t in $(notdir $(TOOLS)); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	for m in $(notdir $(MAN1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(notdir $(MAN7)); do rm -f $(DESTDIR)$(MANDIR)/man7/$$m; done
	rm -f $(DESTDIR)$(SHAREDIR)/hakit.bash
	-rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null

clean:
	rm -f $(LIBOBJ) $(LIB) $(TOOLS) .buildflags

FORCE:
.PHONY: all check asan demo pictures install uninstall clean FORCE
.PRECIOUS: $(LIBOBJ)
