/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-classify - parse and classify one fixture per format family and per
 * non-failure kind (the .eml files of tests/data/classify, written for
 * these tests) with the built-in rules of this tree, as batch mode does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/batch.h"
#include "mail/cfg.h"
#include "classify/classifier.h"
#include "classify/outcome.h"
#include "report/report.h"
#include "tap.h"
#include "util/caps.h"

#define DATA REBOUND_SRCDIR "/tests/data/classify/"

static const struct {
	const char *file;
	size_t nrcpt;		/* recipients the report names */
	size_t index;		/* the one checked below */
	const char *recipient;
	const char *kind;
	const char *reason;
	const char *status;
	int reply_code;
	const char *rule;	/* expected rule id, or NULL for any */
} cases[] = {
	/*
	 * RFC 3464 with a Postfix text part that names the SMTP command.  Its
	 * Reporting-MTA is the one the test's old configuration called ours;
	 * what a report says of itself never makes it ours (see below).
	 */
	{ "rfc3464-postfix.eml", 1, 0, "alice@example.net", "bounced", "userunknown", "5.1.1", 550,
	  "user.status" },
	/* RFC 6533: message/global-delivery-status, a UTF-8 address. */
	{ "rfc6533-global.eml", 1, 0, "jörg@example.net", "bounced", "mailboxfull", "5.2.2", 552,
	  "full.status" },
	/* A DSN sent as text/plain inside multipart/mixed. */
	{ "dsn-wrong-type.eml", 1, 0, "bob@example.net", "bounced", "blocked", "5.7.1", 554,
	  "blocklist.text" },
	/* A report forwarded inside message/rfc822. */
	{ "dsn-in-rfc822.eml", 1, 0, "carol@example.net", "bounced", "hostunknown", "5.1.2", 0,
	  NULL },
	/* CRLF line ends, a quoted-printable text, a base64 DSN, Action: delayed. */
	{ "crlf-base64-delayed.eml", 1, 0, "dave@example.net", "delayed", "expired", "4.4.1", 421,
	  NULL },
	/* qmail: two recipients, one refused remotely, one without a domain. */
	{ "qmail.eml", 2, 0, "erin@example.net", "bounced", "mailboxfull", "5.2.2", 550, NULL },
	{ "qmail.eml", 2, 1, "frank@example.net", "bounced", "hostunknown", "5.1.2", 0, NULL },
	/* Exim, with X-Failed-Recipients and the reply after end of data. */
	{ "exim.eml", 1, 0, "grace@example.net", "bounced", "spamdetected", "5.7.1", 550, NULL },
	/* Exim names the recipient unqualified; the header qualifies it. */
	{ "exim-unqualified.eml", 1, 0, "heidi@example.net", "expired", "expired", "", 0, NULL },
	/* Sendmail transcript: the RCPT step makes an unknown user. */
	{ "sendmail-text.eml", 1, 0, "ivan@example.net", "bounced", "userunknown", "", 550, NULL },
	/* Gmail's text, quoted-printable. */
	{ "gmail-text.eml", 1, 0, "judy@example.net", "bounced", "userunknown", "5.1.1", 550,
	  NULL },
	/* Exchange 2003's own wording of an unknown user. */
	{ "exchange2003.eml", 1, 0, "karl@example.net", "bounced", "userunknown", "", 0,
	  "user.text" },
	/* OpenSMTPD: "addr: reply" lines. */
	{ "opensmtpd-multi.eml", 2, 1, "mia@example.net", "bounced", "userunknown", "5.1.1", 550,
	  NULL },
	/* Yahoo: "550:" and [MAIL_FROM]. */
	{ "yahoo-text.eml", 1, 0, "nina@example.net", "bounced", "rejected", "5.1.8", 550, NULL },
	/* ISO-8859-1 body, encoded-word subject. */
	{ "text-8bit-subject.eml", 1, 0, "oscar@example.fr", "bounced", "mailboxfull", "5.2.2", 552,
	  NULL },
	/* ARF, a redacted ARF, and Hotmail's complaint format. */
	{ "arf.eml", 1, 0, "paul@example.net", "complaint", "feedback", "", 0, "builtin.arf" },
	{ "arf-redacted.eml", 1, 0, "quinn@example.net", "complaint", "feedback", "", 0, NULL },
	{ "hotmail-complaint.eml", 1, 0, "rita@example.net", "complaint", "feedback", "", 0, NULL },
	/* Auto-replies: RFC 3834 header, de-facto subject; a challenge. */
	{ "autoreply-rfc3834.eml", 1, 0, "sam@example.net", "auto_reply", "vacation", "", 0,
	  "builtin.autoreply" },
	{ "autoreply-subject.eml", 1, 0, "tina@example.net", "auto_reply", "vacation", "", 0,
	  "builtin.autoreply" },
	{ "challenge.eml", 1, 0, "uma@example.net", "auto_reply", "vacation", "", 0,
	  "builtin.challenge" },
	/* A success DSN, a text delay warning, an expiry. */
	{ "delivered-dsn.eml", 1, 0, "vera@example.net", "delivered", "delivered", "2.0.0", 250,
	  NULL },
	{ "delay-text.eml", 1, 0, "walt@example.net", "delayed", "expired", "", 0, NULL },
	{ "expired-dsn.eml", 1, 0, "xena@example.net", "expired", "expired", "4.4.7", 0, NULL },
	/* Amazon SES JSON, bare and inside an SNS envelope. */
	{ "ses-json.eml", 1, 0, "yuri@example.net", "bounced", "userunknown", "5.1.1", 550, NULL },
	{ "ses-sns.eml", 1, 0, "zoe@example.net", "complaint", "feedback", "", 0, NULL },
	/*
	 * The error classes of issue 14.  An unknown user with no SMTP
	 * command named is a dead address, not a filter.
	 */
	{ "issue14-unknown-nocmd.eml", 1, 0, "jon@example.net", "bounced", "userunknown", "5.0.0",
	  550, "user.text" },
	/* A notice that Gmail will retry is a delay, without "(Delay)". */
	{ "issue14-delay-retry.eml", 1, 0, "abe@example.net", "delayed", "expired", "", 0, NULL },
	/* A whitelist request that says "not delivered" is no bounce. */
	{ "issue14-whitelist.eml", 1, 0, "bob@example.net", "auto_reply", "vacation", "", 0,
	  "builtin.challenge" },
	/* A mailing list's hold notice is no failure: the post may still go out. */
	{ "issue14-list-held.eml", 1, 0, "news-bounces@lists.example.net", "auto_reply", "vacation",
	  "", 0, "builtin.challenge" },
	/* A read receipt (RFC 8098) names nobody. */
	{ "issue14-mdn.eml", 0, 0, NULL, NULL, NULL, NULL, 0, NULL },
	/* The 250 replies of a transcript do not make the failure a success. */
	{ "issue14-queue-write.eml", 1, 0, "dora@example.net", "expired", "systemerror", "4.3.0",
	  451, NULL },
	/* "SMTP=eli@example.net" is the address eli@example.net. */
	{ "issue14-smtp-prefix.eml", 1, 0, "eli@example.net", "bounced", "userunknown", "", 0,
	  NULL },
	/* "not accepting mail from <sender>" does not make the sender a recipient. */
	{ "issue14-from-sender.eml", 1, 0, "fay@example.net", "bounced", "rejected", "5.7.1", 550,
	  NULL },
	/* A program's "Unknown user" is the program failing, not the address. */
	{ "issue14-procmail.eml", 1, 0, "gus@example.net", "bounced", "mailererror", "5.1.1", 0,
	  "address.mailer" },
	/* A DNS lookup to try again is no unknown domain. */
	{ "issue14-dns-tryagain.eml", 1, 0, "hal@example.net", "expired", "networkerror",
	  "4.4.3", 0, "dnsfail.text" },
	/* Throttling that carries 5.1.1 is no unknown user. */
	{ "issue14-throttle-511.eml", 1, 0, "ivy@example.net", "bounced", "speeding", "5.1.1", 550,
	  "address.rate" },
	/* Codes written only in the text; Microsoft's 5.1.10 is an unknown recipient. */
	{ "issue14-text-codes.eml", 1, 0, "kim@example.net", "bounced", "userunknown", "5.1.10",
	  550, "microsoft.notfound" },
};

