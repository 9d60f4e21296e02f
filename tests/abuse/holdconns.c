/*
 * holdconns SOCK N [hold|half|storm]: opens N connections to the UNIX
 * socket SOCK.  hold (the default) keeps them open and silent until
 * killed; half sends half a line on each and then keeps silent; storm
 * closes each at once and exits.  Prints "held N" (or "stormed N") once
 * all N are connected.  Built only for the tests
 * (tests/41-socket-abuse.bats).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	struct rlimit rl;
	const char *mode = argc == 4 ? argv[3] : "hold";
	int i, n, fd;

	if (argc < 3 || argc > 4 || (n = atoi(argv[2])) < 1)
		errx(2, "usage: holdconns SOCK N [hold|half|storm]");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 16) {
		rl.rlim_cur = (rlim_t)n + 16;
		if (rl.rlim_cur > rl.rlim_max || setrlimit(RLIMIT_NOFILE, &rl) == -1)
			errx(1, "RLIMIT_NOFILE too low for %d connections", n);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		errx(2, "%s: path too long", argv[1]);
	strcpy(sun.sun_path, argv[1]);
	for (i = 0; i < n; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			err(1, "socket");
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			err(1, "connect %d", i + 1);
		if (strcmp(mode, "half") == 0 &&
		    write(fd, "PUT half a li", 13) != 13)
			err(1, "write %d", i + 1);
		if (strcmp(mode, "storm") == 0)
			close(fd);
	}
	printf("%s %d\n", strcmp(mode, "storm") == 0 ? "stormed" : "held", n);
	fflush(stdout);
	if (strcmp(mode, "storm") == 0)
		return 0;
	for (;;)
		pause();
}
