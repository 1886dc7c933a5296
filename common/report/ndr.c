/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndr - recipients from the free text of a bounce: the entry points of
 * the free-text reader, on top of its two layers.
 *
 * The report part of the text (before the returned message) is split into
 * lines and the places that name a recipient are found (ndr_lines.c); each
 * recipient's reason is gathered after them (ndr_block.c).  When the text
 * names nobody, X-Failed-Recipients says who failed; failing that, the
 * single address the report mentions.  ndr_parse() also reads RFC 3464
 * fields pasted into the text and Amazon SES JSON (ses.c), and hands
 * messages that name no failed recipient to report_detect().
 * ndr_enrich() uses the same reasons to complete what an RFC 3464 part
 * leaves out.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/status.h"
#include "report/dsn.h"
#include "report/ndr.h"
#include "report/ndr_block.h"
#include "report/ndr_lines.h"
#include "report/ndr_text.h"
#include "report/report_detect.h"
#include "report/report_dsn.h"
#include "report/ses.h"
#include "util/caps.h"
#include "util/xalloc.h"

/* ndr_fill - give recipient rc the reason text of lead k (or none) */
static void
ndr_fill(struct ndr *x, struct report_rcpt *rc, long k, bool delayed)
{
	size_t n;

	if (k >= 0) {
		ndr_blocks(x, (size_t)k, x->diag);
		if ((n = ndr_trimmed(x->diag)) > 0)
			ndr_set_diag(rc, buf_str(x->diag), n);
		rc->command = ndr_command(x, (size_t)k, buf_str(x->diag), n);
	} else {
		/* Nothing names the recipient: the whole report is its reason. */
		buf_reset(x->diag);
		for (size_t i = 0; i < x->nlines && buf_len(x->diag) < LIMIT_DIAGNOSTIC_LEN; i++)
			ndr_put(x->diag, x->lines[i].s, x->lines[i].n);
		if ((n = ndr_trimmed(x->diag)) > 0)
			ndr_set_diag(rc, buf_str(x->diag), n);
		rc->command = smtp_cmd_find(buf_str(x->diag), n);
	}
	/* Some MTAs report successes in the same words ("delivery via ... 250 2.1.5"). */
	if (rc->status[0] == '2')
		rc->action = xstrdup("delivered");
	else
		rc->action = xstrdup(delayed ? "delayed" : "failed");
}

/* ndr_add - add recipient addr with the reason of lead k */
static void
ndr_add(struct ndr *x, const char *addr, long k, bool delayed)
{
	struct report_rcpt *rc;

	if (report_find_rcpt(x->r, addr) != NULL || (rc = report_add_rcpt(x->r)) == NULL)
		return;
	rc->recipient = xstrdup(addr);
	ndr_fill(x, rc, k, delayed);
}

/* ndr_in_failed - whether X-Failed-Recipients names addr */
static bool
ndr_in_failed(const struct report *r, const char *addr)
{
	const char *s = r->failed_rcpts;
	size_t n, pos = 0, a, alen, len = strlen(addr);

	if (s == NULL)
		return false;
	n = strlen(s);
	while (ndr_addr_span(s, n, &pos, &a, &alen))
		if (alen == len && strncasecmp(s + a, addr, len) == 0)
			return true;
	return false;
}

/* ndr_failed_any - whether X-Failed-Recipients names any address a lead names */
static bool
ndr_failed_any(const struct report *r, const struct ndr *x)
{
	for (size_t k = 0; k < x->nleads; k++)
		if (ndr_in_failed(r, x->leads[k].addr))
			return true;
	return false;
}

/* ndr_read - recipients of a free-text report; returns how many */
static size_t
ndr_read(struct report *r, const char *text, size_t len, struct buf *scratch)
{
	struct ndr x = { .r = r, .diag = scratch };
	bool delayed = ndr_is_delay(r, text, len);

	ndr_split(&x, text, len);
	ndr_find_leads(&x);
	if (x.nleads == 0 && r->failed_rcpts == NULL)
		ndr_only_address(&x);
	/*
	 * The text names the recipients, and X-Failed-Recipients fills in when
	 * it does not; when both name some, only those both name are taken,
	 * so that an address quoted in the text is not mistaken for one.
	 */
	for (size_t k = 0; k < x.nleads; k++)
		if (!ndr_sender(r, x.leads[k].addr) &&
		    (!ndr_failed_any(r, &x) || ndr_in_failed(r, x.leads[k].addr)))
			ndr_add(&x, x.leads[k].addr, (long)k, delayed);
	if (r->nrcpt == 0 && r->failed_rcpts != NULL) {
		const char *s = r->failed_rcpts;
		size_t n = strlen(s), pos = 0, a, alen;

		while (ndr_addr_span(s, n, &pos, &a, &alen)) {
			char *addr = ndr_addr_copy(s + a, alen);

			ndr_add(&x, addr, ndr_lead_for(&x, addr), delayed);
			free(addr);
		}
	}
	if (r->nrcpt == 1 && r->rcpt[0].reply_code == 0 && r->rcpt[0].status[0] == '\0')
		ndr_error_lines(&x, &r->rcpt[0]);
	ndr_release(&x);
	if (r->nrcpt > 0) {
		r->format = FORMAT_TEXT;
		r->engine = "text";
	}
	return r->nrcpt;
}

