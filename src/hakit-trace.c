/*
 * hakit-trace: draws HAKIT_TRACE lines merged from many processes as a
 * sequence (Lamport) diagram, as text or SVG.
 *
 * Each message appears twice in a merged trace: once as sent (SELF > PEER)
 * and once as received (SELF < PEER).  tracemerge pairs them and puts the
 * lines in causal order; each message is then drawn as one row, at its
 * send.  A send left unpaired was lost (its receiver died or was not
 * traced); a receipt left unpaired comes from outside the trace.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracefile.h"
#include "tracemerge.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: hakit-trace [-hsV] [-T text | svg] [-w width] "
	    "[file ...]\n");
	if (fp == stderr)
		exit(EXIT_USAGE);
	exit(EXIT_OK);
}

/* One row of the diagram: a message from column `from` to column `to`
 * (-1 when that end is not in the trace), or an event in column `from`. */
struct row {
	long long	 msec;
	int		 event;		/* 0 message, 1 crash, 2 start, 3 restart,
					   4 other event, 5 ready again */
	int		 from, to;
	int		 lost;		/* a send nobody received */
	const char	*text;
	const char	*peer;		/* the name the unknown end went by */
	int		*dead;		/* per column, after this row */
};

static struct trace_line *rec;
static size_t		 nrec, recalloc;
static char		**col;
static size_t		 ncol;
static struct row	*row;
static size_t		 nrow, rowalloc;

/* Reads every trace line of FP, the FILE-th file, into rec[]; other lines
 * are skipped. */
static void
read_trace(FILE *fp, const char *name, int file)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, fp)) != -1) {
		struct trace_rec r;
		char *copy;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		copy = xstrdup(line);
		if (tracefile_parse(copy, &r) == -1) {
			free(copy);
			continue;
		}
		if (nrec == recalloc) {
			recalloc = recalloc ? 2 * recalloc : 256;
			rec = xrealloc(rec, recalloc * sizeof(*rec));
		}
		rec[nrec++] = (struct trace_line){ r, file, -1 };
	}
	if (ferror(fp))
		err(EXIT_USAGE, "%s", name);
	free(line);
}

/* Returns the column of process NAME, adding one if ADD, else -1. */
static int
column(char *name, int add)
{
	for (size_t i = 0; i < ncol; i++)
		if (strcmp(col[i], name) == 0)
			return (int)i;
	if (!add)
		return -1;
	col = xrealloc(col, (ncol + 1) * sizeof(*col));
	col[ncol] = name;
	return (int)ncol++;
}

static struct row *
add_row(long long msec, int event, int from, int to, const char *text)
{
	struct row *w;

	if (nrow == rowalloc) {
		rowalloc = rowalloc ? 2 * rowalloc : 256;
		row = xrealloc(row, rowalloc * sizeof(*row));
	}
	w = &row[nrow++];
	memset(w, 0, sizeof(*w));
	w->msec = msec;
	w->event = event;
	w->from = from;
	w->to = to;
	w->text = text;
	return w;
}

/* Turns the records, in causal order, into columns and rows, and marks
 * each column dead from a crash until it is ready again or speaks.
 * Returns the number of messages with an end missing. */
