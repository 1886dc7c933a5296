/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ndr_text - text helpers for the free-text report reader: where the
 * report ends and the returned message begins, whether a message is a
 * bounce or a delay warning at all, addresses in running text, quoted
 * forwards and HTML-only reports.
 *
 * The phrase lists are families, not products: every MTA that writes
 * "----- Original message -----" or "Below this line is a copy" is
 * covered by one entry.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report/dsn.h"
#include "report/ndr_text.h"
#include "util/caps.h"
#include "util/phrase.h"
#include "util/xalloc.h"

/*
 * Lines that introduce the returned message, compared with the line
 * lower-cased and stripped of the decoration ("-", "=", "*", space...)
 * around it.  A line must start with one of these.
 */
static const char *const cut_markers[] = {
	"below this line is a copy of the message",
	"this is a copy of the message",
	"original message",
	"returned message",
	"unsent message follows",
	"the header of the original message",
	"included is a copy of the message header",
	"original mail as follows",
	"below is a copy of the original message",
	"message headers follow",
	"the original message headers",
	"a copy of the original message",
	"forwarded message",
	"content-type: message/rfc822",
	"content-type: text/rfc822-headers",
	"the attachment contains the original mail headers",
	"headers of the original message",
	"original message header",
	"this is the original message",
	"original-message",
	"--- message text ---",
};

/* ndr_deco - whether c decorates a marker line ("----- x -----", "=== x ===") */
static bool
ndr_deco(unsigned char c, bool trailing)
{
	switch (c) {
	case '-': case '=': case '*': case '_': case '#': case '~': case ' ': case '\t':
	case '|':
		return true;
	case '>':
		return !trailing;
	case '.': case ':':
		return trailing;
	default:
		return false;
	}
}

/* ndr_strip_line - the line s[0..n) without surrounding decoration */
static const char *
ndr_strip_line(const char *s, size_t *n)
{
	while (*n > 0 && ndr_deco((unsigned char)*s, false))
		s++, (*n)--;
	while (*n > 0 && ndr_deco((unsigned char)s[*n - 1], true))
		(*n)--;
	return s;
}

/* ndr_is_marker - whether the line s[0..n) introduces the returned message */
static bool
ndr_is_marker(const char *s, size_t n)
{
	const char *t;

	if (n < 8 || n > 160)
		return false;
	t = ndr_strip_line(s, &n);
	if (n < 8 || n > 100)
		return false;
	for (size_t i = 0; i < sizeof(cut_markers) / sizeof(cut_markers[0]); i++) {
		size_t m;

		if (tolower((unsigned char)t[0]) != cut_markers[i][0])
			continue;
		m = strlen(cut_markers[i]);
		if (n >= m && strncasecmp(t, cut_markers[i], m) == 0) {
			/* "Original message was received at" opens a Sendmail report. */
			if (memmem(t, n, "received", 8) != NULL)
				return false;
			return true;
		}
	}
	return false;
}

/* ndr_cut - length of the report part of a text */
/*
 * Header fields that only a message carries, never a report: a line that
 * starts with one begins the returned message even without a marker.
 */
static const char *const message_fields[] = {
	"Received: ", "Return-Path: ", "DKIM-Signature: ", "ARC-Seal: ",
};

/* ndr_is_message_field - whether the line starts a returned message's header */
static bool
ndr_is_message_field(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(message_fields) / sizeof(message_fields[0]); i++) {
		size_t m = strlen(message_fields[i]);

		/* Most lines differ at the first letter: no call for those. */
		if (n > m && (s[0] | 0x20) == (message_fields[i][0] | 0x20) &&
		    strncasecmp(s, message_fields[i], m) == 0)
			return true;
	}
	return false;
}

size_t
ndr_cut(const char *text, size_t len, bool fields)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = (nl ? (size_t)(nl - text) : len) - off;

		if (ndr_is_marker(text + off, n) || (fields && ndr_is_message_field(text + off, n)))
			return off;
		off += n + 1;
	}
	return len;
}

