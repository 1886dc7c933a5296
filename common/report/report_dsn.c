/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report_dsn - recipients from RFC 3464 and RFC 5965 field groups.
 *
 * Real reports bend the grammar: the per-message group is missing or
 * merged into the first recipient group, Status carries a comment, the
 * status code only appears in Diagnostic-Code.  Each of those is accepted
 * here so that the classifier sees one clean record per recipient.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "report/dsn.h"
#include "report/ndr_text.h"
#include "report/report.h"
#include "report/report_dsn.h"
#include "util/xalloc.h"

/* report_take - set *field from a group field if it is not set yet */
static void
report_take(char **field, const struct dsn_group *g, const char *name, int typed)
{
	const char *v = dsn_get(g, name);
	char *type = NULL;

	if (*field != NULL || v == NULL || *v == '\0')
		return;
	if (typed)
		v = dsn_typed_value(v, &type);
	free(type);
	if (*v != '\0')
		*field = xstrdup(v);
}

/* report_lower_dup - a lower-case copy of the first word of s */
static char *
report_lower_word(const char *s)
{
	size_t n;
	char *w;

	while (isspace((unsigned char)*s))
		s++;
	n = strcspn(s, " \t;(");
	w = xstrndup(s, n);
	for (char *c = w; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return w;
}

/* report_group_rcpt - the recipient address a group is about, or NULL */
static char *
report_group_rcpt(const struct dsn_group *g)
{
	static const char *const names[] = { "Final-Recipient", "X-Actual-Recipient",
					     "Original-Recipient" };
	char *addr;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = dsn_get(g, names[i]);

		if (v != NULL && (addr = dsn_address(v)) != NULL)
			return addr;
	}
	/* "|/usr/bin/program user@example.com": a pipe names its user after it. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = dsn_get(g, names[i]);
		size_t pos = 0, a, alen;

		if (v != NULL && ndr_addr_span(v, strlen(v), &pos, &a, &alen))
			return ndr_addr_copy(v + a, alen);
	}
	return NULL;
}

/* report_fill_rcpt - copy one recipient group into rc */
static void
report_fill_rcpt(struct report_rcpt *rc, const struct dsn_group *g)
{
	const char *v;

	if ((v = dsn_get(g, "Original-Recipient")) != NULL)
		rc->original_recipient = dsn_address(v);
	if ((v = dsn_get(g, "Action")) != NULL && *v != '\0')
		rc->action = report_lower_word(v);
	if ((v = dsn_get(g, "Status")) != NULL)
		(void)status_find(v, strlen(v), rc->status);
	if ((v = dsn_get(g, "Diagnostic-Code")) != NULL) {
		const char *text = dsn_typed_value(v, &rc->diagnostic_type);
		char found[STATUS_SIZE];

		rc->diagnostic = xstrdup(text);
		/* A mailer's exit status ("X-Unix; 255") is not a reply code. */
		if (rc->diagnostic_type == NULL || strcmp(rc->diagnostic_type, "x-unix") != 0)
			rc->reply_code = reply_code_find(text, strlen(text));
		/* The diagnostic may be more precise than the Status field. */
		if (status_pick(text, strlen(text), found))
			memmove(rc->status, status_prefer(rc->status, found, rc->reply_code),
				STATUS_SIZE);
	}
	report_take(&rc->remote_mta, g, "Remote-MTA", 1);
	/* A pipe recipient ("|/usr/bin/program") failed in a local mailer. */
	if (rc->diagnostic_type == NULL && (v = dsn_get(g, "Final-Recipient")) != NULL) {
		char *type = NULL;
		const char *addr = dsn_typed_value(v, &type);

		free(type);
		if (*addr == '|')
			rc->diagnostic_type = xstrdup("x-unix");
	}
}

/* report_add_dsn - add the recipients of one delivery-status body */
size_t
report_add_dsn(struct report *r, const char *text, size_t len)
{
	struct dsn *d = dsn_parse(text, len);
	size_t added = 0;

	if (d->truncated)
		r->truncated = true;
	if (d->groups_cut)
		r->rcpt_overflow = true;
	for (size_t i = 0; i < d->ngroups; i++) {
		const struct dsn_group *g = &d->groups[i];
		struct report_rcpt *rc;
		char *addr;

		/* Per-message fields may sit in any group, even a recipient's. */
		report_take(&r->reporting_mta, g, "Reporting-MTA", 1);
		report_take(&r->orig_queue_id, g, "X-Postfix-Queue-ID", 0);
		report_take(&r->envid, g, "Original-Envelope-Id", 0);
		report_take(&r->postfix_sender, g, "X-Postfix-Sender", 1);
		if ((addr = report_group_rcpt(g)) == NULL)
			continue;
		if (report_find_rcpt(r, addr) != NULL || (rc = report_add_rcpt(r)) == NULL) {
			free(addr);
			continue;
		}
		rc->recipient = addr;
		report_fill_rcpt(rc, g);
		added++;
	}
	if (added > 0 && r->format == FORMAT_NONE)
		r->format = FORMAT_DSN;
	dsn_free(&d);
	return added;
}

/* report_add_arf - add the complaint of one feedback-report body */
size_t
report_add_arf(struct report *r, const char *text, size_t len)
{
	struct dsn *d = dsn_parse(text, len);
	const struct dsn_group *g;
	const char *type;
	size_t added = 0;

	if (d->ngroups == 0) {
		dsn_free(&d);
		return 0;
	}
	g = &d->groups[0];
	type = dsn_get(g, "Feedback-Type");
	report_take(&r->reporting_mta, g, "Reporting-MTA", 1);
	/* Original-Rcpt-To may repeat, once per complaining recipient. */
	for (size_t i = 0; i < g->nfields; i++) {
		struct report_rcpt *rc;
		char *addr;

		if (strcasecmp(g->fields[i].name, "Original-Rcpt-To") != 0 ||
		    (addr = dsn_address(g->fields[i].value)) == NULL)
			continue;
		if (report_find_rcpt(r, addr) != NULL || (rc = report_add_rcpt(r)) == NULL) {
			free(addr);
			continue;
		}
		rc->recipient = addr;
		rc->feedback_type = report_lower_word(type != NULL ? type : "other");
		added++;
	}
	r->format = FORMAT_ARF;
	if (added == 0 && r->nrcpt == 0) {
		/* Redacted reports name no recipient; the caller may find one later. */
		struct report_rcpt *rc = report_add_rcpt(r);

		rc->feedback_type = report_lower_word(type != NULL ? type : "other");
	}
	dsn_free(&d);
	return added;
}

/* report_add_returned_headers - note what the returned headers identify */
void
report_add_returned_headers(struct report *r, const char *text, size_t len)
{
	struct dsn *d = dsn_parse(text, len);
	const char *v;

	if (d->ngroups > 0) {
		const struct dsn_group *g = &d->groups[0];

		if (r->orig_message_id == NULL && (v = dsn_get(g, "Message-ID")) != NULL) {
			size_t n;

			while (*v == ' ' || *v == '<')
				v++;
			n = strcspn(v, ">");
			if (n > 0)
				r->orig_message_id = xstrndup(v, n);
		}
		report_take(&r->orig_token, g, "X-Rebound-Token", 0);
		report_take(&r->orig_to, g, "To", 0);
		if (r->orig_from == NULL && (v = dsn_get(g, "From")) != NULL)
			r->orig_from = dsn_address(v);
		if (r->orig_return_path == NULL && (v = dsn_get(g, "Return-Path")) != NULL)
			r->orig_return_path = dsn_address(v);
		if (r->orig_rcpt == NULL && (v = dsn_get(g, "X-HmXmrOriginalRecipient")) != NULL)
			r->orig_rcpt = dsn_address(v);
	}
	dsn_free(&d);
}
