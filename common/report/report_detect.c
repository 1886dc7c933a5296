/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report_detect - messages that reach the bounce address without being
 * failures: auto-replies (RFC 3834 and the de-facto headers and subjects
 * of vacation programs), challenge-response requests, and Hotmail-style
 * complaints that carry no message/feedback-report part.
 *
 * Each names one party: the person whose program replied, or the
 * complaining recipient.  None of them is ever counted as a failure; the
 * classifier maps them to the kinds auto_reply and complaint.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/dsn.h"
#include "report/ndr_text.h"
#include "report/report_detect.h"
#include "util/caps.h"
#include "util/xalloc.h"

/* Subject openings of auto-replies, lower case, in several languages. */
static const char *const autoreply_subjects[] = {
	"auto:", "automatic reply", "auto reply", "auto-reply", "autoreply",
	"auto response", "auto-response", "autoresponse", "automated reply",
	"out of office", "out of the office", "ooo:", "vacation", "on vacation",
	"abwesenheit", "automatische antwort", "réponse automatique", "reponse automatique",
	"respuesta automática", "respuesta automatica", "risposta automatica",
	"automatisch antwoord", "afwezig", "frånvaro", "autosvar", "automaattinen vastaus",
	"odpowiedź automatyczna", "automatická odpověď", "自動応答", "自動返信", "不在",
};

/* Phrases of challenge-response systems, lower case. */
static const char *const challenge_phrases[] = {
	"please confirm your message", "confirm that you are a human", "verify your email",
	"verify that you are", "requires verification", "awaiting verification",
	"sender verification", "held for verification", "challenge-response",
	"spam arrest", "boxbe", "bluebottle", "mailbox is protected by",
	"to be added to my whitelist", "approved senders list", "click the link below to confirm",
	"please verify your message",
};

/*
 * Phrases that only challenge-response and whitelist systems write (Boxbe's
 * "guest list", Spam Arrest, Bluebottle, "prove you are a human"), and
 * the hold notices of mailing lists (Mailman: "is being held until the
 * list moderator can review it"): they hold even in a notice that says
 * the message "was not delivered", which would otherwise read as a
 * bounce.  A held or challenged message may still arrive.
 */
static const char *const challenge_strong[] = {
	"boxbe", "bluebottle", "spam arrest", "spamarrest", "guest list",
	"challenge-response", "challenge/response", "approved senders list",
	"to be added to my whitelist", "add yourself to my whitelist",
	"confirm that you are a human", "prove that you are a human",
	"verify that you are a human", "verify you are a human", "mailbox is protected by",
	"held until the list moderator", "awaits moderator approval",
	"awaiting moderator approval",
};

/* detect_prefix - whether lower-case s starts with (or, after "re: ", has) a phrase */
static bool
detect_subject(const char *subject, const char *const *list, size_t count)
{
	char lower[256];
	size_t n = strlen(subject), i;

	if (n >= sizeof(lower))
		n = sizeof(lower) - 1;
	for (i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)subject[i]);
	lower[n] = '\0';
	for (i = 0; lower[i] == ' ' || lower[i] == '['; i++)
		;
	for (size_t k = 0; k < count; k++)
		if (strncmp(lower + i, list[k], strlen(list[k])) == 0)
			return true;
	return false;
}

/* detect_contains - whether lower-case phrase occurs in s[0..n), any case */
static bool
detect_contains(const char *s, size_t n, const char *const *list, size_t count)
{
	char lower[2048];

	if (n >= sizeof(lower))
		n = sizeof(lower) - 1;
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	lower[n] = '\0';
	for (size_t k = 0; k < count; k++)
		if (strstr(lower, list[k]) != NULL)
			return true;
	return false;
}

/* detect_add - add the one party of a non-failure report */
static bool
detect_add(struct report *r, const char *addr, enum report_format format, const char *engine)
{
	struct report_rcpt *rc;
	size_t n = 0;

	if (addr == NULL || (rc = report_add_rcpt(r)) == NULL)
		return false;
	rc->recipient = xstrdup(addr);
	/* The opening of the text is the "diagnostic" of a reply. */
	while (n < r->text_len && n < 300 && !(r->text[n] == '\n' && n + 1 < r->text_len &&
					       r->text[n + 1] == '\n'))
		n++;
	if (n > 0) {
		rc->diagnostic = xstrndup(r->text, n);
		for (char *c = rc->diagnostic; *c != '\0'; c++)
			if (*c == '\n' || *c == '\t')
				*c = ' ';
	}
	r->format = format;
	r->engine = engine;
	return true;
}

/* report_challenge - a challenge or whitelist request, even if it looks like a bounce */
bool
report_challenge(struct report *r, const char *text, size_t len)
{
	const char *subject = r->subject != NULL ? r->subject : "";
	size_t n = sizeof(challenge_strong) / sizeof(challenge_strong[0]);

	if (r->from == NULL || r->failed_rcpts != NULL || (r->hdr_flags & HDR_REPORT))
		return false;
	if (!detect_contains(subject, strlen(subject), challenge_strong, n) &&
	    !detect_contains(text, len, challenge_strong, n))
		return false;
	return detect_add(r, r->from, FORMAT_CHALLENGE, "challenge");
}

/* report_detect - classify a message that names no failed recipient */
bool
report_detect(struct report *r)
{
	const char *subject = r->subject != NULL ? r->subject : "";

	/* Hotmail's complaint format: the complainant in the returned headers. */
	if (r->orig_rcpt != NULL &&
	    (strcasestr(subject, "complaint about message") != NULL ||
	     (r->from != NULL && strncasecmp(r->from, "staff@hotmail.com", 17) == 0))) {
		if (!detect_add(r, r->orig_rcpt, FORMAT_ARF, "hotmail-complaint"))
			return false;
		r->rcpt[r->nrcpt - 1].feedback_type = xstrdup("abuse");
		return true;
	}
	if (r->from == NULL)
		return false;
	if ((r->hdr_flags & (HDR_AUTO_REPLIED | HDR_AUTORESPONDER)) ||
	    detect_subject(subject, autoreply_subjects,
			   sizeof(autoreply_subjects) / sizeof(autoreply_subjects[0])))
		return detect_add(r, r->from, FORMAT_AUTOREPLY, "rfc3834");
	if (detect_contains(subject, strlen(subject), challenge_phrases,
			    sizeof(challenge_phrases) / sizeof(challenge_phrases[0])) ||
	    detect_contains(r->text, r->text_len, challenge_phrases,
			    sizeof(challenge_phrases) / sizeof(challenge_phrases[0])))
		return detect_add(r, r->from, FORMAT_CHALLENGE, "challenge");
	return false;
}