/* Local parts of the addresses MTAs send reports from. */
static const char *const daemon_names[] = {
	"mailer-daemon", "mailer_daemon", "maildaemon", "postmaster", "post_master",
	"mail.delivery.system", "mdaemon", "mail-daemon", "mailerdaemon", "bounce",
	"bounces", "nobody", "root", "double-bounce", "mailadmin", "mail-notify",
};

/* Subject phrases of non-delivery reports, lower case. */
static const char *const bounce_subjects[] = {
	"undeliver", "undelivered", "delivery status notification", "delivery failure",
	"delivery failed", "failure notice", "returned mail", "mail delivery",
	"could not be delivered", "mail system error", "non-delivery", "nondelivery",
	"non delivery", "delivery notification", "not delivered", "unable to deliver",
	"delivery problem", "could not send", "delayed mail", "message delivery has failed",
	"error sending", "delivery has failed", "returned to sender", "failed delivery",
	"delivery report", "loop alert", "delivery status", "mail could not",
	"message not delivered", "unzustellbar", "non remis", "no entregado",
	"notificación", "fehlgeschlagen", "aws notification", "delivery incomplete",
	"warning: message", "mail failure", "failed mail", "returned message",
};

/* Opening phrases of non-delivery reports, lower case. */
static const char *const bounce_phrases[] = {
	"could not be delivered", "wasn't able to deliver", "unable to deliver",
	"delivery to the following", "address(es) failed", "permanent error",
	"did not reach the following recipient", "undeliverable", "delivery has failed",
	"following recipient", "following address", "delivery failed", "failed to deliver",
	"could not deliver", "cannot be delivered", "error delivering", "was not delivered",
	"not be delivered", "delivery status notification", "rejected by",
	"your message to", "the following recipients", "following addresses had",
	"transcript of session", "mail delivery", "fatal errors", "returned mail",
	"delivery to the following recipient", "duplicated message-id",
};

/* phrase_any() looks for at most PHRASE_MAX phrases of a list. */
_Static_assert(sizeof(bounce_subjects) / sizeof(bounce_subjects[0]) <= PHRASE_MAX,
	       "bounce_subjects fits phrase_any()");
_Static_assert(sizeof(bounce_phrases) / sizeof(bounce_phrases[0]) <= PHRASE_MAX,
	       "bounce_phrases fits phrase_any()");

/* ndr_contains - whether lower-case phrase occurs in s[0..n), any case */
static bool
ndr_contains(const char *s, size_t n, const char *phrase)
{
	size_t m = strlen(phrase);

	for (size_t i = 0; i + m <= n; i++)
		if (tolower((unsigned char)s[i]) == phrase[0] && strncasecmp(s + i, phrase, m) == 0)
			return true;
	return false;
}

/*
 * NDR_OPENING - how much of a text the phrase lists are looked for in: a
 * report says what it is near its start, and the bound keeps the walk short
 * whatever a stranger sends.
 */
#define NDR_OPENING 4095

/* ndr_opening - the length of the opening of a text of n bytes */
static size_t
ndr_opening(size_t n)
{
	return n < NDR_OPENING ? n : NDR_OPENING;
}

/* ndr_daemon_sender - whether the bounce came from a mail system address */
static bool
ndr_daemon_sender(const char *from)
{
	const char *at;
	size_t n;

	if (from == NULL || (at = strchr(from, '@')) == NULL)
		return false;
	n = (size_t)(at - from);
	for (size_t i = 0; i < sizeof(daemon_names) / sizeof(daemon_names[0]); i++)
		if (strlen(daemon_names[i]) == n && strncasecmp(from, daemon_names[i], n) == 0)
			return true;
	return false;
}