static size_t
build(void)
{
	size_t *order = trace_merge(rec, nrec);
	int *dead, *crashed, *started;
	size_t unpaired = 0;

	for (size_t i = 0; i < nrec; i++)
		column(rec[order[i]].rec.self, 1);
	crashed = xcalloc(ncol + 1, sizeof(*crashed));
	started = xcalloc(ncol + 1, sizeof(*started));
	dead = xcalloc(ncol + 1, sizeof(*dead));
	for (size_t i = 0; i < nrec; i++) {
		const struct trace_line *l = &rec[order[i]];
		const struct trace_rec *r = &l->rec;
		int self = column(r->self, 0), peer = column(r->peer, 0);
		struct row *w = NULL;

		if (r->dir == '<' && l->mate != -1)
			continue;	/* drawn with its send */
		if (r->dir != '!' && crashed[self]) {
			/* It speaks again: a new process under the old name. */
			dead[self] = crashed[self] = 0;
			w = add_row(r->msec, 3, self, -1, "");
			w->dead = xmalloc(ncol * sizeof(int));
			memcpy(w->dead, dead, ncol * sizeof(int));
			w = NULL;
		}

		if (r->dir == '!') {
			int ev = 4;

			if (strncmp(r->msg, "crash", 5) == 0) {
				ev = 1;
				dead[self] = crashed[self] = 1;
			} else if (strcmp(r->msg, "ready") == 0) {
				ev = crashed[self] ? 3 : started[self] ? 5 : 2;
				dead[self] = crashed[self] = 0;
				started[self] = 1;
			}
			w = add_row(r->msec, ev, self, -1, r->msg);
		} else if (r->dir == '>') {
			dead[self] = 0;
			if (l->mate != -1) {
				int c = column(rec[l->mate].rec.self, 0);

				dead[c] = 0;
				w = add_row(r->msec, 0, self, c, r->msg);
			} else {
				w = add_row(r->msec, 0, self,
				    peer == self ? -1 : peer, r->msg);
				w->lost = 1;
				unpaired++;
			}
		} else {
			dead[self] = 0;
			w = add_row(r->msec, 0, peer == self ? -1 : peer, self,
			    r->msg);
			unpaired++;
		}
		if (w != NULL) {
			w->peer = r->peer;
			w->dead = xmalloc(ncol * sizeof(int));
			memcpy(w->dead, dead, ncol * sizeof(int));
		}
	}
	free(order);
	free(crashed);
	free(started);
	free(dead);
	return unpaired;
}

static const char *event_name[] = {
	"", "crash", "start", "restart", "", "ready"
};

#define ID_MIN	12	/* hex digits that make a word a random id */
#define ID_SHOWN 4	/* of which are shown */

/*
 * Shortens, in BUF, every word of ID_MIN or more hex digits (the random
 * ids of coordinators and members, the same in every message) to its
 * first ID_SHOWN digits and "..", so the words that change stay in view.
 */
static void
shorten_ids(char *buf)
{
	char *w = buf, *end;
	size_t n;

	while (*w != '\0') {
		n = strspn(w, "0123456789abcdef");
		end = w + n;
		if (n >= ID_MIN && (w == buf || w[-1] == ' ') &&
		    (*end == ' ' || *end == '\0')) {
			memmove(w + ID_SHOWN + 2, end, strlen(end) + 1);
			memcpy(w + ID_SHOWN, "..", 2);
			end = w + ID_SHOWN + 2;
		}
		w = *end != '\0' ? end + 1 : end;
		while (*w != '\0' && w[-1] != ' ')
			w++;
	}
}

/* The label of row W: its text, with what is known of a missing end. */
static void
label(const struct row *w, char *buf, size_t len)
{
	if (w->event == 1 || w->event == 4)
		snprintf(buf, len, "%s: %s", col[w->from], w->text);
	else if (w->event)
		snprintf(buf, len, "%s: %s", col[w->from], event_name[w->event]);
	else if (w->lost)
		snprintf(buf, len, "%s (lost)", w->text);
	else if (w->from == -1)
		snprintf(buf, len, "%s (from %s)", w->text, w->peer);
	else
		snprintf(buf, len, "%s", w->text);
	shorten_ids(buf);
}

/*
 * Cuts BUF to at most MAX bytes (MAX >= 20): at the last blank that
 * leaves room for "...", so no word or path is shown cut in half.
 */
static void
fit(char *buf, size_t max)
{
	char *sp;

	if (strlen(buf) <= max)
		return;
	buf[max - 3] = '\0';
	if ((sp = strrchr(buf, ' ')) != NULL && sp > buf)
		sp[1] = '\0';
	strcat(buf, "...");
}

