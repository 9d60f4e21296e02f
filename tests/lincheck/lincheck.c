/*
 * lincheck [-hv] [-m MIB] [-t SECONDS] [FILE]: checks that a recorded
 * history of operations on a key-value store is linearizable.  Built only
 * for the tests (tests/50-lincheck.bats and the replication nemesis test).
 *
 * The history (FILE, or stdin) has one operation per line, seven fields
 * separated by one TAB; lines starting with '#' and blank lines are
 * ignored:
 *
 *	PROCESS	TYPE	KEY	VALUE	INVOKE	COMPLETE	STATUS
 *
 * PROCESS names a client, which runs one operation at a time.  TYPE is put,
 * get or del.  VALUE is the value a put wrote or an ok get read, and is
 * ignored otherwise (written '-').  INVOKE and COMPLETE are non-negative
 * integers on one monotonic clock, INVOKE <= COMPLETE; COMPLETE may be '-'
 * when STATUS is unknown, and only then.  STATUS is ok (a put or del took
 * effect, a get read VALUE), absent (a get found no value), fail (did not
 * take effect: dropped) or unknown (may have taken effect at any time
 * after INVOKE: treated as completing at infinity, as Knossos and
 * Porcupine do; an unknown get constrains nothing and is dropped).  Each
 * key is a register that starts absent; del makes it absent.  Operation a
 * precedes b in real time when a's COMPLETE < b's INVOKE; equal times
 * count as concurrent, so a coarse clock never makes a correct store look
 * wrong.  A process that starts an operation while one of its own with a
 * known outcome runs is refused as malformed: the recorder mixed up its
 * clients or its clocks.
 *
 * Algorithm.  A history is linearizable iff each key's sub-history is
 * (Herlihy and Wing's locality), so keys are checked one at a time.  For a
 * key, the search is Wing and Gong's, as improved by Lowe and implemented
 * by Porcupine: the invocations and completions sorted by time form a
 * list; the search linearizes any operation whose invocation comes before
 * the first completion still in the list, if the register allows it,
 * takes it out of the list and starts again from the head; when the head
 * is a completion, no pending operation can go next and it backtracks.  A
 * configuration (the set of linearized operations, as a bitset, and the
 * register's value) is remembered once reached and never explored again,
 * since what can follow depends on nothing else.
 *
 * One pruning is made before the search: an unknown put whose value no
 * get of its key read is dropped.  If the history without it linearizes,
 * the put can go last; if the history with it linearizes, the operation
 * after it in that order is a write or nothing (a get there would read its
 * value), so taking it out leaves a valid order.  Puts that time out
 * unseen are the common unknowns under a nemesis, and each one kept is
 * pending, so a candidate, everywhere after its invocation: kept, the 3000
 * operations of a failing test exhaust 1 GiB instead of taking 10 ms.
 *
 * Bounds.  The remembered configurations take at most -m MIB mebibytes
 * (default 1024, at most 16384); each costs 28 bytes and a bitset of one
 * bit per operation of its key, rounded up to 64, and the arrays grow by
 * doubling.  -t SECONDS (default: none) bounds the time from the start.
 * The work is the configurations visited times the operations pending at
 * each.  For a linearizable key with a few concurrent clients that is
 * about linear in its operations (3000 operations of 4 or 8 clients take
 * a few milliseconds); it grows exponentially with the number of
 * operations that overlap one another (16 clients all always concurrent
 * exhaust the default bound) and, when the key is not linearizable, with
 * the number of unknown puts whose values were read.  A key whose search
 * passes a bound is reported as undecided, never as linearizable.
 *
 * "No acknowledged write was lost" needs no check of its own: when the
 * history ends with a read of every key begun after its last write was
 * acknowledged, a lost write makes it not linearizable (that read sees an
 * older value or nothing).
 *
 * Output on stdout: "lincheck: N operations (O ok, U unknown, F fail) on K
 * keys: linearizable" (O counts ok and absent); or, for each key that is
 * not, "lincheck: key KEY: not linearizable", the longest linearizable
 * prefix the search found, in its order (its last ten operations; all of
 * them with -v), out of the key's operations that count (not the dropped
 * ones), and the operations that could come next in real time but none of
 * which the register allows there, each as its input line; or,
 * for a key whose search passed a bound, "lincheck: key KEY: gave up: ...".
 * -v also prints one line per linearizable key.
 *
 * Exit status: 0 linearizable, 1 some key is not linearizable, 2 usage
 * error or malformed history ("lincheck: FILE:LINE: reason" on stderr), 3
 * the search gave up on some key and no key failed, or memory ran out.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NEVER	LLONG_MAX	/* the completion time of an unknown op */
