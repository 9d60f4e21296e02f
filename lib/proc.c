#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
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

/*
 * Kills, with SIGKILL, every process descended from this one: those still
 * below a child, and those that left their process group or session
 * (setsid, timeout(1)) and were reparented here, since the guardian is
 * their subreaper.  A killed process's children come here too, so the walk
 * repeats until nothing is left.  Linux only (/proc); elsewhere only the
 * process group is killed (by kill_group).
 */
static void
kill_descendants(void)
{
#ifdef __linux__
	char path[64], buf[4096], *p, *end;
	int fd, killed;
	ssize_t n;
	long pid;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)getpid(), (long)getpid());
	do {
		killed = 0;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if ((fd = open(path, O_RDONLY)) == -1)
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (p = buf; (pid = strtol(p, &end, 10)) > 0; p = end) {
			kill((pid_t)pid, SIGKILL);
			killed = 1;
		}
		if (killed)
			(void)waitpid(-1, NULL, 0);
	} while (killed);
#endif
}

/*
 * Runs in the guardian, a child of the daemon leading the hook's process
 * group: when the daemon dies the kernel sends it SIGTERM
 * (PR_SET_PDEATHSIG), and so does proc_kill(); it kills everything the hook
 * started, then its group, itself included.
 */
static void
kill_group(int signo)
{
	(void)signo;
	kill_descendants();
	kill(0, SIGKILL);
	_exit(137);
}

/* The guardian: starts the hook, waits for it, exits with its status. */
static void
guard(const char *cmd, int in, char *const env[], pid_t parent)
{
	struct sigaction sa;
	sigset_t term, old;
	long fd, maxfd;
	pid_t hook;
	int i, st;

	setpgid(0, 0);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kill_group;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	if (getppid() != parent)
		_exit(137);	/* the daemon is already gone */
	dup2(in, STDIN_FILENO);
	dup2(STDERR_FILENO, STDOUT_FILENO);
	/* The daemon's sockets must not outlive it in here. */
	maxfd = sysconf(_SC_OPEN_MAX);
	for (fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); fd++)
		close((int)fd);
	if ((hook = fork()) == -1)
		_exit(127);
	if (hook == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGTERM, SIG_DFL);
		for (i = 0; env[i] != NULL; i++)
			putenv(env[i]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(hook, &st, 0) == -1)
		if (errno != EINTR)
			_exit(127);
	/* What the hook left running is part of it: it ends with it. */
	sigprocmask(SIG_BLOCK, &term, NULL);
	kill_descendants();
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

pid_t
proc_spawn(const char *cmd, const char *input, size_t len,
    char *const env[], proc_exit_fn *fn, void *arg)
{
	struct child *c;
	pid_t parent = getpid(), pid;
	FILE *in;

	/* The input in an unlinked file: any size, and no write can block. */
	if ((in = tmpfile()) == NULL ||
	    (len > 0 && fwrite(input, 1, len, in) != len) ||
	    fflush(in) == EOF || fseek(in, 0, SEEK_SET) == -1) {
		warn("hook input");
		if (in != NULL)
			fclose(in);
		return -1;
	}
	if ((pid = fork()) == -1) {
		warn("fork");
		fclose(in);
		return -1;
	}
	if (pid == 0)
		guard(cmd, fileno(in), env, parent);
	setpgid(pid, pid);
	fclose(in);
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
	/* The guardian kills the hook and all it started, then itself. */
	kill(pid, SIGTERM);
}
