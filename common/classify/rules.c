/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rules - the rule set and the parsing of one rule.
 *
 * Every error names the file and line ("site.rules:12: unknown reason
 * \"userunkown\"") and stops the load: a rule set is used whole or not at
 * all, so that a typo cannot silently drop the rules after it.  Regex
 * syntax is checked by rules_check(), which compiles everything; normal
 * loading leaves compilation to the first message that needs a rule.
 * Files, their entries and the @ lines (@set, @phrases, @provider) are
 * read in rules_load.c, which also resolves, once every directory is
 * loaded, what a rule may borrow from a later one: like=, a @set in a
 * condition, a provider name.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/caps.h"
#include "mail/provider.h"
#include "classify/rules_impl.h"
#include "util/xalloc.h"

/* rules_create - an empty rule set with its match context */
struct rules *
rules_create(void)
{
	struct rules *rs = xcalloc(1, sizeof(*rs));

	rs->lits = litset_create();
	rs->providers = provider_table_create();
	rs->mctx = pcre2_match_context_create(NULL);
	rs->md = pcre2_match_data_create(1, NULL);
	if (rs->mctx == NULL || rs->md == NULL)
		msg_fatal("out of memory");
	pcre2_set_match_limit(rs->mctx, LIMIT_REGEX_MATCH);
	pcre2_set_depth_limit(rs->mctx, LIMIT_REGEX_DEPTH);
	pcre2_set_heap_limit(rs->mctx, LIMIT_REGEX_HEAP);
	rs->lower = buf_create(LIMIT_RULE_SUBJECT);
	return rs;
}

/* rule_list_release - free the values of a condition list */
static void
rule_list_release(struct rule_list *l)
{
	free(l->pool);
	free(l->v);
}

/* rule_release - free what one rule owns */
void
rule_release(struct rule *r)
{
	free(r->id);
	if (!r->pattern_borrowed)
		free(r->pattern);
	if (!r->lits_borrowed)
		free(r->lits);
	free(r->like);
	free(r->like_origin);
	for (size_t i = 0; r->phrase_codes != NULL && i < r->nphrases; i++)
		pcre2_code_free(r->phrase_codes[i]);
	free(r->phrase_codes);
	free(r->phrases);
	for (size_t i = 0; i < r->npending; i++) {
		free(r->pending[i].name);
		free(r->pending[i].value);
	}
	free(r->pending);
	rule_list_release(&r->status);
	rule_list_release(&r->rcode);
	rule_list_release(&r->provider);
	rule_list_release(&r->reporter);
	rule_list_release(&r->type);
	rule_list_release(&r->action);
	rule_list_release(&r->sreason);
	pcre2_code_free(r->code);
}

/* rules_free - release *rp and set it to NULL */
void
rules_free(struct rules **rp)
{
	struct rules *rs = *rp;

	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		rule_release(rs->v[i]);
		free(rs->v[i]);
	}
	free(rs->v);
	free(rs->ids);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	for (size_t i = 0; i < rs->nsets; i++) {
		free(rs->sets[i].name);
		free(rs->sets[i].value);
	}
	free(rs->sets);
	provider_table_free(&rs->providers);
	litset_free(&rs->lits);
	pcre2_match_context_free(rs->mctx);
	pcre2_match_data_free(rs->md);
	buf_free(&rs->lower);
	free(rs->scratch);
	free(rs->error);
	free(rs);
	*rp = NULL;
}

/* rules_errorf - an allocated "file:line: message" */
char *
rules_errorf(const char *file, int line, const char *fmt, ...)
{
	char text[512];
	int n = snprintf(text, sizeof(text), "%s:%d: ", file, line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	return xstrdup(text);
}

/* rules_valid_id - whether s is a well-formed rule id */
bool
rules_valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return false;
	return true;
}

/*
 * rules_list - parse a comma list into l; allowed() validates each value.
 * A second list for the same condition adds to the first.  One comma may
 * end the list; an empty value anywhere else is an error.
 */
