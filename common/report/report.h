/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_REPORT_H
#define REBOUND_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/smtp_cmd.h"
#include "mail/status.h"
#include "mail/taxonomy.h"

/*
 * report - what one bounce says, as plain data.
 *
 * The parser (parse.h) fills it from the raw message (MIME structure,
 * RFC 3464 fields, ARF fields, free text); the classifier then sets the
 * outcome fields of each recipient.  Every string is owned by the report
 * and freed by report_free().
 */
enum report_format {
	FORMAT_NONE,		/* nothing recognised: store raw as unknown */
	FORMAT_DSN,		/* RFC 3464 / RFC 6533 delivery status */
	FORMAT_ARF,		/* RFC 5965 feedback report */
	FORMAT_TEXT,		/* a free-text NDR of some MTA */
	FORMAT_AUTOREPLY,	/* RFC 3834 or de-facto auto-reply */
	FORMAT_CHALLENGE,	/* a challenge-response request */
	FORMAT_JSON,		/* an ESP notification in JSON (Amazon SES) */
};

/* Header evidence collected by the parser, a bit set. */
enum report_hdr_flags {
	HDR_AUTO_REPLIED = (1 << 0),	/* Auto-Submitted: auto-replied */
	HDR_AUTO_GENERATED = (1 << 1),	/* Auto-Submitted: auto-generated, auto-notified */
	HDR_AUTORESPONDER = (1 << 2),	/* X-Autoreply, X-Autorespond, Precedence: auto_reply... */
	HDR_BULK = (1 << 3),		/* Precedence: bulk, junk or list */
	HDR_REPORT = (1 << 4),		/* Content-Type: multipart/report */
	HDR_LIST = (1 << 5),		/* List-Id or List-Unsubscribe */
	HDR_MDN = (1 << 6),		/* report-type=disposition-notification */
};

struct report_rcpt {
	/* What the report says. */
	char *recipient;		/* bare address, lower case */
	char *original_recipient;
	char *action;			/* lower case: failed, delayed, ... */
	char status[STATUS_SIZE];	/* "5.1.1" or "" */
	int reply_code;			/* 550, or 0 */
	char *diagnostic_type;		/* "smtp", "x-postfix", ... */
	char *diagnostic;		/* diagnostic text, unfolded */
	char *text_diag;		/* what the human-readable part says of it */
	char *remote_mta;
	char *feedback_type;		/* ARF Feedback-Type, lower case */
	enum smtp_cmd command;		/* what the failing reply answered */

	/* What the classifier concluded (classify/outcome.h). */
	enum report_kind kind;
	bool sync;
	enum reason reason;
	bool hard;
	/*
	 * Id of the deciding rule: a static string, or one owned by the
	 * classifier, which must outlive the report.
	 */
	const char *rule;
};

struct report {
	enum report_format format;
	const char *engine;		/* which format family matched (static), or NULL */

	/* Per-message fields. */
	char *reporting_mta;
	char *orig_queue_id;		/* X-Postfix-Queue-ID */
	char *envid;			/* Original-Envelope-Id */
	char *postfix_sender;		/* X-Postfix-Sender */

	/* Headers of the bounce itself. */
	char *message_id;
	char *subject;			/* decoded to UTF-8 */
	char *from;
	char *auto_submitted;
	char *to;			/* first address of To, lower case */
	char *failed_rcpts;		/* X-Failed-Recipients, unfolded */
	unsigned hdr_flags;		/* enum report_hdr_flags */

	/* Headers of the returned original message, when it came back. */
	char *orig_message_id;
	char *orig_token;		/* X-Rebound-Token */
	char *orig_to;
	char *orig_from;		/* first address of the returned From */
	char *orig_return_path;		/* the returned message's Return-Path */
	char *orig_rcpt;		/* a recipient the returned headers name outright */

	/* Human-readable text, UTF-8, capped at LIMIT_TEXT_SCAN. */
	char *text;
	size_t text_len;

	bool truncated;			/* a cap cut something off */
	bool rcpt_overflow;		/* it names more than LIMIT_RECIPIENTS recipients */

	size_t nrcpt;
	struct report_rcpt *rcpt;
};

/* report_create - an empty report */
struct report *report_create(void);

/* report_free - release *rp and set it to NULL; accepts NULL */
void report_free(struct report **rp);

/*
 * report_add_rcpt - append an empty recipient; NULL beyond LIMIT_RECIPIENTS,
 * and rcpt_overflow set
 */
struct report_rcpt *report_add_rcpt(struct report *r);

/* report_clear_rcpts - drop every recipient (rcpt_overflow stays as it was) */
void report_clear_rcpts(struct report *r);

/* report_find_rcpt - the recipient entry for an address, or NULL */
struct report_rcpt *report_find_rcpt(struct report *r, const char *address);

/* report_set - replace *field with a copy of value (NULL clears it) */
void report_set(char **field, const char *value);

#endif
