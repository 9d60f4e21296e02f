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

/*
 * The receipts, ordered by by_text_receiver, so that those of one text
 * are together and among them those of one process (a run), by time.
 * run_end[i] is where the run of rcpt[i] ends.
 */
static size_t	*rcpt, *run_end;
static size_t	 nrcpt;

/* Returns the first receipt whose text is MSG, or nrcpt. */
static size_t
first_receipt(const char *msg)
{
	size_t lo = 0, hi = nrcpt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(L[rcpt[mid]].rec.msg, msg) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Returns whether receipt I (an index in rcpt) has the text MSG. */
static int
has_text(size_t i, const char *msg)
{
	return i < nrcpt && strcmp(L[rcpt[i]].rec.msg, msg) == 0;
}

static void
index_receipts(void)
{
	rcpt = xmalloc((nl + 1) * sizeof(*rcpt));
	run_end = xmalloc((nl + 1) * sizeof(*run_end));
	nrcpt = 0;
	for (size_t i = 0; i < nl; i++)
		if (L[i].rec.dir == '<')
			rcpt[nrcpt++] = i;
	qsort(rcpt, nrcpt, sizeof(*rcpt), by_text_receiver);
	for (size_t i = nrcpt; i-- > 0;)
		run_end[i] = i + 1 < nrcpt && proc[rcpt[i + 1]] == proc[rcpt[i]] &&
		    has_text(i + 1, L[rcpt[i]].rec.msg) ? run_end[i + 1] : i + 1;
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
receiver(size_t s, int learn)
{
	const char *msg = L[s].rec.msg, *label = L[s].rec.peer;
	int seen = learn ? -1 : reached(proc[s], label);
	int only = -1, named = -1, seen_received = 0, n = 0;

	for (size_t i = first_receipt(msg); has_text(i, msg); i = run_end[i]) {
		int p = proc[rcpt[i]];

		if (p == proc[s])
			continue;
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
pair_nearest(size_t s)
{
	long best = -1;

	for (size_t i = first_receipt(L[s].rec.msg); has_text(i, L[s].rec.msg);
	    i = run_end[i]) {
		size_t lo = i, hi = run_end[i], at;

		if (proc[rcpt[i]] == proc[s])
			continue;
		/* The run is by time: start from S's time, search outwards. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (L[rcpt[mid]].rec.msec < L[s].rec.msec)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (at = lo; at < run_end[i] && (best == -1 ||
		    gap(s, rcpt[at]) < gap(s, (size_t)best)); at++)
			if (can_be_from(rcpt[at], proc[s]))
				best = (long)rcpt[at];
		for (at = lo; at-- > i && (best == -1 ||
		    gap(s, rcpt[at]) < gap(s, (size_t)best));)
			if (can_be_from(rcpt[at], proc[s]))
				best = (long)rcpt[at];
	}
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
	size_t *s = xmalloc((nl + 1) * sizeof(*s)), ns = 0;
	size_t *free_r = xmalloc((nl + 1) * sizeof(*free_r));
	int *dest = xmalloc((nl + 1) * sizeof(*dest));

	for (size_t i = 0; i < nl; i++) {
		L[i].mate = -1;
		if (L[i].rec.dir == '>')
			s[ns++] = i;
	}
	index_receipts();
	for (size_t i = 0; i < ns; i++)
		receiver(s[i], 1);
	for (size_t i = 0; i < ns; i++)
		dest[s[i]] = receiver(s[i], 0);
	to = dest;
	qsort(s, ns, sizeof(*s), by_channel);
	for (size_t g = 0, h; g < ns; g = h) {
		const char *msg = L[s[g]].rec.msg;
		size_t m = 0, j;

		for (h = g + 1; h < ns && proc[s[h]] == proc[s[g]] &&
		    dest[s[h]] == dest[s[g]] &&
		    strcmp(L[s[h]].rec.msg, msg) == 0; h++)
			;
		if (dest[s[g]] < 0)
			continue;
		for (j = first_receipt(msg); has_text(j, msg) &&
		    proc[rcpt[j]] != dest[s[g]]; j = run_end[j])
			;
		for (size_t e = has_text(j, msg) ? run_end[j] : j; j < e; j++)
			if (can_be_from(rcpt[j], proc[s[g]]))
				free_r[m++] = rcpt[j];
		align(s + g, h - g, free_r, m);
	}
	qsort(s, ns, sizeof(*s), by_time);
	for (size_t i = 0; i < ns; i++)
		if (dest[s[i]] == UNDECIDED)
			pair_nearest(s[i]);
	free(s);
	free(free_r);
	free(dest);
	free(rcpt);
	free(run_end);
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
static size_t	 nheap, heapcap;

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

	if (nheap > heapcap) {
		heapcap = 2 * nheap;
		heap = xrealloc(heap, heapcap * sizeof(*heap));
	}
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
	nproc = nreach = nheap = heapcap = 0;
	reach = NULL;
	heap = NULL;
	return order;
}
