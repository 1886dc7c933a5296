/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-ndr-block - the reason text of each recipient of a free-text
 * report, over the lines and leads of ndr_lines: the rest of the line and
 * the lines under it, the next paragraph when the address stands alone,
 * the paragraph before when nothing follows, a Sendmail transcript line
 * with the replies above it; then the fields read from a reason and the
 * SMTP command around a lead.
 */
#include <stdlib.h>
#include <string.h>

#include "report/ndr_block.h"
#include "report/ndr_lines.h"
#include "report/report.h"
#include "tap.h"
#include "util/xalloc.h"

/* reason - the trimmed reason text of the lead that names addr in text */
static char *
reason(const char *text, const char *addr)
{
	struct report *r = report_create();
	struct buf *b = buf_create(1024);
	struct ndr x = { .r = r, .diag = b };
	char *out = NULL;

	ndr_split(&x, text, strlen(text));
	ndr_find_leads(&x);
	for (size_t k = 0; k < x.nleads && out == NULL; k++) {
		if (strcmp(x.leads[k].addr, addr) != 0)
			continue;
		ndr_blocks(&x, k, b);
		out = xstrndup(buf_str(b), ndr_trimmed(b));
	}
	ndr_release(&x);
	buf_free(&b);
	report_free(&r);
	return out != NULL ? out : xstrdup("(no lead)");
}

/* command - the SMTP command around the first lead of text */
static enum smtp_cmd
command(const char *text)
{
	struct report *r = report_create();
	struct buf *b = buf_create(1024);
	struct ndr x = { .r = r, .diag = b };
	enum smtp_cmd cmd = CMD_COUNT;

	ndr_split(&x, text, strlen(text));
	ndr_find_leads(&x);
	if (x.nleads > 0) {
		ndr_blocks(&x, 0, b);
		cmd = ndr_command(&x, 0, buf_str(b), ndr_trimmed(b));
	}
	ndr_release(&x);
	buf_free(&b);
	report_free(&r);
	return cmd;
}

static const struct {
	const char *name, *text, *addr, *want;
} cases[] = {
	{ "the rest of the line and the lines under it",
	  "Delivery failed for these recipients:\n"
	  "<ann@a.example>: host mx.a.example said:\n"
	  "    550 5.1.1 no such user\n"
	  "\n"
	  "<ben@b.example>: mailbox is full\n",
	  "ann@a.example", "host mx.a.example said: 550 5.1.1 no such user" },
	{ "each lead stops at the next one",
	  "<ann@a.example>: no such user\n"
	  "<ben@b.example>: mailbox is full\n",
	  "ben@b.example", "mailbox is full" },
	{ "an address alone: the next paragraph",
	  "The following address failed:\n"
	  "\n"
	  "    cat@c.example\n"
	  "\n"
	  "Remote server replied: 552 quota exceeded\n",
	  "cat@c.example", "Remote server replied: 552 quota exceeded" },
	{ "nothing after the address: the paragraph before",
	  "Your message was rejected because the domain does not exist.\n"
	  "\n"
	  "    dan@d.example\n",
	  "dan@d.example", "Your message was rejected because the domain does not exist." },
	{ "a transcript line with the replies above it",
	  "   ----- Transcript of session follows -----\n"
	  "<<< 550 5.7.1 relaying denied\n"
	  "554 5.0.0 <eve@e.example>... Service unavailable\n",
	  "eve@e.example", "<<< 550 5.7.1 relaying denied 554 5.0.0 <eve@e.example>... "
			   "Service unavailable" },
	{ "white space collapsed",
	  "fay@f.example:\tsorry,\t\tno   mailbox   here\n",
	  "fay@f.example", "sorry, no mailbox here" },
};

int
main(void)
{
	struct report_rcpt rc = { 0 };
	struct buf *b = buf_create(64);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = reason(cases[i].text, cases[i].addr);

		tap_is_str(got, cases[i].want, "%s", cases[i].name);
		free(got);
	}

	tap_is_int(command(">>> RCPT To:<gus@g.example>\n<<< 550 5.1.1 unknown user\n"),
		   CMD_RCPT, "the command on the lead's own transcript line");
	tap_is_int(command("<hal@h.example>: 554 rejected (in reply to end of DATA command)\n"),
		   CMD_DATA, "the command in the reason");
	tap_is_int(command("<ida@i.example>: mailbox unavailable\n"), CMD_NONE,
		   "no command named");

	ndr_set_diag(&rc, "550 5.1.1 no such user", 22);
	tap_is_str(rc.diagnostic, "550 5.1.1 no such user", "the reason becomes the diagnostic");
	tap_is_int(rc.reply_code, 550, "its reply code");
	tap_is_str(rc.status, "5.1.1", "its status");
	ndr_set_diag(&rc, "451 4.3.0 try later", 19);
	tap_is_str(rc.diagnostic, "550 5.1.1 no such user", "a diagnostic already set stays");
	tap_is_int(rc.reply_code, 550, "and so does the reply code");
	free(rc.diagnostic);

	ndr_put(b, "  a \t b  ", 9);
	tap_is_str(buf_str(b), "a b ", "ndr_put collapses white space, a space after each word");
	tap_is_int((long long)ndr_trimmed(b), 3, "ndr_trimmed leaves the trailing space out");
	buf_free(&b);
	return tap_done();
}
