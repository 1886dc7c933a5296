/* SPDX-License-Identifier: BSD-2-Clause */
/* evidence - the tokens a bounce carries, checked with our keys. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/evidence.h"
#include "util/xalloc.h"

/* evidence_keys - load the keys once; -1 and *error_r when they cannot be read */
static int
evidence_keys(const struct cfg *cfg, struct evidence *ev, char **error_r)
{
	if (ev->keys != NULL || cfg->token_key_file[0] == '\0')
		return 0;
	return token_keys_load(cfg->token_key_file, cfg->token_previous_key_file, &ev->keys,
			       error_r);
}

/* evidence_keep - a token of ours (valid or expired) is the evidence */
static void
evidence_keep(struct evidence *ev, const char *token, size_t len, bool valid, unsigned flags)
{
	ev->token = xstrndup(token, len);
	for (char *p = ev->token; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	ev->token_valid = valid;
	ev->single_recipient = (flags & TOKEN_SINGLE_RECIPIENT) != 0;
}

int
evidence_envelope(const struct cfg *cfg, const char *address, unsigned day,
		  struct evidence *ev, char **error_r)
{
	unsigned days = cfg->token_lifetime / 86400;

	if (return_path_inspect(address, cfg->verp_delimiters, NULL, day, days, &ev->rp) < 0) {
		memset(&ev->rp, 0, sizeof(ev->rp));
		return 0;
	}
	if (ev->rp.verdict == RP_TOKEN_UNVERIFIED && cfg->token_key_file[0] != '\0') {
		return_path_release(&ev->rp);
		if (evidence_keys(cfg, ev, error_r) < 0)
			return -1;
		(void)return_path_inspect(address, cfg->verp_delimiters, ev->keys, day, days,
					  &ev->rp);
	}
	if (ev->rp.token != NULL)
		evidence_keep(ev, ev->rp.token, strlen(ev->rp.token),
			      ev->rp.verdict == RP_TOKEN_VALID, ev->rp.info.flags);
	else if (ev->rp.verdict == RP_TOKEN_NONE)
		ev->verp_recipient = ev->rp.recipient;
	return 0;
}

int
evidence_returned(const struct cfg *cfg, const struct report *r, unsigned day,
		  struct evidence *ev, char **error_r)
{
	unsigned days = cfg->token_lifetime / 86400;
	struct return_path inner;
	struct token_info info;
	enum token_verdict v;

	if (ev->token != NULL || (r->orig_token == NULL && r->orig_return_path == NULL) ||
	    cfg->token_key_file[0] == '\0')
		return 0;
	if (evidence_keys(cfg, ev, error_r) < 0)
		return -1;
	if (r->orig_token != NULL) {
		v = token_decode(ev->keys, r->orig_token, strlen(r->orig_token), day, days, &info);
		if (v == TOKEN_VALID || v == TOKEN_EXPIRED) {
			evidence_keep(ev, r->orig_token, strlen(r->orig_token), v == TOKEN_VALID,
				      info.flags);
			return 0;
		}
	}
	if (r->orig_return_path != NULL &&
	    return_path_inspect(r->orig_return_path, cfg->verp_delimiters, ev->keys, day, days,
				&inner) == 0) {
		if (inner.token != NULL)
			evidence_keep(ev, inner.token, strlen(inner.token),
				      inner.verdict == RP_TOKEN_VALID, inner.info.flags);
		return_path_release(&inner);
	}
	return 0;
}

const char *
evidence_refusal(const struct evidence *ev, const struct report *r)
{
	if (ev->rp.verdict == RP_TOKEN_FORGED || ev->rp.verdict == RP_TOKEN_MALFORMED)
		return "sent to a forged return path: stored raw, no events";
	if (r->rcpt_overflow)
		return "names more recipients than any message of ours had "
		       "(LIMIT_RECIPIENTS): stored raw, no events";
	return NULL;
}

void
evidence_release(struct evidence *ev)
{
	return_path_release(&ev->rp);
	token_keys_free(&ev->keys);
	xfree(&ev->token);
}
