/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suppset - open-addressing hash set of suppressed addresses.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "suppset.h"
#include "util/xalloc.h"

#define HASH_EMPTY	0	/* slot never used */
#define HASH_DELETED	1	/* slot freed: probing goes on past it */
#define REASONS_MAX	1024	/* distinct reasons; more share "suppressed" */

struct slot {
	uint64_t hash;		/* >= 2 when in use */
	uint32_t off;		/* key offset in the arena */
	uint32_t reason;	/* index in reasons[] */
};

struct suppset {
	uint64_t seed;
	struct slot *slots;
	size_t cap;		/* power of two */
	size_t used;		/* live entries */
	size_t deleted;		/* tombstones */
	char *arena;
	size_t arena_len, arena_cap;
	char *reasons[REASONS_MAX];
	size_t nreasons;
};

/*
 * suppset_hash - FNV-1a over the key mixed with a random seed and finished
 * with a 64-bit avalanche, so that probe sequences do not cluster and an
 * outsider cannot aim addresses at one chain.
 */
static uint64_t
suppset_hash(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h < 2 ? h + 2 : h;
}

struct suppset *
suppset_create(void)
{
	struct suppset *set = xcalloc(1, sizeof(*set));

	if (getrandom(&set->seed, sizeof(set->seed), 0) != sizeof(set->seed))
		set->seed = (uint64_t)(uintptr_t)set;
	set->cap = 64;
	set->slots = xcalloc(set->cap, sizeof(*set->slots));
	set->reasons[0] = xstrdup("suppressed");
	set->nreasons = 1;
	return set;
}

void
suppset_free(struct suppset **setp)
{
	struct suppset *set = *setp;

	if (set == NULL)
		return;
	for (size_t i = 0; i < set->nreasons; i++)
		free(set->reasons[i]);
	free(set->slots);
	free(set->arena);
	free(set);
	*setp = NULL;
}

/* suppset_find - the slot holding key, or NULL */
static struct slot *
suppset_find(const struct suppset *set, const char *key, size_t len, uint64_t h)
{
	size_t mask = set->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct slot *s = &set->slots[i];

		if (s->hash == HASH_EMPTY)
			return NULL;
		if (s->hash == h && strncmp(set->arena + s->off, key, len) == 0 &&
		    set->arena[s->off + len] == '\0')
			return s;
	}
}

/* suppset_grow - rehash into a table twice as large, without tombstones */
static void
suppset_grow(struct suppset *set)
{
	struct slot *old = set->slots;
	size_t oldcap = set->cap;

	if (set->used * 4 >= set->cap)
		set->cap *= 2;
	set->slots = xcalloc(set->cap, sizeof(*set->slots));
	for (size_t i = 0; i < oldcap; i++) {
		size_t mask = set->cap - 1, j;

		if (old[i].hash < 2)
			continue;
		for (j = old[i].hash & mask; set->slots[j].hash != HASH_EMPTY; j = (j + 1) & mask)
			;
		set->slots[j] = old[i];
	}
	set->deleted = 0;
	free(old);
}

static uint32_t
suppset_reason(struct suppset *set, const char *reason)
{
	for (size_t i = 0; i < set->nreasons; i++)
		if (strcmp(set->reasons[i], reason) == 0)
			return (uint32_t)i;
	if (set->nreasons == REASONS_MAX)
		return 0;
	set->reasons[set->nreasons] = xstrdup(reason);
	return (uint32_t)set->nreasons++;
}

int
suppset_add(struct suppset *set, const char *key, const char *reason)
{
	size_t len = strlen(key), mask;
	uint64_t h;
	struct slot *s;

	if (len == 0 || len > SUPPSET_KEY_MAX || reason == NULL || *reason == '\0' ||
	    strlen(reason) > SUPPSET_REASON_MAX)
		return -1;
	h = suppset_hash(set->seed, key, len);
	if ((s = suppset_find(set, key, len, h)) != NULL) {
		s->reason = suppset_reason(set, reason);
		return 0;
	}
	if ((set->used + set->deleted + 1) * 2 > set->cap)
		suppset_grow(set);
	if (set->arena_len + len + 1 > set->arena_cap) {
		set->arena_cap = set->arena_cap ? set->arena_cap * 2 : 4096;
		while (set->arena_len + len + 1 > set->arena_cap)
			set->arena_cap *= 2;
		if (set->arena_cap > UINT32_MAX)
			return -1;
		set->arena = xrealloc(set->arena, set->arena_cap);
	}
	mask = set->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		s = &set->slots[i];
		if (s->hash < 2)
			break;
	}
	if (s->hash == HASH_DELETED)
		set->deleted--;
	s->hash = h;
	s->off = (uint32_t)set->arena_len;
	s->reason = suppset_reason(set, reason);
	memcpy(set->arena + set->arena_len, key, len + 1);
	set->arena_len += len + 1;
	set->used++;
	return 0;
}

void
suppset_remove(struct suppset *set, const char *key)
{
	size_t len = strlen(key);
	struct slot *s;

	if (len == 0 || len > SUPPSET_KEY_MAX)
		return;
	if ((s = suppset_find(set, key, len, suppset_hash(set->seed, key, len))) == NULL)
		return;
	s->hash = HASH_DELETED;
	set->used--;
	set->deleted++;
}

bool
suppset_lookup(const struct suppset *set, const char *address,
	       char reason[SUPPSET_REASON_MAX + 1])
{
	char key[SUPPSET_KEY_MAX + 1];
	size_t len = strlen(address);
	const char *at;
	const struct slot *s;

	if (len == 0 || len > SUPPSET_KEY_MAX)
		return false;
	for (size_t i = 0; i <= len; i++)
		key[i] = (char)tolower((unsigned char)address[i]);
	s = suppset_find(set, key, len, suppset_hash(set->seed, key, len));
	if (s == NULL && (at = strrchr(key, '@')) != NULL && at[1] != '\0') {
		size_t dlen = len - (size_t)(at + 1 - key);

		s = suppset_find(set, at + 1, dlen, suppset_hash(set->seed, at + 1, dlen));
	}
	if (s == NULL)
		return false;
	if (reason != NULL) {
		strncpy(reason, set->reasons[s->reason], SUPPSET_REASON_MAX);
		reason[SUPPSET_REASON_MAX] = '\0';
	}
	return true;
}

size_t
suppset_count(const struct suppset *set)
{
	return set->used;
}

size_t
suppset_memory(const struct suppset *set)
{
	return sizeof(*set) + set->cap * sizeof(*set->slots) + set->arena_cap;
}
