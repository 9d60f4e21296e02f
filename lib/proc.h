/*
 * proc: running shell hooks from an event-loop daemon.
 *
 * proc_spawn() runs CMD with /bin/sh -c, INPUT on its standard input (never
 * on its command line), extra environment variables, standard output sent
 * to standard error (so a hook cannot corrupt a tool's output stream), in
 * a process group of its own.  Its exit is reported through the event loop
 * (SIGCHLD via the self-pipe), never from a signal handler.
 *
 * Promise: a hook does not outlive its daemon, and nothing it started
 * outlives the hook.  Each hook runs under a guardian process that leads
 * the hook's process group and is the subreaper of everything below it
 * (PR_SET_CHILD_SUBREAPER), so a process that leaves the group (setsid,
 * timeout(1)) is still found.  When the daemon dies (PR_SET_PDEATHSIG) or
 * proc_kill() is called, the guardian kills every descendant, then itself;
 * when the hook exits, whatever it left running is killed before its
 * status is reported.  So no prepare hook can finish the hook's work after
 * a successor has run the abort hook, and no two hooks of one transaction
 * overlap.  A hook whose daemon died before it started never runs CMD.
 * INPUT is given in an unlinked temporary file, so it may be of any size
 * and the daemon never blocks writing it.
 *
 * Weakness: finding escaped descendants needs Linux's /proc; elsewhere
 * only the hook's process group is killed.
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

/* Has the guardian kill the hook and everything it started. */
void proc_kill(pid_t pid);

#endif
