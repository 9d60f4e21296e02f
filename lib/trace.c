#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "trace.h"
#include "util.h"

int trace_on;
static char *trace_self;

void
trace_init(const char *self)
{
	const char *env = getenv("HAKIT_TRACE");

	trace_on = env != NULL && *env != '\0' && strcmp(env, "0") != 0;
	free(trace_self);
	trace_self = xstrdup(self);
}

void
trace_msg(char dir, const char *peer, const char *msg, size_t len)
{
	struct timeval tv;
	char *buf, *p;
	size_t i, cap;

	cap = strlen(trace_self) + strlen(peer) + 4 * len + 64;
	p = buf = xmalloc(cap);
	gettimeofday(&tv, NULL);
	p += snprintf(p, cap, "%lld %s %c %s ",
	    (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000,
	    trace_self, dir, peer);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			p += sprintf(p, "\\x%02x", c);
		} else
			*p++ = (char)c;
	}
	*p++ = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)(p - buf));
	free(buf);
}

void
trace_event(const char *event)
{
	struct timeval tv;
	char buf[512];
	int n;

	if (!trace_on)
		return;
	gettimeofday(&tv, NULL);
	n = snprintf(buf, sizeof(buf), "%lld %s ! %s\n",
	    (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000, trace_self, event);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)!write(STDERR_FILENO, buf, (size_t)n);
}