#define ABSENT	0		/* the value id of an absent register */
#define SHOWN	10		/* prefix operations shown without -v */
#define MAX_MIB	16384		/* keeps configuration indices in an int */

enum type { PUT, GET, DEL };
enum status { OK, FOUND_ABSENT, FAIL, UNKNOWN };

struct op {
	char		*text;		/* the input line, without newline */
	long		 lineno;
	int		 proc, key;	/* ids in procs and keys */
	int		 value;		/* id in values, or ABSENT */
	enum type	 type;
	enum status	 status;
	long long	 invoke, complete;
};

/* A set of strings, each given an id from 0 in the order first seen. */
struct strtab {
	char		**str;
	size_t		  n, cap;
	int		 *slot;		/* open addressing: id + 1, 0 free */
	size_t		  nslot;
};

/*
 * A point of the search list: the invocation or the completion of one of
 * the key's operations.  A call's match is its completion.
 */
struct entry {
	int		 op;
	int		 is_call;
	long long	 time;
	struct entry	*prev, *next, *match;
};

/* A remembered configuration; its bitset is in the memo's arena. */
struct config {
	uint64_t	 hash;
	size_t		 bits;		/* offset in arena */
	int		 state;
	int		 next;		/* next in bucket, -1 ends */
};

/*
 * The configurations reached so far.  Owns its arrays; bytes counts what
 * they hold, checked against limit before each growth.
 */
struct memo {
	struct config	*config;
	size_t		 n, cap;
	uint64_t	*arena;
	size_t		 used, arena_cap;
	int		*bucket;
	size_t		 nbucket;
	size_t		 words, bytes, limit;
};

/* What the search did for one key, kept for its report. */
struct verdict {
	enum { LINEARIZABLE, NOT_LINEARIZABLE, OUT_OF_MEMORY, OUT_OF_TIME }
			 result;
	int		*prefix;	/* the longest linearized prefix */
	int		 nprefix;
	int		 state;		/* the register after it */
	int		*blocked;	/* the operations that could not follow */
	int		 nblocked;
};

static const char	*fname;
static struct op	*ops;
static size_t		 nops, capops;
static struct strtab	 procs, keys, values;
static int		 verbose;
static size_t		 mem_limit = (size_t)1024 << 20;	/* -m */
static unsigned long	 time_limit;			/* -t, 0: none */
static struct timespec	 deadline;

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: lincheck [-hv] [-m mib] [-t seconds] [file]\n");
	exit(fp == stderr ? 2 : 0);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	if (p == NULL)
		err(3, "malloc");
	return p;
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		errx(3, "out of memory");
	if ((p = realloc(p, n * size != 0 ? n * size : 1)) == NULL)
		err(3, "realloc");
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static uint64_t
hash_string(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Returns the id of S in T, adding a copy of S if it is new. */
static int
intern(struct strtab *t, const char *s)
{
	size_t i;

	if (2 * (t->n + 1) > t->nslot) {
		size_t nslot = t->nslot != 0 ? 2 * t->nslot : 64;
		int *slot = calloc(nslot, sizeof(*slot));

		if (slot == NULL)
			err(3, "calloc");
		for (size_t id = 0; id < t->n; id++) {
			i = hash_string(t->str[id]) & (nslot - 1);
			while (slot[i] != 0)
				i = (i + 1) & (nslot - 1);
			slot[i] = (int)id + 1;
		}
		free(t->slot);
		t->slot = slot;
		t->nslot = nslot;
	}
	i = hash_string(s) & (t->nslot - 1);
	for (; t->slot[i] != 0; i = (i + 1) & (t->nslot - 1))
		if (strcmp(t->str[t->slot[i] - 1], s) == 0)
			return t->slot[i] - 1;
	if (t->n == t->cap) {
		t->cap = t->cap != 0 ? 2 * t->cap : 64;
		t->str = xreallocarray(t->str, t->cap, sizeof(*t->str));
	}
	t->str[t->n] = xstrdup(s);
	t->slot[i] = (int)t->n + 1;
	return (int)t->n++;
}

static void
strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->str[i]);
	free(t->str);
	free(t->slot);
}

