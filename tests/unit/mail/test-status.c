/* SPDX-License-Identifier: BSD-2-Clause */
/* test-status - enhanced status codes, reply codes, RFC 3463 reasons. */
#include <string.h>

#include "mail/status.h"
#include "tap.h"

static const struct {
	const char *text;
	const char *status;
	int reply;
} find_cases[] = {
	{ "550 5.1.1 <bob@bad.example>: Recipient address rejected", "5.1.1", 550 },
	{ "smtp; 550-5.7.1 [192.0.2.1] blocked", "5.7.1", 550 },
	{ "host 192.0.2.1 said: 452 4.2.2 Mailbox full", "4.2.2", 452 },
	{ "Status 5.1.10 null MX", "5.1.10", 0 },
	{ "connect to 192.168.1.1[192.168.1.1]:25: refused", "", 0 },
	{ "version 5.1.1.2 of the software", "", 0 },
	{ "#5.1.1 user unknown", "5.1.1", 0 },
	{ "(5.2.2) over quota", "5.2.2", 0 },
	{ "421 Too many connections", "", 421 },
	{ "SMTP error 3.1.1 is not a status", "", 0 },
	{ "5.1.1", "5.1.1", 0 },
	{ "error 10550 happened", "", 0 },
	{ "", "", 0 },
	{ "550: 5.1.1 <a@example.org>... User Unknown", "5.1.1", 550 },
	{ "Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1", "5.1.1", 550 },
	{ "220-mx.example.org 421 4.2.1 Service refused", "4.2.1", 421 },
	{ "Size (in bytes): 222", "", 0 },
	{ "250 2.1.5 Ok", "2.1.5", 250 },
	/* A transcript: the failure, not the replies before it. */
	{ "<<< 250 2.1.0 Ok <<< 250 2.1.5 Ok <<< 451 4.3.0 Error: queue file write error",
	  "2.1.0", 451 },
	{ "<<< 250 Ok <<< 354 End data <<< 451 Error: queue file write error", "", 451 },
};

/* Several codes in one text: the most telling one wins. */
static const struct {
	const char *text;
	const char *status;
} pick_cases[] = {
	{ "554 4.4.7 Message expired <421 4.4.2 Connection timed out>", "4.4.2" },
	{ "550 5.0.0 and then 5.1.1 unknown", "5.1.1" },
	{ "only 4.4.7 here", "4.4.7" },
	{ "<<< 250 2.1.0 Ok <<< 250 2.1.5 Ok <<< 451 4.3.0 queue file write error", "4.3.0" },
	{ "250 2.0.0 Ok: queued as 12345", "2.0.0" },
	{ "nothing", "" },
};

/* The Status field against a code in the diagnostic. */
static const struct {
	const char *field, *inmsg;
	int reply;
	const char *want;
} prefer_cases[] = {
	{ "5.0.0", "5.1.1", 550, "5.1.1" },	{ "5.1.1", "5.0.0", 550, "5.1.1" },
	{ "4.5.0", "5.5.0", 550, "5.5.0" },	{ "5.5.0", "4.7.0", 421, "4.7.0" },
	{ "4.4.7", "4.4.2", 421, "4.4.2" },	{ "5.2.2", "5.2.2", 0, "5.2.2" },
	{ "", "5.7.1", 0, "5.7.1" },		{ "5.7.1", "", 0, "5.7.1" },
	{ "5.1.1", "5.7.1", 550, "5.7.1" },	{ "5.2.1", "5.7.1", 550, "5.2.1" },
};

