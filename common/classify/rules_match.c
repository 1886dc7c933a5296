/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rules_match - run the rules over one recipient.
 *
 * The cheap tests come first: the conditions (status, reply code,
 * command, provider...) and the literal pre-check, which needs one pass
 * over the lower-cased diagnostic for all rules together.  Only a rule
 * that passes both has its regex compiled (once per process) and run,
 * always with the match, depth and heap limits of the match context.
 *
 * rules_explain() is the same loop with a witness: it tells its caller
 * how each rule fared, at no cost to rules_match(), which passes none.
 * rules_check() compiles everything up front, each phrase of a list on
 * its own so that an error names the phrase's line.
 */
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

/* The conditions of a rule, in the order they are tested. */
enum rule_cond {
	COND_NONE,
	COND_CMD,
	COND_STATUS,
	COND_CODE,
	COND_PROVIDER,
	COND_REPORTER,
	COND_TYPE,
	COND_ACTION,
	COND_SREASON,
};

/*
 * rules_failed_condition - the first condition of r that does not hold
 * for in, or COND_NONE; code is the reply code as text ("" for none),
 * formatted once per recipient by the caller rather than once per rule.
 */
static enum rule_cond
rules_failed_condition(const struct rule *r, const struct rule_input *in, const char *code)
{
	/* Most rules set few conditions: an empty list is passed without a call. */
	if (r->cmd_mask != 0 && ((r->cmd_mask >> in->command) & 1u) == r->cmd_negate)
		return COND_CMD;
	if (r->status.n != 0 && !rules_list_match(&r->status, in->status, true))
		return COND_STATUS;
	if (r->rcode.n != 0 && !rules_list_match(&r->rcode, code, true))
		return COND_CODE;
	if (r->provider.n != 0 && !rules_list_match(&r->provider, in->provider, false))
		return COND_PROVIDER;
	if (r->reporter.n != 0 && !rules_list_match(&r->reporter, in->reporter, false))
		return COND_REPORTER;
	if (r->type.n != 0 && !rules_list_match(&r->type, in->diag_type, false))
		return COND_TYPE;
	if (r->action.n != 0 && !rules_list_match(&r->action, in->action, false))
		return COND_ACTION;
	if (r->sreason.n != 0 && !rules_list_match(&r->sreason, in->status_reason, false))
		return COND_SREASON;
	return COND_NONE;
}

/* rules_list_text - "name=v1,v2" of a condition list, into b */
static void
rules_list_text(struct buf *b, const char *name, const struct rule_list *l)
{
	buf_printf(b, "%s=%s", name, l->negate ? "!" : "");
	for (size_t i = 0; i < l->n; i++)
		buf_printf(b, "%s%s", i ? "," : "", l->v[i]);
}

/* rules_condition_text - the failed condition as the rule file writes it */
static void
rules_condition_text(struct buf *b, const struct rule *r, enum rule_cond c)
{
	buf_reset(b);
	switch (c) {
	case COND_CMD:
		buf_printf(b, "cmd=%s", r->cmd_negate ? "!" : "");
		for (int i = 0, n = 0; i < CMD_COUNT; i++)
			if ((r->cmd_mask >> i) & 1u)
				buf_printf(b, "%s%s", n++ ? "," : "",
					   i == CMD_NONE ? "none" : smtp_cmd_name((enum smtp_cmd)i));
		break;
	case COND_STATUS: rules_list_text(b, "status", &r->status); break;
	case COND_CODE: rules_list_text(b, "code", &r->rcode); break;
	case COND_PROVIDER: rules_list_text(b, "provider", &r->provider); break;
	case COND_REPORTER: rules_list_text(b, "reporter", &r->reporter); break;
	case COND_TYPE: rules_list_text(b, "type", &r->type); break;
	case COND_ACTION: rules_list_text(b, "action", &r->action); break;
	case COND_SREASON: rules_list_text(b, "statusreason", &r->sreason); break;
	case COND_NONE: break;
	}
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

/* rules_check - finish, and compile every regex and phrase */
int
rules_check(struct rules *rs, char **error_r)
{
	if (rules_finish(rs, error_r) < 0)
		return -1;
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = rs->v[i];

		/* Each phrase alone, so that an error names its line. */
		for (size_t k = 0; k < r->nphrases; k++) {
			const struct rule_phrase *ph = &r->phrases[k];
			int err;
			PCRE2_SIZE off;
			pcre2_code *code = pcre2_compile((PCRE2_SPTR)r->pattern + ph->off, ph->len,
							 r->options, &err, &off, NULL);

			if (code == NULL) {
				PCRE2_UCHAR text[256];

				pcre2_get_error_message(err, text, sizeof(text));
				*error_r = rules_errorf(r->file, ph->line,
							"@phrases %s: regex error at offset %zu: %s",
							r->id, (size_t)off, (const char *)text);
				return -1;
			}
			pcre2_code_free(code);
		}
	}
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i]->pattern != NULL && rs->v[i]->code == NULL &&
		    !rules_compile(rs, rs->v[i], error_r))
			return -1;
	return 0;
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
 * rules_next_alt - the next alternative of r's literal pre-check
 * (rules_impl.h) for which the diagnostic holds a literal of each piece,
 * looking from lits[*pos], the start of alternative number *alt: true,
 * with *alt its number and *pos past its end; false when none is left
 */