/* Parses S, a decimal from 1 to MAX; returns 0, or -1 if it is not one. */
static int
parse_count(const char *s, unsigned long max, unsigned long *n)
{
	char *end;

	if (*s < '1' || *s > '9')
		return -1;
	errno = 0;
	*n = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *n <= max ? 0 : -1;
}

/* Reports a malformed line of the history and exits 2. */
static void
bad_line(long lineno, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lincheck: %s:%ld: ", fname, lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Parses a time field; returns 0, or -1 if S is not a decimal integer. */
static int
parse_time(const char *s, long long *t)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*t = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && *t != NEVER ? 0 : -1;
}

/* Parses one operation line (without its newline) into ops. */
static void
parse_op(char *line, long lineno)
{
	static const char *name[7] = { "PROCESS", "TYPE", "KEY", "VALUE",
	    "INVOKE", "COMPLETE", "STATUS" };
	char *f[7], *p = line;
	struct op o;
	int n = 0;

	for (;;) {
		char *tab = strchr(p, '\t');

		if (n < 7)
			f[n] = p;
		n++;
		if (tab == NULL)
			break;
		if (n < 7)
			*tab = '\0';
		p = tab + 1;
	}
	if (n != 7)
		bad_line(lineno, "%d fields, expected 7 separated by TABs", n);
	for (int i = 0; i < 7; i++)
		if (*f[i] == '\0')
			bad_line(lineno, "empty %s field", name[i]);
	memset(&o, 0, sizeof(o));
	o.lineno = lineno;
	if (strcmp(f[1], "put") == 0)
		o.type = PUT;
	else if (strcmp(f[1], "get") == 0)
		o.type = GET;
	else if (strcmp(f[1], "del") == 0)
		o.type = DEL;
	else
		bad_line(lineno, "unknown type '%s'", f[1]);
	if (strcmp(f[6], "ok") == 0)
		o.status = OK;
	else if (strcmp(f[6], "absent") == 0)
		o.status = FOUND_ABSENT;
	else if (strcmp(f[6], "fail") == 0)
		o.status = FAIL;
	else if (strcmp(f[6], "unknown") == 0)
		o.status = UNKNOWN;
	else
		bad_line(lineno, "unknown status '%s'", f[6]);
	if (o.status == FOUND_ABSENT && o.type != GET)
		bad_line(lineno, "status absent on a %s", f[1]);
	if (parse_time(f[4], &o.invoke) == -1)
		bad_line(lineno, "bad INVOKE time '%s'", f[4]);
	if (strcmp(f[5], "-") == 0) {
		if (o.status != UNKNOWN)
			bad_line(lineno, "status %s needs a COMPLETE time",
			    f[6]);
		o.complete = NEVER;
	} else if (parse_time(f[5], &o.complete) == -1)
		bad_line(lineno, "bad COMPLETE time '%s'", f[5]);
	else if (o.complete < o.invoke)
		bad_line(lineno, "COMPLETE %s is before INVOKE %s", f[5], f[4]);
	if (o.status == UNKNOWN)
		o.complete = NEVER;
	o.proc = intern(&procs, f[0]);
	o.key = intern(&keys, f[2]);
	if (o.type == PUT || (o.type == GET && o.status == OK))
		o.value = intern(&values, f[3]) + 1;
	for (int i = 0; i < 6; i++)
		f[i][strlen(f[i])] = '\t';
	o.text = xstrdup(line);
	if (nops == capops) {
		capops = capops != 0 ? 2 * capops : 1024;
		ops = xreallocarray(ops, capops, sizeof(*ops));
	}
	ops[nops++] = o;
}

