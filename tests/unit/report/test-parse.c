/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-parse - the parser routes each part of a bounce: the RFC 3464
 * delivery status to the recipients, the returned headers to the orig_*
 * fields, the human-readable text (never the returned message's) to the
 * text, the bounce's own headers to their fields and flags; free text and
 * HTML-only reports go to the free-text reader; a message that is no
 * report gives none.  One parser serves many messages without carrying
 * anything over.
 */
#include <stdlib.h>
#include <string.h>

#include "report/parse.h"
#include "report/report.h"
#include "tap.h"

static const char dsn_msg[] =
	"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
	"To: bounces+t1@bounce.example.com\r\n"
	"Subject: =?UTF-8?Q?Undelivered_Mail_Returned_to_Sender_=E2=9C=89?=\r\n"
	"Message-ID: <20260301.AB12@mx.example.org>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"\r\n"
	"I'm sorry to have to inform you that your message could not be delivered.\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: message/delivery-status\r\n"
	"\r\n"
	"Reporting-MTA: dns; mx.example.org\r\n"
	"X-Postfix-Queue-ID: 4AB12CD34\r\n"
	"\r\n"
	"Final-Recipient: rfc822; Ann@Bad.Example\r\n"
	"Action: failed\r\n"
	"Status: 5.1.1\r\n"
	"Diagnostic-Code: smtp; 550 5.1.1 <ann@bad.example>: user unknown\r\n"
	"\r\n"
	"Final-Recipient: rfc822; ben@full.example\r\n"
	"Action: delayed\r\n"
	"Status: 4.2.2\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/rfc822-headers\r\n"
	"\r\n"
	"From: Sender <sender@example.com>\r\n"
	"To: ann@bad.example\r\n"
	"Message-ID: <orig-1@example.com>\r\n"
	"X-Rebound-Token: tok123\r\n"
	"Subject: secret words of the returned message\r\n"
	"\r\n"
	"--b1--\r\n";

static const char arf_msg[] =
	"From: feedback@isp.example\r\n"
	"To: abuse@example.com\r\n"
	"Subject: complaint\r\n"
	"Content-Type: multipart/report; report-type=feedback-report; boundary=\"f\"\r\n"
	"\r\n"
	"--f\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"This is an email abuse report.\r\n"
	"--f\r\n"
	"Content-Type: message/feedback-report\r\n"
	"\r\n"
	"Feedback-Type: abuse\r\n"
	"User-Agent: isp-fbl/1.0\r\n"
	"Version: 1\r\n"
	"Original-Rcpt-To: <carl@isp.example>\r\n"
	"\r\n"
	"--f\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: news@example.com\r\n"
	"To: carl@isp.example\r\n"
	"Message-ID: <news-7@example.com>\r\n"
	"\r\n"
	"hello\r\n"
	"--f--\r\n";

static const char text_msg[] =
	"From: MAILER-DAEMON@old.example\r\n"
	"To: bounces@bounce.example.com\r\n"
	"Subject: failure notice\r\n"
	"\r\n"
	"Hi. This is the qmail-send program at old.example.\r\n"
	"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
	"This is a permanent error; I've given up. Sorry it didn't work out.\r\n"
	"\r\n"
	"<dora@old.example>:\r\n"
	"Sorry, no mailbox here by that name. (#5.1.1)\r\n"
	"\r\n"
	"--- Below this line is a copy of the message.\r\n"
	"\r\n"
	"From: someone@example.com\r\n"
	"To: dora@old.example\r\n"
	"\r\n"
	"body\r\n";

static const char html_msg[] =
	"From: postmaster@web.example\r\n"
	"To: bounces@bounce.example.com\r\n"
	"Subject: Delivery Status Notification (Failure)\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<html><body><p>Delivery&nbsp;to the following recipient failed permanently:</p>"
	"<p><b>eve@web.example</b></p><p>550 5.1.1 The email account does not exist.</p>"
	"</body></html>\r\n";

static const char personal_msg[] =
	"From: Fay <fay@example.net>\r\n"
	"To: bounces@bounce.example.com\r\n"
	"Subject: lunch?\r\n"
	"\r\n"
	"Shall we meet at noon?\r\n";

static const char flagged_msg[] =
	"From: Gus <gus@example.net>\r\n"
	"To: bounces@bounce.example.com\r\n"
	"Subject: lunch?\r\n"
	"Auto-Submitted: auto-replied\r\n"
	"List-Id: <friends.example.net>\r\n"
	"\r\n"
	"I am away.\r\n";

/* rcpt - the recipient entry for addr, or NULL */
static struct report_rcpt *
rcpt(struct report *r, const char *addr)
{
	return report_find_rcpt(r, addr);
}

static void
check_dsn(struct report *r)
{
	struct report_rcpt *ann = rcpt(r, "ann@bad.example"), *ben = rcpt(r, "ben@full.example");

	tap_is_int(r->format, FORMAT_DSN, "DSN: a delivery status report");
	tap_is_int((long long)r->nrcpt, 2, "DSN: both recipient groups");
	tap_ok(ann != NULL && strcmp(ann->action, "failed") == 0 &&
		       strcmp(ann->status, "5.1.1") == 0,
	       "DSN: the first recipient, lower case, failed with 5.1.1");
	tap_ok(ben != NULL && strcmp(ben->action, "delayed") == 0, "DSN: the second one delayed");
	tap_is_str(r->reporting_mta, "mx.example.org", "DSN: Reporting-MTA without its type");
	tap_is_str(r->orig_queue_id, "4AB12CD34", "DSN: Postfix's queue id");
	tap_is_str(r->subject, "Undelivered Mail Returned to Sender \xe2\x9c\x89",
		   "the subject, its encoded word decoded");
	tap_is_str(r->from, "mailer-daemon@mx.example.org", "From: the bare address, lower case");
	tap_is_str(r->message_id, "20260301.AB12@mx.example.org", "the bounce's Message-ID");
	tap_ok(r->hdr_flags & HDR_REPORT, "the multipart/report header is noted");
	tap_is_str(r->orig_message_id, "orig-1@example.com", "the returned Message-ID");
	tap_is_str(r->orig_token, "tok123", "the returned X-Rebound-Token");
	tap_is_str(r->orig_from, "sender@example.com", "the returned From");
	tap_ok(r->text != NULL && strstr(r->text, "could not be delivered") != NULL,
	       "the human-readable part is the text");
	tap_ok(r->text != NULL && strstr(r->text, "secret words") == NULL,
	       "the returned headers are not");
}

static void
check_arf(struct report *r)
{
	tap_is_int(r->format, FORMAT_ARF, "ARF: a feedback report");
	tap_ok(r->nrcpt == 1 && strcmp(r->rcpt[0].recipient, "carl@isp.example") == 0,
	       "ARF: the complaining recipient from Original-Rcpt-To");
	tap_is_str(r->nrcpt == 1 ? r->rcpt[0].feedback_type : NULL, "abuse", "ARF: its type");
	tap_is_str(r->orig_message_id, "news-7@example.com",
		   "ARF: the Message-ID of the message complained about");
}

int
main(void)
{
	struct report_parser *p = report_parser_create();
	struct report *r;

	r = report_parse(dsn_msg, strlen(dsn_msg));
	check_dsn(r);
	report_free(&r);

	r = report_parser_run(p, arf_msg, strlen(arf_msg));
	check_arf(r);
	report_free(&r);

	r = report_parser_run(p, text_msg, strlen(text_msg));
	tap_is_int(r->format, FORMAT_TEXT, "free text: read by the free-text reader");
	tap_ok(r->nrcpt == 1 && strcmp(r->rcpt[0].recipient, "dora@old.example") == 0,
	       "free text: its recipient");
	tap_ok(r->nrcpt == 1 && strcmp(r->rcpt[0].status, "5.1.1") == 0,
	       "free text: the status its reason names");
	tap_ok(r->orig_message_id == NULL && r->orig_token == NULL,
	       "nothing of the previous message is carried over");
	report_free(&r);

	r = report_parser_run(p, html_msg, strlen(html_msg));
	tap_ok(r->text != NULL && strstr(r->text, "Delivery to the following") != NULL &&
		       strchr(r->text, '<') == NULL,
	       "HTML only: its visible text is the text");
	tap_ok(r->nrcpt == 1 && strcmp(r->rcpt[0].recipient, "eve@web.example") == 0,
	       "HTML only: its recipient");
	report_free(&r);

	r = report_parser_run(p, personal_msg, strlen(personal_msg));
	tap_ok(r->format == FORMAT_NONE && r->nrcpt == 0,
	       "a personal message is no report and names nobody");
	report_free(&r);

	r = report_parser_run(p, flagged_msg, strlen(flagged_msg));
	tap_ok((r->hdr_flags & HDR_AUTO_REPLIED) && (r->hdr_flags & HDR_LIST) &&
		       !(r->hdr_flags & HDR_REPORT),
	       "Auto-Submitted and List-Id headers are noted, and no report");
	tap_is_str(r->auto_submitted, "auto-replied", "Auto-Submitted kept as written");
	tap_ok(r->format == FORMAT_AUTOREPLY && r->nrcpt == 1 &&
		       strcmp(r->rcpt[0].recipient, "gus@example.net") == 0,
	       "and the detector takes it for its sender's auto-reply");
	report_free(&r);

	/* The same message through a used parser and a fresh one: the same report. */
	r = report_parser_run(p, dsn_msg, strlen(dsn_msg));
	check_dsn(r);
	report_free(&r);

	r = report_parse("", 0);
	tap_ok(r != NULL && r->format == FORMAT_NONE && r->nrcpt == 0,
	       "an empty message gives an empty report");
	report_free(&r);
	report_parser_free(&p);
	report_parser_free(&p);
	tap_ok(p == NULL, "report_parser_free sets NULL and accepts it");
	return tap_done();
}
