/* SPDX-License-Identifier: BSD-2-Clause */
/* test-dsn - RFC 3464 field groups, unfolding and report building. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/dsn.h"
#include "report/report.h"
#include "report/report_dsn.h"
#include "tap.h"

/* Postfix wraps long fields at 79 columns with four-space continuations. */
static const char postfix_dsn[] =
	"Reporting-MTA: dns; mta.example.test\n"
	"X-Postfix-Queue-ID: 3DF32A74B9F\n"
	"X-Postfix-Sender: rfc822; bounces+bob=bad.example@bounce.example.test\n"
	"Arrival-Date: Mon, 23 Nov 2026 09:18:38 +0000 (UTC)\n"
	"\n"
	"Final-Recipient: rfc822; bob@bad.example\n"
	"Original-Recipient: rfc822;bob@bad.example\n"
	"Action: failed\n"
	"Status: 5.1.1\n"
	"Remote-MTA: dns; 127.0.0.1\n"
	"Diagnostic-Code: smtp; 550 5.1.1 <bob@bad.example>: Recipient address rejected:\n"
	"    User unknown in virtual mailbox table\n"
	"\n"
	"Final-Recipient: rfc822; Carol@Slow.Example\n"
	"Action: delayed\n"
	"Status: 4.2.0\n"
	"Diagnostic-Code: smtp; 450 4.2.0 Greylisted\n";

/* CRLF line ends, no per-message group, status only in the diagnostic. */
static const char quirky_dsn[] =
	"Final-Recipient: RFC822; <dave@example.org>\r\n"
	"Reporting-MTA: dns; mx.example.org\r\n"
	"action: Failed\r\n"
	"Status: 5.0.0 (permanent failure)\r\n"
	"Diagnostic-Code: SMTP; 552-5.2.2 The email account that you tried to reach is\r\n"
	"\tover quota.\r\n"
	"\r\n"
	"\r\n"
	"Final-Recipient: rfc822; dave@example.org\r\n"
	"Action: failed\r\n"
	"Status: 5.1.1\r\n";

/*
 * Addresses in recipient fields are read whole or not at all, and a NUL
 * in a field does not end it.
 */
static void
test_address_hygiene(void)
{
	static const char text[] =
		"Reporting-MTA: dns; mx.example.net\n"
		"\n"
		"Final-Recipient: rfc822; o'brien;drop--@x.example\n"
		"Action: failed\n"
		"Status: 5.1.1\n"
		"\n"
		"Final-Recipient: rfc822; \"a b\"@x.example\n"
		"Action: failed\n"
		"Status: 5.1.1\n"
		"Diagnostic-Code: smtp; 550 5.1.1 first\0 second\n"
		"\n"
		"Final-Recipient: obrien;drop--@x.example\n"
		"Action: failed\n"
		"Status: 5.1.1\n";
	struct report *r = report_create();
	bool shortened = false;

	report_add_dsn(r, text, sizeof(text) - 1);
	for (size_t i = 0; i < r->nrcpt; i++)
		if (r->rcpt[i].recipient != NULL && strstr(r->rcpt[i].recipient, "drop--") != NULL)
			shortened = true;
	tap_ok(!shortened, "a malformed address is never shortened into another one");
	tap_ok(report_find_rcpt(r, "\"a b\"@x.example") != NULL, "a quoted local part is read");
	{
		const struct report_rcpt *rc = report_find_rcpt(r, "\"a b\"@x.example");

		tap_ok(rc != NULL && rc->diagnostic != NULL && strstr(rc->diagnostic, "second") != NULL,
		       "a NUL in the diagnostic does not cut it short");
	}
	report_free(&r);
}

