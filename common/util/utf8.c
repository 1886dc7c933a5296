/* SPDX-License-Identifier: BSD-2-Clause */
/* utf8 - make a stranger's text valid UTF-8 before it is stored. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"
#include "util/xalloc.h"

char *
utf8_copy(const char *s, size_t max)
{
	size_t len;
	char *valid, *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len > max)
		len = max;
	if (len > G_MAXSSIZE)
		len = G_MAXSSIZE;
	valid = g_utf8_make_valid(s, (gssize)len);
	/* Into our allocator, so that every caller frees with free(). */
	out = xstrdup(valid);
	g_free(valid);
	return out;
}

void
utf8_repair(char **sp)
{
	char *valid;

	if (*sp == NULL || g_utf8_validate(*sp, -1, NULL))
		return;
	valid = utf8_copy(*sp, SIZE_MAX);
	free(*sp);
	*sp = valid;
}

char *
utf8_strndup(const char *s, size_t len, size_t *len_r)
{
	static const char replacement[] = "\xef\xbf\xbd";
	size_t nuls = 0, n = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	out = xmalloc(len + nuls * 2 + 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0') {
			memcpy(out + n, replacement, 3);
			n += 3;
		} else {
			out[n++] = s[i];
		}
	}
	out[n] = '\0';
	if (len_r != NULL)
		*len_r = n;
	return out;
}
