/* SPDX-License-Identifier: BSD-2-Clause */
/* report - the parsed-bounce data model. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "report/report.h"
#include "util/xalloc.h"

struct report *
report_create(void)
{
	return xcalloc(1, sizeof(struct report));
}

static void
report_rcpt_release(struct report_rcpt *rc)
{
	free(rc->recipient);
	free(rc->original_recipient);
	free(rc->action);
	free(rc->diagnostic_type);
	free(rc->diagnostic);
	free(rc->text_diag);
	free(rc->remote_mta);
	free(rc->feedback_type);
}

void
report_clear_rcpts(struct report *r)
{
	for (size_t i = 0; i < r->nrcpt; i++)
		report_rcpt_release(&r->rcpt[i]);
	free(r->rcpt);
	r->rcpt = NULL;
	r->nrcpt = 0;
}

void
report_free(struct report **rp)
{
	struct report *r = *rp;

	if (r == NULL)
		return;
	report_clear_rcpts(r);
	free(r->reporting_mta);
	free(r->orig_queue_id);
	free(r->envid);
	free(r->postfix_sender);
	free(r->message_id);
	free(r->subject);
	free(r->from);
	free(r->auto_submitted);
	free(r->to);
	free(r->failed_rcpts);
	free(r->orig_message_id);
	free(r->orig_token);
	free(r->orig_to);
	free(r->orig_from);
	free(r->orig_return_path);
	free(r->orig_rcpt);
	free(r->text);
	free(r);
	*rp = NULL;
}

struct report_rcpt *
report_add_rcpt(struct report *r)
{
	struct report_rcpt *rc;

	if (r->nrcpt >= LIMIT_RECIPIENTS) {
		r->truncated = true;
		r->rcpt_overflow = true;
		return NULL;
	}
	r->rcpt = xrealloc(r->rcpt, (r->nrcpt + 1) * sizeof(*r->rcpt));
	rc = &r->rcpt[r->nrcpt++];
	memset(rc, 0, sizeof(*rc));
	return rc;
}

struct report_rcpt *
report_find_rcpt(struct report *r, const char *address)
{
	for (size_t i = 0; i < r->nrcpt; i++)
		if (r->rcpt[i].recipient != NULL && strcasecmp(r->rcpt[i].recipient, address) == 0)
			return &r->rcpt[i];
	return NULL;
}

void
report_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}
