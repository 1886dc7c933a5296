/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_PROVIDER_H
#define REBOUND_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * provider - which large mailbox provider a host or domain belongs to.
 *
 * Some providers give a status code or a wording their own meaning
 * (Microsoft's 5.7.606 is a blocked IP, Google's 5.7.26 a DMARC
 * failure...).  Rules can be limited to one provider with
 * "provider=NAME" or "reporter=NAME".  The table is data: the @provider
 * lines of the rule files (rules/00-providers.rules for the built-in
 * ones) fill it through provider_add(); rebound-rules(5) describes them.
 *
 * A host belongs to a provider when it equals one of the provider's
 * domain suffixes or ends with "." and the suffix, comparing without
 * regard to case; the suffixes are tried in the order they were added.
 * Pure: no I/O, no logging.
 */
struct provider_table;

/* provider_table_create - an empty table */
struct provider_table *provider_table_create(void);

/* provider_table_free - release *tp and set it to NULL; accepts NULL */
void provider_table_free(struct provider_table **tp);

/*
 * provider_add - add a domain suffix of provider name; false when the
 * suffix or the name is malformed or the table is full
 */
bool provider_add(struct provider_table *t, const char *name, const char *suffix);

/* provider_of - the provider of a host or domain name, or NULL */
const char *provider_of(const struct provider_table *t, const char *host);

/* provider_valid - whether name is one of the provider names */
bool provider_valid(const struct provider_table *t, const char *name);

/* provider_count - suffixes in the table */
size_t provider_count(const struct provider_table *t);

#endif
