/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndr - recipients from the free text of a bounce.
 *
 * The report part of the text (before the returned message) is read as
 * lines.  A recipient is named by an address in one of three positions:
 *
 *   a line that starts with it, bare, in angle brackets or quotes, after
 *	a bullet or a label such as "Recipient address:" (qmail, Exim,
 *	Postfix, Gmail, Yahoo, OpenSMTPD, GMX, Exchange 2003, ...);
 *   a transcript line "554 <addr>... reason" (Sendmail);
 *   failing both, a sentence that leads up to it: "... delivered to:
 *	<addr>", "error delivering your mail to <addr>".
 *
 * Each recipient's reason is gathered by ndr_block.c.  When the text names
 * nobody, X-Failed-Recipients says who failed; failing that, the single
 * address the report mentions.  ndr_parse() also reads RFC 3464 fields
 * pasted into the text and Amazon SES JSON, and hands messages that name
 * no failed recipient to report_detect().
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caps.h"
#include "dsn.h"
#include "ndr.h"
#include "ndr_impl.h"
#include "status.h"
#include "xalloc.h"

/* Labels that may precede a recipient at the start of a line. */
static const char *const rcpt_labels[] = {
	"recipient address", "original recipient", "final recipient", "failed recipient",
	"envelope recipient", "e-mail address", "email address", "recipient", "rcpt to",
	"addressee", "address", "destinataire", "empfänger", "invalid recipient",
	"unknown recipient", "bad recipient",
};

/* Words before "word: <addr>" that name a sender or a message, not a recipient. */
static const char *const other_words[] = {
	"from", "sender", "reply-to", "return-path", "errors-to", "envelope-from",
	"mailfrom", "by", "id", "cc", "bcc", "reporter", "contact", "mail", "message-id",
	"in-reply-to", "references", "msgid", "x-original-message-id",
};

/* Mailbox names that are never the failed recipient in running text. */
static const char *const role_names[] = {
	"postmaster", "mailer-daemon", "hostmaster", "abuse", "webmaster", "noreply",
	"no-reply",
};

/* ndr_split - split text[0..len) into lines */
void
ndr_split(struct ndr *x, const char *text, size_t len)
{
	size_t cap = 0;

	for (size_t off = 0; off < len && x->nlines < LIMIT_NDR_LINES;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = (nl ? (size_t)(nl - text) : len) - off;

		if (x->nlines == cap) {
			cap = cap ? cap * 2 : 64;
			x->lines = xrealloc(x->lines, cap * sizeof(*x->lines));
		}
		x->lines[x->nlines].s = text + off;
		x->lines[x->nlines++].n = n;
		off += n + 1;
	}
}

/* ndr_release - free the lines and leads of x */
void
ndr_release(struct ndr *x)
{
	for (size_t k = 0; k < x->nleads; k++)
		free(x->leads[k].addr);
	free(x->leads);
	free(x->lines);
	x->leads = NULL;
	x->lines = NULL;
	x->nleads = x->nlines = 0;
}

/* ndr_blank - whether a line holds only white space */
bool
ndr_blank(const struct ndr_line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!isspace((unsigned char)l->s[i]))
			return false;
	return true;
}

/* ndr_skip_label - skip a recipient label and its colon at s[i]; new i */
static size_t
ndr_skip_label(const char *s, size_t n, size_t i)
{
	int c = i < n ? tolower((unsigned char)s[i]) : 0;

	for (size_t k = 0; k < sizeof(rcpt_labels) / sizeof(rcpt_labels[0]); k++) {
		size_t m, j;

		if (c != rcpt_labels[k][0])
			continue;
		m = strlen(rcpt_labels[k]);
		j = i + m;
		if (j > n || strncasecmp(s + i, rcpt_labels[k], m) != 0)
			continue;
		if (j < n && s[j] == 's')
			j++;
		while (j < n && s[j] == ' ')
			j++;
		if (j < n && s[j] == ':') {
			for (j++; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
				;
			return j;
		}
	}
	return i;
}

/* ndr_addr_at - whether an address starts exactly at s[i]; sets its end */
static bool
ndr_addr_at(const char *s, size_t n, size_t i, size_t *alen)
{
	size_t pos = i, start;

	return ndr_addr_span(s, n, &pos, &start, alen) && start == i;
}

/* ndr_lead_line - a line that starts with an address: its span and rest */
static bool
ndr_lead_line(const char *s, size_t n, size_t *a, size_t *alen, size_t *rest)
{
	size_t i = 0, j;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 1 < n && (s[i] == '*' || s[i] == '-') && s[i + 1] == ' ')
		i += 2;
	else if (i + 3 < n && strncmp(s + i, ">>> ", 4) == 0)
		i += 4;
	i = ndr_skip_label(s, n, i);
	if (i < n && s[i] == '"')
		i++;
	if (i < n && s[i] == '<')
		i++;
	if (!ndr_addr_at(s, n, i, alen))
		return false;
	*a = i;
	j = i + *alen;
	if (j < n && s[j] == '>')
		j++;
	if (j < n && s[j] == '"')
		j++;
	/* Only a separator may follow: anything else is not an address line. */
	if (j < n && strchr(": \t,;.([", s[j]) == NULL)
		return false;
	*rest = j;
	return true;
}