/* ndr_is_bounce - whether the headers or opening text say bounce */
bool
ndr_is_bounce(const struct report *r, const char *text, size_t len)
{
	/* A read receipt (RFC 8098) is a report, but no bounce. */
	if (r->hdr_flags & HDR_MDN)
		return false;
	if (r->failed_rcpts != NULL || (r->hdr_flags & HDR_REPORT) || ndr_daemon_sender(r->from))
		return true;
	if (r->subject != NULL &&
	    phrase_any(r->subject, ndr_opening(strlen(r->subject)), bounce_subjects,
		       sizeof(bounce_subjects) / sizeof(bounce_subjects[0])))
		return true;
	/* The opening of the text is where a report says what it is. */
	return phrase_any(text, ndr_opening(len), bounce_phrases,
			  sizeof(bounce_phrases) / sizeof(bounce_phrases[0]));
}

/* ndr_is_delay - whether the text is a delay warning */
bool
ndr_is_delay(const struct report *r, const char *text, size_t len)
{
	/*
	 * The delay templates of Postfix, Sendmail and Exim, Exchange's
	 * "Delivery is delayed" and "hasn't been delivered yet", Gmail's
	 * "temporary problem ... will retry", Yahoo's "will keep trying".
	 */
	static const char *const phrases[] = {
		"this is a warning message only", "this is a warning only",
		"has been delayed", "will be retried", "still being retried",
		"will continue to be attempted", "delivery is delayed", "delay notification",
		"not yet been delivered", "will keep trying", "will try again",
		"will retry", "temporary problem delivering", "hasn't been delivered yet",
		"has not been delivered yet", "if the delivery fails permanently",
		"delivery attempts will continue", "will continue to try",
	};
	_Static_assert(sizeof(phrases) / sizeof(phrases[0]) <= PHRASE_MAX, "fits phrase_any()");
	if (r->subject != NULL && (ndr_contains(r->subject, strlen(r->subject), "(delay)") ||
				   ndr_contains(r->subject, strlen(r->subject), "delayed mail") ||
				   ndr_contains(r->subject, strlen(r->subject), "warning: could not")))
		return true;
	return phrase_any(text, ndr_opening(len), phrases, sizeof(phrases) / sizeof(phrases[0]));
}

/* ndr_dequote - a forwarded report with one level of quoting removed */
char *
ndr_dequote(const char *text, size_t len, size_t *len_r)
{
	size_t quoted = 0, lines = 0, n = 0;
	char *out;

	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = (nl ? (size_t)(nl - text) : len) - off;

		if (l > 0) {
			lines++;
			quoted += text[off] == '>';
		}
		off += l + 1;
	}
	if (lines == 0 || quoted * 2 < lines)
		return NULL;
	out = xmalloc(len + 1);
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = (nl ? (size_t)(nl - text) : len) - off, skip = 0;

		if (l > 0 && text[off] == '>')
			skip = l > 1 && text[off + 1] == ' ' ? 2 : 1;
		memcpy(out + n, text + off + skip, l - skip);
		n += l - skip;
		out[n++] = '\n';
		off += l + 1;
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