static void
read_history(FILE *fp)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;

	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len)
			bad_line(lineno, "NUL byte");
		if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
			continue;
		parse_op(line, lineno);
	}
	if (ferror(fp))
		err(2, "%s", fname);
	free(line);
}

static int
by_proc_then_invoke(const void *a, const void *b)
{
	const struct op *x = *(struct op *const *)a;
	const struct op *y = *(struct op *const *)b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->invoke != y->invoke)
		return x->invoke < y->invoke ? -1 : 1;
	return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}

/*
 * Refuses a history in which a process starts an operation while one of
 * its operations with a known outcome is still running: the recorder
 * mixed up its clients or its clocks.
 */
static void
check_processes(void)
{
	struct op **by = xreallocarray(NULL, nops, sizeof(*by));
	const struct op *running = NULL, *starting = NULL;

	for (size_t i = 0; i < nops; i++)
		by[i] = &ops[i];
	qsort(by, nops, sizeof(*by), by_proc_then_invoke);
	for (size_t i = 0; i < nops && starting == NULL; i++) {
		if (running != NULL && running->proc != by[i]->proc)
			running = NULL;
		if (running != NULL && by[i]->invoke < running->complete)
			starting = by[i];
		else if (by[i]->status != UNKNOWN)
			running = by[i];
	}
	free(by);
	if (starting != NULL)
		bad_line(starting->lineno, "process %s starts while its "
		    "operation on line %ld runs", procs.str[starting->proc],
		    running->lineno);
}

/*
 * Returns whether operation O can follow a register holding STATE, and
 * sets *next to the register's value after O.
 */
static int
step(const struct op *o, int state, int *next)
{
	switch (o->type) {
	case PUT:
		*next = o->value;
		return 1;
	case DEL:
		*next = ABSENT;
		return 1;
	case GET:
		*next = state;
		return o->value == state;
	}
	return 0;
}

