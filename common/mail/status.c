/* SPDX-License-Identifier: BSD-2-Clause */
/* status - enhanced status and reply code parsing, RFC 3463 mapping. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/status.h"

/* status_scan - length of a class.subject.detail code at p, 0 if none */
static size_t
status_scan(const char *p, const char *end)
{
	const char *q = p;
	int parts = 0;

	if (q >= end || (*q != '2' && *q != '4' && *q != '5'))
		return 0;
	q++;
	while (parts < 2) {
		int digits = 0;

		if (q >= end || *q != '.')
			return 0;
		q++;
		while (q < end && isdigit((unsigned char)*q) && digits < 4)
			q++, digits++;
		if (digits == 0 || digits > 3)
			return 0;
		parts++;
	}
	return (size_t)(q - p);
}

bool
status_valid(const char *s)
{
	size_t len = strlen(s);

	return len < STATUS_SIZE && status_scan(s, s + len) == len && len > 0;
}

bool
status_find(const char *text, size_t len, char out[STATUS_SIZE])
{
	const char *end = text + len, *dot;

	/* Every code has a '.' in second place: jump from dot to dot. */
	for (const char *from = text + 1; from < end &&
					  (dot = memchr(from, '.', (size_t)(end - from))) != NULL;
	     from = dot + 1) {
		const char *p = dot - 1;
		size_t n;

		if (*p != '2' && *p != '4' && *p != '5')
			continue;
		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '.' ||
				 p[-1] == '_' || p[-1] == '/'))
			continue;
		/* "550-5.1.1" is a reply continuation; "abc-5.1.1" is not a code. */
		if (p > text && p[-1] == '-' &&
		    !(p - text >= 4 && isdigit((unsigned char)p[-2]) &&
		      isdigit((unsigned char)p[-3]) && isdigit((unsigned char)p[-4])))
			continue;
		if ((n = status_scan(p, end)) == 0 || n >= STATUS_SIZE)
			continue;
		/* Reject "5.1.1.2" and "4.4.7.3": that is an address or version. */
		if (p + n < end && (isalnum((unsigned char)p[n]) ||
				    (p[n] == '.' && p + n + 1 < end &&
				     isdigit((unsigned char)p[n + 1]))))
			continue;
		memcpy(out, p, n);
		out[n] = '\0';
		return true;
	}
	out[0] = '\0';
	return false;
}

/* status_zero - whether a code is "X.0.0" */
static bool
status_zero(const char *s)
{
	return strcmp(s + 1, ".0.0") == 0;
}

/* status_has_zero - whether a code has a zero subject or detail ("X.Y.0", "X.0.Z") */
static bool
status_has_zero(const char *s)
{
	return strstr(s, ".0") != NULL;
}

const char *
status_prefer(const char *field, const char *inmsg, int reply_code)
{
	char rc = reply_code > 0 ? (char)('0' + reply_code / 100) : 0;

	if (field[0] == '\0')
		return inmsg;
	if (inmsg[0] == '\0' || strcmp(field, inmsg) == 0)
		return field;
	/* The reply code settles a disagreement about the class. */
	if (rc != 0 && field[0] != inmsg[0]) {
		if (rc == field[0])
			return field;
		if (rc == inmsg[0])
			return inmsg;
	}
	if (status_zero(field))
		return status_zero(inmsg) ? field : inmsg;
	if (status_has_zero(field) && !status_has_zero(inmsg))
		return inmsg;
	if (status_zero(inmsg))
		return field;
	/* Codes that say little next to a specific one in the text. */
	if (strcmp(field, "4.4.7") == 0 || strcmp(field, "4.7.0") == 0 ||
	    strncmp(field, "5.3.", 4) == 0 || strncmp(field + 1, ".5.1", 4) == 0 ||
	    strncmp(field + 1, ".5.2", 4) == 0 || strncmp(field + 1, ".5.4", 4) == 0 ||
	    strncmp(field + 1, ".5.5", 4) == 0)
		return inmsg;
	if (strcmp(field, "5.1.1") == 0)
		return status_has_zero(inmsg) || strncmp(inmsg, "5.5.", 4) == 0 ? field : inmsg;
	if (strcmp(field, "5.1.3") == 0 && strncmp(inmsg, "5.7.", 4) == 0)
		return inmsg;
	return field;
}

