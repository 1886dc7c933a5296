/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * knowledge - the tables of documented replies (tests/knowledge/ *.tbl,
 * format in tests/knowledge/README): reading and validating them, and
 * building for each entry the message a sender would get back.  Used by
 * test-knowledge only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/caps.h"
#include "knowledge.h"
#include "mail/status.h"
#include "util/xalloc.h"

/* The sender's return path and our reporting MTA. */
#define SENDER "bounces@example.org"
#define OUR_MTA "mta.example.org"
/* The remote MX when an entry names none (MTA defaults). */
#define ANY_MX "mx.example.net"
#define MAX_PART (64 * 1024)

static const struct {
	const char *name;
	const char *postfix;	/* how Postfix's text part names the command */
} forms[KN_FORM_COUNT] = {
	[KN_REPLY] = { "reply", NULL },
	[KN_REPLY_CONN] = { "reply-conn", NULL },
	[KN_REPLY_HELO] = { "reply-helo", "EHLO" },
	[KN_REPLY_MAIL] = { "reply-mail", "MAIL FROM" },
	[KN_REPLY_RCPT] = { "reply-rcpt", "RCPT TO" },
	[KN_REPLY_DATA] = { "reply-data", "end of DATA" },
	[KN_LOCAL] = { "local", NULL },
	[KN_NOTICE] = { "notice", NULL },
};

const char *const kn_decision_names[KN_DECISION_COUNT] = { "hard", "soft", "delay", "ignore" };

/* A table being read: the directives in force and the current entry. */
struct kn_table {
	const char *name;
	char *next;		/* the rest of the text */
	unsigned line;
	char *source;
	char *mx;		/* NULL for "-" */
	char *subject;
	char *from;
	struct buf *headers;	/* extra header lines of notices */
	bool delayed;		/* @action delayed */
	bool have_mx;
	struct kn_entry entry;
	struct buf *text;	/* the entry's text, unescaped */
	struct buf *reply;	/* the reply as the report quotes it */
	struct buf *tmp;
};

/* split_tabs - cut line at tabs into at most max fields; the field count */
static size_t
split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;

	fields[n++] = line;
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\t') {
			*p = '\0';
			if (n == max)
				return max + 1;
			fields[n++] = p + 1;
		}
	return n;
}

/* unescape - entry text into b: "\n" is a line break, "\\" a backslash */
static const char *
unescape(struct buf *b, const char *s)
{
	buf_reset(b);
	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			buf_putc(b, *s);
			continue;
		}
		if (s[1] == 'n')
			buf_putc(b, '\n');
		else if (s[1] == '\\')
			buf_putc(b, '\\');
		else
			return "unknown escape in text (only \\n and \\\\)";
		s++;
	}
	return buf_len(b) == 0 ? "empty text" : NULL;
}

