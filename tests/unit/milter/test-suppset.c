/* SPDX-License-Identifier: BSD-2-Clause */
/* test-suppset - the in-memory suppression set. */
#include <stdio.h>
#include <string.h>

#include "suppset.h"
#include "tap.h"

int
main(void)
{
	struct suppset *set = suppset_create();
	char reason[SUPPSET_REASON_MAX + 1], key[64], longkey[SUPPSET_KEY_MAX + 2];
	int found = 0;

	tap_ok(!suppset_lookup(set, "a@example.org", reason), "empty set");
	tap_ok(suppset_add(set, "a@example.org", "userunknown") == 0, "add an address");
	tap_ok(suppset_add(set, "dead.example", "hostunknown") == 0, "add a domain");
	tap_ok(suppset_lookup(set, "a@example.org", reason), "address found");
	tap_is_str(reason, "userunknown", "with its reason");
	tap_ok(suppset_lookup(set, "A@Example.ORG", reason), "lookup is case-insensitive");
	tap_ok(!suppset_lookup(set, "b@example.org", reason), "other address not found");
	tap_ok(suppset_lookup(set, "anyone@dead.example", reason), "domain entry covers addresses");
	tap_is_str(reason, "hostunknown", "with the domain's reason");
	tap_ok(!suppset_lookup(set, "x@sub.dead.example", reason), "but not subdomains");
	tap_ok(suppset_add(set, "a@example.org", "manual") == 0, "update");
	suppset_lookup(set, "a@example.org", reason);
	tap_is_str(reason, "manual", "reason updated");
	tap_is_int((long long)suppset_count(set), 2, "two entries");
	suppset_remove(set, "a@example.org");
	tap_ok(!suppset_lookup(set, "a@example.org", reason), "removed");
	tap_is_int((long long)suppset_count(set), 1, "one entry");
	tap_ok(suppset_add(set, "", "x") < 0, "empty key refused");
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	tap_ok(suppset_add(set, longkey, "x") < 0, "over-long key refused");
	tap_ok(!suppset_lookup(set, longkey, reason), "over-long lookup is a miss");

	/* Growth, removal and re-adding keep every entry reachable. */
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "user%d@example.net", i);
		suppset_add(set, key, i % 2 ? "odd" : "even");
	}
	for (int i = 0; i < 100000; i += 3) {
		snprintf(key, sizeof(key), "user%d@example.net", i);
		suppset_remove(set, key);
	}
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "user%d@example.net", i);
		if (suppset_lookup(set, key, reason) == (i % 3 != 0) &&
		    (i % 3 == 0 || strcmp(reason, i % 2 ? "odd" : "even") == 0))
			found++;
	}
	tap_is_int(found, 100000, "100000 lookups after growth and removals");
	tap_is_int((long long)suppset_count(set), 1 + 100000 - 33334, "count");
	suppset_free(&set);
	tap_ok(set == NULL, "freed");
	return tap_done();
}