static const char *
rules_list(struct rule_list *l, const char *value, bool (*allowed)(const char *))
{
	const char *p = value;
	size_t len, old = l->poollen, added = 0;
	const char *err = NULL;
	char *s, *end;

	if (*p == '!') {
		l->negate = true;
		p++;
	}
	len = strlen(p);
	if (len >= 2 && p[len - 1] == ',')
		len--;
	if (len == 0)
		return l->n > 0 ? NULL : "empty list";
	if (len >= UINT32_MAX - old)
		return "list too long";
	l->pool = xrealloc(l->pool, old + len + 1);
	memcpy(l->pool + old, p, len);
	l->pool[old + len] = '\0';
	for (s = l->pool + old, end = s + len; s <= end && err == NULL; s += strlen(s) + 1) {
		char *comma = memchr(s, ',', (size_t)(end - s));

		if (comma != NULL)
			*comma = '\0';
		if (*s == '\0' || !allowed(s))
			err = "bad value";
		else
			added++;
	}
	if (err == NULL) {
		l->poollen = (uint32_t)(old + len + 1);
		l->v = xrealloc(l->v, (l->n + added) * sizeof(*l->v));
		l->n += (uint32_t)added;
	}
	/* The pool may have moved: point every value at it again. */
	s = l->pool;
	for (uint32_t i = 0; i < l->n; i++, s += strlen(s) + 1)
		l->v[i] = s;
	return err;
}

/* allow_status - a status glob such as 5.1.1, *.2.2 or 4.*, or none */
static bool
allow_status(const char *v)
{
	return strcmp(v, "none") == 0 || (strspn(v, "0123456789.*?") == strlen(v) && *v != '.');
}

/* allow_code - a reply code glob such as 550 or 55?, or none */
static bool
allow_code(const char *v)
{
	size_t n = strlen(v);

	return strcmp(v, "none") == 0 || (n >= 1 && n <= 3 && strspn(v, "0123456789*?") == n);
}

/* allow_word - a lower-case word such as a provider, type or action */
static bool
allow_word(const char *v)
{
	for (const char *c = v; *c != '\0'; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) &&
		    strchr("-_.", *c) == NULL)
			return false;
	return *v != '\0';
}

/*
 * allow_provider - a provider name, or none; that the name is defined by
 * a @provider line is checked by rules_finish(), since a site rule may
 * name a provider that the built-in files define
 */
static bool
allow_provider(const char *v)
{
	return strcmp(v, "none") == 0 || allow_word(v);
}

/* allow_reason - a taxonomy reason name, or none */
static bool
allow_reason(const char *v)
{
	return strcmp(v, "none") == 0 || reason_from_name(v) >= 0;
}

/* rules_cmd - parse cmd= into the rule's command mask */
static const char *
rules_cmd(struct rule *r, const char *value)
{
	const char *p = value;

	if (*p == '!') {
		r->cmd_negate = true;
		p++;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		enum smtp_cmd c = n == 4 && strncasecmp(p, "none", 4) == 0 ?
					  CMD_NONE :
					  smtp_cmd_from_name(p, n);

		if (c == CMD_COUNT)
			return "unknown SMTP command";
		r->cmd_mask |= 1u << c;
		p += n + (p[n] == ',');
	}
	return r->cmd_mask != 0 ? NULL : "empty list";
}

/* rules_defer - keep a condition that names a @set for rules_finish() */
static const char *
rules_defer(struct rule *r, const char *name, const char *value)
{
	r->pending = xrealloc(r->pending, (r->npending + 1) * sizeof(*r->pending));
	r->pending[r->npending].name = xstrdup(name);
	r->pending[r->npending++].value = xstrdup(value);
	return NULL;
}