bool
status_pick(const char *text, size_t len, char out[STATUS_SIZE])
{
	char best[STATUS_SIZE] = "", weak[STATUS_SIZE] = "", found[STATUS_SIZE];
	char success[STATUS_SIZE] = "";
	size_t off = 0;

	while (off < len && status_find(text + off, len - off, found)) {
		const char *at = memmem(text + off, len - off, found, strlen(found));

		if (at == NULL)
			break;
		off = (size_t)(at - text) + strlen(found);
		/*
		 * A transcript quotes the 2.x.x replies that went before the
		 * failure ("250 2.1.5 Ok", then "451 4.3.0 ... error"): a
		 * success code stands only when no failure code is there.
		 */
		if (found[0] == '2') {
			if (success[0] == '\0')
				memcpy(success, found, sizeof(success));
			continue;
		}
		/* x.0.0 and 4.4.7 are kept only for want of anything better. */
		if (status_zero(found) || strcmp(found, "4.4.7") == 0) {
			if (weak[0] == '\0')
				memcpy(weak, found, sizeof(weak));
			continue;
		}
		if (best[0] == '\0')
			memcpy(best, found, sizeof(best));
		else
			memmove(best, status_prefer(best, found, 0), STATUS_SIZE);
	}
	if (best[0] == '\0')
		memcpy(best, weak, sizeof(best));
	if (best[0] == '\0')
		memcpy(best, success, sizeof(best));
	memcpy(out, best, STATUS_SIZE);
	return out[0] != '\0';
}

/*
 * reply_code_before_status - the code of "550 5.1.1" or "550-5.1.1", or
 * 0; with failure, only a 4xx or 5xx code
 */
static int
reply_code_before_status(const char *text, size_t len, bool failure)
{
	for (size_t i = 4; i + 5 <= len; i++) {
		const char *p = text + i;

		if ((p[-1] != ' ' && p[-1] != '-') || !strchr("245", p[0]) || p[1] != '.' ||
		    !isdigit((unsigned char)p[2]) || p[0] != p[-4] ||
		    !isdigit((unsigned char)p[-3]) || !isdigit((unsigned char)p[-2]))
			continue;
		if ((i > 4 && (isalnum((unsigned char)p[-5]) || p[-5] == '.')) ||
		    (failure && p[0] == '2'))
			continue;
		return (p[-4] - '0') * 100 + (p[-3] - '0') * 10 + (p[-2] - '0');
	}
	return 0;
}

/*
 * reply_code_scan - the first reply code of text[0..len) in running text,
 * or 0; with failure, only a 4xx or 5xx code
 */