/* read_file - the whole of a small file, or NULL */
static char *
read_file(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	long len;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	data = malloc((size_t)len + 1);
	*len_r = fread(data, 1, (size_t)len, fp);
	fclose(fp);
	return data;
}

/* check_case - classify one fixture and compare one recipient */
static void
check_case(struct classifier *clf, size_t i)
{
	char path[512];
	size_t len;
	char *data;
	struct report *r;
	const struct report_rcpt *rc;

	snprintf(path, sizeof(path), DATA "%s", cases[i].file);
	if (!tap_ok((data = read_file(path, &len)) != NULL, "read %s", cases[i].file))
		return;
	r = classifier_run(clf, data, len);
	tap_is_int((long long)r->nrcpt, (long long)cases[i].nrcpt, "%s: recipients",
		   cases[i].file);
	if (r->nrcpt > cases[i].index) {
		rc = &r->rcpt[cases[i].index];
		tap_is_str(rc->recipient, cases[i].recipient, "%s: recipient", cases[i].file);
		tap_is_str(kind_name(rc->kind), cases[i].kind, "%s: kind", cases[i].file);
		tap_is_str(reason_name(rc->reason), cases[i].reason, "%s: reason", cases[i].file);
		tap_is_str(rc->status, cases[i].status, "%s: status", cases[i].file);
		tap_is_int(rc->reply_code, cases[i].reply_code, "%s: reply code", cases[i].file);
		if (cases[i].rule != NULL)
			tap_is_str(rc->rule, cases[i].rule, "%s: rule", cases[i].file);
	}
	report_free(&r);
	free(data);
}

