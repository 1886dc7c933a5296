/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_KNOWLEDGE_H
#define REBOUND_KNOWLEDGE_H

#include "util/buf.h"
#include "mail/status.h"
#include "mail/taxonomy.h"

/*
 * knowledge - the tables of tests/knowledge (format in its README): each
 * entry is a documented reply or notice with its meaning.  A table is
 * read entry by entry; every line that breaks the format or contradicts
 * itself is an error with its line number, and reading goes on after it.
 * For each entry the table builds the message a sender gets back: an RFC
 * 3464 report from a Postfix-like MTA, or the notice itself.
 */

/* The address every entry's message says failed. */
#define KN_RCPT "user@example.com"

/* How the entry's text reached the sender. */
enum kn_form {
	KN_REPLY,		/* a remote reply, no command named */
	KN_REPLY_CONN,		/* ... refused at the greeting */
	KN_REPLY_HELO,
	KN_REPLY_MAIL,
	KN_REPLY_RCPT,
	KN_REPLY_DATA,
	KN_LOCAL,		/* the reporting MTA's own diagnostic */
	KN_NOTICE,		/* a whole free-text notice */
	KN_FORM_COUNT
};

enum kn_decision { KN_HARD, KN_SOFT, KN_DELAY, KN_IGNORE, KN_DECISION_COUNT };

extern const char *const kn_decision_names[KN_DECISION_COUNT];

struct kn_entry {
	unsigned line;
	enum kn_form form;
	int code;			/* 0 for "-" */
	char status[STATUS_SIZE];	/* "" for "-" */
	enum reason reason;
	enum kn_decision decision;
	const char *text;		/* unescaped: "\n" separates lines */
};

struct kn_table;

/* kn_table_create - a table over text, which must outlive it (it is cut up) */
struct kn_table *kn_table_create(const char *name, char *text);

/* kn_table_free - release *tp and set it to NULL; accepts NULL */
void kn_table_free(struct kn_table **tp);

/*
 * kn_table_next - 1 and *e_r: the next entry (valid until the next call);
 * 0: the end; -1 and *error_r: the line kn_table_line() names is wrong,
 * call again for the lines after it.
 */
int kn_table_next(struct kn_table *t, const struct kn_entry **e_r, const char **error_r);

/* kn_table_line - the number of the line last read */
unsigned kn_table_line(const struct kn_table *t);

/* kn_table_build - the message of the entry last returned, into m */
void kn_table_build(const struct kn_table *t, struct buf *m);

#endif
