#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "evloop.h"
#include "sha256.h"
#include "trace.h"
#include "util.h"
#include "wire.h"

static unsigned char key[AUTH_MAX_KEY];
static size_t keylen;

void
auth_load_key(const char *path)
{
	unsigned char buf[AUTH_MAX_KEY + 3];
	struct stat st;
	ssize_t n;
	int fd;

	/* Not blocking: a FIFO is refused below, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		err(EXIT_USAGE, "key file %s", path);
	if (fstat(fd, &st) == -1)
		err(EXIT_USAGE, "key file %s", path);
	if (!S_ISREG(st.st_mode))
		errx(EXIT_USAGE, "key file %s: not a regular file", path);
	if (st.st_mode & 077)
		errx(EXIT_USAGE, "key file %s: readable or writable by group "
		    "or others (mode %03o): chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
	do
		n = read(fd, buf, sizeof(buf));
	while (n == -1 && errno == EINTR);
	if (n == -1)
		err(EXIT_USAGE, "key file %s", path);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n > AUTH_MAX_KEY)
		errx(EXIT_USAGE, "key file %s: more than %d bytes", path,
		    AUTH_MAX_KEY);
	if (n == 0)
		errx(EXIT_USAGE, "key file %s: empty", path);
	if (n < AUTH_MIN_KEY)
		errx(EXIT_USAGE, "key file %s: %zd bytes is too short a key: "
		    "use at least %d random bytes (say, head -c 32 "
		    "/dev/urandom | base64)", path, n, AUTH_MIN_KEY);
	memcpy(key, buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
	keylen = (size_t)n;
}

int
auth_enabled(void)
{
	return keylen > 0;
}

/* Returns 1 if S is a nonce or proof: AUTH_HEX - 1 lowercase hex digits. */
static int
hex_ok(const char *s)
{
	return strlen(s) == AUTH_HEX - 1 &&
	    strspn(s, "0123456789abcdef") == AUTH_HEX - 1;
}

/* Writes ROLE's proof for the nonces of A into OUT (AUTH_HEX bytes). */
static void
proof(const struct auth *a, const char *role, char *out)
{
	unsigned char mac[SHA256_LEN];
	char msg[3 * AUTH_HEX];

	snprintf(msg, sizeof(msg), "hakit-%s %s %s", role, a->nc, a->ns);
	hmac_sha256(key, keylen, msg, strlen(msg), mac);
	hex_encode(mac, sizeof(mac), out);
}

/* Returns 1 if GIVEN is ROLE's proof, comparing in constant time. */
static int
proof_ok(const struct auth *a, const char *role, const char *given)
{
	char want[AUTH_HEX];
	unsigned char diff = 0;
	size_t i;

	if (!hex_ok(given))
		return 0;
	proof(a, role, want);
	for (i = 0; i < AUTH_HEX - 1; i++)
		diff |= (unsigned char)(want[i] ^ given[i]);
	return diff == 0;
}

void
auth_start(struct auth *a, int role, int beat, char *out)
{
	memset(a, 0, sizeof(*a));
	a->role = role;
	*out = '\0';
	if (role == AUTH_SERVER) {
		a->state = AUTH_WAIT_HELLO;
		return;
	}
	a->beat = beat;
	a->state = AUTH_WAIT_CHALLENGE;
	random_hex(a->nc, AUTH_NONCE_BYTES);
	snprintf(out, AUTH_LINE, "AUTH %s%s", a->nc, beat ? " beat" : "");
}

/* Splits a copy of LINE into at most 4 fields after "AUTH "; -1 if not. */
static int
fields(const char *line, char *buf, char **f)
{
	if (strncmp(line, "AUTH ", 5) != 0 || strlen(line) >= AUTH_LINE)
		return -1;
	strcpy(buf, line + 5);
	return wire_split(buf, f, 4);
}

int
auth_step(struct auth *a, const char *line, char *out, const char **why)
{
	char buf[AUTH_LINE], *f[4], pr[AUTH_HEX];
	int n = fields(line, buf, f);

	*out = '\0';
	*why = "the handshake is over";
	switch (a->state) {
	case AUTH_WAIT_HELLO:
		if (n < 1 || n > 2 || !hex_ok(f[0]) ||
		    (n == 2 && strcmp(f[1], "beat") != 0)) {
			*why = n == -1 ? "no handshake (this daemon takes TCP "
			    "peers that prove they know its key, -K)" :
			    "a malformed AUTH line";
			break;
		}
		strcpy(a->nc, f[0]);
		a->beat = n == 2;
		random_hex(a->ns, AUTH_NONCE_BYTES);
		proof(a, "server", pr);
		snprintf(out, AUTH_LINE, "AUTH %s %s", a->ns, pr);
		a->state = AUTH_WAIT_PROOF;
		return AUTH_MORE;
	case AUTH_WAIT_PROOF:
		if (n != 1) {
			*why = "a malformed AUTH line";
			break;
		}
		if (!proof_ok(a, "client", f[0])) {
			*why = "wrong key";
			break;
		}
		snprintf(out, AUTH_LINE, "AUTH OK");
		a->state = AUTH_FINISHED;
		return AUTH_DONE;
	case AUTH_WAIT_CHALLENGE:
		if (n != 2 || !hex_ok(f[0])) {
			*why = strncmp(line, "ERR ", 4) == 0 ? line :
			    "the peer does not speak the handshake: is it "
			    "started with -K?";
			return AUTH_FAIL;
		}
		strcpy(a->ns, f[0]);
		if (!proof_ok(a, "server", f[1])) {
			*why = "the peer could not prove that it knows the key "
			    "(are the two key files the same?)";
			return AUTH_FAIL;
		}
		proof(a, "client", pr);
		snprintf(out, AUTH_LINE, "AUTH %s", pr);
		a->state = AUTH_WAIT_OK;
		return AUTH_MORE;
	case AUTH_WAIT_OK:
		if (strcmp(line, "AUTH OK") != 0) {
			*why = strncmp(line, "ERR ", 4) == 0 ? line :
			    "an unexpected answer to our proof";
			return AUTH_FAIL;
		}
		a->state = AUTH_FINISHED;
		return AUTH_DONE;
	}
	if (a->role == AUTH_SERVER)
		snprintf(out, AUTH_LINE, "ERR authentication failed: %s", *why);
	return AUTH_FAIL;
}

/*
 * Writes LINE and a newline to FD, the connection to PEER, before
 * DEADLINE; -1 on failure.
 */
static int
put_line(int fd, const char *peer, const char *line, long long deadline)
{
	char buf[AUTH_LINE + 1];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%s\n", line), off = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	TRACE('>', peer, line, len - 1);
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (deadline <= ev_now_ms()) {
			errno = ETIMEDOUT;
			return -1;
		}
		poll(&pfd, 1, (int)(deadline - ev_now_ms()));
	}
	return 0;
}

