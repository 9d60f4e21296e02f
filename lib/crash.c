#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "trace.h"
#include "util.h"

int crash_armed;
static char *crash_name;
static unsigned long crash_left;

void
crash_init(void)
{
	const char *env = getenv("HAKIT_CRASH");
	char *colon;

	if (env == NULL || *env == '\0')
		return;
	crash_name = xstrdup(env);
	crash_left = 1;
	if ((colon = strchr(crash_name, ':')) != NULL) {
		*colon = '\0';
		if (parse_ulong(colon + 1, 1, 1000000000, &crash_left) == -1)
			errx(EXIT_USAGE, "HAKIT_CRASH: bad count: %s", env);
	}
	if (*crash_name == '\0')
		errx(EXIT_USAGE, "HAKIT_CRASH: no point named: %s", env);
	crash_armed = 1;
}

void
crash_at(const char *point)
{
	extern char *program_invocation_short_name;

	if (strcmp(point, crash_name) != 0 || --crash_left > 0)
		return;
	fprintf(stderr, "%s: crash point %s reached\n",
	    program_invocation_short_name, point);
	if (trace_on) {
		char event[256];

		snprintf(event, sizeof(event), "crash %s", point);
		trace_event(event);
	}
	kill(getpid(), SIGKILL);
	_exit(137);
}
