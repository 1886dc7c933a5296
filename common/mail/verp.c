/* SPDX-License-Identifier: BSD-2-Clause */
/* verp - VERP address codec. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/caps.h"
#include "mail/verp.h"
#include "util/xalloc.h"

/* verp_lower - lower-case s in place */
static void
verp_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* verp_domain_ok - a plausible domain: dot-separated labels, no odd bytes */
static int
verp_domain_ok(const char *d)
{
	size_t len = strlen(d);

	if (len == 0 || len > 255 || d[0] == '.' || d[len - 1] == '.')
		return 0;
	for (; *d != '\0'; d++) {
		unsigned char c = (unsigned char)*d;

		if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '[' || c == ']' ||
		      c == ':' || c >= 0x80))
			return 0;
	}
	return 1;
}

/* verp_bad_byte - white space, a control character or DEL */
static int
verp_bad_byte(unsigned char c)
{
	return c <= 0x20 || c == 0x7f;
}

/*
 * verp_unquote - the local part of a quoted "local"@domain, as Postfix
 * reads it (RFC 5321 4.1.2 quoted-string: quoted pairs undone).  On entry
 * *p is at the opening quote; on success it is at the '@' after the
 * closing one.  NULL when the quoted string is malformed.
 */
static char *
verp_unquote(const char **p, const char *end)
{
	const char *s = *p + 1;
	char *out = xmalloc((size_t)(end - s) + 1);
	size_t n = 0;

	for (; s < end && *s != '"'; s++) {
		if (*s == '\\' && s + 1 < end)
			s++;
		/* Inside quotes a space is fine; a control character never. */
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			free(out);
			return NULL;
		}
		out[n++] = *s;
	}
	if (s >= end || s + 1 >= end || s[1] != '@' || n == 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*p = s + 1;
	return out;
}

int
verp_parse(const char *address, const char *delims, struct verp_addr *va,
	   const char **error_r)
{
	size_t len = strlen(address);
	const char *end, *at, *d1, *colon;
	char *local;

	memset(va, 0, sizeof(*va));
	if (len >= 2 && address[0] == '<' && address[len - 1] == '>')
		address++, len -= 2;
	/* A source route ("@relay:user@domain") is ignored, as RFC 5321 asks. */
	if (len > 0 && address[0] == '@' &&
	    (colon = memchr(address, ':', len)) != NULL) {
		len -= (size_t)(colon + 1 - address);
		address = colon + 1;
	}
	if (len == 0 || len > LIMIT_ADDRESS_LEN) {
		*error_r = len == 0 ? "empty address" : "address too long";
		return -1;
	}
	end = address + len;
	if (address[0] == '"') {
		at = address;
		if ((local = verp_unquote(&at, end)) == NULL) {
			*error_r = "address has a malformed quoted local part";
			return -1;
		}
	} else {
		at = NULL;
		for (const char *s = end; s > address; s--) {
			if (s[-1] == '@') {
				at = s - 1;
				break;
			}
		}
		if (at == NULL || at == address) {
			*error_r = "address has no local part or no domain";
			return -1;
		}
		local = xstrndup(address, (size_t)(at - address));
	}
	for (const char *s = address[0] == '"' ? at : address; s < end; s++) {
		if (verp_bad_byte((unsigned char)*s)) {
			free(local);
			*error_r = "address contains white space or control characters";
			return -1;
		}
	}
	va->domain = xstrndup(at + 1, (size_t)(end - (at + 1)));
	if (!verp_domain_ok(va->domain)) {
		free(local);
		verp_addr_release(va);
		*error_r = "address has an invalid domain";
		return -1;
	}
	verp_lower(va->domain);
	d1 = strchr(local, delims[0]);
	if (d1 == NULL) {
		va->prefix = local;
	} else {
		va->prefix = xstrndup(local, (size_t)(d1 - local));
		va->extension = xstrdup(d1 + 1);
		free(local);
	}
	return 0;
}

void
verp_addr_release(struct verp_addr *va)
{
	xfree(&va->prefix);
	xfree(&va->extension);
	xfree(&va->domain);
}

char *
verp_recipient(const char *text, const char *delims)
{
	const char *d2 = strrchr(text, delims[1]);
	char *domain, *out;
	size_t local_len;

	if (d2 == NULL || d2 == text || d2[1] == '\0')
		return NULL;
	local_len = (size_t)(d2 - text);
	if (local_len > LIMIT_LOCAL_PART * 4 || memchr(text, '@', local_len) != NULL)
		return NULL;
	domain = xstrdup(d2 + 1);
	if (!verp_domain_ok(domain) || strchr(domain, '@') != NULL) {
		free(domain);
		return NULL;
	}
	verp_lower(domain);
	out = xmalloc(local_len + 1 + strlen(domain) + 1);
	memcpy(out, text, local_len);
	out[local_len] = '@';
	strcpy(out + local_len + 1, domain);
	free(domain);
	return out;
}

char *
verp_encode(const char *prefix, const char *origin, const char *recipient,
	    const char *delims)
{
	const char *at = strrchr(recipient, '@');
	size_t size = strlen(prefix) + strlen(origin) + strlen(recipient) + 4;
	char *out = xmalloc(size);

	if (at == NULL)
		snprintf(out, size, "%s%c%s@%s", prefix, delims[0], recipient, origin);
	else
		snprintf(out, size, "%s%c%.*s%c%s@%s", prefix, delims[0],
			 (int)(at - recipient), recipient, delims[1], at + 1, origin);
	return out;
}
