/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * provider - domain suffixes of the providers whose replies need their
 * own reading.  A host belongs to a provider when it equals one of the
 * suffixes or ends with "." and the suffix.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mail/provider.h"

/* P - one row: a domain suffix, its length, and the provider's name. */
#define P(suffix, name) { suffix, sizeof(suffix) - 1, name }

static const struct {
	const char *suffix;
	size_t len;
	const char *name;
} providers[] = {
	P("google.com", "google"),
	P("googlemail.com", "google"),
	P("gmail.com", "google"),
	P("1e100.net", "google"),
	P("googlegroups.com", "google"),
	P("outlook.com", "microsoft"),
	P("hotmail.com", "microsoft"),
	P("hotmail.co.uk", "microsoft"),
	P("hotmail.fr", "microsoft"),
	P("live.com", "microsoft"),
	P("msn.com", "microsoft"),
	P("outlook.jp", "microsoft"),
	P("office365.com", "microsoft"),
	P("onmicrosoft.com", "microsoft"),
	P("exchangelabs.com", "microsoft"),
	P("yahoo.com", "yahoo"),
	P("yahoo.co.jp", "yahoo"),
	P("yahoo.co.uk", "yahoo"),
	P("yahoo.fr", "yahoo"),
	P("yahoo.de", "yahoo"),
	P("yahoodns.net", "yahoo"),
	P("ymail.com", "yahoo"),
	P("rocketmail.com", "yahoo"),
	P("aol.com", "aol"),
	P("aol.jp", "aol"),
	P("aim.com", "aol"),
	P("icloud.com", "apple"),
	P("me.com", "apple"),
	P("mac.com", "apple"),
	P("apple.com", "apple"),
	P("privaterelay.appleid.com", "apple"),
	P("cox.net", "cox"),
	P("orange.fr", "orange"),
	P("wanadoo.fr", "orange"),
	P("laposte.net", "laposte"),
	P("secureserver.net", "godaddy"),
	P("mimecast.com", "mimecast"),
	P("messagelabs.com", "messagelabs"),
	P("qq.com", "tencent"),
	P("zoho.com", "zoho"),
	P("zohomail.com", "zoho"),
	P("docomo.ne.jp", "nttdocomo"),
	P("ezweb.ne.jp", "kddi"),
	P("au.com", "kddi"),
	P("charter.net", "spectrum"),
	P("rr.com", "spectrum"),
	P("spectrum.net", "spectrum"),
	P("cloudflare.net", "cloudflare"),
	P("facebook.com", "facebook"),
	P("gmx.net", "gmx"),
	P("gmx.de", "gmx"),
	P("gmx.com", "gmx"),
	P("web.de", "gmx"),
	P("mail.ru", "mailru"),
	P("yandex.ru", "yandex"),
	P("yandex.net", "yandex"),
	P("i.ua", "iua"),
};

#undef P

/* provider_of - the provider of a host or domain */
const char *
provider_of(const char *host)
{
	size_t n;

	if (host == NULL)
		return NULL;
	n = strlen(host);
	while (n > 0 && host[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		size_t m = providers[i].len;

		/* The last character rules most suffixes out cheaply. */
		if (n < m || tolower((unsigned char)host[n - 1]) != providers[i].suffix[m - 1])
			continue;
		if (strncasecmp(host + n - m, providers[i].suffix, m) == 0 &&
		    (n == m || host[n - m - 1] == '.'))
			return providers[i].name;
	}
	return NULL;
}

/* provider_valid - whether a name is a provider name */
int
provider_valid(const char *name)
{
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		if (strcmp(providers[i].name, name) == 0)
			return 1;
	return 0;
}
