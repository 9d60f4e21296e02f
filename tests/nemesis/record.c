/*
 * record: the nemesis test's client side (tests/nemesis/run; not
 * installed).  Records a history of puts and gets by concurrent clients on
 * a replicated group, for tests/lincheck/lincheck.
 *
 *	record [-c CLIENTS] [-k KEYS] [-r OPS] [-t SECS] LEASE
 *
 * Starts CLIENTS (default 4) co-processes "repl-client -L LEASE -t SECS"
 * (default 2 s of retries per command) and keeps each busy, one command
 * at a time: a put of a value never written before ("pCLIENT-N") or a get,
 * on one of KEYS keys (default 5).  After every OPS operations (default
 * 50000) the clients move on to KEYS new keys ("rROUND-kI"), so that a
 * checker's work per key stays bounded however long the run: a search
 * for a linearization grows faster than the operations of its key.  On
 * SIGTERM or SIGINT it lets the commands running finish, then reads every
 * key of every round once more (retrying a read that gets no answer, up to
 * 10 times), closes the clients and exits.
 *
 * Stdout gets one line per operation, in completion order, fields
 * separated by TABs: PROCESS TYPE KEY VALUE INVOKE COMPLETE STATUS, times
 * in microseconds of CLOCK_MONOTONIC taken just before the command is
 * written to the client and just after its answer is read.  STATUS is
 * what repl-client's answer line says: ok (EPOCH<TAB>POSITION, or a value),
 * absent (KEY<TAB>absent), fail (a put refused before it was appended, or
 * never sent), unknown (a put that may or may not have been applied;
 * COMPLETE is then "-"); a get that got no answer is unknown too, with
 * VALUE "-".  An "error" line is a bug in this driver or in repl-client:
 * exit 2.  Stderr gets the counts at the end.
 */
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CLIENTS	64
#define FINAL_TRIES	10

struct client {
	pid_t pid;
	int in, out;		/* its stdin (we write), its stdout (we read) */
	char buf[4096];
	size_t len;
	int busy;		/* a command is running */
	char type[4], key[32], value[32];
	long long invoke;
	unsigned long n;	/* puts so far, for unique values */
};

static struct client clients[MAX_CLIENTS];
static int nclients = 4, nkeys = 5, round_ops = 50000;
static unsigned long started;		/* operations started */
static volatile sig_atomic_t stopping;
static unsigned long counts[4];		/* ok, absent, fail, unknown */

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Starts client I: repl-client -L LEASE -t SECS, reading commands. */
static void
spawn(int i, const char *lease, const char *secs)
{
	int to[2], from[2];
	struct client *c = &clients[i];

	if (pipe(to) == -1 || pipe(from) == -1)
		err(1, "pipe");
	if ((c->pid = fork()) == -1)
		err(1, "fork");
	if (c->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execlp("repl-client", "repl-client", "-L", lease, "-t", secs,
		    (char *)NULL);
		err(127, "repl-client");
	}
	close(to[0]);
	close(from[1]);
	c->in = to[1];
	c->out = from[0];
}

/* Sends client I a command on key KEY of ROUND: a new put, or a get. */
static void
start(int i, const char *type, unsigned long round, int key)
{
	struct client *c = &clients[i];
	char line[96];
	int n;

	snprintf(c->type, sizeof(c->type), "%s", type);
	snprintf(c->key, sizeof(c->key), "r%lu-k%d", round, key);
	started++;
	if (strcmp(type, "put") == 0)
		snprintf(c->value, sizeof(c->value), "p%d-%lu", i, ++c->n);
	else
		strcpy(c->value, "-");
	n = strcmp(type, "put") == 0 ?
	    snprintf(line, sizeof(line), "put %s %s\n", c->key, c->value) :
	    snprintf(line, sizeof(line), "get %s\n", c->key);
	c->invoke = now_us();
	if (write(c->in, line, (size_t)n) != n)
		err(1, "client %d: write", i);
	c->busy = 1;
}