static bool
rules_next_alt(const struct rules *rs, const struct rule *r, size_t *pos, size_t *alt)
{
	uint32_t scan;
	const uint32_t *marks = litset_marks(rs->lits, &scan);
	const int *lits = r->lits;
	size_t i = *pos, n = r->nlits;

	while (i < n) {
		bool piece = false;

		if (lits[i] == RULE_LIT_ALT) {
			/* Each piece of this alternative held. */
			*pos = i + 1;
			return true;
		}
		for (; i < n && lits[i] != RULE_LIT_PIECE && lits[i] != RULE_LIT_ALT; i++)
			piece = piece || lits[i] == RULE_LIT_ANY || marks[lits[i]] == scan;
		i += i < n && lits[i] == RULE_LIT_PIECE;
		if (!piece) {
			/*
			 * Most alternatives fail at their first piece: pass the
			 * rest of the alternative without looking at it.
			 */
			while (i < n && lits[i++] != RULE_LIT_ALT)
				;
			++*alt;
		}
	}
	*pos = n;
	return false;
}

/*
 * rules_literal_ok - whether the diagnostic holds, for one alternative
 * of r's regex, a literal of each of its pieces
 */
static bool
rules_literal_ok(const struct rules *rs, const struct rule *r)
{
	size_t pos = 0, alt = 0;

	return r->nlits == 0 || rules_next_alt(rs, r, &pos, &alt);
}

/*
 * A rule whose regex is a @phrases list matches where one of the list's
 * phrases does, so it can be run a phrase at a time: only the phrases
 * whose literals the text holds (the pre-check knows them, one
 * alternative per phrase), each a small regex.  The whole alternation,
 * case-insensitive and dozens of phrases wide, costs a JIT-compiled
 * match about 90 instructions per byte of text and its compilation tens
 * of microseconds; the one or two phrases a text leaves cost a fraction
 * of either.  The answer is the same, which tests/unit compares.
 *
 * rules_phrase_alone - whether phrase s[0..n) means alone what it means
 * in its list: it sets no option (an option set at the top level of one
 * alternative holds in those after it), refers to no group by number or
 * name (the numbers shift when phrases are joined), and uses no verb.
 * Groups that only group or look around are fine.
 */
static bool
rules_phrase_alone(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		char c = s[i + 1];

		if (s[i] == '\\') {
			if ((c >= '1' && c <= '9') || c == 'g' || c == 'k')
				return false;
			i++;
		} else if (s[i] == '(' && c == '*') {
			return false;
		} else if (s[i] == '(' && c == '?') {
			char d = i + 2 < n ? s[i + 2] : '\0', e = i + 3 < n ? s[i + 3] : '\0';

			if (d == '\0' || (memchr(":=!>#", d, 5) == NULL &&
					  !(d == '<' && (e == '=' || e == '!'))))
				return false;
		}
	}
	return true;
}

/* rules_split - whether the @phrases list origin may be run a phrase at a time */
static bool
rules_split(struct rule *origin)
{
	if (origin->split == SPLIT_UNKNOWN) {
		size_t alts = 0;
		bool ok = origin->nphrases > 0 && origin->lits_built && origin->nlits > 0;

		for (size_t i = 0; ok && i < origin->nlits; i++)
			alts += origin->lits[i] == RULE_LIT_ALT;
		ok = ok && alts == origin->nphrases;
		for (size_t k = 0; ok && k < origin->nphrases; k++)
			ok = rules_phrase_alone(origin->pattern + origin->phrases[k].off,
						origin->phrases[k].len);
		origin->split = ok ? SPLIT_YES : SPLIT_NO;
	}
	return origin->split == SPLIT_YES;
}

