/*
 * evloop: a single-threaded poll(2) event loop, after antirez's ae.c.
 *
 * Offers fd-indexed read/write callbacks, one-shot or repeating timers
 * (the poll timeout is the time to the nearest one), before-sleep hooks
 * (run after the due timers, right before poll: where a durable log does
 * its group commit and queued replies are written), and signals delivered as
 * ordinary callbacks through a self-pipe (SIGCHLD for reaping hooks,
 * SIGTERM/SIGINT for a clean exit).
 *
 * Promise: callbacks run one at a time, never reentrantly; a callback may
 * add or delete any fd or timer, including its own.  A deleted fd's
 * callbacks are not called again in the same iteration.  Timers fire no
 * earlier than asked, in deadline order.
 *
 * Weakness: timers live in an unsorted list (fine for hundreds, not for
 * millions), and the pollfd array is rebuilt on every iteration.
 */
#ifndef HAKIT_EVLOOP_H
#define HAKIT_EVLOOP_H

#define EV_READ		1
#define EV_WRITE	2

struct evloop;

typedef void ev_fd_fn(struct evloop *, int fd, int events, void *arg);
/* Returns the delay in ms until it should fire again, or -1 to stop. */
typedef long ev_timer_fn(struct evloop *, long long id, void *arg);
typedef void ev_hook_fn(struct evloop *, void *arg);
typedef void ev_signal_fn(struct evloop *, int signo, void *arg);

struct evloop *ev_new(void);

/* Watches FD for EVENTS (added to what is watched), calling FN(ARG). */
void ev_add_fd(struct evloop *, int fd, int events, ev_fd_fn *fn, void *arg);

/* Stops watching FD for EVENTS; with all events gone, forgets FD. */
void ev_del_fd(struct evloop *, int fd, int events);

/* Calls FN(ARG) after MS milliseconds; returns the timer's id (> 0). */
long long ev_add_timer(struct evloop *, long ms, ev_timer_fn *fn, void *arg);

/* Cancels a timer; unknown or fired ids are ignored. */
void ev_del_timer(struct evloop *, long long id);

/* Adds a hook called before every poll, in the order added. */
void ev_before_sleep(struct evloop *, ev_hook_fn *fn, void *arg);

/* Catches SIGNO and calls FN from the loop (not from the handler). */
void ev_signal(struct evloop *, int signo, ev_signal_fn *fn, void *arg);

/* Runs until ev_stop() is called. */
void ev_run(struct evloop *);
void ev_stop(struct evloop *);

/* Milliseconds on the monotonic clock. */
long long ev_now_ms(void);

#endif
