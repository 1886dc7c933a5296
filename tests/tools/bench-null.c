/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench-null - the floor of the speed benchmarks: a program that does as
 * little as a delivery agent can.
 *
 * It reads its standard input to the end and exits 0, linked against the
 * C library only.  tests/bench.py runs it one process per file beside
 * rebound-pipe --classify (standard input /dev/null), so that the cost of
 * an exec on this machine, in the same run, is what rebound-pipe's figure
 * is set against; tests/bench-e2e.sh makes it the trivial pipe(8)
 * transport that rebound-pipe's throughput through Postfix is set against.
 */
#include <unistd.h>

/* main - read standard input to its end, exit 0 */
int
main(void)
{
	char buf[65536];

	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		continue;
	return 0;
}
