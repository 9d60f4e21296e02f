#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filelock.h"
#include "util.h"

/* Tries to lock FD; returns 0, or exits 3 naming the holder. */
static void
lock_or_exit(int fd, const char *path)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;		/* l_start 0, l_len 0: the whole file */
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return;
	if (errno != EACCES && errno != EAGAIN)
		err(EXIT_FAIL, "%s: lock", path);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK &&
	    fl.l_pid > 0)
		errx(EXIT_UNAVAIL, "%s: in use by another process (pid %ld); "
		    "one daemon at a time may use it", path, (long)fl.l_pid);
	errx(EXIT_UNAVAIL, "%s: in use by another process; one daemon at a "
	    "time may use it", path);
}

int
filelock_open(const char *path, int flags, mode_t mode)
{
	struct stat fst, pst;
	int fd;

	for (;;) {
		if ((fd = open(path, O_RDWR | O_CLOEXEC | flags, mode)) == -1)
			return -1;
		lock_or_exit(fd, path);
		if (fstat(fd, &fst) == -1)
			err(EXIT_FAIL, "%s: fstat", path);
		/* Still the file PATH names, not one replaced meanwhile? */
		if (stat(path, &pst) == 0 && pst.st_dev == fst.st_dev &&
		    pst.st_ino == fst.st_ino)
			return fd;
		close(fd);
	}
}

void
filelock_take(int fd, const char *path)
{
	lock_or_exit(fd, path);
}
