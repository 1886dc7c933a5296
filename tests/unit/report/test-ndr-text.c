/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-ndr-text - the text helpers of the free-text reader: where the
 * report ends, addresses in running text, bounce and delay evidence,
 * forwarded reports, HTML-only reports.
 */
#include <stdlib.h>
#include <string.h>

#include "report/ndr_text.h"
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