/* ndr_embedded_dsn - RFC 3464 fields pasted into the text */
static bool
ndr_embedded_dsn(struct report *r, const char *text, size_t len)
{
	static const char *const starts[] = { "Reporting-MTA:", "Final-Recipient:",
					      "Original-Recipient:" };

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = (nl ? (size_t)(nl - text) : len) - off;

		for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
			size_t m;

			if (n < 14 || (text[off] | 0x20) != (starts[i][0] | 0x20))
				continue;
			m = strlen(starts[i]);
			if (n >= m && strncasecmp(text + off, starts[i], m) == 0 &&
			    report_add_dsn(r, text + off, len - off) > 0) {
				r->engine = "dsn-in-text";
				return true;
			}
		}
		off += n + 1;
	}
	return false;
}

/* ndr_parse - find recipients in a report without a machine-readable part */
void
ndr_parse(struct report *r, struct buf *scratch)
{
	size_t len = r->text_len, cut, lead_cut;
	char *dq = ndr_dequote(r->text, r->text_len, &len);
	const char *text = dq != NULL ? dq : r->text;

	if (dq == NULL)
		len = r->text_len;
	/* DSN fields may follow a pasted message; recipient lines may not. */
	cut = ndr_cut(text, len, false);
	lead_cut = ndr_cut(text, cut, true);
	if (lead_cut < len && r->orig_from == NULL && r->orig_return_path == NULL)
		report_add_returned_headers(r, text + lead_cut, len - lead_cut);
	if (ndr_embedded_dsn(r, text, cut))
		goto out;
	if (ses_parse(r, text, len) > 0)
		goto out;
	/* A whitelist request may say "not delivered"; it is no bounce. */
	if (report_challenge(r, text, lead_cut))
		goto out;
	if (!ndr_is_bounce(r, text, lead_cut)) {
		(void)report_detect(r);
		goto out;
	}
	/*
	 * A bounce is never an auto-reply, even when it says "auto-replied".
	 * One that names nobody is left unrecognised: delivery then files it
	 * under the recipient its VERP return path names.
	 */
	(void)ndr_read(r, text, lead_cut, scratch);
out:
	free(dq);
}

/* ndr_enrich_one - complete one DSN recipient from its text block */
static void
ndr_enrich_one(struct ndr *x, struct report_rcpt *rc, long k)
{
	char status[STATUS_SIZE], found[STATUS_SIZE];
	bool keep = rc->diagnostic != NULL &&
		    status_find(rc->diagnostic, strlen(rc->diagnostic), found);
	size_t n;

	memcpy(status, rc->status, sizeof(status));
	if (k >= 0)
		ndr_blocks(x, (size_t)k, x->diag);
	else
		ndr_error_text(x, x->diag);
	n = ndr_trimmed(x->diag);
	/* The report part may cut a reply short that the text quotes whole. */
	if (n > 0 && rc->diagnostic != NULL && rc->text_diag == NULL)
		rc->text_diag = xstrndup(buf_str(x->diag),
					 n < LIMIT_DIAGNOSTIC_LEN ? n : LIMIT_DIAGNOSTIC_LEN);
	if (n > 0)
		ndr_set_diag(rc, buf_str(x->diag), n);
	/* A code in the report's own diagnostic stands. */
	if (keep)
		memcpy(rc->status, status, sizeof(status));
	if (rc->command == CMD_NONE)
		rc->command = k >= 0 ? ndr_command(x, (size_t)k, buf_str(x->diag), n)
				     : smtp_cmd_find(buf_str(x->diag), n);
}

/* ndr_enrich - complete DSN recipients from the human-readable text */
void
ndr_enrich(struct report *r, struct buf *scratch)
{
	struct ndr x = { .r = r, .diag = scratch };
	size_t cut = ndr_cut(r->text, r->text_len, true);

	ndr_split(&x, r->text, cut);
	ndr_find_leads(&x);
	for (size_t i = 0; i < r->nrcpt; i++) {
		struct report_rcpt *rc = &r->rcpt[i];
		long k = -1;

		if (rc->recipient == NULL)
			continue;
		for (size_t j = 0; j < x.nleads && k < 0; j++)
			if (strcmp(x.leads[j].addr, rc->recipient) == 0)
				k = (long)j;
		/* With one recipient and no line naming it, the report's replies are its. */
		if (k >= 0 || (r->nrcpt == 1 && x.nleads == 0))
			ndr_enrich_one(&x, rc, k);
	}
	ndr_release(&x);
}