/*
 * rules_phrase_code - phrase k of the list origin, compiled alone the
 * first time it is asked for; NULL when it does not compile alone
 */
static pcre2_code *
rules_phrase_code(struct rules *rs, struct rule *origin, size_t k)
{
	struct rule_phrase *ph = &origin->phrases[k];
	pcre2_code **code;
	int err;
	PCRE2_SIZE off;

	if (origin->phrase_codes == NULL)
		origin->phrase_codes = xcalloc(origin->nphrases, sizeof(*origin->phrase_codes));
	code = &origin->phrase_codes[k];
	if (*code == NULL && !ph->broken) {
		*code = pcre2_compile((PCRE2_SPTR)origin->pattern + ph->off, ph->len,
				      origin->options, &err, &off, NULL);
		ph->broken = *code == NULL;
		rs->compiled += *code != NULL;
	}
	return *code;
}

/*
 * rules_run_phrases - rules_run() for a rule whose regex is the list
 * origin: each phrase that passes the literal pre-check, run alone.
 * 1 on a match, 0 on none, -1 when the list cannot be split (then it is
 * never split again, and the caller runs the whole regex).
 */
static int
rules_run_phrases(struct rules *rs, struct rule *origin, const char *s, size_t n)
{
	if (!rules_split(origin))
		return -1;
	if (n > LIMIT_RULE_SUBJECT)
		n = LIMIT_RULE_SUBJECT;
	for (size_t pos = 0, k = 0; rules_next_alt(rs, origin, &pos, &k); k++) {
		pcre2_code *code = rules_phrase_code(rs, origin, k);
		int rc;

		if (code == NULL) {
			origin->split = SPLIT_NO;
			return -1;
		}
		/*
		 * No JIT: forty rounds over the corpus took as long with it
		 * as without, a phrase being a few words the interpreter finds
		 * by their first bytes.
		 */
		rc = pcre2_match(code, (PCRE2_SPTR)s, n, 0, 0, rs->md, rs->mctx);
		if (rc >= 0)
			return 1;
		if (rc != PCRE2_ERROR_NOMATCH) {
			char msg[320];

			snprintf(msg, sizeof(msg), "%s:%d: @phrases %s: match failed (%d)",
				 origin->file, origin->phrases[k].line, origin->id, rc);
			rules_note_error(rs, xstrdup(msg));
		}
	}
	return 0;
}

/*
 * rules_test - whether r's regex matches s[0..n): a phrase at a time
 * when r takes a @phrases list's regex and tests the diagnostic, else
 * the whole regex.  --explain shows the text the whole regex matched,
 * so it always runs that.
 */
static bool
rules_test(struct rules *rs, struct rule *r, const char *s, size_t n, bool explaining)
{
	struct rule *origin;
	int rc;

	if (!explaining && r->field == FIELD_DIAGNOSTIC && r->lits_borrowed &&
	    (origin = rules_find(rs, r->like_origin)) != NULL && origin->lits == r->lits &&
	    (rc = rules_run_phrases(rs, origin, s, n)) >= 0)
		return rc == 1;
	return rules_run(rs, r, s, n);
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
			chunk[j] = litset_lower(diag[i + j]);
		buf_append_partial(rs->lower, chunk, m);
	}
	litset_scan(rs->lits, buf_str(rs->lower), buf_len(rs->lower));
}

/* rules_explain_step - tell fn how rule r fared */
static void
rules_explain_step(rules_explain_fn *fn, void *ctx, const struct rule *r,
		   enum rule_outcome outcome, const char *detail)
{
	struct rule_step step = {
		.id = r->id, .file = r->file, .line = r->line, .reason = r->reason,
		.outcome = outcome, .detail = detail,
	};

	fn(ctx, &step);
}

/*
 * rules_explain_phrase - the phrase of r's phrase list that matched s at
 * start, compiling the phrases one by one; NULL when r has none
 */
