/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndr_block - the reason text of each recipient of a free-text report.
 *
 * A recipient's reason is the rest of its line and the lines that follow,
 * up to the next recipient; when the address stands alone in its
 * paragraph, the next paragraphs are read instead, and failing that the
 * paragraph before it.  A Sendmail transcript quoted apart from the
 * recipient lines belongs to the only recipient.  It stands above
 * ndr_lines.c (the lines and leads) and below ndr.c (the entry points).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/status.h"
#include "report/ndr_block.h"
#include "report/ndr_text.h"
#include "util/caps.h"
#include "util/xalloc.h"

/* ndr_put - append s[0..n) and a space to the diagnostic, white space collapsed */
void
ndr_put(struct buf *b, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && !isspace((unsigned char)s[j]))
			j++;
		if (j > i) {
			buf_append_partial(b, s + i, j - i);
			buf_putc(b, ' ');
		}
		while (j < n && isspace((unsigned char)s[j]))
			j++;
		i = j;
	}
}

/* ndr_next_lead_line - the line of the next lead after lead k, or the end */
static size_t
ndr_next_lead_line(const struct ndr *x, size_t k)
{
	for (size_t j = k + 1; j < x->nleads; j++)
		if (x->leads[j].line > x->leads[k].line)
			return x->leads[j].line;
	return x->nlines;
}

