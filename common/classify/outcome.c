/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outcome - the outcome of each recipient of a report.
 *
 * The kind comes from the report type and the DSN Action: a delay notice
 * is never a failure; a failure with a 4.x.x status, or one whose reason
 * says the retries ran out, is an expiry; any other failure an
 * asynchronous bounce, unless the caller knows that our own Postfix wrote
 * the report (outcome_mark_local), which makes it a synchronous
 * rejection.  The reason comes from the rules, then the status code, then a
 * chain of fallbacks (see outcome.h).  Rule ids of the fallbacks start
 * with "builtin." so that they are told apart from rule-file ids.
 */
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/caps.h"
#include "classify/outcome.h"

/* classify_status_class - '2', '4', '5' or 0 from status or reply code */
static char
classify_status_class(const struct report_rcpt *rc)
{
	if (rc->status[0] != '\0')
		return rc->status[0];
	if (rc->reply_code >= 200 && rc->reply_code < 600)
		return (char)('0' + rc->reply_code / 100);
	return 0;
}

/* classify_kind - what happened to the recipient */
static enum report_kind
classify_kind(const struct report *r, const struct report_rcpt *rc, char cls)
{
	const char *action = rc->action != NULL ? rc->action : "";

	if (r->format == FORMAT_ARF)
		return KIND_COMPLAINT;
	if (r->format == FORMAT_AUTOREPLY || r->format == FORMAT_CHALLENGE)
		return KIND_AUTO_REPLY;
	if (strcmp(action, "delayed") == 0)
		return KIND_DELAYED;
	if (strcmp(action, "delivered") == 0 || strcmp(action, "relayed") == 0 ||
	    strcmp(action, "expanded") == 0 || (action[0] == '\0' && cls == '2'))
		return KIND_DELIVERED;
	if (strcmp(action, "expired") == 0 || cls == '4')
		return KIND_EXPIRED;
	if (cls == '5' || strncmp(action, "fail", 4) == 0)
		return KIND_BOUNCED;
	return KIND_UNKNOWN;
}

/* classify_provider - the provider of the receiving side, or NULL */
static const char *
classify_provider(const struct report_rcpt *rc, const struct rules *rules)
{
	const char *p = rules_provider_of(rules, rc->remote_mta);
	const char *at;

	if (p == NULL && rc->recipient != NULL && (at = strrchr(rc->recipient, '@')) != NULL)
		p = rules_provider_of(rules, at + 1);
	return p;
}

/* classify_reporter - the provider that wrote the report, or NULL */
static const char *
classify_reporter(const struct report *r, const struct rules *rules)
{
	const char *p = rules_provider_of(rules, r->reporting_mta);
	const char *at;

	if (p == NULL && r->from != NULL && (at = strrchr(r->from, '@')) != NULL)
		p = rules_provider_of(rules, at + 1);
	return p;
}

/*
 * classify_fallback - the reason when no rule and no specific code
 * decides; *why_r says on what evidence
 */
static enum reason
classify_fallback(const struct report_rcpt *rc, enum reason by_status, const char **rule,
		  const char **why_r)
{
	const char *type = rc->diagnostic_type != NULL ? rc->diagnostic_type : "";
	const char *action = rc->action != NULL ? rc->action : "";
	int code = rc->reply_code;

	if (by_status != REASON_UNDEFINED) {
		*rule = "builtin.status";
		*why_r = "the general meaning of the status code (RFC 3463)";
		return by_status;
	}
	if (strcmp(type, "x-unix") == 0) {
		*rule = "builtin.mailer";
		*why_r = "a local mailer's exit status (Diagnostic-Code: X-Unix)";
		return REASON_MAILERERROR;
	}
	/* 500-507: the remote did not understand what it was sent. */
	if ((code >= 500 && code <= 507) || (code >= 400 && code <= 407)) {
		*rule = "builtin.syntax";
		*why_r = "a reply code of a command the remote did not understand (RFC 5321)";
		return REASON_SYNTAXERROR;
	}
	if (strcmp(action, "delayed") == 0 || strcmp(action, "expired") == 0) {
		*rule = "builtin.delayed";
		*why_r = "the DSN Action says the message is still delayed";
		return REASON_EXPIRED;
	}
	if (rc->command == CMD_HELO) {
		*rule = "builtin.greeting";
		*why_r = "the remote refused the greeting (HELO or EHLO)";
		return REASON_BLOCKED;
	}
	if (rc->diagnostic != NULL && rc->diagnostic[0] != '\0') {
		*rule = "builtin.onhold";
		*why_r = "no rule understood the diagnostic";
		return REASON_ONHOLD;
	}
	*rule = "builtin.undefined";
	*why_r = "the report gives no diagnostic";
	return REASON_UNDEFINED;
}

/*
 * classify_input - what recipient rc offers the rules.  The rules read
 * the diagnostic together with what the human-readable part says about
 * the recipient, when it says more; diag holds that text.
 */