/* A fixed pseudo-random 64-bit value for operation I (splitmix64). */
static uint64_t
zobrist(uint64_t i)
{
	uint64_t z = (i + 1) * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Doubles *CAP, the capacity of one of the memo's arrays of elements of
 * SIZE bytes, until it holds NEED, and charges the growth to the memo.
 * Returns 1 if *CAP grew (the caller reallocates), 0 if it already held
 * NEED, -1 if growing would pass the limit (*CAP is left alone).
 */
static int
memo_charge(struct memo *m, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap != 0 ? *cap : 1024;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	if ((ncap - *cap) * size > m->limit - m->bytes)
		return -1;
	m->bytes += (ncap - *cap) * size;
	*cap = ncap;
	return 1;
}

/*
 * Remembers the configuration (BITS, STATE), whose bitset hashes to HASH.
 * Returns 1 if it is new, 0 if it was reached before, -1 if remembering
 * it would pass the memory limit.
 */
static int
memo_add(struct memo *m, const uint64_t *bits, uint64_t hash, int state)
{
	struct config *c;
	size_t b;
	int grew;

	if ((grew = memo_charge(m, &m->nbucket, m->n + 1,
	    sizeof(*m->bucket))) == -1)
		return -1;
	if (grew) {
		m->bucket = xreallocarray(m->bucket, m->nbucket,
		    sizeof(*m->bucket));
		for (b = 0; b < m->nbucket; b++)
			m->bucket[b] = -1;
		for (size_t i = 0; i < m->n; i++) {
			b = m->config[i].hash & (m->nbucket - 1);
			m->config[i].next = m->bucket[b];
			m->bucket[b] = (int)i;
		}
	}
	b = hash & (m->nbucket - 1);
	for (int i = m->bucket[b]; i != -1; i = m->config[i].next) {
		c = &m->config[i];
		if (c->hash == hash && c->state == state &&
		    memcmp(m->arena + c->bits, bits,
		    m->words * sizeof(*bits)) == 0)
			return 0;
	}
	if ((grew = memo_charge(m, &m->cap, m->n + 1,
	    sizeof(*m->config))) == -1)
		return -1;
	if (grew)
		m->config = xreallocarray(m->config, m->cap, sizeof(*m->config));
	if ((grew = memo_charge(m, &m->arena_cap, m->used + m->words,
	    sizeof(*m->arena))) == -1)
		return -1;
	if (grew)
		m->arena = xreallocarray(m->arena, m->arena_cap,
		    sizeof(*m->arena));
	c = &m->config[m->n];
	c->hash = hash;
	c->bits = m->used;
	c->state = state;
	c->next = m->bucket[b];
	memcpy(m->arena + m->used, bits, m->words * sizeof(*bits));
	m->used += m->words;
	m->bucket[b] = (int)m->n++;
	return 1;
}

static int
by_time(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->is_call != y->is_call)
		return x->is_call ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* Takes a call and its completion out of the list. */
static void
lift(struct entry *call)
{
	call->prev->next = call->next;
	call->next->prev = call->prev;
	call->match->prev->next = call->match->next;
	if (call->match->next != NULL)
		call->match->next->prev = call->match->prev;
}

/* Puts back what lift took out, in the reverse order. */
static void
unlift(struct entry *call)
{
	call->match->prev->next = call->match;
	if (call->match->next != NULL)
		call->match->next->prev = call->match;
	call->prev->next = call;
	call->next->prev = call;
}

/*
 * Records in V the configuration at a dead end reached by the search, if
 * it is the deepest so far: the linearized prefix, the register's value
 * and the pending calls, none of which can come next.
 */
static void
note_dead_end(struct verdict *v, struct entry **stack, int depth,
    const struct entry *head, int state)
{
	const struct entry *e;

	if (v->nblocked != -1 && depth <= v->nprefix)
		return;
	for (int i = 0; i < depth; i++)
		v->prefix[i] = stack[i]->op;
	v->nprefix = depth;
	v->state = state;
	v->nblocked = 0;
	for (e = head->next; e != NULL && e->is_call; e = e->next)
		v->blocked[v->nblocked++] = e->op;
}

/* Returns whether the -t time limit, if any, has passed. */
static int
past_deadline(void)
{
	struct timespec now;

	if (time_limit == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec &&
	    now.tv_nsec >= deadline.tv_nsec);
}

/*
 * Searches for a linearization of the N operations O (one key's), with a
 * memo of at most mem_limit bytes.  Fills V, whose arrays the caller frees.
 */
static void
search(struct op **o, int n, struct verdict *v)
{
	struct entry *ent = xreallocarray(NULL, 2 * (size_t)n + 1,
	    sizeof(*ent));
	struct entry *head = &ent[2 * n], *e;
	struct entry **stack = xreallocarray(NULL, n, sizeof(*stack));
	int *saved = xreallocarray(NULL, n, sizeof(*saved));
	struct memo m = { .words = ((size_t)n + 63) / 64, .limit = mem_limit };
	uint64_t *lin = calloc(m.words != 0 ? m.words : 1, sizeof(*lin));
	uint64_t hash = 0;
	int depth = 0, state = ABSENT, next;
	unsigned long steps = 0;

	if (lin == NULL)
		err(3, "calloc");
	v->prefix = xreallocarray(NULL, n, sizeof(*v->prefix));
	v->nprefix = 0;
	v->blocked = xreallocarray(NULL, n, sizeof(*v->blocked));
	v->nblocked = -1;
	for (int i = 0; i < n; i++) {
		ent[2 * i] = (struct entry){ .op = i, .is_call = 1,
		    .time = o[i]->invoke };
		ent[2 * i + 1] = (struct entry){ .op = i, .is_call = 0,
		    .time = o[i]->complete };
	}
	qsort(ent, 2 * (size_t)n, sizeof(*ent), by_time);
	/* The stack, empty until the search starts, finds each match. */
	for (int i = 0; i < 2 * n; i++)
		if (!ent[i].is_call)
			stack[ent[i].op] = &ent[i];
	for (int i = 0; i < 2 * n; i++) {
		if (ent[i].is_call)
			ent[i].match = stack[ent[i].op];
		ent[i].prev = i > 0 ? &ent[i - 1] : head;
		ent[i].next = i + 1 < 2 * n ? &ent[i + 1] : NULL;
	}
	*head = (struct entry){ .op = -1, .next = n > 0 ? &ent[0] : NULL };

	v->result = LINEARIZABLE;
	e = head->next;
	while (head->next != NULL) {
		if (++steps % 16384 == 0 && past_deadline()) {
			v->result = OUT_OF_TIME;
			break;
		}
		if (e->is_call) {
			/* Linearize this call next if the register allows it
			 * and that leads to a configuration not seen yet. */
			int seen = 0;

			if (step(o[e->op], state, &next)) {
				lin[e->op / 64] |= 1ULL << (e->op % 64);
				seen = memo_add(&m, lin, hash ^ zobrist(e->op),
				    next);
				if (seen == -1) {
					v->result = OUT_OF_MEMORY;
					break;
				}
				if (seen == 0)
					lin[e->op / 64] &= ~(1ULL << (e->op % 64));
			}
			if (seen == 1) {
				saved[depth] = state;
				stack[depth++] = e;
				state = next;
				hash ^= zobrist(e->op);
				lift(e);
				e = head->next;
			} else
				e = e->next;
			continue;
		}
		note_dead_end(v, stack, depth, head, state);
		if (depth == 0) {
			v->result = NOT_LINEARIZABLE;
			break;
		}
		e = stack[--depth];
		state = saved[depth];
		lin[e->op / 64] &= ~(1ULL << (e->op % 64));
		hash ^= zobrist(e->op);
		unlift(e);
		e = e->next;
	}
	free(m.config);
	free(m.arena);
	free(m.bucket);
	free(lin);
	free(saved);
	free(stack);
	free(ent);
}

/* Prints operation O as its input line, after its line number. */
static void
print_op(const struct op *o)
{
	printf("    line %ld: %s\n", o->lineno, o->text);
}

static void
report_failure(const char *key, struct op **o, int n, const struct verdict *v)
{
	int from = verbose || v->nprefix <= SHOWN ? 0 : v->nprefix - SHOWN;

	printf("lincheck: key %s: not linearizable\n", key);
	printf("  longest linearizable prefix: %d of %d operations, "
	    "leaving %s ", v->nprefix, n, key);
	if (v->state == ABSENT)
		printf("absent\n");
	else
		printf("= %s\n", values.str[v->state - 1]);
	if (from > 0)
		printf("    (%d earlier operations; -v shows them)\n", from);
	for (int i = from; i < v->nprefix; i++)
		print_op(o[v->prefix[i]]);
	printf("  none of these can come next:\n");
	for (int i = 0; i < v->nblocked; i++)
		print_op(o[v->blocked[i]]);
}

/*
 * Checks key K, whose operations in line order are ALL[0..N-1]; READ is
 * scratch marking values, all clear, and left clear.  Returns the
 * verdict's result.
 */
static int
check_key(int k, struct op **all, int n, char *read)
{
	struct op **o = xreallocarray(NULL, n, sizeof(*o));
	struct verdict v;
	int m = 0;

	for (int i = 0; i < n; i++)
		if (all[i]->type == GET && all[i]->status == OK)
			read[all[i]->value] = 1;
	for (int i = 0; i < n; i++) {
		const struct op *x = all[i];

		if (x->status == FAIL || (x->status == UNKNOWN &&
		    (x->type == GET || (x->type == PUT && !read[x->value]))))
			continue;
		o[m++] = all[i];
	}
	for (int i = 0; i < n; i++)
		read[all[i]->value] = 0;
	search(o, m, &v);
	if (v.result == NOT_LINEARIZABLE)
		report_failure(keys.str[k], o, m, &v);
	else if (v.result == OUT_OF_MEMORY)
		printf("lincheck: key %s: gave up: the search needs more than "
		    "%zu MiB (-m); linearizability unknown\n", keys.str[k],
		    mem_limit >> 20);
	else if (v.result == OUT_OF_TIME)
		printf("lincheck: key %s: gave up: the search takes more than "
		    "%lu s (-t); linearizability unknown\n", keys.str[k],
		    time_limit);
	else if (verbose)
		printf("lincheck: key %s: %d operations: linearizable\n",
		    keys.str[k], n);
	free(v.prefix);
	free(v.blocked);
	free(o);
	return v.result;
}

int
main(int argc, char *argv[])
{
	FILE *fp = stdin;
	struct op **bykey;
	size_t *start, *fill, counts[4] = { 0 };
	char *read;
	int ch, failed = 0, gaveup = 0;

	while ((ch = getopt(argc, argv, "hm:t:v")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			break;
		case 'm': {
			unsigned long mib;

			if (parse_count(optarg, MAX_MIB, &mib) == -1)
				usage(stderr);
			mem_limit = (size_t)mib << 20;
			break;
		}
		case 't':
			if (parse_count(optarg, 1000000, &time_limit) == -1)
				usage(stderr);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(stderr);

	fname = "stdin";
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		fname = argv[0];
		if ((fp = fopen(fname, "r")) == NULL)
			err(2, "%s", fname);
	}
	if (time_limit != 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)time_limit;
	}
	read_history(fp);
	if (fp != stdin)
		fclose(fp);
	check_processes();

	/* Group the operations by key, each group in line order. */
	bykey = xreallocarray(NULL, nops, sizeof(*bykey));
	start = calloc(keys.n + 1, sizeof(*start));
	fill = calloc(keys.n + 1, sizeof(*fill));
	read = calloc(values.n + 1, 1);
	if (start == NULL || fill == NULL || read == NULL)
		err(3, "calloc");
	for (size_t i = 0; i < nops; i++) {
		start[ops[i].key + 1]++;
		counts[ops[i].status]++;
	}
	for (size_t k = 0; k < keys.n; k++)
		fill[k + 1] = start[k + 1] += start[k];
	for (size_t i = 0; i < nops; i++)
		bykey[fill[ops[i].key]++] = &ops[i];

	for (size_t k = 0; k < keys.n; k++) {
		int r = check_key((int)k, bykey + start[k],
		    (int)(start[k + 1] - start[k]), read);

		failed |= r == NOT_LINEARIZABLE;
		gaveup |= r == OUT_OF_MEMORY || r == OUT_OF_TIME;
	}
	if (!failed && !gaveup)
		printf("lincheck: %zu operations (%zu ok, %zu unknown, %zu fail)"
		    " on %zu keys: linearizable\n", nops, counts[OK] +
		    counts[FOUND_ABSENT], counts[UNKNOWN], counts[FAIL], keys.n);

	for (size_t i = 0; i < nops; i++)
		free(ops[i].text);
	free(ops);
	free(bykey);
	free(start);
	free(fill);
	free(read);
	strtab_free(&procs);
	strtab_free(&keys);
	strtab_free(&values);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(2, "stdout");
	return failed ? 1 : gaveup ? 3 : 0;
}
