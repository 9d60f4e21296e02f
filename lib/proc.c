#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "evloop.h"
#include "proc.h"
#include "util.h"

struct child {
	pid_t pid;
	proc_exit_fn *fn;
	void *arg;
	struct child *next;
};

static struct child *children;

/* Reaps every exited child and reports it to its owner. */
static void
on_sigchld(struct evloop *ev, int signo, void *arg)
{
	struct child **cp, *c;
	pid_t pid;
	int st;

	(void)ev;
	(void)signo;
	(void)arg;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (cp = &children; (c = *cp) != NULL; cp = &c->next)
			if (c->pid == pid)
				break;
		if (c == NULL)
			continue;
		*cp = c->next;
		c->fn(c->arg, WIFEXITED(st) ? WEXITSTATUS(st) :
		    128 + WTERMSIG(st));
		free(c);
	}
}

void
proc_init(struct evloop *ev)
{
	ev_signal(ev, SIGCHLD, on_sigchld, NULL);
}

pid_t
proc_spawn(const char *cmd, const char *input, size_t len,
    char *const env[], proc_exit_fn *fn, void *arg)
{
	struct child *c;
	pid_t parent = getpid(), pid;
	int p[2], i;
	ssize_t n;

	if (pipe(p) == -1) {
		warn("pipe");
		return -1;
	}
	if ((pid = fork()) == -1) {
		warn("fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		dup2(p[0], STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		for (i = 0; env[i] != NULL; i++)
			putenv(env[i]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	n = len > 0 ? write(p[1], input, len) : 0;
	close(p[1]);
	if (n < 0 || (size_t)n != len)
		warnx("hook input of %zu bytes did not fit in its pipe", len);
	c = xmalloc(sizeof(*c));
	c->pid = pid;
	c->fn = fn;
	c->arg = arg;
	c->next = children;
	children = c;
	return pid;
}

void
proc_kill(pid_t pid)
{
	kill(-pid, SIGKILL);
}
