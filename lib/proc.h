/*
 * proc: running shell hooks from an event-loop daemon.
 *
 * proc_spawn() runs CMD with /bin/sh -c, INPUT on its standard input (never
 * on its command line), extra environment variables, standard output sent
 * to standard error (so a hook cannot corrupt a tool's output stream), in
 * a process group of its own.  Its exit is reported through the event loop
 * (SIGCHLD via the self-pipe), never from a signal handler.
 *
 * Promise: a hook does not outlive its daemon.  Each hook runs under a
 * guardian process that leads the hook's process group; on Linux the
 * guardian gets SIGTERM when the daemon dies (PR_SET_PDEATHSIG) and kills
 * the whole group with SIGKILL, so neither the shell nor anything it
 * started (in the same group) can finish the hook's work later; a hook
 * whose daemon died before it started never runs CMD.
 *
 * Weakness: INPUT is written to a pipe without blocking, so it must fit in
 * the pipe buffer (64 KiB on Linux); longer input is refused.
 */
#ifndef HAKIT_PROC_H
#define HAKIT_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct evloop;

/* STATUS is the exit status, or 128 + the signal number that killed it. */
typedef void proc_exit_fn(void *arg, int status);

/* Installs the SIGCHLD handler on EV; call once before spawning. */
void proc_init(struct evloop *ev);

/*
 * Starts CMD; ENV is a NULL-terminated list of "NAME=VALUE" strings added
 * to the environment.  Returns the child's pid (also its process group),
 * or -1 with a warning printed.
 */
pid_t proc_spawn(const char *cmd, const char *input, size_t len,
    char *const env[], proc_exit_fn *fn, void *arg);

/* Kills the hook's whole process group (guardian included) with SIGKILL. */
void proc_kill(pid_t pid);

#endif