/*
 * Reads one line from FD, the connection to PEER, into BUF (AUTH_LINE
 * bytes) before DEADLINE, a byte at a time so that nothing after it is
 * taken; -1 on failure.
 */
static int
get_line(int fd, const char *peer, char *buf, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	for (;;) {
		if ((n = read(fd, buf + len, 1)) == 1) {
			if (buf[len] == '\n') {
				buf[len] = '\0';
				TRACE('<', peer, buf, len);
				return 0;
			}
			if (++len == AUTH_LINE - 1) {
				errno = EPROTO;
				return -1;
			}
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (deadline <= ev_now_ms()) {
			errno = ETIMEDOUT;
			return -1;
		}
		poll(&pfd, 1, (int)(deadline - ev_now_ms()));
	}
}

int
auth_dial(int fd, const char *addr, long long deadline)
{
	char out[AUTH_LINE], in[AUTH_LINE];
	const char *why;
	struct auth a;
	int r;

	auth_start(&a, AUTH_CLIENT, 0, out);
	do {
		if ((*out != '\0' && put_line(fd, addr, out, deadline) == -1) ||
		    get_line(fd, addr, in, deadline) == -1)
			return -1;
		r = auth_step(&a, in, out, &why);
	} while (r == AUTH_MORE);
	if (r == AUTH_FAIL)
		errx(EXIT_USAGE, "%s: authentication failed: %s", addr, why);
	return 0;
}
