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

int
verp_parse(const char *address, const char *delims, struct verp_addr *va,
	   const char **error_r)
{
	size_t len = strlen(address);
	const char *at, *local;
	size_t local_len;
	const char *d1;

	memset(va, 0, sizeof(*va));
	if (len >= 2 && address[0] == '<' && address[len - 1] == '>')
		address++, len -= 2;
	if (len == 0 || len > LIMIT_ADDRESS_LEN) {
		*error_r = len == 0 ? "empty address" : "address too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)address[i] <= 0x20 || address[i] == 0x7f) {
			*error_r = "address contains white space or control characters";
			return -1;
		}
	}
	at = NULL;
	for (size_t i = len; i > 0; i--) {
		if (address[i - 1] == '@') {
			at = address + i - 1;
			break;
		}
	}
	if (at == NULL || at == address) {
		*error_r = "address has no local part or no domain";
		return -1;
	}
	va->domain = xstrndup(at + 1, len - (size_t)(at + 1 - address));
	if (!verp_domain_ok(va->domain)) {
		verp_addr_release(va);
		*error_r = "address has an invalid domain";
		return -1;
	}
	verp_lower(va->domain);
	local = address;
	local_len = (size_t)(at - address);
	d1 = memchr(local, delims[0], local_len);
	if (d1 == NULL) {
		va->prefix = xstrndup(local, local_len);
	} else {
		va->prefix = xstrndup(local, (size_t)(d1 - local));
		va->extension = xstrndup(d1 + 1, local_len - (size_t)(d1 + 1 - local));
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
