/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_PROVIDER_H
#define REBOUND_PROVIDER_H

/*
 * provider - which large mailbox provider a host or domain belongs to.
 *
 * Some providers give a status code their own meaning (Microsoft's 5.7.606
 * is a blocked IP, Google's 5.7.26 a DMARC failure...).  Rules can be
 * limited to one provider with "provider=NAME"; the names are those of
 * the table in provider.c (google, microsoft, yahoo, aol, apple, ...).
 * Pure: static data only.
 */

/* provider_of - the provider of a host or domain name, or NULL */
const char *provider_of(const char *host);

/* provider_valid - whether name is one of the provider names */
int provider_valid(const char *name);

#endif