static const struct {
	const char *status;
	const char *reason;
	int generic;
} reason_cases[] = {
	{ "5.1.1", "userunknown", 0 },	 { "5.1.2", "hostunknown", 0 },
	{ "5.1.10", "notaccept", 0 },	 { "5.2.2", "mailboxfull", 0 },
	{ "4.2.2", "mailboxfull", 0 },	 { "5.2.3", "exceedlimit", 0 },
	{ "5.3.4", "mesgtoobig", 0 },	 { "4.4.7", "expired", 0 },
	{ "5.4.4", "hostunknown", 0 },	 { "4.7.1", "blocked", 1 },
	{ "5.7.1", "securityerror", 1 }, { "5.7.26", "authfailure", 0 },
	{ "5.7.25", "requireptr", 0 },	 { "5.6.0", "contenterror", 1 },
	{ "5.6.7", "contenterror", 0 },	 { "5.0.0", "undefined", 1 },
	{ "2.0.0", "delivered", 0 },	 { "5.7.13", "suspend", 0 },
	{ "4.2.1", "suspend", 1 },	 { "5.2.1", "suspend", 1 },
	{ "4.1.1", "userunknown", 0 },	 { "4.1.2", "hostunknown", 0 },
	{ "4.4.4", "networkerror", 0 },	 { "5.4.4", "hostunknown", 0 },
	{ "5.7.27", "rejected", 0 },	 { "5.1.10", "notaccept", 0 },
	{ "5.7.10", "failedstarttls", 0 }, { "5.5.4", "syntaxerror", 0 },
	{ "5.4.1", "undefined", 1 },	 { "4.3.1", "systemfull", 0 },
	{ "4.4.1", "expired", 1 },	 { "4.4.0", "undefined", 1 },
	{ "5.4.0", "networkerror", 1 },	 { "4.3.0", "undefined", 1 },
	{ "garbage", "undefined", 1 },
};

int
main(void)
{
	char out[STATUS_SIZE];
	bool generic;

	for (size_t i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
		const char *t = find_cases[i].text;

		status_find(t, strlen(t), out);
		tap_is_str(out, find_cases[i].status, "status in \"%s\"", t);
		tap_is_int(reply_code_find(t, strlen(t)), find_cases[i].reply, "reply code in \"%s\"",
			   t);
	}
	for (size_t i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
		enum reason r = status_reason(reason_cases[i].status, &generic);

		tap_is_str(reason_name(r), reason_cases[i].reason, "reason of %s",
			   reason_cases[i].status);
		tap_is_int(generic, reason_cases[i].generic, "generic flag of %s",
			   reason_cases[i].status);
	}
	for (size_t i = 0; i < sizeof(pick_cases) / sizeof(pick_cases[0]); i++) {
		const char *t = pick_cases[i].text;

		status_pick(t, strlen(t), out);
		tap_is_str(out, pick_cases[i].status, "picked status in \"%s\"", t);
	}
	for (size_t i = 0; i < sizeof(prefer_cases) / sizeof(prefer_cases[0]); i++)
		tap_is_str(status_prefer(prefer_cases[i].field, prefer_cases[i].inmsg,
					 prefer_cases[i].reply),
			   prefer_cases[i].want, "prefer %s or %s with %d", prefer_cases[i].field,
			   prefer_cases[i].inmsg, prefer_cases[i].reply);
	tap_ok(status_valid("5.1.1") && status_valid("4.123.123"), "valid codes");
	tap_ok(!status_valid("3.1.1") && !status_valid("5.1") && !status_valid("5.1.1 ") &&
		       !status_valid("5.1234.1"),
	       "invalid codes");
	tap_ok(status_from_reply(550, out) && strcmp(out, "5.0.0") == 0, "status from 550");
	tap_ok(!status_from_reply(354, out), "no status from 354");
	tap_ok(reason_is_hard(REASON_USERUNKNOWN, "5.1.1"), "5.1.1 userunknown is hard");
	tap_ok(!reason_is_hard(REASON_USERUNKNOWN, "4.1.1"), "4.x.x is never hard");
	tap_ok(!reason_is_hard(REASON_MAILBOXFULL, "5.2.2"), "mailboxfull is soft");
	tap_is_str(reason_category(REASON_HASMOVED), "user_unknown", "hasmoved category");
	tap_is_int(reason_from_name("mailboxfull"), REASON_MAILBOXFULL, "reason by name");
	tap_is_int(reason_from_name("nonsense"), -1, "unknown reason name");
	return tap_done();
}