static void
draw_text(int width)
{
	int gutter = 8, colw, x, lw;
	int named = 1;
	char *line, buf[256];

	colw = (width - gutter - 32) / (int)(ncol ? ncol : 1);
	if (colw > 16)
		colw = 16;
	if (colw < 4)
		colw = 4;
	for (size_t c = 0; c < ncol; c++)
		if ((int)strlen(col[c]) > colw - 1)
			named = 0;
	if (!named)
		for (size_t c = 0; c < ncol; c++)
			printf("%*s%c = %s\n", gutter, "", (int)('A' + c % 26),
			    col[c]);
	printf("%-*s", gutter, "msec");
	for (size_t c = 0; c < ncol; c++) {
		if (named) {
			int pad = (colw - (int)strlen(col[c])) / 2;

			printf("%*s%-*s", pad, "", colw - pad, col[c]);
		} else
			printf("%*s%c%*s", colw / 2, "", (int)('A' + c % 26),
			    colw - colw / 2 - 1, "");
	}
	putchar('\n');
	lw = width - gutter - (int)ncol * colw - 1;
	if (lw < 20)
		lw = 20;
	line = xmalloc(ncol * (size_t)colw + 1);
	for (size_t i = 0; i < nrow; i++) {
		const struct row *w = &row[i];
		const int *was = i ? row[i - 1].dead : w->dead;

		memset(line, ' ', ncol * (size_t)colw);
		line[ncol * (size_t)colw] = '\0';
		for (size_t c = 0; c < ncol; c++)
			line[c * colw + colw / 2] = was[c] && w->dead[c] ? ':' : '|';
		if (w->event) {
			x = w->from * colw + colw / 2;
			line[x] = w->event == 1 ? 'X' : w->event == 4 ? '!' :
			    w->event == 5 ? '.' : '*';
		} else if (w->from >= 0 && w->to >= 0) {
			int a = w->from * colw + colw / 2;
			int b = w->to * colw + colw / 2;
			int lo = a < b ? a : b, hi = a < b ? b : a;

			for (x = lo + 1; x < hi; x++)
				line[x] = '-';
			line[a < b ? b - 1 : b + 1] = w->lost ? 'x' :
			    a < b ? '>' : '<';
		} else if (w->from >= 0) {
			x = w->from * colw + colw / 2;
			line[x + 1] = '-';
			line[x + 2] = 'x';
		} else {
			x = w->to * colw + colw / 2;
			line[x - 2] = '?';
			line[x - 1] = '>';
		}
		label(w, buf, sizeof(buf));
		fit(buf, (size_t)lw);
		printf("%+-*lld%s %s\n", gutter, w->msec - row[0].msec, line,
		    buf);
	}
	free(line);
}

/* Prints S with XML's special characters escaped, at most MAX bytes. */
static void
xml_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n && i < max; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '&': fputs("&amp;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default:
			if ((unsigned char)s[i] >= 0x20)
				putchar(s[i]);
		}
	}
	if (n > max)
		fputs("...", stdout);
}

