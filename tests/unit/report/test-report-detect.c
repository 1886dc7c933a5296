/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-report-detect - messages at the bounce address that name no failed
 * recipient: an auto-reply by header or by subject, a challenge-response
 * request, a Hotmail-style complaint; each adds its one party.  A plain
 * message, or one with no sender, adds nobody.
 */
#include <string.h>

#include "report/report.h"
#include "report/report_detect.h"
#include "tap.h"
#include "util/xalloc.h"

/* report - a parsed-looking report with these headers and text */
static struct report *
report(const char *from, const char *subject, unsigned flags, const char *text)
{
	struct report *r = report_create();

	report_set(&r->from, from);
	report_set(&r->subject, subject);
	r->hdr_flags = flags;
	if (text != NULL) {
		r->text = xstrdup(text);
		r->text_len = strlen(text);
	}
	return r;
}

/* check - report_detect() on r: its answer, format and party, then free r */
static void
check(struct report *r, bool want, enum report_format format, const char *party,
      const char *name)
{
	bool got = report_detect(r);

	tap_ok(got == want, "%s: %s", name, want ? "detected" : "not detected");
	if (want) {
		tap_is_int(r->format, format, "%s: its format", name);
		tap_is_str(r->nrcpt == 1 ? r->rcpt[0].recipient : NULL, party, "%s: its party", name);
	} else {
		tap_ok(r->nrcpt == 0 && r->format == FORMAT_NONE, "%s: nobody added", name);
	}
	report_free(&r);
}

int
main(void)
{
	struct report *r;

	check(report("ann@a.example", "Re: your offer", HDR_AUTO_REPLIED, "I am away."), true,
	      FORMAT_AUTOREPLY, "ann@a.example", "Auto-Submitted: auto-replied");
	check(report("ben@b.example", "Out of Office: back on Monday", 0, NULL), true,
	      FORMAT_AUTOREPLY, "ben@b.example", "an out-of-office subject");
	check(report("cat@c.example", "[Automatische Antwort] Urlaub", 0, NULL), true,
	      FORMAT_AUTOREPLY, "cat@c.example", "a German subject in brackets");
	check(report("dan@d.example", "Please confirm", 0,
		     "This mailbox is protected by a challenge. Click the link below to confirm."),
	      true, FORMAT_CHALLENGE, "dan@d.example", "a challenge in the text");
	check(report("eve@e.example", "Shall we meet?", HDR_BULK, "See you at noon."), false,
	      FORMAT_NONE, NULL, "a plain message");
	check(report(NULL, "Out of Office", HDR_AUTO_REPLIED, NULL), false, FORMAT_NONE, NULL,
	      "an auto-reply without a sender");

	r = report("staff@hotmail.com", "complaint about message from 192.0.2.1", 0, NULL);
	report_set(&r->orig_rcpt, "fay@hotmail.example");
	tap_ok(report_detect(r), "a Hotmail complaint is detected");
	tap_ok(r->format == FORMAT_ARF && r->nrcpt == 1 &&
		       strcmp(r->rcpt[0].recipient, "fay@hotmail.example") == 0 &&
		       strcmp(r->rcpt[0].feedback_type, "abuse") == 0,
	       "as an abuse report by the recipient the returned headers name");
	report_free(&r);

	r = report("gus@g.example", "Auto: away", 0, "I am away until May.\n\nRegards, Gus");
	tap_ok(report_detect(r) && r->rcpt[0].diagnostic != NULL &&
		       strcmp(r->rcpt[0].diagnostic, "I am away until May.") == 0,
	       "the first paragraph of an auto-reply is its diagnostic");
	report_free(&r);
	return tap_done();
}
