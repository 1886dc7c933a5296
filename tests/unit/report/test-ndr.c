/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-ndr - the pieces of the free-text reader: where the report ends,
 * addresses in running text, bounce and delay evidence, forwarded
 * reports, HTML-only reports, and the SMTP command of a diagnostic.
 */
#include <stdlib.h>
#include <string.h>

#include "report/ndr.h"
#include "report/report.h"
#include "tap.h"
#include "util/xalloc.h"

static const struct {
	const char *text;
	size_t cut;	/* offset of the marker line, or strlen when none */
} cut_cases[] = {
	{ "a\n--- Below this line is a copy of the message.\nTo: x\n", 2 },
	{ "a\n------ This is a copy of the message, including all the headers. ------\n", 2 },
	{ "a\nb\n   ----- Original message -----\n", 4 },
	{ "The original message was received at Mon\nrest\n", 46 },
	{ "no marker at all\n", 17 },
	{ "a\nReturn-Path: <x@y.z>\nReceived: from x\n", 2 },	/* with fields only */
};

static const struct {
	const char *line;
	const char *addr;	/* first address, or "" */
} addr_cases[] = {
	{ "<Kijitora@Example.NET>: host said 550", "kijitora@example.net" },
	{ "  user.name+tag@sub.example.org", "user.name+tag@sub.example.org" },
	{ "mailto:a@b", "" },				/* no dot in the domain */
	{ "address a@example.org.", "a@example.org" },	/* sentence full stop */
	{ "no address here", "" },
};

static const struct {
	const char *text;
	enum smtp_cmd cmd;
} cmd_cases[] = {
	{ "550 5.1.1 unknown (in reply to RCPT TO command)", CMD_RCPT },
	{ "SMTP error from remote mail server after MAIL FROM:<a@b.c> SIZE=1:", CMD_MAIL },
	{ "SMTP error from remote mail server after end of data:", CMD_DATA },
	{ ">>> RCPT To:<a@b.c>\n<<< 550 x\n>>> DATA\n<<< 554 y", CMD_DATA },
	{ "Connected to 192.0.2.1 but my name was rejected.", CMD_HELO },
	{ "550 User Unknown [RCPT_TO]", CMD_RCPT },
	{ "did not like our final DATA: 554", CMD_DATA },
	{ "550 no command named", CMD_NONE },
};

int
main(void)
{
	struct report *r = report_create();
	struct buf *b = buf_create(1024);
	size_t len;
	char *dq;
	static const char html[] =
	    "<p>Delivery&nbsp;failed</p><style>x{}</style>to <b>&lt;a@b.c&gt;</b>";

	for (size_t i = 0; i < sizeof(cut_cases) / sizeof(cut_cases[0]); i++)
		tap_is_int((long long)ndr_cut(cut_cases[i].text, strlen(cut_cases[i].text), true),
			   (long long)cut_cases[i].cut, "cut of case %zu", i);
	tap_is_int((long long)ndr_cut("a\nReceived: from x\n", 19, false), 19,
		   "header fields end the report only when asked");
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		const char *s = addr_cases[i].line;
		size_t pos = 0, a, n;
		char *got = ndr_addr_span(s, strlen(s), &pos, &a, &n) ? ndr_addr_copy(s + a, n) : NULL;

		tap_is_str(got != NULL ? got : "", addr_cases[i].addr, "address in \"%s\"", s);
		free(got);
	}
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++)
		tap_is_str(smtp_cmd_name(smtp_cmd_find(cmd_cases[i].text, strlen(cmd_cases[i].text))),
			   smtp_cmd_name(cmd_cases[i].cmd), "command of case %zu", i);

	tap_ok(!ndr_is_bounce(r, "Shall we meet?", 14), "a personal message is no bounce");
	r->from = xstrdup("mailer-daemon@example.org");
	tap_ok(ndr_is_bounce(r, "", 0), "MAILER-DAEMON sends bounces");
	r->subject = xstrdup("Delivery Status Notification (Delay)");
	tap_ok(ndr_is_delay(r, "", 0), "a delay subject");
	report_free(&r);
	r = report_create();
	tap_ok(ndr_is_delay(r, "THIS IS A WARNING MESSAGE ONLY.", 31), "a delay warning");
	tap_ok(!ndr_is_delay(r, "This is a permanent error.", 26), "no delay in a failure");

	dq = ndr_dequote("> a\n> b\n>> c\nd\n", 15, &len);
	tap_ok(dq != NULL && strcmp(dq, "a\nb\n> c\nd\n") == 0, "one level of quoting removed");
	free(dq);
	tap_ok(ndr_dequote("a\n> b\nc\n", 8, &len) == NULL, "a mostly unquoted text is kept");

	ndr_html_to_text(html, strlen(html), b);
	tap_is_str(buf_str(b), "\nDelivery failed\nto <a@b.c>", "HTML reduced to text");
	buf_free(&b);
	report_free(&r);
	return tap_done();
}
