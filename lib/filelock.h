/*
 * filelock: one daemon at a time on a durable file.
 *
 * Every log and data directory is used by one process at a time: two
 * daemons appending to one log would overwrite each other's durable
 * records.  filelock_take() puts a POSIX write lock (fcntl F_SETLK) on the
 * whole of an open file; the kernel drops it when the process dies, so a
 * crashed daemon never leaves a stale lock behind.  A second process
 * asking for the lock is refused at once, and told the holder's pid
 * (F_GETLK).
 *
 * Promise: while filelock_take() has returned in one process, it exits 3
 * in every other.  Weakness: POSIX locks belong to the process and are
 * released when it closes any descriptor of the file, so the file must be
 * opened exactly once (a log is: log_open keeps its descriptor until
 * log_close); children made by fork(2) do not inherit the lock.
 */
#ifndef HAKIT_FILELOCK_H
#define HAKIT_FILELOCK_H

/*
 * Locks the file open for writing on FD (named PATH in messages).  Exits 3
 * naming the holder if another process holds it; exits 1 on other errors.
 */
void filelock_take(int fd, const char *path);

#endif