/* check_details - fields other than the outcome, on two fixtures */
static void
check_details(struct classifier *clf)
{
	size_t len;
	char *data = read_file(DATA "rfc3464-postfix.eml", &len);
	struct report *r = classifier_run(clf, data, len);

	tap_is_str(r->reporting_mta, "mx.example.org", "Reporting-MTA");
	tap_is_str(r->orig_queue_id, "4AB1C2D3E4", "X-Postfix-Queue-ID");
	tap_is_str(r->orig_message_id, "orig-1@example.com", "returned Message-ID");
	tap_is_str(r->orig_token, "tok123", "returned X-Rebound-Token");
	tap_ok(r->rcpt[0].command == CMD_RCPT, "command from the text part");
	tap_ok(r->rcpt[0].hard, "unknown user is a hard bounce");
	tap_ok(!r->rcpt[0].sync && r->rcpt[0].kind == KIND_BOUNCED,
	       "a report that names our MTA as its Reporting-MTA is still a remote one");
	outcome_mark_local(r);
	tap_ok(r->rcpt[0].sync && r->rcpt[0].kind == KIND_REJECTED,
	       "one that reached us with no SMTP client is our own MTA's: synchronous");
	report_free(&r);
	free(data);

	/* The decision a user acts on: suppress the dead address, count the rest. */
	data = read_file(DATA "issue14-unknown-nocmd.eml", &len);
	r = classifier_run(clf, data, len);
	tap_ok(r->nrcpt == 1 && r->rcpt[0].hard, "an unknown user with no command is hard");
	report_free(&r);
	free(data);
	data = read_file(DATA "issue14-throttle-511.eml", &len);
	r = classifier_run(clf, data, len);
	tap_ok(r->nrcpt == 1 && !r->rcpt[0].hard, "throttling with 5.1.1 is soft");
	report_free(&r);
	free(data);

	data = read_file(DATA "not-a-bounce.eml", &len);
	r = classifier_run(clf, data, len);
	tap_ok(r->format == FORMAT_NONE && r->nrcpt == 0, "a personal message is no report");
	report_free(&r);
	free(data);
}

/* check_reply - one reply text, as rebound rules test reads it */
static void
check_reply(struct classifier *clf)
{
	struct report *r = classifier_reply(clf, "5.1.1", 550, "<ann@a.example>: User unknown");
	char text[LIMIT_DIAGNOSTIC_LEN + 2];

	if (tap_ok(r != NULL && r->nrcpt == 1, "a reply text makes one recipient's report")) {
		tap_ok(r->rcpt[0].reason == REASON_USERUNKNOWN && r->rcpt[0].hard,
		       "an unknown user, hard");
		tap_is_int(r->rcpt[0].reply_code, 550, "the reply code given");
		tap_is_str(r->rcpt[0].status, "5.1.1", "the status given");
	}
	report_free(&r);
	r = classifier_reply(clf, NULL, 0, "452 4.2.2 Mailbox full\nplease try later");
	tap_ok(r != NULL && r->nrcpt == 1 && r->rcpt[0].reason == REASON_MAILBOXFULL &&
		       r->rcpt[0].reply_code == 452 && strcmp(r->rcpt[0].status, "4.2.2") == 0,
	       "without --status and --code, the text's own; its lines are one diagnostic");
	report_free(&r);
	tap_ok(classifier_reply(clf, "5.1", 0, "x") == NULL, "a status that is no status code");
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	tap_ok(classifier_reply(clf, NULL, 0, text) == NULL, "a text longer than a diagnostic");
	tap_is_int((long long)strlen(classifier_digest(clf)), 64, "the rule set has a digest");
}

int
main(void)
{
	static const char conf[] = "builtin_rules_directory = " REBOUND_SRCDIR "/rules\n";
	struct classifier *clf = NULL;
	struct cfg *cfg = NULL;
	char *error = NULL;

	if (!tap_ok(cfg_parse(conf, strlen(conf), "test.conf", &cfg, &error) == 0, "config") ||
	    !tap_ok(classifier_create(cfg, &clf, &error) == 0, "classifier from the tree's rules")) {
		tap_diag("%s", error != NULL ? error : "?");
		return tap_done();
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(clf, i);
	check_details(clf);
	check_reply(clf);
	tap_ok(classifier_error(clf) == NULL, "no rule error met");
	classifier_free(&clf);
	cfg_free(&cfg);
	return tap_done();
}
