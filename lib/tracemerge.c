#include <stdlib.h>
#include <string.h>

#include "tracemerge.h"
#include "util.h"

/*
 * The state of one trace_merge call.  A process is a SELF name; a stream
 * is the lines of one process in one file, in file order, the one order
 * the trace itself vouches for.
 */
static struct trace_line *L;
static size_t		 nl;
static const char	**name;		/* per process */
static size_t		 nproc;
static int		*proc;		/* per line: its process */
static size_t		*stream;	/* per line: its stream */
static size_t		*sline;		/* the lines, stream by stream */
static size_t		*sstart;	/* per stream: its first in sline */
static size_t		*shead;		/* per stream: its first not placed */
static size_t		 nstream;
static char		*placed;	/* per line */
static long long	*at;		/* per line: its time, made causal */
static long long	*slast;		/* per stream: the latest placed at[] */

/* Returns <0 if line A is earlier than line B: by time, then input order. */
static int
earlier(size_t a, size_t b)
{
	if (L[a].rec.msec != L[b].rec.msec)
		return L[a].rec.msec < L[b].rec.msec ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The time between lines A and B, in milliseconds. */
static long long
gap(size_t a, size_t b)
{
	long long d = L[a].rec.msec - L[b].rec.msec;

	return d < 0 ? -d : d;
}

static int
find_proc(const char *self)
{
	for (size_t i = 0; i < nproc; i++)
		if (strcmp(name[i], self) == 0)
			return (int)i;
	name = xrealloc(name, (nproc + 1) * sizeof(*name));
	name[nproc] = self;
	return (int)nproc++;
}

/* Orders receipts by text, receiver and time. */
static int
by_text_receiver(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = strcmp(L[a].rec.msg, L[b].rec.msg);

	if (c != 0)
		return c;
	if (proc[a] != proc[b])
		return proc[a] < proc[b] ? -1 : 1;
	return earlier(a, b);
}

/* Returns the first of the NR receipts R (ordered by by_text_receiver)
 * whose text is MSG, or NR. */
static size_t
first_receipt(const size_t *r, size_t nr, const char *msg)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(L[r[mid]].rec.msg, msg) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * What peer names have been seen to reach: process FROM sent a text that
 * only process TO received to the peer it calls LABEL.
 */
struct reach {
	int		 from, to;
	const char	*label;
};
static struct reach	*reach;
static size_t		 nreach;

static void
note_reach(int from, const char *label, int to)
{
	for (size_t i = 0; i < nreach; i++)
		if (reach[i].from == from && reach[i].to == to &&
		    strcmp(reach[i].label, label) == 0)
			return;
	reach = xrealloc(reach, (nreach + 1) * sizeof(*reach));
	reach[nreach++] = (struct reach){ from, to, label };
}

/* Returns the one process that process FROM's peer name LABEL has been
 * seen to reach, or -1 if it reached none or several. */
static int
reached(int from, const char *label)
{
	int to = -1;

	for (size_t i = 0; i < nreach; i++)
		if (reach[i].from == from &&
		    strcmp(reach[i].label, label) == 0) {
			if (to != -1)
				return -1;
			to = reach[i].to;
		}
	return to;
}

#define UNDECIDED	(-2)

/*
 * Returns the process that send S went to, among those that received its
 * text: the only one; else the one named as its peer; else the one its
 * peer name has been seen to reach, if only one; else UNDECIDED (-1 if
 * none received it).  With LEARN, only notes which process received it
 * when only one did.
 */
static int
receiver(size_t s, const size_t *r, size_t nr, int learn)
{
	const char *msg = L[s].rec.msg, *label = L[s].rec.peer;
	int seen = learn ? -1 : reached(proc[s], label);
	int only = -1, named = -1, seen_received = 0, n = 0;

	for (size_t i = first_receipt(r, nr, msg);
	    i < nr && strcmp(L[r[i]].rec.msg, msg) == 0; i++) {
		int p = proc[r[i]];

		if (p == proc[s] || p == only)
			continue;	/* receipts come grouped by process */
		only = p;
		n++;
		if (strcmp(name[p], label) == 0)
			named = p;
		if (p == seen)
			seen_received = 1;
	}
	if (learn) {
		if (n == 1)
			note_reach(proc[s], label, only);
		return -1;
	}
	if (n <= 1)
		return only;
	if (named != -1)
		return named;
	return seen_received ? seen : UNDECIDED;
}

/* Returns whether receipt R can be of a message from process FROM: it is
 * not paired yet, and the name its receiver gave the sender does not name
 * another process. */
static int
can_be_from(size_t r, int from)
{
	int named;

	if (L[r].mate != -1 || proc[r] == from)
		return 0;
	named = reached(proc[r], L[r].rec.peer);
	return named == -1 || named == from;
}

/* Pairs send S with the nearest unpaired receipt of its text by another
 * process, if any: for a text that several processes received, by a
 * peer name that reached several. */
static void
pair_nearest(size_t s, const size_t *r, size_t nr)
{
	long best = -1;

	for (size_t i = first_receipt(r, nr, L[s].rec.msg);
	    i < nr && strcmp(L[r[i]].rec.msg, L[s].rec.msg) == 0; i++)
		if (can_be_from(r[i], proc[s]) &&
		    (best == -1 || gap(s, r[i]) < gap(s, (size_t)best)))
			best = (long)r[i];
	if (best != -1) {
		L[s].mate = best;
		L[best].mate = (long)s;
	}
}

static int
by_time(const void *x, const void *y)
{
	return earlier(*(const size_t *)x, *(const size_t *)y);
}

/* Orders sends by sender, receiver, text and time; TO is per line. */
static const int *to;

static int
by_channel(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c;

	if (proc[a] != proc[b])
		return proc[a] < proc[b] ? -1 : 1;
	if (to[a] != to[b])
		return to[a] < to[b] ? -1 : 1;
	if ((c = strcmp(L[a].rec.msg, L[b].rec.msg)) != 0)
		return c;
	return earlier(a, b);
}

/*
 * Pairs the sends S[0..N) of one text from one process to another with
 * the receipts R[0..M) of it there, both in order: first with first,
 * unless the next send or the next receipt is closer in time.
 */
static void
align(const size_t *s, size_t n, const size_t *r, size_t m)
{
	size_t i = 0, j = 0;

	while (i < n && j < m) {
		long long d = gap(s[i], r[j]);

		if (i + 1 < n && gap(s[i + 1], r[j]) < d)
			i++;
		else if (j + 1 < m && gap(s[i], r[j + 1]) < d)
			j++;
		else {
			L[s[i]].mate = (long)r[j];
			L[r[j]].mate = (long)s[i];
			i++;
			j++;
		}
	}
}

static void
pair_all(void)
{
	size_t *r = xmalloc((nl + 1) * sizeof(*r)), nr = 0;
	size_t *s = xmalloc((nl + 1) * sizeof(*s)), ns = 0;
	size_t *free_r = xmalloc((nl + 1) * sizeof(*free_r));
	int *dest = xmalloc((nl + 1) * sizeof(*dest));

	for (size_t i = 0; i < nl; i++) {
		L[i].mate = -1;
		if (L[i].rec.dir == '<')
			r[nr++] = i;
		else if (L[i].rec.dir == '>')
			s[ns++] = i;
	}
	qsort(r, nr, sizeof(*r), by_text_receiver);
	for (size_t i = 0; i < ns; i++)
		receiver(s[i], r, nr, 1);
	for (size_t i = 0; i < ns; i++)
		dest[s[i]] = receiver(s[i], r, nr, 0);
	to = dest;
	qsort(s, ns, sizeof(*s), by_channel);
	for (size_t g = 0, h; g < ns; g = h) {
		size_t m = 0, j;

		for (h = g + 1; h < ns && proc[s[h]] == proc[s[g]] &&
		    dest[s[h]] == dest[s[g]] &&
		    strcmp(L[s[h]].rec.msg, L[s[g]].rec.msg) == 0; h++)
			;
		if (dest[s[g]] < 0)
			continue;
		for (j = first_receipt(r, nr, L[s[g]].rec.msg); j < nr &&
		    strcmp(L[r[j]].rec.msg, L[s[g]].rec.msg) == 0; j++)
			if (proc[r[j]] == dest[s[g]] &&
			    can_be_from(r[j], proc[s[g]]))
				free_r[m++] = r[j];
		align(s + g, h - g, free_r, m);
	}
	qsort(s, ns, sizeof(*s), by_time);
	for (size_t i = 0; i < ns; i++)
		if (dest[s[i]] == UNDECIDED)
			pair_nearest(s[i], r, nr);
	free(r);
	free(s);
	free(free_r);
	free(dest);
	to = NULL;
}

/* Sorts the lines into streams: sline, sstart, stream. */
static void
make_streams(void)
{
	size_t *key = xmalloc((nl + 1) * sizeof(*key)), *count;

	nstream = 0;
	for (size_t i = 0; i < nl; i++) {
		size_t k;

		for (k = 0; k < nstream; k++)
			if (L[key[k]].file == L[i].file && proc[key[k]] == proc[i])
				break;
		if (k == nstream)
			key[nstream++] = i;
		stream[i] = k;
	}
	count = xcalloc(nstream + 1, sizeof(*count));
	for (size_t i = 0; i < nl; i++)
		count[stream[i] + 1]++;
	for (size_t k = 0; k < nstream; k++)
		count[k + 1] += count[k];
	sstart = xmalloc((nstream + 1) * sizeof(*sstart));
	memcpy(sstart, count, (nstream + 1) * sizeof(*sstart));
	for (size_t i = 0; i < nl; i++)
		sline[count[stream[i]]++] = i;
	shead = xcalloc(nstream + 1, sizeof(*shead));
	slast = xcalloc(nstream + 1, sizeof(*slast));
	free(count);
	free(key);
}

/*
 * A binary heap of lines to place, earliest first by at[]: a line's own
 * time, but never before a line placed earlier in its stream or, for a
 * message, in its receiver's (Lamport's clock condition, in milliseconds),
 * so that a process whose clock is behind does not draw what it did after
 * a receipt before what the sender did at the same moment.  Ties go to the
 * line given first.
 */
static size_t	*heap;
static size_t	 nheap;

static int
sooner(size_t a, size_t b)
{
	if (at[a] != at[b])
		return at[a] < at[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

static void
heap_push(size_t x)
{
	size_t i = nheap++;

	heap = xrealloc(heap, nheap * sizeof(*heap));
	for (; i > 0 && sooner(x, heap[(i - 1) / 2]) < 0; i = (i - 1) / 2)
		heap[i] = heap[(i - 1) / 2];
	heap[i] = x;
}

static size_t
heap_pop(void)
{
	size_t top = heap[0], x = heap[--nheap], i = 0, c;

	while ((c = 2 * i + 1) < nheap) {
		if (c + 1 < nheap && sooner(heap[c + 1], heap[c]) < 0)
			c++;
		if (sooner(x, heap[c]) <= 0)
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (nheap > 0)
		heap[i] = x;
	return top;
}

/* A message is placed as one: its send stands for it. */
static size_t
head_of_message(size_t x)
{
	return L[x].mate != -1 && L[x].rec.dir == '<' ? (size_t)L[x].mate : x;
}

static int
at_head(size_t x)
{
	size_t k = stream[x];

	return shead[k] < sstart[k + 1] - sstart[k] &&
	    sline[sstart[k] + shead[k]] == x;
}

/* Returns the time of message X: its own, or the latest placed in either
 * stream it is in, if that is later. */
static long long
causal_time(size_t x)
{
	long long t = L[x].rec.msec;

	if (slast[stream[x]] > t)
		t = slast[stream[x]];
	if (L[x].mate != -1 && slast[stream[L[x].mate]] > t)
		t = slast[stream[L[x].mate]];
	return t;
}

/* Queues X's message if every line of it is next in its stream. */
static void
offer(size_t x)
{
	x = head_of_message(x);
	if (placed[x] || !at_head(x) ||
	    (L[x].mate != -1 && !at_head((size_t)L[x].mate)))
		return;
	at[x] = causal_time(x);
	heap_push(x);
}

/* Marks line X placed, at time T. */
static void
place(size_t x, long long t)
{
	placed[x] = 1;
	at[x] = t;
	if (slast[stream[x]] < t)
		slast[stream[x]] = t;
}

/* Moves stream K's head past its placed lines and offers the next. */
static void
advance(size_t k)
{
	size_t len = sstart[k + 1] - sstart[k];

	while (shead[k] < len && placed[sline[sstart[k] + shead[k]]])
		shead[k]++;
	if (shead[k] < len)
		offer(sline[sstart[k] + shead[k]]);
}

/*
 * Returns the message to place when none is ready, every stream waiting
 * for a receipt whose send waits behind another: messages that crossed.
 * The earliest send at the head of a stream goes first; with none (lines
 * that contradict each other), the earliest line at a head.
 */
static size_t
unstick(void)
{
	long best = -1, bestsend = -1;

	for (size_t k = 0; k < nstream; k++) {
		size_t x;

		if (shead[k] == sstart[k + 1] - sstart[k])
			continue;
		x = sline[sstart[k] + shead[k]];
		if (best == -1 || earlier(x, (size_t)best) < 0)
			best = (long)x;
		if (L[x].rec.dir == '>' &&
		    (bestsend == -1 || earlier(x, (size_t)bestsend) < 0))
			bestsend = (long)x;
	}
	return head_of_message((size_t)(bestsend != -1 ? bestsend : best));
}

size_t *
trace_merge(struct trace_line *l, size_t n)
{
	size_t *order = xmalloc((n + 1) * sizeof(*order)), k = 0;

	L = l;
	nl = n;
	proc = xmalloc((n + 1) * sizeof(*proc));
	stream = xmalloc((n + 1) * sizeof(*stream));
	sline = xmalloc((n + 1) * sizeof(*sline));
	placed = xcalloc(n + 1, 1);
	at = xcalloc(n + 1, sizeof(*at));
	for (size_t i = 0; i < n; i++)
		proc[i] = find_proc(l[i].rec.self);
	pair_all();
	make_streams();
	for (size_t s = 0; s < nstream; s++)
		advance(s);
	while (k < n) {
		size_t x;
		long long t;

		if (nheap > 0) {
			x = heap_pop();
			t = at[x];
		} else {
			x = unstick();
			t = causal_time(x);
		}
		if (placed[x])
			continue;
		order[k++] = x;
		place(x, t);
		if (l[x].mate != -1) {
			order[k++] = (size_t)l[x].mate;
			place((size_t)l[x].mate, t);
			advance(stream[l[x].mate]);
		}
		advance(stream[x]);
	}
	free(name);
	free(proc);
	free(stream);
	free(sline);
	free(sstart);
	free(shead);
	free(placed);
	free(at);
	free(slast);
	free(reach);
	free(heap);
	name = NULL;
	nproc = nreach = nheap = 0;
	reach = NULL;
	heap = NULL;
	return order;
}