/* rules_option - apply one NAME=VALUE condition; an error text or NULL */
const char *
rules_option(struct rules *rs, struct rule *r, const char *name, const char *value)
{
	(void)rs;
	if (strchr(value, '@') != NULL && strcmp(name, "hard") != 0 && strcmp(name, "field") != 0)
		return rules_defer(r, name, value);
	if (strcmp(name, "status") == 0)
		return rules_list(&r->status, value, allow_status);
	if (strcmp(name, "code") == 0)
		return rules_list(&r->rcode, value, allow_code);
	if (strcmp(name, "provider") == 0)
		return rules_list(&r->provider, value, allow_provider);
	if (strcmp(name, "reporter") == 0)
		return rules_list(&r->reporter, value, allow_provider);
	if (strcmp(name, "type") == 0)
		return rules_list(&r->type, value, allow_word);
	if (strcmp(name, "action") == 0)
		return rules_list(&r->action, value, allow_word);
	if (strcmp(name, "statusreason") == 0)
		return rules_list(&r->sreason, value, allow_reason);
	if (strcmp(name, "cmd") == 0)
		return rules_cmd(r, value);
	if (strcmp(name, "hard") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return "want yes or no";
		r->hard = strcmp(value, "yes") == 0;
		return NULL;
	}
	if (strcmp(name, "field") == 0) {
		if (strcmp(value, "diagnostic") == 0)
			r->field = FIELD_DIAGNOSTIC;
		else if (strcmp(value, "text") == 0)
			r->field = FIELD_TEXT;
		else if (strcmp(value, "subject") == 0)
			r->field = FIELD_SUBJECT;
		else
			return "want diagnostic, text or subject";
		return NULL;
	}
	return "unknown condition";
}

/*
 * rules_add_lit - litset_required_all() callback: note one literal of a
 * rule, or the end of a piece or an alternative (see rules_impl.h), in
 * the set's scratch list, which rules_lits() copies at its size
 */
static void
rules_add_lit(void *ctx, const char *s, size_t n)
{
	struct rules *rs = ctx;
	int id;

	if (s == NULL)
		id = n == LITSET_END_PIECE ? RULE_LIT_PIECE : RULE_LIT_ALT;
	else if ((id = litset_add(rs->lits, s, n)) < 0)
		id = RULE_LIT_ANY;	/* not indexed: the piece always holds */
	/* A @phrases list has hundreds of literals: grow by doubling. */
	if (rs->nscratch == rs->scratchcap) {
		rs->scratchcap = rs->scratchcap ? rs->scratchcap * 2 : 256;
		rs->scratch = xrealloc(rs->scratch, rs->scratchcap * sizeof(*rs->scratch));
	}
	rs->scratch[rs->nscratch++] = id;
}

/* rules_flags - PCRE2 options of regex flags */
bool
rules_flags(const char *flags, uint32_t *options_r)
{
	return rules_flags_n(flags, strlen(flags), options_r);
}

/* rules_flags_n - rules_flags() of the n bytes at flags */
bool
rules_flags_n(const char *flags, size_t n, uint32_t *options_r)
{
	for (size_t i = 0; i < n; i++) {
		switch (flags[i]) {
		case 'i': *options_r |= PCRE2_CASELESS; break;
		case 'm': *options_r |= PCRE2_MULTILINE; break;
		case 's': *options_r |= PCRE2_DOTALL; break;
		case 'x': *options_r |= PCRE2_EXTENDED; break;
		case 'u': *options_r |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF; break;
		default: return false;
		}
	}
	return true;
}

/* rules_take_regex - give r the allocated pattern; its literal pre-check waits for rules_lits() */
void
rules_take_regex(struct rules *rs, struct rule *r, char *pattern, uint32_t options)
{
	(void)rs;
	r->pattern = pattern;
	r->options = options;
	r->lits_built = false;
}

/* rules_set_regex - give r a copy of the pattern p[0..n) */
void
rules_set_regex(struct rules *rs, struct rule *r, const char *p, size_t n, uint32_t options)
{
	rules_take_regex(rs, r, xstrndup(p, n), options);
}

/*
 * rules_lits - build r's literal pre-check, if it has not been built: the
 * literals of its own regex, or those of the rule its like= took the regex
 * from, built for that rule.  Only a rule that a message reaches needs
 * one, so a process that classifies one message builds few: the literals
 * of every @phrases list cost more than reading all the rule files.
 */