/* parse_code - a reply code 2xx-5xx, or "-" for none */
static bool
parse_code(const char *s, int *code_r)
{
	*code_r = 0;
	if (strcmp(s, "-") == 0)
		return true;
	if (strlen(s) != 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9')
		return false;
	*code_r = atoi(s);
	return true;
}

/* temporary - whether the entry's code or status says the failure is temporary */
static bool
temporary(const struct kn_entry *e)
{
	return e->status[0] == '4' || (e->status[0] == '\0' && e->code / 100 == 4);
}

/*
 * check_meaning - reject entries whose columns contradict each other or
 * the project's contract: hard only for a permanent failure of the
 * address, ignore only for what is not a failure, a delay only for a
 * notice or a report that says delivery is still being tried.
 */
static const char *
check_meaning(const struct kn_table *st, const struct kn_entry *e)
{
	bool notice = e->form == KN_NOTICE;

	if (e->form == KN_LOCAL && (e->code != 0 || e->status[0] == '\0' ||
				      strchr(e->text, '\n') != NULL))
		return "a local diagnostic is one line with a status and no reply code";
	if (!notice && e->form != KN_LOCAL && e->code == 0)
		return "a reply needs a reply code";
	if (e->decision == KN_HARD && (temporary(e) || !reason_is_hard(e->reason, "5.0.0")))
		return "hard needs a permanent code and an address-level reason";
	if (e->decision == KN_SOFT && temporary(e) == false &&
	    reason_is_hard(e->reason, "5.0.0"))
		return "a permanent failure of the address is hard, not soft";
	if (e->decision == KN_IGNORE && e->reason != REASON_VACATION &&
	    e->reason != REASON_DELIVERED)
		return "ignore is for auto-replies (vacation) and successes (delivered)";
	if (e->decision != KN_IGNORE &&
	    (e->reason == REASON_VACATION || e->reason == REASON_DELIVERED))
		return "vacation and delivered are not failures: decision ignore";
	if (!notice && st->delayed != (e->decision == KN_DELAY))
		return "a reply's decision is delay exactly under @action delayed";
	if (notice && (st->subject == NULL || st->from == NULL))
		return "a notice needs @subject and @from";
	if (notice && strstr(e->text, "<rcpt>") == NULL &&
	    strstr(st->from, "<rcpt>") == NULL)
		return "a notice must name <rcpt> in its text or @from";
	return NULL;
}

/* parse_entry - the six columns of an entry line into e */
static const char *
parse_entry(struct kn_table *st, char *line, struct kn_entry *e)
{
	char *f[6];
	const char *error;
	int i, reason;

	if (split_tabs(line, f, 6) != 6)
		return "want 6 tab-separated columns: form code status reason decision text";
	if (st->source == NULL)
		return "entry before any @source";
	if (!st->have_mx)
		return "entry before any @mx";
	for (i = 0; i < KN_FORM_COUNT && strcmp(forms[i].name, f[0]) != 0; i++)
		;
	if (i == KN_FORM_COUNT)
		return "unknown form";
	e->form = (enum kn_form)i;
	if (!parse_code(f[1], &e->code))
		return "bad reply code";
	if (strcmp(f[2], "-") == 0)
		e->status[0] = '\0';
	else if (strlen(f[2]) < STATUS_SIZE && status_valid(f[2]))
		strcpy(e->status, f[2]);
	else
		return "bad enhanced status code";
	if ((reason = reason_from_name(f[3])) < 0 || reason == REASON_UNDEFINED ||
	    reason == REASON_ONHOLD || reason == REASON_FEEDBACK)
		return "unknown reason name";
	e->reason = (enum reason)reason;
	for (i = 0; i < KN_DECISION_COUNT && strcmp(kn_decision_names[i], f[4]) != 0; i++)
		;
	if (i == KN_DECISION_COUNT)
		return "unknown decision (hard, soft, delay, ignore)";
	e->decision = (enum kn_decision)i;
	/* A notice may be indented as its template is; a reply is not. */
	if ((e->form != KN_NOTICE && f[5][0] == ' ') || f[5][strlen(f[5]) - 1] == ' ')
		return "stray spaces around the text";
	if ((error = unescape(st->text, f[5])) != NULL)
		return error;
	e->text = buf_str(st->text);
	return check_meaning(st, e);
}

/* set_string - replace *field with a copy of value */
static void
set_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* parse_directive - one "@name value" line */
static const char *
parse_directive(struct kn_table *st, const char *line)
{
	const char *sp = strchr(line, ' ');
	const char *value = sp != NULL ? sp + 1 : "";
	size_t n = sp != NULL ? (size_t)(sp - line) : strlen(line);

	if (*value == '\0' || strchr(value, '\t') != NULL)
		return "a directive takes one value after a space";
	if (n == 7 && strncmp(line, "@source", n) == 0) {
		if (strstr(value, "://") == NULL && strncmp(value, "RFC ", 4) != 0)
			return "@source wants a URL or \"RFC n\"";
		set_string(&st->source, value);
	} else if (n == 3 && strncmp(line, "@mx", n) == 0) {
		free(st->mx);
		st->mx = strcmp(value, "-") == 0 ? NULL : xstrdup(value);
		st->have_mx = true;
	} else if (n == 8 && strncmp(line, "@subject", n) == 0) {
		set_string(&st->subject, value);
	} else if (n == 5 && strncmp(line, "@from", n) == 0) {
		set_string(&st->from, value);
	} else if (n == 7 && strncmp(line, "@header", n) == 0) {
		if (strcmp(value, "-") == 0)
			buf_reset(st->headers);
		else if (strchr(value, ':') == NULL)
			return "@header wants \"Name: value\" or -";
		else
			buf_printf(st->headers, "%s\n", value);
	} else if (n == 7 && strncmp(line, "@action", n) == 0) {
		if (strcmp(value, "failed") != 0 && strcmp(value, "delayed") != 0)
			return "@action is failed or delayed";
		st->delayed = strcmp(value, "delayed") == 0;
	} else {
		return "unknown directive";
	}
	return NULL;
}

/* put_rcpt - s into m with every "<rcpt>" replaced by the address */
static void
put_rcpt(struct buf *m, const char *s)
{
	const char *p;

	while ((p = strstr(s, "<rcpt>")) != NULL) {
		buf_append(m, s, (size_t)(p - s));
		buf_puts(m, KN_RCPT);
		s = p + 6;
	}
	buf_puts(m, s);
}

/*
 * put_wrapped - s at column col, broken at spaces before column 76 and
 * continued with four spaces, as Postfix wraps its notices and folds the
 * fields of its delivery reports.
 */
static void
put_wrapped(struct buf *m, const char *s, size_t col)
{
	while (*s != '\0') {
		size_t len = strlen(s), cut = len;

		if (col + len > 76) {
			size_t room = col < 60 ? 76 - col : 16;

			for (cut = room; cut > 0 && s[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = strcspn(s + 1, " ") + 1;
		}
		buf_append(m, s, cut);
		s += cut;
		while (*s == ' ')
			s++;
		if (*s != '\0')
			buf_puts(m, "\n    ");
		col = 4;
	}
	buf_putc(m, '\n');
}

/*
 * reply_text - the reply as Postfix prints it, into out: a multi-line
 * reply keeps its code and status on every line, the lines joined by
 * spaces; "<rcpt>" becomes the address.
 */
static void
reply_text(struct buf *out, struct buf *tmp, const struct kn_entry *e)
{
	const char *s = e->text, *nl;

	buf_reset(tmp);
	while (e->form != KN_LOCAL) {
		nl = strchr(s, '\n');
		buf_printf(tmp, "%d%c", e->code, nl != NULL ? '-' : ' ');
		if (e->status[0] != '\0')
			buf_printf(tmp, "%s ", e->status);
		if (nl == NULL)
			break;
		buf_append(tmp, s, (size_t)(nl - s));
		buf_putc(tmp, ' ');
		s = nl + 1;
	}
	buf_puts(tmp, s);
	buf_reset(out);
	put_rcpt(out, buf_str(tmp));
}

/* put_headers - the header block of every message the runner builds */
static void
put_headers(struct buf *m, unsigned serial, const char *from, const char *subject)
{
	buf_puts(m, "From: ");
	put_rcpt(m, from);
	buf_printf(m, "\nTo: " SENDER "\nSubject: ");
	put_rcpt(m, subject);
	buf_printf(m, "\nDate: Mon, 7 Dec 2026 09:00:00 +0000\n"
		      "Message-ID: <%u.knowledge@" OUR_MTA ">\nMIME-Version: 1.0\n",
		   serial);
}

/* The opening of Postfix's default failure and delay notices (postconf -t). */
static const char failure_template[] =
	"I'm sorry to have to inform you that your message could not\n"
	"be delivered to one or more recipients. It's attached below.\n\n"
	"For further assistance, please send mail to postmaster.\n\n";
static const char delay_template[] =
	"####################################################################\n"
	"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
	"####################################################################\n\n"
	"Your message could not be delivered for more than 4 hour(s).\n"
	"It will be retried until it is 5 day(s) old.\n\n"
	"For further assistance, please send mail to postmaster.\n\n";

/* put_notification - the human-readable part of a Postfix report */
static void
put_notification(struct buf *m, const struct kn_table *st, const struct kn_entry *e)
{
	struct buf *line = st->tmp;

	buf_puts(m, "\n--KB\nContent-Description: Notification\n"
		    "Content-Type: text/plain; charset=utf-8\n"
		    "Content-Transfer-Encoding: 8bit\n\n"
		    "This is the mail system at host " OUR_MTA ".\n\n");
	buf_puts(m, st->delayed ? delay_template : failure_template);
	buf_reset(line);
	if (e->form == KN_LOCAL)
		buf_printf(line, "<" KN_RCPT ">: %s", buf_str(st->reply));
	else
		buf_printf(line, "<" KN_RCPT ">: host %s[192.0.2.1] %s %s", st->mx ? st->mx : ANY_MX,
			   e->form == KN_REPLY_CONN ? "refused to talk to me:" : "said:",
			   buf_str(st->reply));
	if (forms[e->form].postfix != NULL)
		buf_printf(line, " (in reply to %s command)", forms[e->form].postfix);
	put_wrapped(m, buf_str(line), 0);
}

/* build_report - the RFC 3464 report of a Postfix-like MTA for a reply */
static void
build_report(struct buf *m, const struct kn_table *st, const struct kn_entry *e)
{
	bool utf8 = false;
	char status[STATUS_SIZE];

	for (const char *p = e->text; *p != '\0'; p++)
		utf8 |= (*p & 0x80) != 0;
	if (e->status[0] != '\0')
		strcpy(status, e->status);
	else
		status_from_reply(e->code, status);
	reply_text(st->reply, st->tmp, e);
	put_headers(m, st->line, "Mail Delivery System <MAILER-DAEMON@" OUR_MTA ">",
		    st->delayed ? "Delayed Mail (still being retried)"
				: "Undelivered Mail Returned to Sender");
	buf_puts(m, "Auto-Submitted: auto-replied\nContent-Type: multipart/report; "
		    "report-type=delivery-status;\n\tboundary=\"KB\"\n");
	put_notification(m, st, e);
	buf_printf(m, "\n--KB\nContent-Description: Delivery report\n"
		      "Content-Type: message/%sdelivery-status\n\n"
		      "Reporting-MTA: dns; " OUR_MTA "\nX-Postfix-Queue-ID: 4KN%u\n"
		      "Arrival-Date: Mon, 7 Dec 2026 08:59:58 +0000\n\n"
		      "Final-Recipient: rfc822; " KN_RCPT "\nOriginal-Recipient: rfc822;" KN_RCPT "\n"
		      "Action: %s\nStatus: %s\n",
		   utf8 ? "global-" : "", st->line, st->delayed ? "delayed" : "failed", status);
	if (e->form != KN_LOCAL)
		buf_printf(m, "Remote-MTA: dns; %s\n", st->mx ? st->mx : ANY_MX);
	buf_reset(st->tmp);
	buf_printf(st->tmp, "Diagnostic-Code: %s; %s", e->form == KN_LOCAL ? "X-Postfix" : "smtp",
		   buf_str(st->reply));
	put_wrapped(m, buf_str(st->tmp), 0);
	if (st->delayed)
		buf_puts(m, "Will-Retry-Until: Sat, 12 Dec 2026 08:59:58 +0000\n");
	buf_puts(m, "\n--KB\nContent-Description: Undelivered Message Headers\n"
		    "Content-Type: text/rfc822-headers\n\nFrom: Sender <sender@example.org>\n"
		    "To: " KN_RCPT "\nSubject: Our December newsletter\n"
		    "Message-ID: <original.1@example.org>\n\n--KB--\n");
}

/* build_notice - a free-text notice with the entry's text as its body */
static void
build_notice(struct buf *m, const struct kn_table *st, const struct kn_entry *e)
{
	put_headers(m, st->line, st->from, st->subject);
	put_rcpt(m, buf_str(st->headers));
	buf_puts(m, "Content-Type: text/plain; charset=utf-8\n"
		    "Content-Transfer-Encoding: 8bit\n\n");
	put_rcpt(m, e->text);
	buf_putc(m, '\n');
}

/* kn_table_create - a table over text, which it modifies in place */
struct kn_table *
kn_table_create(const char *name, char *text)
{
	struct kn_table *t = xcalloc(1, sizeof(*t));

	t->name = name;
	t->next = text;
	t->headers = buf_create(4096);
	t->text = buf_create(LIMIT_RULE_LINE);
	t->reply = buf_create(MAX_PART);
	t->tmp = buf_create(MAX_PART);
	return t;
}

/* kn_table_free - release *tp and set it to NULL; accepts NULL */
void
kn_table_free(struct kn_table **tp)
{
	struct kn_table *t = *tp;

	if (t == NULL)
		return;
	free(t->source);
	free(t->mx);
	free(t->subject);
	free(t->from);
	buf_free(&t->headers);
	buf_free(&t->text);
	buf_free(&t->reply);
	buf_free(&t->tmp);
	free(t);
	*tp = NULL;
}

/* kn_table_next - the next entry, after the directives before it */
int
kn_table_next(struct kn_table *t, const struct kn_entry **e_r, const char **error_r)
{
	while (*t->next != '\0') {
		char *line = t->next, *nl = strchr(line, '\n');
		const char *error;

		if (nl != NULL)
			*nl = '\0';
		t->next = nl != NULL ? nl + 1 : line + strlen(line);
		t->line++;
		if (strchr(line, '\r') != NULL)
			error = "carriage return in line";
		else if (line[0] == '\0' || line[0] == '#')
			error = NULL;
		else if (line[0] == '@')
			error = parse_directive(t, line);
		else if ((error = parse_entry(t, line, &t->entry)) == NULL) {
			t->entry.line = t->line;
			*e_r = &t->entry;
			return 1;
		}
		if (error != NULL) {
			*error_r = error;
			return -1;
		}
	}
	return 0;
}

/* kn_table_line - the line last read */
unsigned
kn_table_line(const struct kn_table *t)
{
	return t->line;
}

/* kn_table_build - the message of the entry last returned, into m */
void
kn_table_build(const struct kn_table *t, struct buf *m)
{
	buf_reset(m);
	if (t->entry.form == KN_NOTICE)
		build_notice(m, t, &t->entry);
	else
		build_report(m, t, &t->entry);
}
