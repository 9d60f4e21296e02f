#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tracefile.h"

/* Cuts the word at *P (ended by a space) and moves *P past it; returns the
 * word, or NULL if there is none. */
static char *
word(char **p)
{
	char *w = *p, *sp;

	if (*w == '\0' || *w == ' ')
		return NULL;
	if ((sp = strchr(w, ' ')) == NULL)
		*p = w + strlen(w);
	else {
		*sp = '\0';
		*p = sp + 1;
	}
	return w;
}

int
tracefile_parse(char *line, struct trace_rec *rec)
{
	char *p = line, *t, *dir, *end;

	if (!isdigit((unsigned char)*line))
		return -1;
	if ((t = word(&p)) == NULL || (rec->self = word(&p)) == NULL ||
	    (dir = word(&p)) == NULL || dir[1] != '\0')
		return -1;
	rec->msec = strtoll(t, &end, 10);
	if (*end != '\0')
		return -1;
	rec->dir = dir[0];
	if (rec->dir == '!') {
		rec->peer = p + strlen(p);	/* "" */
		rec->msg = p;
		return *p == '\0' ? -1 : 0;
	}
	if (rec->dir != '>' && rec->dir != '<')
		return -1;
	if ((rec->peer = word(&p)) == NULL)
		return -1;
	rec->msg = p;
	return 0;
}
