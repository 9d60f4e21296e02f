#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "filelock.h"
#include "util.h"

void
filelock_take(int fd, const char *path)
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
