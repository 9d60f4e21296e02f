# hakit build configuration: edit or override on the make command line.
VERSION = 0.1.0

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/hakit

CC = cc
AR = ar
CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DHAKIT_VERSION=\"$(VERSION)\"
CFLAGS = -std=c11 -O2 -g -Wall -Wextra
LDFLAGS =
LDLIBS = -lm

# Flags added by `make asan`.
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
