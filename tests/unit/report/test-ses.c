/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-ses - Amazon SES notifications: bounces, deliveries and
 * complaints, bare or in an SNS envelope (a string to unescape); and text
 * that is not such a notification (plain text, broken JSON, a document
 * nested deeper than the limit) adds nobody.
 */
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "report/ses.h"
#include "tap.h"
#include "util/caps.h"

static const char bounce[] =
	"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
	"\"bouncedRecipients\":[{\"emailAddress\":\"Ann@A.Example\",\"status\":\"5.1.1\","
	"\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"},"
	"{\"emailAddress\":\"ben@b.example\"}]},\"mail\":{\"messageId\":\"x\"}}";

static const char sns[] =
	"{\"Type\":\"Notification\",\"Message\":\"{\\\"notificationType\\\":\\\"Delivery\\\","
	"\\\"delivery\\\":{\\\"recipients\\\":[\\\"cat@c.example\\\"],"
	"\\\"smtpResponse\\\":\\\"250 2.0.0 OK \\\\u00e9\\\"}}\"}";

static const char complaint[] =
	"\n  {\"eventType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":"
	"[{\"emailAddress\":\"dan@d.example\"}],\"complaintFeedbackType\":\"not-spam\"}}";

/* parse - recipients ses_parse() adds to a fresh report of text */
static size_t
parse(const char *text, struct report **r_r)
{
	*r_r = report_create();
	return ses_parse(*r_r, text, strlen(text));
}

int
main(void)
{
	struct report *r;
	char deep[LIMIT_JSON_DEPTH * 8 + 200];
	size_t n = 0;

	tap_is_int((long long)parse(bounce, &r), 2, "a bounce: both bounced recipients");
	tap_is_str(r->rcpt[0].recipient, "ann@a.example", "the address, lower case");
	tap_is_str(r->rcpt[0].action, "failed", "action failed");
	tap_is_str(r->rcpt[0].status, "5.1.1", "its status");
	tap_is_str(r->rcpt[0].diagnostic, "550 5.1.1 user unknown", "the diagnostic, without its type");
	tap_is_str(r->rcpt[0].diagnostic_type, "smtp", "and its type");
	tap_is_int(r->rcpt[0].reply_code, 550, "the reply code in it");
	tap_is_str(r->rcpt[1].status, "", "a recipient SES says nothing more about");
	tap_is_int(r->format, FORMAT_JSON, "format JSON");
	tap_is_str(r->engine, "amazonses-json", "engine amazonses-json");
	report_free(&r);

	tap_is_int((long long)parse(sns, &r), 1, "a delivery in an SNS envelope");
	tap_is_str(r->rcpt[0].action, "delivered", "action delivered");
	tap_is_str(r->rcpt[0].diagnostic, "250 2.0.0 OK ?",
		   "the SMTP response, unescaped once more; a \\u escape stands as '?'");
	report_free(&r);

	tap_is_int((long long)parse(complaint, &r), 1, "a complaint (eventType, after white space)");
	tap_is_int(r->format, FORMAT_ARF, "is a feedback report");
	tap_is_str(r->rcpt[0].feedback_type, "not-spam", "with SES's feedback type");
	report_free(&r);

	tap_is_int((long long)parse("Your message could not be delivered.", &r), 0,
		   "plain text is no notification");
	report_free(&r);
	tap_is_int((long long)parse("{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRec", &r),
		   0, "a document cut short adds nobody");
	tap_is_int(r->format, FORMAT_NONE, "and leaves the format alone");
	report_free(&r);

	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"notificationType\":\"Bounce\",\"x\":");
	for (int i = 0; i < LIMIT_JSON_DEPTH + 2; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[");
	for (int i = 0; i < LIMIT_JSON_DEPTH + 2; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "]");
	snprintf(deep + n, sizeof(deep) - n,
		 ",\"bounce\":{\"bouncedRecipients\":[{\"emailAddress\":\"eve@e.example\"}]}}");
	tap_is_int((long long)parse(deep, &r), 0, "a document deeper than LIMIT_JSON_DEPTH is refused");
	report_free(&r);
	return tap_done();
}
