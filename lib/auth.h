/*
 * auth: the shared-key handshake that opens every TCP connection of a
 * daemon or client given -K KEYFILE (a UNIX socket needs none: its peers
 * are vetted by uid).  Each side proves that it knows the key, and the key
 * never travels:
 *
 *	client: AUTH NC [beat]
 *	server: AUTH NS PS  PS = HMAC-SHA-256(key, "hakit-server NC NS")
 *	client: AUTH PC     PC = HMAC-SHA-256(key, "hakit-client NC NS")
 *	server: AUTH OK
 *
 * NC and NS are fresh nonces (32 bytes from getrandom(2), in hex), proofs
 * are in hex.  The client checks the server's proof before it proves
 * itself, and sends nothing else before AUTH OK; the server takes nothing
 * but the handshake before it.  "beat" asks for heartbeats on the
 * connection (wire.h); clients that block leave it out.  Anything else
 * ends the handshake: the server answers "ERR authentication failed: WHY"
 * and closes.
 *
 * Promise: a peer that does not know the key cannot complete a handshake,
 * and learns nothing from one but proofs bound to nonces that are never
 * used again (the roles in the proofs keep a proof from being reflected).
 * No confidentiality or integrity of what follows is promised: an attacker
 * on the path can read the traffic, and alter or take over a connection
 * once it is open (hakit(7) SECURITY).
 */
#ifndef HAKIT_AUTH_H
#define HAKIT_AUTH_H

#include <stddef.h>

#define AUTH_NONCE_BYTES	32
#define AUTH_HEX		65	/* a nonce or proof in hex, and NUL */
#define AUTH_MIN_KEY		16	/* bytes */
#define AUTH_MAX_KEY		4096
#define AUTH_LINE		256	/* room for any handshake line */

enum { AUTH_CLIENT, AUTH_SERVER };
enum { AUTH_MORE, AUTH_DONE, AUTH_FAIL };
/* Where a handshake stands: what it waits for. */
enum {
	AUTH_WAIT_HELLO, AUTH_WAIT_CHALLENGE, AUTH_WAIT_PROOF, AUTH_WAIT_OK,
	AUTH_FINISHED
};

/* One side of a handshake under way. */
struct auth {
	int role;
	int state;
	int beat;		/* the client asked for heartbeats */
	char nc[AUTH_HEX], ns[AUTH_HEX];
};

/*
 * Loads the key from PATH: its bytes, less trailing newlines.  Exits 2
 * with a message naming PATH if it is missing, unreadable, not a regular
 * file, readable or writable by group or others, shorter than
 * AUTH_MIN_KEY bytes or longer than AUTH_MAX_KEY.
 */
void auth_load_key(const char *path);

/* Returns 1 once a key is loaded. */
int auth_enabled(void);

/*
 * Starts a handshake as ROLE (a client asking for heartbeats if BEAT).
 * Writes into OUT (AUTH_LINE bytes) the line to send first, or "".
 */
void auth_start(struct auth *, int role, int beat, char *out);

/*
 * Takes LINE from the peer.  Writes into OUT (AUTH_LINE bytes) the line to
 * send, or "", and returns AUTH_MORE (wait for the next line), AUTH_DONE
 * (the peer is authenticated) or AUTH_FAIL (*WHY says why; the
 * connection must be closed once OUT is sent).
 */
int auth_step(struct auth *, const char *line, char *out, const char **why);

/*
 * Runs the client side of the handshake on FD, blocking until DEADLINE
 * (ev_now_ms).  Returns 0, or -1 with errno set if the connection failed
 * or timed out; exits 2 with a message naming ADDR if the peer refused us
 * or could not prove that it knows the key.
 */
int auth_dial(int fd, const char *addr, long long deadline);

#endif