/* ndr_transcript_line - whether a line is a step of an SMTP transcript */
static bool
ndr_transcript_line(const struct ndr_line *l)
{
	const char *s = l->s;
	size_t n = l->n;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	if (n >= 3 && (strncmp(s, "<<<", 3) == 0 || strncmp(s, ">>>", 3) == 0 ||
		       strncmp(s, "...", 3) == 0))
		return true;
	if (n >= 4 && strchr("245", s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && (s[3] == ' ' || s[3] == '-'))
		return true;
	return n >= 12 && strncasecmp(s, "while talking", 13) == 0;
}

/*
 * ndr_reply_block - a transcript lead "554 <addr>... reason": the reply
 * lines just above it, the line itself, and what follows it that is not
 * another transcript step ("[RCPT_TO]" after a Yahoo reply).
 */
static void
ndr_reply_block(struct ndr *x, const struct ndr_lead *l, size_t end, struct buf *b)
{
	size_t first = l->line, i;

	while (first > 0 && x->lines[first - 1].n >= 4 &&
	       strncmp(x->lines[first - 1].s, "<<< ", 4) == 0)
		first--;
	/* "... did not like our RCPT TO:" introduces the reply on the next line. */
	if (first == l->line && first > 0 && x->lines[first - 1].n > 0 &&
	    x->lines[first - 1].s[x->lines[first - 1].n - 1] == ':')
		first--;
	/*
	 * "554 <addr>... 550 Host unknown": the reply after the address is
	 * the remote's, the code before it the reporting MTA's; put the
	 * remote's first.
	 */
	for (i = l->rest; i < x->lines[l->line].n && strchr(".: ", x->lines[l->line].s[i]); i++)
		;
	if (i < x->lines[l->line].n && isdigit((unsigned char)x->lines[l->line].s[i]))
		ndr_put(b, x->lines[l->line].s + i, x->lines[l->line].n - i);
	for (i = first; i <= l->line; i++)
		ndr_put(b, x->lines[i].s, x->lines[i].n);
	for (i = l->line + 1; i < end && !ndr_blank(&x->lines[i]) &&
			      !ndr_transcript_line(&x->lines[i]);
	     i++)
		ndr_put(b, x->lines[i].s, x->lines[i].n);
}

/* ndr_block - the diagnostic text that belongs to lead k */
static void
ndr_block(struct ndr *x, size_t k, struct buf *b)
{
	const struct ndr_lead *l = &x->leads[k];
	const struct ndr_line *line = &x->lines[l->line];
	size_t end = ndr_next_lead_line(x, k), i = l->line + 1, taken = 0;
	const char *rest = line->s + l->rest;
	size_t rn = line->n - l->rest;

	buf_reset(b);
	if (l->kind == LEAD_REPLY) {
		ndr_reply_block(x, l, end, b);
		return;
	}
	if (l->kind == LEAD_PHRASE) {
		rest = line->s;
		rn = line->n;
	}
	while (rn > 0 && strchr(":.;, \t\"'", *rest) != NULL)
		rest++, rn--;
	ndr_put(b, rest, rn);
	if (i < end && !ndr_blank(&x->lines[i])) {
		/* The reason follows on the next lines, up to an empty one. */
		for (; i < end && !ndr_blank(&x->lines[i]); i++)
			ndr_put(b, x->lines[i].s, x->lines[i].n);
		return;
	}
	if (buf_len(b) > 0 && l->kind == LEAD_LINE)
		return;
	/* The address stands alone: the reason is in the next paragraphs. */
	for (; i < end && taken < LIMIT_NDR_BLOCK_LINES; i++, taken++)
		ndr_put(b, x->lines[i].s, x->lines[i].n);
	if (buf_len(b) > 0)
		return;
	/* Nothing after it: the paragraph before it says why. */
	i = l->line;
	while (i > 0 && ndr_blank(&x->lines[i - 1]))
		i--;
	while (i > 0 && !ndr_blank(&x->lines[i - 1]) && (k == 0 || i - 1 > x->leads[k - 1].line))
		i--;
	for (; i < l->line; i++)
		if (!ndr_blank(&x->lines[i]))
			ndr_put(b, x->lines[i].s, x->lines[i].n);
}

/*
 * ndr_transcript - when a report names one recipient only, the SMTP
 * transcript it quotes (">>> DATA", "<<< 550 ...") is about that
 * recipient: Sendmail writes it apart from the recipient's own line.
 */
static void
ndr_transcript(struct ndr *x, size_t k, struct buf *b)
{
	for (size_t j = 0; j < x->nleads; j++)
		if (strcmp(x->leads[j].addr, x->leads[k].addr) != 0)
			return;
	for (size_t i = 0; i < x->nlines; i++) {
		const char *s = x->lines[i].s;
		size_t n = x->lines[i].n;

		if (n > 4 && (strncmp(s, "<<< ", 4) == 0 || strncmp(s, ">>> ", 4) == 0) &&
		    memmem(buf_str(b), buf_len(b), s + 4, n - 4) == NULL)
			ndr_put(b, s, n);
	}
}

/*
 * ndr_blocks - the reason texts of lead k and of the later leads that name
 * the same address (a transcript names a recipient more than once), each
 * text taken once.
 */
void
ndr_blocks(struct ndr *x, size_t k, struct buf *b)
{
	struct buf *one = buf_create(LIMIT_DIAGNOSTIC_LEN);

	ndr_block(x, k, b);
	ndr_transcript(x, k, b);
	for (size_t j = k + 1; j < x->nleads; j++) {
		if (strcmp(x->leads[j].addr, x->leads[k].addr) != 0)
			continue;
		ndr_block(x, j, one);
		if (buf_len(one) > 1 && memmem(buf_str(b), buf_len(b), buf_str(one),
					       buf_len(one) - 1) == NULL)
			buf_append_partial(b, buf_str(one), buf_len(one));
	}
	buf_free(&one);
}

/* ndr_command - the SMTP command named around the leads of an address */
enum smtp_cmd
ndr_command(struct ndr *x, size_t k, const char *diag, size_t n)
{
	struct buf *ctx = buf_create(LIMIT_DIAGNOSTIC_LEN * 2);
	enum smtp_cmd cmd;

	/* The lead lines themselves may be ">>> RCPT To:<addr>". */
	for (size_t j = k; j < x->nleads; j++) {
		const struct ndr_line *l = &x->lines[x->leads[j].line];

		if (strcmp(x->leads[j].addr, x->leads[k].addr) != 0)
			continue;
		if (x->leads[j].line > 0)
			ndr_put(ctx, x->lines[x->leads[j].line - 1].s,
				x->lines[x->leads[j].line - 1].n);
		ndr_put(ctx, l->s, l->n);
	}
	buf_append_partial(ctx, diag, n);
	cmd = smtp_cmd_find(buf_str(ctx), buf_len(ctx));
	buf_free(&ctx);
	return cmd;
}

/* ndr_set_diag - set the diagnostic-derived fields of rc that are unset */
void
ndr_set_diag(struct report_rcpt *rc, const char *d, size_t n)
{
	char found[STATUS_SIZE];

	if (n > LIMIT_DIAGNOSTIC_LEN)
		n = LIMIT_DIAGNOSTIC_LEN;
	if (rc->diagnostic == NULL)
		rc->diagnostic = xstrndup(d, n);
	if (rc->reply_code == 0)
		rc->reply_code = reply_code_find(d, n);
	/* A specific code in the text may beat the report's. */
	if (status_pick(d, n, found))
		memmove(rc->status, status_prefer(rc->status, found, rc->reply_code), STATUS_SIZE);
}

/* ndr_trimmed - length of the diagnostic buffer without trailing spaces */
size_t
ndr_trimmed(const struct buf *b)
{
	size_t n = buf_len(b);

	while (n > 0 && buf_str(b)[n - 1] == ' ')
		n--;
	return n;
}

/* ndr_error_text - the report's reply lines and "Error:" lines, into b */
void
ndr_error_text(struct ndr *x, struct buf *b)
{
	buf_reset(b);
	for (size_t i = 0; i < x->nlines; i++) {
		const char *s = x->lines[i].s;
		size_t len = x->lines[i].n;

		while (len > 0 && (*s == ' ' || *s == '\t'))
			s++, len--;
		if ((len > 4 && strchr("45", s[0]) && isdigit((unsigned char)s[1]) &&
		     isdigit((unsigned char)s[2]) && strchr(" -:", s[3])) ||
		    (len > 6 && strncasecmp(s, "error:", 6) == 0))
			ndr_put(b, s, len);
	}
}

/*
 * ndr_error_lines - when the only recipient's own text carries no reply
 * code, the reply may stand elsewhere in the report ("Error message
 * below: 550 ..."): put the report's reply and error lines before it.
 */
void
ndr_error_lines(struct ndr *x, struct report_rcpt *rc)
{
	struct buf *b = x->diag;
	size_t n;

	ndr_error_text(x, b);
	if ((n = ndr_trimmed(b)) == 0)
		return;
	if (rc->diagnostic != NULL) {
		buf_putc(b, ' ');
		buf_append_partial(b, rc->diagnostic, strlen(rc->diagnostic));
		free(rc->diagnostic);
		rc->diagnostic = NULL;
		n = ndr_trimmed(b);
	}
	ndr_set_diag(rc, buf_str(b), n);
	if (rc->command == CMD_NONE)
		rc->command = smtp_cmd_find(buf_str(b), n);
}

