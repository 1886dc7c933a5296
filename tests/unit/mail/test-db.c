/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-db - libpq's multi-line messages become one readable line: no
 * line break reaches a log line (where it would show as "??"), and no
 * sentence is lost.
 */
#include <string.h>

#include "mail/db.h"
#include "tap.h"

static const struct {
	const char *in;
	const char *want;
} cases[] = {
	{ "", "" },
	{ "one line\n", "one line" },
	/* What libpq says when the server is not there. */
	{ "connection to server on socket \"/tmp/x/.s.PGSQL.5432\" failed: No such file or "
	  "directory\n\tIs the server running locally and accepting connections on that "
	  "socket?\n",
	  "connection to server on socket \"/tmp/x/.s.PGSQL.5432\" failed: No such file or "
	  "directory; Is the server running locally and accepting connections on that socket?" },
	/* ... and when it goes away under a connection. */
	{ "server closed the connection unexpectedly\n\tThis probably means the server "
	  "terminated abnormally\n\tbefore or while processing the request.\n",
	  "server closed the connection unexpectedly; This probably means the server "
	  "terminated abnormally before or while processing the request." },
	{ "FATAL:  terminating connection due to administrator command\nserver closed the "
	  "connection unexpectedly\n",
	  "FATAL:  terminating connection due to administrator command server closed the "
	  "connection unexpectedly" },
	{ "ends with a colon:\nNext\r\n\r\n", "ends with a colon: Next" },
	{ "tab\tinside\n", "tab inside" },
};

int
main(void)
{
	char out[512], small[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = db_join_lines(cases[i].in, out, sizeof(out));

		tap_is_str(out, cases[i].want, "case %zu joined", i);
		tap_is_int((long long)n, (long long)strlen(cases[i].want), "case %zu length", i);
		tap_ok(strpbrk(out, "\r\n") == NULL, "case %zu has no line break", i);
	}
	db_join_lines("a long first line\nand more\n", small, sizeof(small));
	tap_is_str(small, "a long", "a small buffer is cut and terminated");
	db_join_lines("abcdef\nGhij\n", small, sizeof(small));
	tap_is_str(small, "abcdef", "the separator is not left dangling at the cut");
	return tap_done();
}