int
main(void)
{
	struct dsn *d = dsn_parse(postfix_dsn, strlen(postfix_dsn));
	struct report *r;
	char *type, *addr;
	const char *text;

	tap_is_int((long long)d->ngroups, 3, "three groups");
	tap_is_str(dsn_get(&d->groups[0], "reporting-mta"), "dns; mta.example.test",
		   "field names are case-insensitive");
	tap_is_str(dsn_get(&d->groups[1], "Diagnostic-Code"),
		   "smtp; 550 5.1.1 <bob@bad.example>: Recipient address rejected: "
		   "User unknown in virtual mailbox table",
		   "folded diagnostic unfolded to single spaces");
	tap_ok(dsn_get(&d->groups[1], "Will-Retry-Until") == NULL, "absent field is NULL");
	dsn_free(&d);
	tap_ok(d == NULL, "dsn_free clears the pointer");

	text = dsn_typed_value("SMTP; 550 x", &type);
	tap_is_str(type, "smtp", "type lower-cased");
	tap_is_str(text, "550 x", "typed value text");
	free(type);
	text = dsn_typed_value("no type here", &type);
	tap_ok(type == NULL && strcmp(text, "no type here") == 0, "untyped value");

	addr = dsn_address("rfc822; <Bob@Bad.Example>");
	tap_is_str(addr, "bob@bad.example", "address from angle brackets");
	free(addr);
	addr = dsn_address("rfc822;bob@bad.example");
	tap_is_str(addr, "bob@bad.example", "address without space");
	free(addr);
	addr = dsn_address("rfc822; not an address");
	tap_ok(addr == NULL, "no address in text");

	r = report_create();
	tap_is_int((long long)report_add_dsn(r, postfix_dsn, strlen(postfix_dsn)), 2,
		   "two recipients from the Postfix DSN");
	tap_is_str(r->reporting_mta, "mta.example.test", "Reporting-MTA without type");
	tap_is_str(r->orig_queue_id, "3DF32A74B9F", "X-Postfix-Queue-ID");
	tap_is_str(r->rcpt[0].recipient, "bob@bad.example", "first recipient");
	tap_is_str(r->rcpt[0].action, "failed", "action");
	tap_is_str(r->rcpt[0].status, "5.1.1", "status");
	tap_is_int(r->rcpt[0].reply_code, 550, "reply code");
	tap_is_str(r->rcpt[0].remote_mta, "127.0.0.1", "Remote-MTA");
	tap_is_str(r->rcpt[0].diagnostic_type, "smtp", "diagnostic type");
	tap_is_str(r->rcpt[1].recipient, "carol@slow.example", "second recipient lower-cased");
	tap_is_str(r->rcpt[1].action, "delayed", "delayed action");
	report_free(&r);

	r = report_create();
	tap_is_int((long long)report_add_dsn(r, quirky_dsn, strlen(quirky_dsn)), 1,
		   "duplicate recipient group merged");
	tap_is_str(r->reporting_mta, "mx.example.org", "per-message field in recipient group");
	tap_is_str(r->rcpt[0].action, "failed", "action lower-cased");
	tap_is_str(r->rcpt[0].status, "5.2.2", "5.0.0 refined from the diagnostic");
	tap_is_int(r->rcpt[0].reply_code, 552, "reply code from multi-line reply");
	tap_is_str(r->rcpt[0].diagnostic,
		   "552-5.2.2 The email account that you tried to reach is over quota.",
		   "tab continuation unfolded");
	report_free(&r);

	/* Caps: a group with too many fields is cut, and flagged. */
	{
		char big[64 * 100];
		size_t n = 0;

		for (int i = 0; i < 100; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "X-F%d: v\n", i);
		d = dsn_parse(big, n);
		tap_ok(d->truncated && d->groups[0].nfields == 64, "field cap enforced");
		dsn_free(&d);
	}
	d = dsn_parse("", 0);
	tap_is_int((long long)d->ngroups, 0, "empty input, no groups");
	dsn_free(&d);
	d = dsn_parse("\0\0\0garbage\n\n:\n", 14);
	tap_ok(d != NULL, "binary garbage parses to something");
	dsn_free(&d);
	test_address_hygiene();
	return tap_done();
}