/* ndr_lead_reply - a Sendmail transcript line "550 [5.1.1] <addr>... text" */
static bool
ndr_lead_reply(const char *s, size_t n, size_t *a, size_t *alen, size_t *rest)
{
	size_t i = 0;

	while (i < n && s[i] == ' ')
		i++;
	if (i + 5 > n || !strchr("245", s[i]) || !isdigit((unsigned char)s[i + 1]) ||
	    !isdigit((unsigned char)s[i + 2]) || (s[i + 3] != ' ' && s[i + 3] != '-'))
		return false;
	i += 4;
	if (i + 6 < n && isdigit((unsigned char)s[i]) && s[i + 1] == '.') {
		while (i < n && s[i] != ' ')
			i++;
		i++;
	}
	if (i >= n || s[i] != '<' || !ndr_addr_at(s, n, i + 1, alen))
		return false;
	*a = i + 1;
	*rest = *a + *alen + (*a + *alen < n && s[*a + *alen] == '>');
	return true;
}

/* ndr_in_list - whether s[0..n) equals a word of list, any case */
static bool
ndr_in_list(const char *s, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && strncasecmp(s, list[i], n) == 0)
			return true;
	return false;
}

/* ndr_role - whether an address is a role mailbox such as postmaster */
static bool
ndr_role(const char *addr)
{
	return ndr_in_list(addr, strcspn(addr, "@"), role_names,
			   sizeof(role_names) / sizeof(role_names[0]));
}

/*
 * ndr_phrase_before - whether the words before s[a] lead up to a
 * recipient: "...: <addr>" (unless the word names a sender) or "to addr".
 */
static bool
ndr_phrase_before(const char *s, size_t a)
{
	size_t e = a, w;

	while (e > 0 && strchr(" \t<\"(", s[e - 1]) != NULL)
		e--;
	if (e > 0 && s[e - 1] == ':') {
		e--;
		while (e > 0 && s[e - 1] == ' ')
			e--;
		for (w = e; w > 0 && (isalnum((unsigned char)s[w - 1]) || s[w - 1] == '-'); w--)
			;
		return !ndr_in_list(s + w, e - w, other_words,
				    sizeof(other_words) / sizeof(other_words[0]));
	}
	for (w = e; w > 0 && isalpha((unsigned char)s[w - 1]); w--)
		;
	return (e - w == 2 && strncasecmp(s + w, "to", 2) == 0) ||
	       (e - w == 3 && strncasecmp(s + w, "for", 3) == 0);
}

/*
 * ndr_after_from - whether the address at s[a] follows "from" or
 * "sender" ("mail from <x>", "sender: x"): the sender, not a recipient
 */
static bool
ndr_after_from(const char *s, size_t a)
{
	size_t e = a, w;

	while (e > 0 && strchr(" \t<\"(:=", s[e - 1]) != NULL)
		e--;
	for (w = e; w > 0 && isalpha((unsigned char)s[w - 1]); w--)
		;
	return (e - w == 4 && strncasecmp(s + w, "from", 4) == 0) ||
	       (e - w == 6 && strncasecmp(s + w, "sender", 6) == 0);
}

/* ndr_add_lead - remember an address position */
static void
ndr_add_lead(struct ndr *x, size_t line, const char *s, size_t a, size_t alen, size_t rest,
	     enum ndr_lead_kind kind)
{
	struct ndr_lead *l;

