/*
 * filelock: one daemon at a time on a durable file.
 *
 * Every log and data directory is used by one process at a time: two
 * daemons appending to one log would overwrite each other's durable
 * records.  filelock_open() opens a file and puts a POSIX write lock
 * (fcntl F_SETLK) on the whole of it; the kernel drops it when the process
 * dies, so a crashed daemon never leaves a stale lock behind.  A second
 * process asking for the lock is refused at once, and told the holder's
 * pid (F_GETLK).
 *
 * A locked file may be replaced by rename(2) (a log's checkpoint does,
 * after locking the new file): the lock is then on the new file, and a
 * process that opened the old one just before finds, once it has the old
 * file's lock, that the name points elsewhere, and tries again.
 *
 * Promise: while a process holds the lock on the file named PATH, every
 * other filelock_open(PATH) exits 3.  Weakness: POSIX locks belong to the
 * process and are released when it closes any descriptor of the file, so
 * the file must be opened exactly once; children made by fork(2) do not
 * inherit the lock.
 */
#ifndef HAKIT_FILELOCK_H
#define HAKIT_FILELOCK_H

#include <sys/types.h>

/*
 * Opens PATH read-write (creating it with MODE if FLAGS has O_CREAT, as
 * open(2) does) and locks it.  Returns the descriptor, or -1 with errno
 * set if it cannot be opened.  Exits 3 naming the holder if another
 * process holds the lock; exits 1 on other errors.
 */
int filelock_open(const char *path, int flags, mode_t mode);

/* Locks the new file open on FD, which only this process knows of yet. */
void filelock_take(int fd, const char *path);

#endif