/* ndr_local_char - whether c may appear in the local part of an address */
static bool
ndr_local_char(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr(".!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* ndr_domain_char - whether c may appear in a domain (IDN bytes included) */
static bool
ndr_domain_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c >= 0x80;
}

/*
 * ndr_addr_glued - whether the address that starts at s[a] is only the
 * tail of a longer word joined to it by a character no address holds
 * ("o'brien;drop--@x.example"): such a word is a malformed address, and
 * its tail is someone else's.  "rfc822;bob@x.example" is an address type
 * and its address.
 */
static bool
ndr_addr_glued(const char *s, size_t a)
{
	size_t w;

	if (a < 2 || (s[a - 1] != ';' && s[a - 1] != '@' && s[a - 1] != '\\') ||
	    !ndr_local_char((unsigned char)s[a - 2]))
		return false;
	for (w = a - 1; w > 0 && (isalnum((unsigned char)s[w - 1]) || s[w - 1] == '-'); w--)
		;
	if (s[a - 1] == ';' && (w == 0 || !ndr_local_char((unsigned char)s[w - 1])) &&
	    ((a - 1 - w == 6 && strncasecmp(s + w, "rfc822", 6) == 0) ||
	     (a - 1 - w == 5 && strncasecmp(s + w, "utf-8", 5) == 0)))
		return false;
	return true;
}

/* ndr_addr_span - the next plausible address in a text */
bool
ndr_addr_span(const char *s, size_t n, size_t *pos, size_t *start, size_t *alen)
{
	for (size_t i = *pos; i < n; i++) {
		const char *at = memchr(s + i, '@', n - i);
		size_t a, b, dots = 0;

		if (at == NULL)
			break;
		i = (size_t)(at - s);
		for (a = i; a > 0 && ndr_local_char((unsigned char)s[a - 1]); a--)
			;
		/* Punctuation that opens a token is not part of the address. */
		while (a < i && strchr(".'`=/-", s[a]) != NULL)
			a++;
		/* "SMTP=user@example.com": an address type, not the local part. */
		a += dsn_type_prefix(s + a, i - a);
		for (b = i + 1; b < n && ndr_domain_char((unsigned char)s[b]); b++)
			dots += s[b] == '.';
		while (b > i + 1 && (s[b - 1] == '.' || s[b - 1] == '-')) {
			dots -= s[b - 1] == '.';
			b--;
		}
		if (a == i || b == i + 1 || dots == 0 || i - a > LIMIT_LOCAL_PART ||
		    b - a > LIMIT_ADDRESS_LEN || ndr_addr_glued(s, a))
			continue;
		*start = a;
		*alen = b - a;
		*pos = b;
		return true;
	}
	*pos = n;
	return false;
}

/* ndr_addr_copy - a lower-case copy of an address */
char *
ndr_addr_copy(const char *s, size_t n)
{
	char *a = xstrndup(s, n);

	for (char *c = a; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return a;
}

/* ndr_entity - the character an HTML entity at s stands for, and its length */
static size_t
ndr_entity(const char *s, size_t n, char *c)
{
	static const struct {
		const char *name;
		char c;
	} entities[] = { { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
			 { "&quot;", '"' }, { "&nbsp;", ' ' }, { "&#39;", '\'' },
			 { "&apos;", '\'' } };

	for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
		size_t m = strlen(entities[i].name);

		if (n >= m && strncasecmp(s, entities[i].name, m) == 0) {
			*c = entities[i].c;
			return m;
		}
	}
	return 0;
}

/* ndr_block_tag - whether the tag at s[0..n) ("<p>", "</div>"...) ends a line */
static bool
ndr_block_tag(const char *s, size_t n)
{
	static const char *const blocks[] = { "br", "p", "div", "tr", "li", "h1", "h2", "h3",
					      "h4", "table", "pre", "blockquote" };
	size_t i = 1, k;

	if (i < n && s[i] == '/')
		i++;
	for (k = i; k < n && isalnum((unsigned char)s[k]); k++)
		;
	for (size_t j = 0; j < sizeof(blocks) / sizeof(blocks[0]); j++)
		if (strlen(blocks[j]) == k - i && strncasecmp(s + i, blocks[j], k - i) == 0)
			return true;
	return false;
}

/* ndr_html_to_text - append the visible text of HTML */
void
ndr_html_to_text(const char *html, size_t len, struct buf *out)
{
	bool skip = false;	/* inside <style> or <script> */

	for (size_t i = 0; i < len; i++) {
		char c;
		size_t m;

		if (html[i] == '<') {
			const char *end = memchr(html + i, '>', len - i);
			size_t tl = end ? (size_t)(end - (html + i)) : len - i;

			if (tl >= 6 && (strncasecmp(html + i, "<style", 6) == 0 ||
					strncasecmp(html + i, "<scrip", 6) == 0))
				skip = true;
			else if (tl >= 7 && (strncasecmp(html + i, "</style", 7) == 0 ||
					     strncasecmp(html + i, "</scrip", 7) == 0))
				skip = false;
			if (ndr_block_tag(html + i, tl))
				buf_putc(out, '\n');
			i += tl;
		} else if (skip) {
			continue;
		} else if (html[i] == '&' && (m = ndr_entity(html + i, len - i, &c)) > 0) {
			buf_putc(out, c);
			i += m - 1;
		} else {
			buf_putc(out, (unsigned char)html[i]);
		}
	}
}
