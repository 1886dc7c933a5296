/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config - the milter's configuration snapshot.
 *
 * Callbacks run on many threads and a SIGHUP may arrive at any time, so
 * the configuration is an immutable, reference-counted object: a reload
 * builds a complete new snapshot and swaps one pointer; transactions in
 * flight keep the snapshot they pinned until they finish.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"
#include "util/msg.h"
#include "util/xalloc.h"

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct msnap *snap_current;

static void
snap_destroy(struct msnap *snap)
{
	cfg_free(&snap->cfg);
	token_keys_free(&snap->keys);
	free(snap);
}

int
snap_load(const char *path, struct msnap **snap_r, char **error_r)
{
	struct cfg *cfg;
	struct token_keys *keys = NULL;
	struct msnap *snap;

	if (cfg_load(path, &cfg, error_r) < 0)
		return -1;
	if (cfg->token_key_file[0] != '\0' &&
	    token_keys_load(cfg->token_key_file, cfg->token_previous_key_file, &keys,
			    error_r) < 0) {
		cfg_free(&cfg);
		return -1;
	}
	if (cfg->sender_domains[0] != NULL && keys == NULL) {
		*error_r = xstrdup("sender_domains is set but token_key_file is empty");
		cfg_free(&cfg);
		return -1;
	}
	if (cfg->sender_domains[0] != NULL && cfg->bounce_domains[0] == NULL) {
		*error_r = xstrdup("sender_domains is set but bounce_domains is empty");
		cfg_free(&cfg);
		token_keys_free(&keys);
		return -1;
	}
	snap = xcalloc(1, sizeof(*snap));
	atomic_init(&snap->refs, 1);
	snap->cfg = cfg;
	snap->keys = keys;
	*snap_r = snap;
	return 0;
}

void
snap_publish(struct msnap *snap)
{
	struct msnap *old;

	pthread_mutex_lock(&snap_lock);
	old = snap_current;
	snap_current = snap;
	pthread_mutex_unlock(&snap_lock);
	snap_put(&old);
}

struct msnap *
snap_get(void)
{
	struct msnap *snap;

	pthread_mutex_lock(&snap_lock);
	snap = snap_current;
	atomic_fetch_add(&snap->refs, 1);
	pthread_mutex_unlock(&snap_lock);
	return snap;
}

void
snap_put(struct msnap **snapp)
{
	struct msnap *snap = *snapp;

	if (snap == NULL)
		return;
	*snapp = NULL;
	if (atomic_fetch_sub(&snap->refs, 1) == 1)
		snap_destroy(snap);
}

void
snap_shutdown(void)
{
	snap_publish(NULL);
}
