/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rules - loading and validating rule files.
 *
 * Every error names the file and line ("site.rules:12: unknown reason
 * \"userunkown\"") and stops the load: a rule set is used whole or not at
 * all, so that a typo cannot silently drop the rules after it.  Regex
 * syntax is checked by rules_check(), which compiles everything; normal
 * loading leaves compilation to the first message that needs a rule.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
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
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* rule_release - free what one rule owns */
static void
rule_release(struct rule *r)
{
	free(r->id);
	free(r->pattern);
	free(r->lits);
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
	for (size_t i = 0; i < rs->n; i++)
		rule_release(&rs->v[i]);
	free(rs->v);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	litset_free(&rs->lits);
	pcre2_match_context_free(rs->mctx);
	pcre2_match_data_free(rs->md);
	buf_free(&rs->lower);
	free(rs->error);
	free(rs);
	*rp = NULL;
}

/* rules_errorf - an allocated "file:line: message" */
static char *
rules_errorf(const char *file, int line, const char *fmt, ...) MSG_PRINTF(3, 4);

static char *
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
static bool
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

/* rules_list - parse a comma list into l; allowed() validates each value */
static const char *
rules_list(struct rule_list *l, const char *value, bool (*allowed)(const char *))
{
	const char *p = value;

	if (*p == '!') {
		l->negate = true;
		p++;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char *v = xstrndup(p, n);

		if (n == 0 || !allowed(v)) {
			free(v);
			return "bad value";
		}
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = v;
		p += n + (p[n] == ',');
	}
	return l->n > 0 ? NULL : "empty list";
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

/* allow_provider - a provider name of provider.c, or none */
static bool
allow_provider(const char *v)
{
	return strcmp(v, "none") == 0 || provider_valid(v);
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

/* rules_option - apply one NAME=VALUE condition; an error text or NULL */
static const char *
rules_option(struct rule *r, const char *name, const char *value)
{
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
 * rule, or the end of a piece or an alternative (see rules_impl.h)
 */
static void
rules_add_lit(void *ctx, const char *s, size_t n)
{
	void **pair = ctx;
	struct rules *rs = pair[0];
	struct rule *r = pair[1];
	int id;

	if (s == NULL)
		id = n == LITSET_END_PIECE ? RULE_LIT_PIECE : RULE_LIT_ALT;
	else if ((id = litset_add(rs->lits, s, n)) < 0)
		id = RULE_LIT_ANY;	/* not indexed: the piece always holds */
	r->lits = xrealloc(r->lits, (r->nlits + 1) * sizeof(*r->lits));
	r->lits[r->nlits++] = id;
}

/* rules_regex - parse "/regex/flags" at p into r; an error text or NULL */
static const char *
rules_regex(struct rules *rs, struct rule *r, const char *p)
{
	const char *end = strrchr(p, '/');
	void *pair[2] = { rs, r };

	if (end == NULL || end == p)
		return "regex without a closing '/'";
	for (const char *f = end + 1; *f != '\0'; f++) {
		switch (*f) {
		case 'i': r->options |= PCRE2_CASELESS; break;
		case 'm': r->options |= PCRE2_MULTILINE; break;
		case 's': r->options |= PCRE2_DOTALL; break;
		case 'x': r->options |= PCRE2_EXTENDED; break;
		case 'u': r->options |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF; break;
		default: return "unknown regex flag (want i, m, s, x or u)";
		}
	}
	if (end == p + 1)
		return "empty regex";
	if (r->pattern != NULL)
		return "a rule has one regex";
	r->pattern = xstrndup(p + 1, (size_t)(end - p - 1));
	/* Extended patterns may hide literals behind white space and comments. */
	if (r->field == FIELD_DIAGNOSTIC && !(r->options & PCRE2_EXTENDED))
		(void)litset_required_all(r->pattern, strlen(r->pattern),
					  (r->options & PCRE2_CASELESS) != 0, rules_add_lit, pair);
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

/* rules_find - an active rule with this id, or NULL */
static struct rule *
rules_find(struct rules *rs, const char *id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].id, id) == 0)
			return &rs->v[i];
	return NULL;
}

/* rules_like - take the regex of an earlier rule */
static const char *
rules_like(struct rules *rs, struct rule *r, const char *id)
{
	const struct rule *other = rules_find(rs, id);

	if (other == NULL || other->pattern == NULL)
		return "like= names no earlier rule with a regex";
	if (r->pattern != NULL)
		return "a rule has one regex";
	r->pattern = xstrdup(other->pattern);
	r->options = other->options;
	if (other->nlits > 0) {
		r->lits = xmalloc(other->nlits * sizeof(*r->lits));
		memcpy(r->lits, other->lits, other->nlits * sizeof(*r->lits));
		r->nlits = other->nlits;
	}
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
			/* The regex is last; it may hold spaces. */
			char *pat = xstrdup(p);
			size_t n = strlen(pat);

			while (n > 0 && (pat[n - 1] == ' ' || pat[n - 1] == '\t'))
				pat[--n] = '\0';
			err = rules_regex(rs, r, pat);
			free(pat);
			return err;
		}
		if (!rules_word(&p, word, sizeof(word)) || (eq = strchr(word, '=')) == NULL)
			return "want NAME=VALUE or /regex/";
		word[eq - word] = '\0';
		if (strcmp(word, "like") == 0)
			err = rules_like(rs, r, eq + 1);
		else
			err = rules_option(r, word, eq + 1);
		if (err != NULL)
			return err;
	}
	if (r->status.n + r->rcode.n + r->provider.n + r->reporter.n + r->type.n + r->action.n + r->sreason.n == 0 &&
	    r->cmd_mask == 0 && r->pattern == NULL && !r->pattern_only)
		return "rule has neither a regex nor a condition";
	return NULL;
}