static const struct rule_phrase *
rules_explain_phrase(struct rules *rs, const struct rule *r, const char *s, size_t n,
		     size_t start, const char **file_r)
{
	struct rule *origin = r->like_origin != NULL ? rules_find(rs, r->like_origin) : NULL;
	pcre2_match_data *md;
	const struct rule_phrase *found = NULL;

	if (origin == NULL || origin->nphrases == 0)
		return NULL;
	md = pcre2_match_data_create(1, NULL);
	for (size_t k = 0; k < origin->nphrases && found == NULL && md != NULL; k++) {
		pcre2_code *code = rules_phrase_code(rs, origin, k);

		if (code != NULL && pcre2_match(code, (PCRE2_SPTR)s, n, start, PCRE2_ANCHORED, md,
						rs->mctx) >= 0)
			found = &origin->phrases[k];
	}
	pcre2_match_data_free(md);
	*file_r = origin->file;
	return found;
}

/* rules_explain_match - tell fn which text, and which phrase, decided */
static void
rules_explain_match(struct rules *rs, const struct rule *r, const char *s, size_t n,
		    rules_explain_fn *fn, void *ctx)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rs->md);
	size_t start = ov[0] <= n ? ov[0] : n, end = ov[1] <= n && ov[1] >= start ? ov[1] : start;
	char *text = xstrndup(s + start, end - start);
	struct rule_step step = {
		.id = r->id, .file = r->file, .line = r->line, .reason = r->reason,
		.outcome = RULE_DECIDED, .detail = text,
	};
	const struct rule_phrase *ph = rules_explain_phrase(rs, r, s, n, start, &step.phrase_file);

	if (ph != NULL)
		step.phrase_line = ph->line;
	else
		step.phrase_file = NULL;
	fn(ctx, &step);
	free(text);
}

/* rules_explain - the first rule that matches a recipient, each step told */
bool
rules_explain(struct rules *rs, const struct rule_input *in, struct rule_result *out,
	      rules_explain_fn *fn, void *ctx)
{
	const char *diag = in->diagnostic != NULL ? in->diagnostic : "";
	size_t dlen = strlen(diag);
	struct buf *why = fn != NULL ? buf_create(LIMIT_RULE_LINE) : NULL;
	char code[16], *error = NULL;
	bool found = false;

	if (!rs->finished && rules_finish(rs, &error) < 0)
		rules_note_error(rs, error);
	code[0] = '\0';
	if (in->reply_code > 0)
		snprintf(code, sizeof(code), "%d", in->reply_code);
	rules_prescan(rs, diag, dlen);
	for (size_t i = 0; i < rs->n && !found; i++) {
		struct rule *r = rs->v[i];
		const char *s = diag;
		size_t n = dlen;
		enum rule_cond failed;

		if (r->pattern_only || !r->resolved)
			continue;
		if ((failed = rules_failed_condition(r, in, code)) != COND_NONE) {
			if (fn != NULL) {
				rules_condition_text(why, r, failed);
				rules_explain_step(fn, ctx, r, RULE_CONDITION, buf_str(why));
			}
			continue;
		}
		if (r->pattern != NULL) {
			if (r->field == FIELD_DIAGNOSTIC) {
				if (dlen > 0 && !r->lits_built) {
					rules_lits(rs, r);
					litset_rescan(rs->lits, buf_str(rs->lower), buf_len(rs->lower));
				}
				if (dlen == 0 || !rules_literal_ok(rs, r)) {
					if (fn != NULL)
						rules_explain_step(fn, ctx, r, RULE_ABSENT, "");
					continue;
				}
			} else if (r->field == FIELD_TEXT) {
				s = in->text != NULL ? in->text : "";
				n = in->text != NULL ? in->text_len : 0;
			} else {
				s = in->subject != NULL ? in->subject : "";
				n = strlen(s);
			}
			if (n > LIMIT_RULE_SUBJECT)
				n = LIMIT_RULE_SUBJECT;
			if (n == 0 || !rules_test(rs, r, s, n, fn != NULL)) {
				if (fn != NULL)
					rules_explain_step(fn, ctx, r, n == 0 ? RULE_ABSENT : RULE_NO_MATCH,
							   "");
				continue;
			}
			if (fn != NULL)
				rules_explain_match(rs, r, s, n, fn, ctx);
		} else if (fn != NULL) {
			rules_explain_step(fn, ctx, r, RULE_DECIDED, "");
		}
		out->id = r->id;
		out->reason = r->reason;
		out->hard = r->hard;
		found = true;
	}
	buf_free(&why);
	return found;
}

/* rules_match - the first rule that matches a recipient */
bool
rules_match(struct rules *rs, const struct rule_input *in, struct rule_result *out)
{
	return rules_explain(rs, in, out, NULL, NULL);
}