static void
classify_input(const struct report *r, const struct report_rcpt *rc,
	       const struct outcome_opts *opts, struct buf *diag, struct rule_input *in,
	       enum reason *by_status_r, bool *generic_r)
{
	*generic_r = true;
	*by_status_r = rc->status[0] != '\0' ? status_reason(rc->status, generic_r)
					     : REASON_UNDEFINED;
	*in = (struct rule_input){
		.diagnostic = rc->diagnostic,
		.reporter = classify_reporter(r, opts->rules),
		.text = r->text,
		.text_len = r->text_len,
		.subject = r->subject,
		.status = rc->status,
		.status_reason = rc->status[0] != '\0' ? reason_name(*by_status_r) : NULL,
		.reply_code = rc->reply_code,
		.command = rc->command,
		.provider = classify_provider(rc, opts->rules),
		.diag_type = rc->diagnostic_type,
		.action = rc->action,
	};
	if (rc->diagnostic != NULL && rc->text_diag != NULL &&
	    strstr(rc->diagnostic, rc->text_diag) == NULL) {
		buf_reset(diag);
		buf_puts(diag, rc->diagnostic);
		buf_puts(diag, " | ");
		buf_append_partial(diag, rc->text_diag, strlen(rc->text_diag));
		in->diagnostic = buf_str(diag);
	}
}

/*
 * classify_reason - set reason, rule and hardness override of a failure;
 * with fn, tell it every step (outcome_explain())
 */
static int
classify_reason(const struct report *r, struct report_rcpt *rc, const struct outcome_opts *opts,
		struct buf *diag, rules_explain_fn *fn, void *ctx)
{
	struct rule_input in;
	struct rule_result res;
	bool generic;
	enum reason by_status;
	const char *why = NULL;

	classify_input(r, rc, opts, diag, &in, &by_status, &generic);
	if (opts->rules != NULL && rules_explain(opts->rules, &in, &res, fn, ctx)) {
		rc->reason = res.reason;
		rc->rule = res.id;
		return res.hard;
	}
	if (!generic) {
		rc->reason = by_status;
		rc->rule = "builtin.rfc3463";
		why = "the status code's meaning in RFC 3463";
	} else {
		rc->reason = classify_fallback(rc, by_status, &rc->rule, &why);
	}
	if (fn != NULL) {
		struct rule_step step = { .id = rc->rule, .file = "", .reason = rc->reason,
					  .outcome = RULE_DECIDED, .detail = why };

		fn(ctx, &step);
	}
	return -1;
}

/* classify_rcpt - fill the outcome fields of one recipient */
static void
classify_rcpt(const struct report *r, struct report_rcpt *rc, const struct outcome_opts *opts,
	      struct buf *diag)
{
	char cls = classify_status_class(rc);
	int hard;

	rc->kind = classify_kind(r, rc, cls);
	rc->sync = false;
	rc->hard = false;
	switch (rc->kind) {
	case KIND_COMPLAINT:
		rc->reason = REASON_FEEDBACK;
		rc->rule = "builtin.arf";
		return;
	case KIND_AUTO_REPLY:
		rc->reason = REASON_VACATION;
		rc->rule = r->format == FORMAT_CHALLENGE ? "builtin.challenge" : "builtin.autoreply";
		return;
	case KIND_DELIVERED:
		rc->reason = REASON_DELIVERED;
		rc->rule = "builtin.delivered";
		return;
	default:
		break;
	}
	hard = classify_reason(r, rc, opts, diag, NULL, NULL);
	/* Text that says the retries ran out makes a failure an expiry. */
	if (rc->reason == REASON_EXPIRED && (rc->kind == KIND_BOUNCED || rc->kind == KIND_UNKNOWN))
		rc->kind = KIND_EXPIRED;
	if (!kind_is_failure(rc->kind))
		return;
	rc->hard = hard >= 0 ? hard == 1
			     : reason_is_hard(rc->reason, rc->status[0] ? rc->status : NULL);
}

/* outcome_decide - classify every recipient of a report */
void
outcome_decide(struct report *r, const struct outcome_opts *opts)
{
	struct buf *diag = buf_create(LIMIT_DIAGNOSTIC_LEN * 2 + 4);

	for (size_t i = 0; i < r->nrcpt; i++)
		classify_rcpt(r, &r->rcpt[i], opts, diag);
	buf_free(&diag);
}

/* outcome_explain - tell fn each step that decided recipient i's reason */
void
outcome_explain(const struct report *r, size_t i, const struct outcome_opts *opts,
		 rules_explain_fn *fn, void *ctx)
{
	struct report_rcpt copy;
	struct buf *diag;
	struct rule_step step = { .file = "", .outcome = RULE_DECIDED };

	if (i >= r->nrcpt)
		return;
	copy = r->rcpt[i];
	step.id = copy.rule;
	step.reason = copy.reason;
	switch (copy.kind) {
	case KIND_COMPLAINT:
		step.detail = "the report is a feedback report (RFC 5965)";
		fn(ctx, &step);
		return;
	case KIND_AUTO_REPLY:
		step.detail = r->format == FORMAT_CHALLENGE ?
				      "the message asks the sender to prove a human sent it" :
				      "the message is an automatic reply (RFC 3834)";
		fn(ctx, &step);
		return;
	case KIND_DELIVERED:
		step.detail = "the report says the message was delivered";
		fn(ctx, &step);
		return;
	default:
		break;
	}
	/* The same decision again, on a copy, with the witness. */
	diag = buf_create(LIMIT_DIAGNOSTIC_LEN * 2 + 4);
	(void)classify_reason(r, &copy, opts, diag, fn, ctx);
	buf_free(&diag);
}

/* outcome_mark_local - failures in a report our own Postfix wrote were synchronous */
void
outcome_mark_local(struct report *r)
{
	for (size_t i = 0; i < r->nrcpt; i++) {
		if (r->rcpt[i].kind == KIND_BOUNCED) {
			r->rcpt[i].kind = KIND_REJECTED;
			r->rcpt[i].sync = true;
		}
	}
}
