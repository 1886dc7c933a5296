/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-lmtp - the pure parts of rebound-pipe's LMTP server: RFC 3461
 * xtext, SMTP paths in Postfix's internal form, and the queue id of
 * Postfix's own Received: line.  The protocol itself is tested against a
 * real PostgreSQL and Postfix in tests/integration/lmtp.t.
 */
#include <stdlib.h>
#include <string.h>

#include "lmtp.h"
#include "tap.h"

/* path_is - lmtp_path(text) is want (NULL: refused) */
static void
path_is(const char *text, const char *want)
{
	char *got = lmtp_path(text, 2048);

	if (want == NULL)
		tap_ok(got == NULL, "path %s is refused", text);
	else
		tap_is_str(got != NULL ? got : "(refused)", want, "path %s", text);
	free(got);
}

/* xtext_is - lmtp_xtext(text) is want (NULL: refused) */
static void
xtext_is(const char *text, const char *want)
{
	char out[16];
	int ret = lmtp_xtext(text, strlen(text), out, sizeof(out));

	if (want == NULL)
		tap_is_int(ret, -1, "xtext %s is refused", text);
	else
		tap_is_str(ret == 0 ? out : "(refused)", want, "xtext %s", text);
}

/* received_is - the queue id lmtp_received_id() finds in headers, or NULL */
static void
received_is(const char *headers, const char *want, const char *what)
{
	char id[16];
	int ret = lmtp_received_id(headers, strlen(headers), id, sizeof(id));

	if (want == NULL)
		tap_is_int(ret, -1, "%s: no queue id", what);
	else
		tap_is_str(ret == 0 ? id : "(none)", want, "%s", what);
}

int
main(void)
{
	path_is("<bounces+x=y@b.example>", "bounces+x=y@b.example");
	path_is("  <a@b> NOTIFY=NEVER ORCPT=rfc822;a@b", "a@b");
	path_is("<\"bounces+a b\"@b.example>", "bounces+a b@b.example");
	path_is("<\"a\\\"q\\\\\"@b>", "a\"q\\@b");
	path_is("<\"a>b\"@c>", "a>b@c");
	path_is("<@relay.example,@r2.example:a@b>", "a@b");
	path_is("<>", NULL);
	path_is("a@b", NULL);
	path_is("<a@b", NULL);
	path_is("<\"a@b>", NULL);
	path_is("<a\tb@c>", NULL);
	path_is("<@relay.example>", NULL);
	tap_ok(lmtp_path("<abcdef@b>", 5) == NULL, "a path longer than the limit is refused");

	xtext_is("192.0.2.1", "192.0.2.1");
	xtext_is("a+2Bb", "a+b");
	xtext_is("[UNAVAILABLE]", "[UNAVAILABLE]");
	xtext_is("a+2bc", "a+c");
	xtext_is("a+2", NULL);
	xtext_is("a+zz", NULL);
	xtext_is("a+00b", NULL);
	xtext_is("a+0Ab", NULL);
	xtext_is("a=b", NULL);
	xtext_is("a b", NULL);
	xtext_is("0123456789abcdefghij", NULL);

	received_is("Received: from mx.remote.example (unknown [127.0.0.1])\n"
		    "\tby mta.example.test (Postfix) with ESMTP id 1DCEFA825CF\n"
		    "\tfor <x@y>; Sat,  5 Dec 2026 14:20:14 +0000 (UTC)\nSubject: x\n\nbody\n",
		    "1DCEFA825CF", "a report received over SMTP");
	received_is("Return-Path: <MAILER-DAEMON>\r\nReceived: by mta.example.test (Postfix)\r\n"
		    "\tid 47F6CA74BA3; Mon, 23 Nov 2026 09:18:38 +0000 (UTC)\r\n\r\n",
		    "47F6CA74BA3", "a report Postfix wrote, CRLF line ends");
	received_is("Received: by mta.example.test (Postfix, from userid 0)\n"
		    "\tid 4HkXyz1Zq2z9x; Mon, 23 Nov 2026\n\n", "4HkXyz1Zq2z9x", "a long queue id");
	received_is("Received: from a by b (Exim) id 1abc\nReceived: by mta (Postfix) id AB12;\n\n",
		    NULL, "only the first Received: line counts, and it is not Postfix's");
	received_is("Subject: x\n\nReceived: by mta (Postfix) id AB12;\n", NULL,
		    "a Received: line in the body does not count");
	received_is("Received: by mta (Postfix) id 0123456789ABCDEF0123;\n\n", NULL,
		    "an id longer than the buffer is refused");
	received_is("", NULL, "an empty message");
	return tap_done();
}