void
rules_lits(struct rules *rs, struct rule *r)
{
	struct rule *origin;

	if (r->lits_built)
		return;
	r->lits_built = true;
	if (r->like_origin != NULL) {
		origin = rules_find(rs, r->like_origin);
		if (origin == NULL || origin == r || origin->like_origin != NULL)
			return;
		/* Shared, as the regex text is: every rule lives as long as the set. */
		rules_lits(rs, origin);
		r->lits = origin->lits;
		r->nlits = origin->nlits;
		r->lits_borrowed = true;
		return;
	}
	/* Extended patterns may hide literals behind white space and comments. */
	rs->nscratch = 0;
	if (r->pattern != NULL && r->field == FIELD_DIAGNOSTIC && !(r->options & PCRE2_EXTENDED))
		(void)litset_required_all(r->pattern, strlen(r->pattern),
					  (r->options & PCRE2_CASELESS) != 0, rules_add_lit, rs);
	if (rs->nscratch > 0) {
		r->lits = xmalloc(rs->nscratch * sizeof(*r->lits));
		memcpy(r->lits, rs->scratch, rs->nscratch * sizeof(*r->lits));
		r->nlits = (uint32_t)rs->nscratch;
	}
}

/* rules_regex - parse "/regex/flags", the n bytes at p, into r; an error text or NULL */
static const char *
rules_regex(struct rules *rs, struct rule *r, const char *p, size_t n)
{
	const char *end = memrchr(p, '/', n);
	uint32_t options = 0;

	if (end == NULL || end == p)
		return "regex without a closing '/'";
	if (!rules_flags_n(end + 1, (size_t)(p + n - end - 1), &options))
		return "unknown regex flag (want i, m, s, x or u)";
	if (end == p + 1)
		return "empty regex";
	if (r->pattern != NULL || r->like != NULL)
		return "a rule has one regex";
	rules_set_regex(rs, r, p + 1, (size_t)(end - p - 1), options);
	return NULL;
}

/* rules_word - the next white-space separated word of *p, copied into w */
static bool
rules_word(const char **p, char *w, size_t size)
{
	size_t n;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	n = strcspn(*p, " \t");
	if (n == 0 || n >= size)
		return false;
	memcpy(w, *p, n);
	w[n] = '\0';
	*p += n;
	return true;
}

/* rules_hash - FNV-1a of an id */
static uint32_t
rules_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * rules_index - enter rule i in the id index, an open-addressing table
 * of rule numbers plus one, kept at most half full: every rule's id is
 * looked up when it is read, so a linear search would cost the number of
 * rules squared at each start of rebound-pipe.
 */
static void
rules_index(struct rules *rs, size_t i)
{
	if ((rs->n + 1) * 2 > rs->idcap) {
		size_t cap = rs->idcap ? rs->idcap * 2 : 512;

		free(rs->ids);
		rs->ids = xcalloc(cap, sizeof(*rs->ids));
		rs->idcap = cap;
		for (size_t k = 0; k < rs->n; k++)
			if (k != i)
				rules_index(rs, k);
	}
	for (size_t h = rules_hash(rs->v[i]->id) & (rs->idcap - 1);; h = (h + 1) & (rs->idcap - 1)) {
		if (rs->ids[h] == 0) {
			rs->ids[h] = (uint32_t)i + 1;
			return;
		}
	}
}

/* rules_find - an active rule with this id, or NULL */
struct rule *
rules_find(struct rules *rs, const char *id)
{
	if (rs->idcap == 0)
		return NULL;
	for (size_t h = rules_hash(id) & (rs->idcap - 1); rs->ids[h] != 0;
	     h = (h + 1) & (rs->idcap - 1))
		if (strcmp(rs->v[rs->ids[h] - 1]->id, id) == 0)
			return rs->v[rs->ids[h] - 1];
	return NULL;
}