	if (x->nleads >= LIMIT_RECIPIENTS)
		return;
	x->leads = xrealloc(x->leads, (x->nleads + 1) * sizeof(*x->leads));
	l = &x->leads[x->nleads++];
	l->line = line;
	l->rest = rest;
	l->kind = kind;
	l->addr = ndr_addr_copy(s + a, alen);
}

/* ndr_sender - whether addr is the sender of the bounced message */
bool
ndr_sender(const struct report *r, const char *addr)
{
	return (r->to != NULL && strcmp(addr, r->to) == 0) ||
	       (r->orig_from != NULL && strcmp(addr, r->orig_from) == 0) ||
	       (r->orig_return_path != NULL && strcmp(addr, r->orig_return_path) == 0) ||
	       (r->from != NULL && strcmp(addr, r->from) == 0);
}

/* ndr_find_leads - every recipient position in the report text */
void
ndr_find_leads(struct ndr *x)
{
	size_t a, alen, rest;

	for (size_t i = 0; i < x->nlines; i++) {
		const char *s = x->lines[i].s;
		size_t n = x->lines[i].n;

		if (memchr(s, '@', n) == NULL)
			continue;
		if (ndr_lead_line(s, n, &a, &alen, &rest))
			ndr_add_lead(x, i, s, a, alen, rest, LEAD_LINE);
		else if (ndr_lead_reply(s, n, &a, &alen, &rest))
			ndr_add_lead(x, i, s, a, alen, rest, LEAD_REPLY);
		else
			continue;
		/* The sender's address on a line of its own is not a recipient. */
		if (ndr_sender(x->r, x->leads[x->nleads - 1].addr))
			free(x->leads[--x->nleads].addr);
	}
	if (x->nleads > 0)
		return;
	for (size_t i = 0; i < x->nlines; i++) {
		const char *s = x->lines[i].s;
		size_t n = x->lines[i].n, pos = 0;

		while (ndr_addr_span(s, n, &pos, &a, &alen)) {
			if (!ndr_phrase_before(s, a))
				continue;
			ndr_add_lead(x, i, s, a, alen, 0, LEAD_PHRASE);
			if (ndr_role(x->leads[x->nleads - 1].addr) ||
			    ndr_sender(x->r, x->leads[x->nleads - 1].addr))
				free(x->leads[--x->nleads].addr);
		}
	}
}

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

/* ndr_lead_for - the lead that names addr, or -1 */
static long
ndr_lead_for(struct ndr *x, const char *addr)
{
	size_t local = strcspn(addr, "@");

	for (size_t k = 0; k < x->nleads; k++)
		if (strcmp(x->leads[k].addr, addr) == 0)
			return (long)k;
	/* Exim repeats an unqualified address as it was given. */
	for (size_t i = 0; i < x->nlines; i++) {
		const char *s = x->lines[i].s;
		size_t n = x->lines[i].n, b = 0;

		while (b < n && (s[b] == ' ' || s[b] == '\t'))
			b++;
		while (n > b && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n - b == local && local > 0 && strncasecmp(s + b, addr, local) == 0) {
			ndr_add_lead(x, i, s, b, local, n, LEAD_LINE);
			return (long)x->nleads - 1;
		}
	}
	return x->nleads == 1 ? 0 : -1;
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

/*
 * ndr_only_address - when the report text holds exactly one address that
 * is neither the sender's nor a role mailbox, make it a lead.
 */
static void
ndr_only_address(struct ndr *x)
{
	size_t found_line = 0, a, alen, fa = 0, falen = 0;
	char *found = NULL;

	for (size_t i = 0; i < x->nlines; i++) {
		const char *s = x->lines[i].s;
		size_t n = x->lines[i].n, pos = 0;

		while (ndr_addr_span(s, n, &pos, &a, &alen)) {
			char *addr;

			/* "not accepting mail from <sender>": the sender, named so. */
			if (ndr_after_from(s, a))
				continue;
			addr = ndr_addr_copy(s + a, alen);
			if (ndr_role(addr) || ndr_sender(x->r, addr) ||
			    (found != NULL && strcmp(found, addr) == 0)) {
				free(addr);
				continue;
			}
			if (found != NULL) {
				free(addr);
				free(found);
				return;	/* two candidates: too ambiguous */
			}
			found = addr;
			found_line = i;
			fa = a;
			falen = alen;
		}
	}
	if (found != NULL)
		ndr_add_lead(x, found_line, x->lines[found_line].s, fa, falen, 0, LEAD_PHRASE);
	free(found);
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
	if (report_json_parse(r, text, len) > 0)
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
