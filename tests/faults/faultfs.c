/*
 * faultfs: an LD_PRELOAD shim, built only for the tests, that makes one
 * file-system call fail the way a failing or full disk does.
 *
 *	HAKIT_FAULT=OP:N[:ERRNO]
 *
 * OP is write (write and pwrite on regular files only, so messages on
 * stderr and sockets still get out), fsync, fdatasync or rename; the N-th
 * such call of the process fails with ERRNO (EIO, the default, or ENOSPC)
 * and every other call goes through, which is the dangerous case: a
 * program that ignored the error would find the next call succeeding
 * (PostgreSQL's "fsyncgate").  The shim reports the fault on stderr as
 * "faultfs: OP #N failed with ERRNO" and removes itself from the
 * environment, so hooks and other children run unharmed.  With
 * HAKIT_FAULT_PROG=NAME it stays inert, and in the environment, in every
 * program but NAME (so it reaches a tool started through a wrapper, such
 * as valgrind).  With HAKIT_FAULT_FORKED set, calls are counted, and
 * fail, only in the processes the program forks (a snapshot's writer),
 * each counting from its start; the program itself runs unharmed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static char fault_op[16];
static long fault_n, calls;
static int fault_errno = EIO;
static pid_t spared;		/* with HAKIT_FAULT_FORKED: the program */

__attribute__((constructor)) static void
faultfs_init(void)
{
	const char *spec = getenv("HAKIT_FAULT");
	const char *prog = getenv("HAKIT_FAULT_PROG");
	char op[16], name[16] = "EIO";

	if (prog != NULL && strcmp(prog, program_invocation_short_name) != 0)
		return;

	if (spec != NULL && sscanf(spec, "%15[a-z]:%ld:%15[A-Z]", op,
	    &fault_n, name) >= 2) {
		strcpy(fault_op, op);
		fault_errno = strcmp(name, "ENOSPC") == 0 ? ENOSPC : EIO;
	}
	if (getenv("HAKIT_FAULT_FORKED") != NULL)
		spared = getpid();
	unsetenv("HAKIT_FAULT_FORKED");
	unsetenv("HAKIT_FAULT");
	unsetenv("HAKIT_FAULT_PROG");
	unsetenv("LD_PRELOAD");
}

/* Returns 1 if this call of OP is the one to fail (and says so). */
static int
fail_now(const char *op)
{
	char msg[128];
	int n;

	if (strcmp(op, fault_op) != 0 || getpid() == spared ||
	    ++calls != fault_n)
		return 0;
	n = snprintf(msg, sizeof(msg), "faultfs: %s #%ld failed with %s\n",
	    op, calls, fault_errno == ENOSPC ? "ENOSPC" : "EIO");
	if (n > 0)
		(void)!((ssize_t (*)(int, const void *, size_t))
		    dlsym(RTLD_NEXT, "write"))(2, msg, (size_t)n);
	errno = fault_errno;
	return 1;
}

static int
regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	if (regular(fd) && fail_now("write"))
		return -1;
	return real(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(
		    RTLD_NEXT, "pwrite");
	if (regular(fd) && fail_now("write"))
		return -1;
	return real(fd, buf, len, off);
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (fail_now("fsync"))
		return -1;
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (fail_now("fdatasync"))
		return -1;
	return real(fd);
}

int
rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);

	if (real == NULL)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT,
		    "rename");
	if (fail_now("rename"))
		return -1;
	return real(from, to);
}