/* rules_conditions - read conditions and the regex after id and reason */
static const char *
rules_conditions(struct rules *rs, struct rule *r, const char *p)
{
	char word[LIMIT_RULE_LINE];
	const char *err = NULL;

	for (;;) {
		const char *eq;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p == '/') {
			/* The regex is last; it may hold spaces, but not end in one. */
			size_t n = strlen(p);

			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			return rules_regex(rs, r, p, n);
		}
		if (!rules_word(&p, word, sizeof(word)) || (eq = strchr(word, '=')) == NULL)
			return "want NAME=VALUE or /regex/";
		word[eq - word] = '\0';
		if (strcmp(word, "like") == 0) {
			/* Resolved by rules_finish(): the pattern may come later. */
			if (r->pattern != NULL || r->like != NULL)
				return "a rule has one regex";
			if (!rules_valid_id(eq + 1))
				return "like= wants a rule or pattern id";
			r->like = xstrdup(eq + 1);
		} else if ((err = rules_option(rs, r, word, eq + 1)) != NULL) {
			return err;
		}
	}
	if (r->status.n + r->rcode.n + r->provider.n + r->reporter.n + r->type.n + r->action.n +
			r->sreason.n + r->npending == 0 &&
	    r->cmd_mask == 0 && r->pattern == NULL && r->like == NULL && !r->pattern_only)
		return "rule has neither a regex nor a condition";
	return NULL;
}

/* rules_rule_line - parse one rule's logical line; -1 and *error_r on error */
int
rules_rule_line(struct rules *rs, const char *line, const char *file, int lineno,
		char **error_r)
{
	char id[LIMIT_RULE_LINE], reason[LIMIT_RULE_LINE];
	struct rule r = { .hard = -1, .file = file, .line = lineno, .dir = rs->ndirs };
	const char *p = line, *err;
	int reason_id;

	if (!rules_word(&p, id, sizeof(id)) || !rules_valid_id(id)) {
		*error_r = rules_errorf(file, lineno, "bad rule id \"%.64s\"", id);
		return -1;
	}
	if (!rules_word(&p, reason, sizeof(reason)) ||
	    ((reason_id = reason_from_name(reason)) < 0 && strcmp(reason, "-") != 0)) {
		*error_r = rules_errorf(file, lineno, "unknown reason \"%.64s\"", reason);
		return -1;
	}
	r.id = xstrdup(id);
	r.pattern_only = reason_id < 0;
	r.reason = reason_id < 0 ? REASON_UNDEFINED : (enum reason)reason_id;
	if ((err = rules_conditions(rs, &r, p)) != NULL) {
		*error_r = rules_errorf(file, lineno, "rule %s: %s", id, err);
		rule_release(&r);
		return -1;
	}
	if (r.pattern_only && r.pattern == NULL && r.like == NULL) {
		*error_r = rules_errorf(file, lineno, "pattern %s has no regex", id);
		rule_release(&r);
		return -1;
	}
	return rules_append(rs, &r, error_r);
}

/* rules_append - add a parsed rule unless an earlier directory has its id */
int
rules_append(struct rules *rs, struct rule *r, char **error_r)
{
	struct rule *old;

	if ((old = rules_find(rs, r->id)) != NULL) {
		if (old->dir == rs->ndirs) {
			*error_r = rules_errorf(r->file, r->line,
						"duplicate rule id \"%s\" (first at %s:%d)", r->id,
						old->file, old->line);
			rule_release(r);
			return -1;
		}
		rule_release(r);
		return 0;	/* an earlier directory replaces this rule */
	}
	if (rs->n >= LIMIT_RULES) {
		*error_r = rules_errorf(r->file, r->line, "more than %d rules", LIMIT_RULES);
		rule_release(r);
		return -1;
	}
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 128;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	/* Each rule on its own: a larger set moves pointers, not rules. */
	rs->v[rs->n] = xmalloc(sizeof(*r));
	*rs->v[rs->n] = *r;
	rules_index(rs, rs->n);
	rs->n++;
	rs->finished = false;
	return 0;
}

/* rules_count - rules loaded */
size_t
rules_count(const struct rules *rs)
{
	return rs->n;
}

/* rules_get - id and reason of rule i */
bool
rules_get(const struct rules *rs, size_t i, const char **id_r, enum reason *reason_r,
	  bool *pattern_only_r)
{
	if (i >= rs->n)
		return false;
	*id_r = rs->v[i]->id;
	*reason_r = rs->v[i]->reason;
	*pattern_only_r = rs->v[i]->pattern_only;
	return true;
}

/* rules_compiled - regexes compiled so far */
size_t
rules_compiled(const struct rules *rs)
{
	return rs->compiled;
}

/* rules_error - the first run-time error */
const char *
rules_error(const struct rules *rs)
{
	return rs->error;
}