/* rules_line - parse one logical line; -1 and *error_r on error */
static int
rules_line(struct rules *rs, const char *line, const char *file, int lineno, char **error_r)
{
	char id[LIMIT_RULE_LINE], reason[LIMIT_RULE_LINE];
	struct rule r = { .hard = -1, .file = file, .line = lineno, .dir = rs->ndirs };
	const char *p = line, *err;
	struct rule *old;
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
	if (r.pattern_only && r.pattern == NULL) {
		*error_r = rules_errorf(file, lineno, "pattern %s has no regex", id);
		rule_release(&r);
		return -1;
	}
	if ((old = rules_find(rs, id)) != NULL) {
		rule_release(&r);
		if (old->dir == rs->ndirs) {
			*error_r = rules_errorf(file, lineno, "duplicate rule id \"%s\" (first at %s:%d)",
						id, old->file, old->line);
			return -1;
		}
		return 0;	/* an earlier directory replaces this rule */
	}
	if (rs->n >= LIMIT_RULES) {
		*error_r = rules_errorf(file, lineno, "more than %d rules", LIMIT_RULES);
		rule_release(&r);
		return -1;
	}
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 128;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	rs->v[rs->n++] = r;
	return 0;
}

/* rules_parse_text - append the rules of one file's text */
static int
rules_parse_text(struct rules *rs, const char *text, size_t len, const char *name,
		 char **error_r)
{
	struct buf *line = buf_create(LIMIT_RULE_LINE);
	const char *file;
	int lineno = 0, start = 0, ret = 0;

	rs->files = xrealloc(rs->files, (rs->nfiles + 1) * sizeof(*rs->files));
	file = rs->files[rs->nfiles++] = xstrdup(name);
	*error_r = NULL;
	for (size_t off = 0; off <= len && ret == 0;) {
		const char *nl = off < len ? memchr(text + off, '\n', len - off) : NULL;
		size_t n = (nl ? (size_t)(nl - text) : len) - off;
		const char *s = text + off;

		off += n + 1;
		lineno++;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
		if (memchr(s, '\0', n) != NULL) {
			*error_r = rules_errorf(file, lineno, "NUL byte");
			ret = -1;
			break;
		}
		if (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
			while (n > 0 && isspace((unsigned char)*s))
				s++, n--;
			if (n == 0 || *s == '#')
				continue;
			if (buf_len(line) == 0) {
				*error_r = rules_errorf(file, lineno, "continuation line without a rule");
				ret = -1;
			} else if (buf_putc(line, ' ') < 0 || buf_append(line, s, n) < 0) {
				*error_r = rules_errorf(file, lineno, "rule too long");
				ret = -1;
			}
			continue;
		}
		if (buf_len(line) > 0)
			ret = rules_line(rs, buf_str(line), file, start, error_r);
		buf_reset(line);
		if (ret < 0 || n == 0 || *s == '#')
			continue;
		start = lineno;
		if (buf_append(line, s, n) < 0) {
			*error_r = rules_errorf(file, lineno, "rule too long");
			ret = -1;
		}
	}
	if (ret == 0 && buf_len(line) > 0)
		ret = rules_line(rs, buf_str(line), file, start, error_r);
	buf_free(&line);
	return ret;
}

