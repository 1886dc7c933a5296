/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_SUPPSET_H
#define REBOUND_SUPPSET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * suppset - an in-memory set of suppressed addresses and domains with the
 * reason of each, for lookups at RCPT time.
 *
 * Keys are stored as given (the loader passes rebound.suppressions.address,
 * which is lower case); lookups lower-case the address and try it, then its
 * domain, as rebound.is_suppressed() does.  The table is open addressing
 * over 64-bit keyed hashes with the strings kept in one arena, so a million
 * entries cost tens of megabytes rather than a million allocations.
 *
 * The set does no locking: the milter publishes it behind a read-write
 * lock.
 */
#define SUPPSET_KEY_MAX		320
#define SUPPSET_REASON_MAX	64

struct suppset;

struct suppset *suppset_create(void);
void suppset_free(struct suppset **setp);

/* suppset_add - add or update key; -1 if key or reason is too long or empty */
int suppset_add(struct suppset *set, const char *key, const char *reason);

/* suppset_remove - remove key if present */
void suppset_remove(struct suppset *set, const char *key);

/*
 * suppset_lookup - whether address or its domain is suppressed; the
 * stored reason is copied to reason (which may be NULL).
 */
bool suppset_lookup(const struct suppset *set, const char *address,
		    char reason[SUPPSET_REASON_MAX + 1]);

size_t suppset_count(const struct suppset *set);

/* suppset_memory - bytes allocated by the set */
size_t suppset_memory(const struct suppset *set);

#endif
