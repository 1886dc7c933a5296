/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndr_lines - the report text of a free-text bounce as lines, and the
 * positions where it names a recipient (leads).
 *
 * A recipient is named by an address in one of three positions:
 *
 *   a line that starts with it, bare, in angle brackets or quotes, after
 *	a bullet or a label such as "Recipient address:" (qmail, Exim,
 *	Postfix, Gmail, Yahoo, OpenSMTPD, GMX, Exchange 2003, ...);
 *   a transcript line "554 <addr>... reason" (Sendmail);
 *   failing both, a sentence that leads up to it: "... delivered to:
 *	<addr>", "error delivering your mail to <addr>".
 *
 * The sender's own address and role mailboxes such as postmaster are
 * never leads.  This is the lowest layer of the free-text reader:
 * ndr_block.c reads the reason after each lead, ndr.c turns leads into
 * recipients.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "report/ndr_lines.h"
#include "report/ndr_text.h"
#include "util/xalloc.h"

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

/* ndr_lead_for - the lead that names addr, or -1 */
long
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

/*
 * ndr_only_address - when the report text holds exactly one address that
 * is neither the sender's nor a role mailbox, make it a lead.
 */
void
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