/* rules_load_text - append rules from a text that counts as a directory */
int
rules_load_text(struct rules *rs, const char *text, size_t len, const char *name,
		char **error_r)
{
	int ret = rules_parse_text(rs, text, len, name, error_r);

	rs->ndirs++;
	return ret;
}

/* rules_load_file - append the rules of one file */
static int
rules_load_file(struct rules *rs, const char *path, char **error_r)
{
	FILE *fp = fopen(path, "r");
	struct buf *text;
	char chunk[8192];
	size_t n;
	int ret;

	if (fp == NULL) {
		*error_r = rules_errorf(path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	text = buf_create(LIMIT_RULE_FILE_SIZE);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (buf_append(text, chunk, n) < 0) {
			*error_r = rules_errorf(path, 0, "file larger than %d bytes",
						LIMIT_RULE_FILE_SIZE);
			fclose(fp);
			buf_free(&text);
			return -1;
		}
	}
	ret = ferror(fp) ? -1 : rules_parse_text(rs, buf_str(text), buf_len(text), path, error_r);
	if (ferror(fp))
		*error_r = rules_errorf(path, 0, "read error: %s", strerror(errno));
	fclose(fp);
	buf_free(&text);
	return ret;
}

/* rules_namecmp - qsort order of file names */
static int
rules_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* rules_load_dir - append the rule files of a directory, in name order */
int
rules_load_dir(struct rules *rs, const char *dir, char **error_r)
{
	char *names[LIMIT_RULE_FILES];
	size_t n = 0;
	struct dirent *de;
	int ret = 0;
	DIR *d;

	*error_r = NULL;
	if ((d = opendir(dir)) == NULL) {
		*error_r = rules_errorf(dir, 0, "cannot open rules directory: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".rules") != 0)
			continue;
		if (n == LIMIT_RULE_FILES) {
			*error_r = rules_errorf(dir, 0, "more than %d rule files", LIMIT_RULE_FILES);
			ret = -1;
			break;
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), rules_namecmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];

		if (ret == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			ret = rules_load_file(rs, path, error_r);
		}
		free(names[i]);
	}
	rs->ndirs++;
	return ret;
}

/* rules_check - compile every regex */
int
rules_check(struct rules *rs, char **error_r)
{
	*error_r = NULL;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].pattern != NULL && rs->v[i].code == NULL &&
		    !rules_compile(rs, &rs->v[i], error_r))
			return -1;
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
	*id_r = rs->v[i].id;
	*reason_r = rs->v[i].reason;
	*pattern_only_r = rs->v[i].pattern_only;
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