/* Records the answer LINE to client I's command; returns its status. */
static const char *
finish(int i, const char *line)
{
	struct client *c = &clients[i];
	long long complete = now_us();
	const char *status, *value = c->value;
	int put = strcmp(c->type, "put") == 0;
	size_t klen = strlen(c->key);

	if (strncmp(line, "error\t", 6) == 0)
		errx(2, "client %d: %s %s: %s", i, c->type, c->key, line);
	if (strncmp(line, "unknown\t", 8) == 0 ||
	    (!put && strncmp(line, "fail\t", 5) == 0)) {
		status = "unknown";
		if (!put)
			value = "-";
		counts[3]++;
		printf("%d\t%s\t%s\t%s\t%lld\t-\t%s\n", i, c->type, c->key,
		    value, c->invoke, status);
		c->busy = 0;
		return status;
	}
	if (put && strncmp(line, "fail\t", 5) == 0) {
		status = "fail";
		counts[2]++;
	} else if (!put && strncmp(line, c->key, klen) == 0 &&
	    strcmp(line + klen, "\tabsent") == 0) {
		status = "absent";
		value = "-";
		counts[1]++;
	} else {
		status = "ok";
		if (!put)
			value = line;
		counts[0]++;
	}
	printf("%d\t%s\t%s\t%s\t%lld\t%lld\t%s\n", i, c->type, c->key, value,
	    c->invoke, complete, status);
	c->busy = 0;
	return status;
}

/*
 * Waits for answers (up to 100 ms) and records them.  For each client
 * whose command ended, stores its status in DONE[i] if DONE is not NULL.
 */
static void
collect(const char **done)
{
	struct pollfd pfd[MAX_CLIENTS];
	char *nl;
	ssize_t n;
	int i;

	for (i = 0; i < nclients; i++) {
		pfd[i].fd = clients[i].busy ? clients[i].out : -1;
		pfd[i].events = POLLIN;
	}
	if (poll(pfd, (nfds_t)nclients, 100) == -1) {
		if (errno == EINTR)
			return;
		err(1, "poll");
	}
	for (i = 0; i < nclients; i++) {
		struct client *c = &clients[i];

		if (pfd[i].fd == -1 || !(pfd[i].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len - 1);
		if (n <= 0)
			errx(1, "client %d: repl-client exited", i);
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if ((nl = strchr(c->buf, '\n')) == NULL)
			continue;
		*nl = '\0';
		if (nl + 1 != c->buf + c->len)
			errx(2, "client %d: more than one line per command", i);
		if (done != NULL)
			done[i] = finish(i, c->buf);
		else
			finish(i, c->buf);
		c->len = 0;
	}
	if (fflush(stdout) == EOF)
		err(1, "stdout");
}

static int
any_busy(void)
{
	int i;

	for (i = 0; i < nclients; i++)
		if (clients[i].busy)
			return 1;
	return 0;
}

/*
 * Reads every key of rounds up to LAST once the faults have stopped, each
 * until a read answers.
 */
static void
final_reads(unsigned long last)
{
	const char *done[MAX_CLIENTS];
	unsigned long round;
	int key, try;

	for (round = 0; round <= last; round++) {
		for (key = 0; key < nkeys; key++) {
			for (try = 0; try < FINAL_TRIES; try++) {
				done[0] = NULL;
				start(0, "get", round, key);
				while (clients[0].busy)
					collect(done);
				if (strcmp(done[0], "unknown") != 0)
					break;
			}
			if (try == FINAL_TRIES)
				errx(1, "%s: no final read answered",
				    clients[0].key);
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: record [-c CLIENTS] [-k KEYS] [-r OPS] "
	    "[-t SECS] LEASE\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *secs = "2";
	struct sigaction sa;
	unsigned long round = 0;
	int ch, i;

	while ((ch = getopt(argc, argv, "c:k:r:t:")) != -1) {
		switch (ch) {
		case 'c':
			nclients = atoi(optarg);
			break;
		case 'k':
			nkeys = atoi(optarg);
			break;
		case 'r':
			round_ops = atoi(optarg);
			break;
		case 't':
			secs = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || nclients < 1 || nclients > MAX_CLIENTS ||
	    nkeys < 1 || nkeys > 1000 || round_ops < 1)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid());
	for (i = 0; i < nclients; i++)
		spawn(i, argv[optind], secs);
	while (!stopping || any_busy()) {
		for (i = 0; i < nclients && !stopping; i++) {
			if (clients[i].busy)
				continue;
			round = started / (unsigned long)round_ops;
			start(i, rand() % 2 ? "put" : "get", round,
			    rand() % nkeys);
		}
		collect(NULL);
	}
	final_reads(round);
	for (i = 0; i < nclients; i++)
		close(clients[i].in);
	for (i = 0; i < nclients; i++)
		waitpid(clients[i].pid, NULL, 0);
	fprintf(stderr, "record: %lu operations (%lu ok, %lu absent, %lu "
	    "fail, %lu unknown)\n", counts[0] + counts[1] + counts[2] +
	    counts[3], counts[0], counts[1], counts[2], counts[3]);
	return 0;
}
