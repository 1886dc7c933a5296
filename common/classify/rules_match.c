/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rules_match - run the rules over one recipient.
 *
 * The cheap tests come first: the conditions (status, reply code,
 * command, provider...) and the literal pre-check, which needs one pass
 * over the lower-cased diagnostic for all rules together.  Only a rule
 * that passes both has its regex compiled (once per process) and run,
 * always with the match, depth and heap limits of the match context.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/caps.h"
#include "classify/rules_impl.h"
#include "util/xalloc.h"

/* rules_glob - whether s matches a glob of '*' and '?' */
static bool
rules_glob(const char *g, const char *s)
{
	for (; *g != '\0'; g++, s++) {
		if (*g == '*') {
			for (const char *t = s;; t++) {
				if (rules_glob(g + 1, t))
					return true;
				if (*t == '\0')
					return false;
			}
		}
		if (*s == '\0' || (*g != '?' && *g != *s))
			return false;
	}
	return *s == '\0';
}

/* rules_list_match - whether value (NULL or "" = none) passes a condition list */
static bool
rules_list_match(const struct rule_list *l, const char *value, bool glob)
{
	bool hit = false;

	if (l->n == 0)
		return true;
	for (size_t i = 0; i < l->n && !hit; i++) {
		if (value == NULL || *value == '\0')
			hit = strcmp(l->v[i], "none") == 0;
		else
			hit = glob ? rules_glob(l->v[i], value) : strcmp(l->v[i], value) == 0;
	}
	return hit != l->negate;
}

/*
 * rules_conditions_hold - whether every condition of r holds for in; code
 * is the reply code as text ("" for none), formatted once per recipient by
 * the caller rather than once per rule.
 */
static bool
rules_conditions_hold(const struct rule *r, const struct rule_input *in, const char *code)
{
	if (r->cmd_mask != 0 && ((r->cmd_mask >> in->command) & 1u) == r->cmd_negate)
		return false;
	return rules_list_match(&r->status, in->status, true) &&
	       rules_list_match(&r->rcode, code, true) &&
	       rules_list_match(&r->provider, in->provider, false) &&
	       rules_list_match(&r->reporter, in->reporter, false) &&
	       rules_list_match(&r->type, in->diag_type, false) &&
	       rules_list_match(&r->action, in->action, false) &&
	       rules_list_match(&r->sreason, in->status_reason, false);
}

/* rules_compile - compile one rule's regex */
bool
rules_compile(struct rules *rs, struct rule *r, char **error_r)
{
	int err;
	PCRE2_SIZE off;

	r->code = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, r->options, &err,
				&off, NULL);
	if (r->code == NULL) {
		PCRE2_UCHAR text[256];
		char msg[320];

		pcre2_get_error_message(err, text, sizeof(text));
		snprintf(msg, sizeof(msg), "%s:%d: rule %s: regex error at offset %zu: %s", r->file,
			 r->line, r->id, (size_t)off, (const char *)text);
		*error_r = xstrdup(msg);
		r->broken = true;
		return false;
	}
	rs->compiled++;
	return true;
}

/* rules_note_error - keep the first run-time error */
static void
rules_note_error(struct rules *rs, char *error)
{
	if (rs->error == NULL)
		rs->error = error;
	else
		free(error);
}

/* rules_run - run r's regex over s[0..n); true on a match */
static bool
rules_run(struct rules *rs, struct rule *r, const char *s, size_t n)
{
	char *error = NULL;
	int rc;

	if (r->broken || (r->code == NULL && !rules_compile(rs, r, &error))) {
		if (error != NULL)
			rules_note_error(rs, error);
		return false;
	}
	if (n > LIMIT_RULE_SUBJECT)
		n = LIMIT_RULE_SUBJECT;
	/* JIT pays only for a rule that keeps being run (rules_impl.h). */
	r->scanned += n;
	if (!r->jit && (++r->runs >= RULES_JIT_AFTER || r->scanned >= RULES_JIT_BYTES)) {
		r->jit = true;
		(void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
	}
	rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, 0, 0, rs->md, rs->mctx);
	/*
	 * JIT code ignores the depth and heap limits and runs on a stack of
	 * its own; when that stack is too small, the interpreter, under all
	 * the limits, gives the answer it would have given without JIT.
	 */
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_JIT, rs->md, rs->mctx);
	if (rc >= 0)
		return true;
	if (rc != PCRE2_ERROR_NOMATCH) {
		char msg[320];

		snprintf(msg, sizeof(msg), "%s:%d: rule %s: match failed (%d)", r->file, r->line,
			 r->id, rc);
		rules_note_error(rs, xstrdup(msg));
	}
	return false;
}

/*
 * rules_literal_ok - whether the diagnostic holds, for one alternative
 * of r's regex, a literal of each of its pieces (rules_impl.h)
 */
static bool
rules_literal_ok(const struct rules *rs, const struct rule *r)
{
	bool piece = false, alt = true;

	if (r->nlits == 0)
		return true;
	for (size_t i = 0; i < r->nlits; i++) {
		int id = r->lits[i];

		if (id == RULE_LIT_PIECE) {
			alt = alt && piece;
			piece = false;
		} else if (id == RULE_LIT_ALT) {
			if (alt)
				return true;
			alt = true;
		} else if (!piece) {
			piece = id == RULE_LIT_ANY || litset_found(rs->lits, id);
		}
	}
	return false;
}

/* rules_prescan - mark the literals present in the diagnostic */
static void
rules_prescan(struct rules *rs, const char *diag, size_t n)
{
	char chunk[512];

	buf_reset(rs->lower);
	if (n > LIMIT_RULE_SUBJECT)
		n = LIMIT_RULE_SUBJECT;
	for (size_t i = 0; i < n; i += sizeof(chunk)) {
		size_t m = n - i < sizeof(chunk) ? n - i : sizeof(chunk);

		for (size_t j = 0; j < m; j++)
			chunk[j] = (char)tolower((unsigned char)diag[i + j]);
		buf_append_partial(rs->lower, chunk, m);
	}
	litset_scan(rs->lits, buf_str(rs->lower), buf_len(rs->lower));
}

/* rules_match - the first rule that matches a recipient */
bool
rules_match(struct rules *rs, const struct rule_input *in, struct rule_result *out)
{
	const char *diag = in->diagnostic != NULL ? in->diagnostic : "";
	size_t dlen = strlen(diag);
	char code[16];

	code[0] = '\0';
	if (in->reply_code > 0)
		snprintf(code, sizeof(code), "%d", in->reply_code);
	rules_prescan(rs, diag, dlen);
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = &rs->v[i];
		const char *s = diag;
		size_t n = dlen;

		if (r->pattern_only || !rules_conditions_hold(r, in, code))
			continue;
		if (r->pattern != NULL) {
			if (r->field == FIELD_DIAGNOSTIC) {
				if (dlen == 0 || !rules_literal_ok(rs, r))
					continue;
			} else if (r->field == FIELD_TEXT) {
				s = in->text != NULL ? in->text : "";
				n = in->text != NULL ? in->text_len : 0;
			} else {
				s = in->subject != NULL ? in->subject : "";
				n = strlen(s);
			}
			if (n == 0 || !rules_run(rs, r, s, n))
				continue;
		}
		out->id = r->id;
		out->reason = r->reason;
		out->hard = r->hard;
		return true;
	}
	return false;
}
