/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ses - Amazon SES notifications sent as e-mail.
 *
 * SES reports bounces, deliveries and complaints as a JSON document in the
 * body, either bare or wrapped in an SNS envelope whose "Message" field is
 * the same document as a string.  A small bounded parser builds a tree of
 * at most LIMIT_JSON_NODES values, LIMIT_JSON_DEPTH deep, and the fields
 * SES defines are read from it.  Anything that is not such a document is
 * left alone.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mail/status.h"
#include "report/dsn.h"
#include "report/ses.h"
#include "util/buf.h"
#include "util/caps.h"
#include "util/xalloc.h"

enum json_type { JSON_OTHER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_node {
	enum json_type type;
	const char *key;	/* raw key in the source, or NULL */
	size_t key_len;
	char *str;		/* decoded string value */
	int child;		/* first member or element, -1 */
	int next;		/* next sibling, -1 */
};

struct json {
	struct json_node *nodes;
	int n;
	const char *p, *end;
	bool failed;
};

static int json_value(struct json *j, int depth);

/* json_ws - skip white space */
static void
json_ws(struct json *j)
{
	while (j->p < j->end && isspace((unsigned char)*j->p))
		j->p++;
}

/* json_new - a new node, or -1 at the cap */
static int
json_new(struct json *j, enum json_type type)
{
	if (j->n >= LIMIT_JSON_NODES) {
		j->failed = true;
		return -1;
	}
	j->nodes = xrealloc(j->nodes, (size_t)(j->n + 1) * sizeof(*j->nodes));
	j->nodes[j->n] = (struct json_node){ .type = type, .child = -1, .next = -1 };
	return j->n++;
}

/* json_string - decode a string at j->p (at the opening quote) */
static char *
json_string(struct json *j)
{
	struct buf *b = buf_create(LIMIT_TEXT_SCAN);

	for (j->p++; j->p < j->end && *j->p != '"'; j->p++) {
		char c = *j->p;

		if (c == '\\' && j->p + 1 < j->end) {
			c = *++j->p;
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
			/* \u escapes do not occur in the fields read here. */
			if (c == 'u' && j->end - j->p > 4) {
				j->p += 4;
				c = '?';
			}
		}
		buf_putc(b, (unsigned char)c);
	}
	if (j->p >= j->end)
		j->failed = true;
	j->p++;
	return buf_detach(&b, NULL);
}

/* json_members - parse the members of an object or elements of an array */
static void
json_members(struct json *j, int self, bool object, int depth)
{
	int last = -1;

	for (j->p++;;) {
		const char *key = NULL;
		size_t key_len = 0;
		int v;

		json_ws(j);
		if (j->p >= j->end || *j->p == (object ? '}' : ']')) {
			j->p++;
			return;
		}
		if (object) {
			if (*j->p != '"' || (key = j->p + 1) >= j->end) {
				j->failed = true;
				return;
			}
			free(json_string(j));
			key_len = (size_t)(j->p - 1 - key);
			json_ws(j);
			if (j->p >= j->end || *j->p++ != ':') {
				j->failed = true;
				return;
			}
		}
		if ((v = json_value(j, depth + 1)) < 0)
			return;
		j->nodes[v].key = key;
		j->nodes[v].key_len = key_len;
		if (last < 0)
			j->nodes[self].child = v;
		else
			j->nodes[last].next = v;
		last = v;
		json_ws(j);
		if (j->p < j->end && *j->p == ',')
			j->p++;
	}
}

/* json_value - parse one value; its node index or -1 */
static int
json_value(struct json *j, int depth)
{
	int self;

	json_ws(j);
	if (j->p >= j->end || depth > LIMIT_JSON_DEPTH || j->failed) {
		j->failed = true;
		return -1;
	}
	if (*j->p == '{' || *j->p == '[') {
		bool object = *j->p == '{';

		if ((self = json_new(j, object ? JSON_OBJECT : JSON_ARRAY)) >= 0)
			json_members(j, self, object, depth);
		return j->failed ? -1 : self;
	}
	if ((self = json_new(j, *j->p == '"' ? JSON_STRING : JSON_OTHER)) < 0)
		return -1;
	if (*j->p == '"') {
		j->nodes[self].str = json_string(j);
		return self;
	}
	while (j->p < j->end && strchr(",}] \t\r\n", *j->p) == NULL)
		j->p++;
	return self;
}

/* json_free - release the nodes of j */
static void
json_free(struct json *j)
{
	for (int i = 0; i < j->n; i++)
		free(j->nodes[i].str);
	free(j->nodes);
	j->nodes = NULL;
	j->n = 0;
}

/* json_get - member key of object node o, or -1 */
static int
json_get(const struct json *j, int o, const char *key)
{
	size_t n = strlen(key);

	if (o < 0 || j->nodes[o].type != JSON_OBJECT)
		return -1;
	for (int c = j->nodes[o].child; c >= 0; c = j->nodes[c].next)
		if (j->nodes[c].key_len == n && memcmp(j->nodes[c].key, key, n) == 0)
			return c;
	return -1;
}

/* json_str - the string value of member key of o, or NULL */
static const char *
json_str(const struct json *j, int o, const char *key)
{
	int c = json_get(j, o, key);

	return c >= 0 && j->nodes[c].type == JSON_STRING ? j->nodes[c].str : NULL;
}

/* json_parse - parse the first object in s[0..len) into j; its root or -1 */
static int
json_parse(struct json *j, const char *s, size_t len)
{
	const char *brace = memchr(s, '{', len);

	if (brace == NULL)
		return -1;
	j->p = brace;
	j->end = s + len;
	j->failed = false;
	return json_value(j, 0);
}

/* json_rcpt - add one recipient with what SES says about it */
static void
json_rcpt(struct report *r, const char *addr, const char *action, const char *status,
	  const char *diag)
{
	struct report_rcpt *rc;
	char *a = addr != NULL ? dsn_address(addr) : NULL;

	if (a == NULL || report_find_rcpt(r, a) != NULL || (rc = report_add_rcpt(r)) == NULL) {
		free(a);
		return;
	}
	rc->recipient = a;
	rc->action = xstrdup(action);
	if (diag != NULL) {
		char *type = NULL;
		const char *text = dsn_typed_value(diag, &type);

		rc->diagnostic_type = type;
		rc->diagnostic = xstrdup(text);
		rc->reply_code = reply_code_find(text, strlen(text));
		(void)status_pick(text, strlen(text), rc->status);
	}
	if (status != NULL && status_valid(status))
		strcpy(rc->status, status);
}

/* json_ses - read the fields of an SES notification rooted at o */
static void
json_ses(struct report *r, const struct json *j, int o, const char *type)
{
	int list, e;

	if (strcmp(type, "Bounce") == 0) {
		list = json_get(j, json_get(j, o, "bounce"), "bouncedRecipients");
		for (e = list >= 0 ? j->nodes[list].child : -1; e >= 0; e = j->nodes[e].next)
			json_rcpt(r, json_str(j, e, "emailAddress"), "failed",
				  json_str(j, e, "status"), json_str(j, e, "diagnosticCode"));
	} else if (strcmp(type, "Delivery") == 0) {
		int d = json_get(j, o, "delivery");
		const char *resp = json_str(j, d, "smtpResponse");

		list = json_get(j, d, "recipients");
		for (e = list >= 0 ? j->nodes[list].child : -1; e >= 0; e = j->nodes[e].next)
			if (j->nodes[e].type == JSON_STRING)
				json_rcpt(r, j->nodes[e].str, "delivered", NULL, resp);
	} else if (strcmp(type, "Complaint") == 0) {
		int c = json_get(j, o, "complaint");
		const char *fbt = json_str(j, c, "complaintFeedbackType");

		list = json_get(j, c, "complainedRecipients");
		for (e = list >= 0 ? j->nodes[list].child : -1; e >= 0; e = j->nodes[e].next) {
			json_rcpt(r, json_str(j, e, "emailAddress"), "", NULL, NULL);
			if (r->nrcpt > 0 && r->rcpt[r->nrcpt - 1].feedback_type == NULL)
				r->rcpt[r->nrcpt - 1].feedback_type = xstrdup(fbt ? fbt : "abuse");
		}
		r->format = FORMAT_ARF;
	}
}

/* ses_parse - read an Amazon SES notification */
size_t
ses_parse(struct report *r, const char *text, size_t len)
{
	struct json j = { 0 }, inner = { 0 };
	const char *type, *msg;
	int root;

	/* A notification is a JSON document: it opens with a brace. */
	while (len > 0 && (*text == ' ' || *text == '\t' || *text == '\n')) {
		text++;
		len--;
	}
	if (len == 0 || *text != '{' || (memmem(text, len, "notificationType", 16) == NULL &&
					  memmem(text, len, "eventType", 9) == NULL))
		return 0;
	if ((root = json_parse(&j, text, len)) < 0)
		goto out;
	type = json_str(&j, root, "notificationType");
	if (type == NULL)
		type = json_str(&j, root, "eventType");
	/* An SNS envelope carries the notification as a string. */
	if (type == NULL && (msg = json_str(&j, root, "Message")) != NULL &&
	    (root = json_parse(&inner, msg, strlen(msg))) >= 0) {
		type = json_str(&inner, root, "notificationType");
		if (type == NULL)
			type = json_str(&inner, root, "eventType");
		if (type != NULL)
			json_ses(r, &inner, root, type);
	} else if (type != NULL) {
		json_ses(r, &j, root, type);
	}
	if (r->nrcpt > 0) {
		if (r->format == FORMAT_NONE)
			r->format = FORMAT_JSON;
		r->engine = "amazonses-json";
	}
out:
	json_free(&inner);
	json_free(&j);
	return r->nrcpt;
}