static int
reply_code_scan(const char *text, size_t len, bool failure)
{
	const char *end = text + len;

	for (const char *p = text; p + 3 <= end; p++) {
		if (p > text && !(isspace((unsigned char)p[-1]) || strchr("(<[#:;\"'=", p[-1])))
			continue;
		if (!(p[0] == '2' || p[0] == '4' || p[0] == '5') ||
		    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
		    p[1] > '5')
			continue;
		/* "550 ...", "550-...", "550: ..." (Yahoo), "550, ..." (Zoho) */
		if (p + 3 < end && strchr(" -\t)]\r\n:,", p[3]) == NULL)
			continue;
		/* A success code in running text is a number, unless a status follows. */
		if (p[0] == '2' && p > text && !(p + 5 < end && p[4] == '2' && p[5] == '.'))
			continue;
		if (failure && p[0] == '2')
			continue;
		/* "550-5.1.1" continuation lines and "550 5.1.1" both qualify. */
		return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	return 0;
}

int
reply_code_find(const char *text, size_t len)
{
	int code;

	/*
	 * "220-banner 421 4.2.1 ...": the code that goes with the status wins.
	 * A transcript's 250 replies came before the failure it reports: a
	 * success code stands only when there is no failure code.
	 */
	if ((code = reply_code_before_status(text, len, true)) != 0 ||
	    (code = reply_code_scan(text, len, true)) != 0 ||
	    (code = reply_code_before_status(text, len, false)) != 0)
		return code;
	return reply_code_scan(text, len, false);
}

bool
status_from_reply(int reply_code, char out[STATUS_SIZE])
{
	if (reply_code < 200 || reply_code > 599 || reply_code / 100 == 3) {
		out[0] = '\0';
		return false;
	}
	snprintf(out, STATUS_SIZE, "%d.0.0", reply_code / 100);
	return true;
}

/*
 * The reason RFC 3463 (and the IANA registry) gives each code, in
 * Sisimai's names so that results compare.  A row whose code starts with
 * "X" holds for both classes; a row with a class is an exception for that
 * class and comes first.  "generic" marks codes that say too little to
 * decide alone (X.0.0 style, X.7.0, X.7.1, X.2.1...): the text of the
 * diagnostic should decide, and only failing that the code.  Codes not
 * listed here have no reason of their own, except that any X.6.x is about
 * content and any X.7.x about security (see status_reason()).
 */
static const struct {
	const char *code;
	enum reason reason;
	bool generic;
} status_map[] = {
	/* A temporary X.y.0 says nothing; 4.4.4 is a routing failure for now. */
	{ "4.1.0", REASON_UNDEFINED, true },	 { "4.2.0", REASON_UNDEFINED, true },
	{ "4.3.0", REASON_UNDEFINED, true },	 { "4.4.0", REASON_UNDEFINED, true },
	{ "4.4.4", REASON_NETWORKERROR, false }, { "4.7.1", REASON_BLOCKED, true },
	{ "4.7.2", REASON_BLOCKED, false },	 { "5.7.1", REASON_SECURITYERROR, true },
	/* 5.4.1 is Microsoft's unknown recipient and Zoho's filter refusal. */
	{ "5.4.1", REASON_UNDEFINED, true },
	/* X.1.x addressing */
	{ "X.1.0", REASON_USERUNKNOWN, true },	 { "X.1.1", REASON_USERUNKNOWN, false },
	{ "X.1.2", REASON_HOSTUNKNOWN, false },	 { "X.1.3", REASON_USERUNKNOWN, false },
	{ "X.1.4", REASON_FILTERED, false },	 { "X.1.6", REASON_HASMOVED, false },
	{ "X.1.7", REASON_REJECTED, false },	 { "X.1.8", REASON_REJECTED, false },
	{ "X.1.9", REASON_SYSTEMERROR, false },	 { "X.1.10", REASON_NOTACCEPT, false },
	/* X.2.x mailbox; X.2.1 "disabled" is also used for other refusals. */
	{ "X.2.0", REASON_FILTERED, true },	 { "X.2.1", REASON_SUSPEND, true },
	{ "X.2.2", REASON_MAILBOXFULL, false },	 { "X.2.3", REASON_EXCEEDLIMIT, false },
	{ "X.2.4", REASON_FILTERED, false },
	/* X.3.x mail system */
	{ "X.3.0", REASON_SYSTEMERROR, true },	 { "X.3.1", REASON_SYSTEMFULL, false },
	{ "X.3.2", REASON_NOTACCEPT, false },	 { "X.3.3", REASON_SYSTEMERROR, false },
	{ "X.3.4", REASON_MESGTOOBIG, false },	 { "X.3.5", REASON_SYSTEMERROR, false },
	/* X.4.x network and routing */
	{ "X.4.0", REASON_NETWORKERROR, true },	 { "X.4.1", REASON_EXPIRED, true },
	{ "X.4.2", REASON_NETWORKERROR, false }, { "X.4.3", REASON_SYSTEMERROR, false },
	{ "X.4.4", REASON_HOSTUNKNOWN, false },	 { "X.4.5", REASON_SYSTEMFULL, false },
	{ "X.4.6", REASON_NETWORKERROR, false }, { "X.4.7", REASON_EXPIRED, false },
	{ "X.4.8", REASON_NETWORKERROR, false },
	/* X.5.x protocol */
	{ "X.5.1", REASON_SYNTAXERROR, false },	 { "X.5.2", REASON_SYNTAXERROR, false },
	{ "X.5.3", REASON_TOOMANYCONN, false },	 { "X.5.4", REASON_SYNTAXERROR, false },
	{ "X.5.5", REASON_SYSTEMERROR, false },	 { "X.5.6", REASON_SYNTAXERROR, false },
	/* X.6.x content, X.7.x security and policy */
	{ "X.6.0", REASON_CONTENTERROR, true },	 { "X.7.0", REASON_SECURITYERROR, true },
	{ "X.7.10", REASON_FAILEDSTARTTLS, false }, { "X.7.13", REASON_SUSPEND, false },
	{ "X.7.16", REASON_MESGTOOBIG, false },	 { "X.7.17", REASON_HASMOVED, false },
	{ "X.7.18", REASON_HASMOVED, false },	 { "X.7.20", REASON_AUTHFAILURE, false },
	{ "X.7.21", REASON_AUTHFAILURE, false }, { "X.7.22", REASON_AUTHFAILURE, false },
	{ "X.7.23", REASON_AUTHFAILURE, false }, { "X.7.24", REASON_AUTHFAILURE, false },
	{ "X.7.25", REASON_REQUIREPTR, false },	 { "X.7.26", REASON_AUTHFAILURE, false },
	/* X.7.27: the sender's domain has a null MX (RFC 7505 4.2). */
	{ "X.7.27", REASON_REJECTED, false },	 { "X.7.28", REASON_SPAMDETECTED, false },
	{ "X.7.29", REASON_AUTHFAILURE, false }, { "X.7.30", REASON_FAILEDSTARTTLS, false },
};

enum reason
status_reason(const char *status, bool *generic_r)
{
	const char *sd;

	*generic_r = true;
	if (!status_valid(status))
		return REASON_UNDEFINED;
	if (status[0] == '2') {
		*generic_r = false;
		return REASON_DELIVERED;
	}
	sd = status + 2;
	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++) {
		const char *c = status_map[i].code;

		if ((c[0] == 'X' ? strcmp(c + 2, sd) : strcmp(c, status)) == 0) {
			*generic_r = status_map[i].generic;
			return status_map[i].reason;
		}
	}
	/* Unlisted X.6.x content codes and X.7.x security codes. */
	if (strncmp(sd, "6.", 2) == 0) {
		*generic_r = false;
		return REASON_CONTENTERROR;
	}
	if (strncmp(sd, "7.", 2) == 0)
		return REASON_SECURITYERROR;
	return REASON_UNDEFINED;
}
