/* SPDX-License-Identifier: BSD-2-Clause */
/* address - strict reading of the addresses reports name. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"
#include "util/caps.h"
#include "util/xalloc.h"

bool
address_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

bool
address_domain_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_' || c >= 0x80;
}

/*
 * address_quoted - the content of the quoted string at text[0..len),
 * quoted pairs undone, and its length in *used; NULL when it is not a
 * quoted string or holds a control character.
 */
static char *
address_quoted(const char *text, size_t len, size_t *used)
{
	char *out = xmalloc(len + 1);
	size_t i = 1, n = 0;

	for (; i < len && text[i] != '"'; i++) {
		if (text[i] == '\\' && i + 1 < len)
			i++;
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			free(out);
			return NULL;
		}
		out[n++] = text[i];
	}
	if (i >= len || n == 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*used = i + 1;
	return out;
}

/* address_dot_atom - whether s is an unquoted local part that needs no quotes */
static bool
address_dot_atom(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!address_atext((unsigned char)s[i]))
			return false;
	return true;
}

/* address_domain_ok - labels of letters, digits and '-', or an address literal */
static bool
address_domain_ok(const char *d, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	if (d[0] == '[') {
		if (n < 3 || d[n - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < n; i++)
			if (!isxdigit((unsigned char)d[i]) && strchr(".:IPv", d[i]) == NULL)
				return false;
		return true;
	}
	if (d[0] == '.' || d[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!address_domain_char((unsigned char)d[i]) || (d[i] == '.' && d[i + 1] == '.'))
			return false;
	}
	return memchr(d, '.', n) != NULL;
}

char *
address_normalize(const char *text, size_t len)
{
	char *local, *out;
	size_t used = 0, llen;
	const char *domain;

	if (len == 0 || len > LIMIT_ADDRESS_LEN || memchr(text, '\0', len) != NULL)
		return NULL;
	if (text[0] == '"') {
		if ((local = address_quoted(text, len, &used)) == NULL)
			return NULL;
	} else {
		const char *at = NULL;

		for (size_t i = len; i > 0 && at == NULL; i--)
			if (text[i - 1] == '@')
				at = text + i - 1;
		if (at == NULL || !address_dot_atom(text, (size_t)(at - text)))
			return NULL;
		used = (size_t)(at - text);
		local = xstrndup(text, used);
	}
	llen = strlen(local);
	if (used >= len || text[used] != '@' || llen > LIMIT_LOCAL_PART * 4) {
		free(local);
		return NULL;
	}
	domain = text + used + 1;
	if (!address_domain_ok(domain, len - used - 1)) {
		free(local);
		return NULL;
	}
	/* Quotes only where the local part needs them, as Postfix writes it. */
	out = xmalloc(llen * 2 + 3 + (len - used) + 1);
	if (address_dot_atom(local, llen)) {
		memcpy(out, local, llen);
		used = llen;
	} else {
		used = 0;
		out[used++] = '"';
		for (size_t i = 0; i < llen; i++) {
			if (local[i] == '"' || local[i] == '\\')
				out[used++] = '\\';
			out[used++] = local[i];
		}
		out[used++] = '"';
	}
	out[used++] = '@';
	memcpy(out + used, domain, len - (size_t)(domain - text));
	used += len - (size_t)(domain - text);
	out[used] = '\0';
	free(local);
	for (char *c = out; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return out;
}