static void
draw_svg(void)
{
	const int left = 70, top = 50, colw = 150, rowh = 26;
	int width = left + (int)ncol * colw + 170, height = top + (int)nrow * rowh + 20;
	char buf[256];

	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\">\n",
	    width, height, width, height);
	printf("<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" "
	    "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
	    "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
	    "fill=\"#1f4e8c\"/></marker></defs>\n");
	printf("<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	printf("<text x=\"8\" y=\"%d\" font-size=\"11\" fill=\"#666\">msec"
	    "</text>\n", top - 22);
	for (size_t c = 0; c < ncol; c++) {
		int x = left + (int)c * colw + colw / 2;
		int cur = 0, from = top - 12;

		printf("<text x=\"%d\" y=\"%d\" font-size=\"12\" "
		    "font-weight=\"bold\" text-anchor=\"middle\">", x, top - 22);
		xml_text(col[c], 20);
		printf("</text>\n");
		/* The lifeline: solid while alive, dashed red while dead. */
		for (size_t i = 0; i <= nrow; i++) {
			int d = i < nrow ? row[i].dead[c] : !cur;
			int y = i < nrow ? top + (int)i * rowh : height - 10;

			if (d == cur)
				continue;
			printf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			    "stroke=\"%s\" stroke-width=\"%s\"%s/>\n", x, from,
			    x, y, cur ? "#c00" : "#999", cur ? "1" : "1.5",
			    cur ? " stroke-dasharray=\"3,4\"" : "");
			cur = d;
			from = y;
		}
	}
	for (size_t i = 0; i < nrow; i++) {
		const struct row *w = &row[i];
		int y = top + (int)i * rowh;
		int xa = left + w->from * colw + colw / 2;
		int xb = left + w->to * colw + colw / 2;

		printf("<text x=\"8\" y=\"%d\" font-size=\"10\" fill=\"#666\">"
		    "+%lld</text>\n", y + 4, w->msec - row[0].msec);
		label(w, buf, sizeof(buf));
		if (w->event == 1) {
			printf("<path d=\"M%d,%d l10,10 m0,-10 l-10,10\" "
			    "stroke=\"#c00\" stroke-width=\"3\"/>\n",
			    xa - 5, y - 5);
		} else if (w->event) {
			printf("<circle cx=\"%d\" cy=\"%d\" r=\"5\" "
			    "fill=\"%s\"/>\n", xa, y,
			    w->event >= 4 ? "#888" : "#2a2");
		}
		if (w->event) {
			printf("<text x=\"%d\" y=\"%d\" font-size=\"11\" "
			    "fill=\"%s\">", xa + 10, y + 4,
			    w->event == 1 ? "#c00" : "#262");
			xml_text(buf, 60);
			printf("</text>\n");
			continue;
		}
		if (w->from == -1)
			xa = xb - colw / 3;
		if (w->to == -1)
			xb = xa + colw / 3;
		printf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		    "stroke=\"%s\" stroke-width=\"1.2\"%s/>\n", xa, y - 4, xb,
		    y + 8, w->lost ? "#c00" : "#1f4e8c",
		    w->lost ? " stroke-dasharray=\"4,3\"" :
		    " marker-end=\"url(#head)\"");
		if (w->lost)
			printf("<path d=\"M%d,%d l8,8 m0,-8 l-8,8\" "
			    "stroke=\"#c00\" stroke-width=\"2\"/>\n",
			    xb - 4, y + 4);
		printf("<text x=\"%d\" y=\"%d\" font-size=\"10\" "
		    "text-anchor=\"middle\" fill=\"#333\" stroke=\"white\" "
		    "stroke-width=\"3\" paint-order=\"stroke\">", (xa + xb) / 2,
		    y - 6);
		xml_text(buf, (size_t)(abs(xb - xa) / 6 > 18 ?
		    abs(xb - xa) / 6 : 18));
		printf("</text>\n");
	}
	printf("</svg>\n");
}

int
main(int argc, char *argv[])
{
	const char *format = "text";
	unsigned long width = 80;
	int ch, strict = 0;
	size_t unpaired;

	while ((ch = getopt(argc, argv, "hsT:Vw:")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			break;
		case 's':
			strict = 1;
			break;
		case 'T':
			format = optarg;
			if (strcmp(format, "text") != 0 &&
			    strcmp(format, "svg") != 0)
				usage(stderr);
			break;
		case 'V':
			print_version();
			break;
		case 'w':
			if (parse_ulong(optarg, 40, 1000, &width) == -1)
				usage(stderr);
			break;
		default:
			usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0)
		read_trace(stdin, "stdin", 0);
	for (int i = 0; i < argc; i++) {
		FILE *fp = strcmp(argv[i], "-") == 0 ? stdin :
		    fopen(argv[i], "r");

		if (fp == NULL)
			err(EXIT_USAGE, "%s", argv[i]);
		read_trace(fp, argv[i], i);
		if (fp != stdin)
			fclose(fp);
	}
	if (nrec == 0)
		errx(EXIT_FAIL, "no trace lines in the input");
	unpaired = build();
	if (strcmp(format, "svg") == 0)
		draw_svg();
	else
		draw_text((int)width);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(EXIT_FAIL, "stdout");
	if (strict && unpaired > 0) {
		warnx("%zu messages with an end missing from the trace",
		    unpaired);
		return EXIT_UNAVAIL;
	}
	return EXIT_OK;
}
