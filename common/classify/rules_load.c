/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rules_load - reading rule files: their entries (a rule, continuation
 * lines, a @phrases block), the @ lines, and the references that are
 * resolved once every directory is loaded.  rules.c parses one rule;
 * this file sits above it and is the only one that reads files.
 *
 *	@set NAME VALUE[,VALUE...]
 *	@provider NAME SUFFIX [SUFFIX...]
 *	@phrases ID [FLAGS]
 *	    PHRASE		# where the wording comes from
 *	    ...
 *
 * A set names a list of condition values that several rules share
 * ("statusreason=@weak.status").  A provider line adds domain suffixes
 * to the provider table.  A phrase list is a named pattern whose regex is
 * its phrases, one per line, as alternatives; rules use it with like=,
 * and --explain tells which phrase matched.
 *
 * Site files come first, so a site rule may name a set, a pattern or a
 * provider that only the built-in files define: rules_finish() reads
 * those references when everything is loaded, and its errors name the
 * file and line of the rule that made them.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/caps.h"
#include "classify/rules_impl.h"
#include "util/xalloc.h"

/* Chained like= (a rule like a rule like a pattern) may go this deep. */
#define RULES_LIKE_DEPTH 8

/* rules_next_word - the next white-space separated word of *p, or 0 */
static size_t
rules_next_word(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	return strcspn(*p, " \t");
}

/* rules_set_find - the set called name, or NULL */
static const struct rule_set *
rules_set_find(const struct rules *rs, const char *name, size_t n)
{
	for (size_t i = 0; i < rs->nsets; i++)
		if (strlen(rs->sets[i].name) == n && strncmp(rs->sets[i].name, name, n) == 0)
			return &rs->sets[i];
	return NULL;
}

/* rules_set_line - "@set NAME VALUES" */
static int
rules_set_line(struct rules *rs, const char *p, const char *file, int lineno, char **error_r)
{
	size_t n = rules_next_word(&p), m;
	const char *name = p, *value;
	const struct rule_set *old;
	struct rule_set *set;
	char id[72];

	if (n == 0 || n >= sizeof(id)) {
		*error_r = rules_errorf(file, lineno, "@set wants a name and a list of values");
		return -1;
	}
	memcpy(id, name, n);
	id[n] = '\0';
	p += n;
	m = rules_next_word(&p);
	value = p;
	if (!rules_valid_id(id) || m == 0 || value[m] != '\0' || value[0] == '!' ||
	    strchr(value, '@') != NULL) {
		*error_r = rules_errorf(file, lineno,
					"@set %s: want one comma list of plain values", id);
		return -1;
	}
	if ((old = rules_set_find(rs, id, n)) != NULL) {
		if (old->dir != rs->ndirs)
			return 0;	/* an earlier directory replaces it */
		*error_r = rules_errorf(file, lineno, "duplicate set \"%s\" (first at %s:%d)", id,
					old->file, old->line);
		return -1;
	}
	rs->sets = xrealloc(rs->sets, (rs->nsets + 1) * sizeof(*rs->sets));
	set = &rs->sets[rs->nsets++];
	set->name = xstrdup(id);
	set->value = xstrdup(value);
	set->file = file;
	set->line = lineno;
	set->dir = rs->ndirs;
	return 0;
}

/* rules_provider_line - "@provider NAME SUFFIX..." */
static int
rules_provider_line(struct rules *rs, const char *p, const char *file, int lineno,
		    char **error_r)
{
	char name[72], suffix[256];
	size_t n = rules_next_word(&p), added = 0;

	if (n == 0 || n >= sizeof(name)) {
		*error_r = rules_errorf(file, lineno, "@provider wants a name and domain suffixes");
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	while ((n = rules_next_word(&p)) > 0) {
		if (n >= sizeof(suffix)) {
			*error_r = rules_errorf(file, lineno, "@provider %s: suffix too long", name);
			return -1;
		}
		memcpy(suffix, p, n);
		suffix[n] = '\0';
		p += n;
		if (!provider_add(rs->providers, name, suffix)) {
			*error_r = rules_errorf(file, lineno, "@provider %s: bad name or suffix \"%s\"",
						name, suffix);
			return -1;
		}
		added++;
	}
	if (added == 0) {
		*error_r = rules_errorf(file, lineno, "@provider %s: no domain suffix", name);
		return -1;
	}
	return 0;
}

/* rules_directive - a "@set" or "@provider" line */
static int
rules_directive(struct rules *rs, const char *line, const char *file, int lineno,
		char **error_r)
{
	if (strncmp(line, "@set", 4) == 0 && isspace((unsigned char)line[4]))
		return rules_set_line(rs, line + 4, file, lineno, error_r);
	if (strncmp(line, "@provider", 9) == 0 && isspace((unsigned char)line[9]))
		return rules_provider_line(rs, line + 9, file, lineno, error_r);
	*error_r = rules_errorf(file, lineno, "unknown directive \"%.32s\"", line);
	return -1;
}

/* rules_phrase_comment - length of a phrase line without its comment */
static size_t
rules_phrase_comment(const char *s, size_t n)
{
	/* A '#' after white space starts the comment; "\#" is the character. */
	for (const char *p = s; (p = memchr(p, '#', n - (size_t)(p - s))) != NULL; p++) {
		size_t i = (size_t)(p - s);

		if (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t') {
			n = i;
			break;
		}
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/*
 * rules_phrase_shape - NULL when the phrase stands alone as one
 * alternative: its parentheses balance and it has no '|' outside them
 * (two wordings are two lines); else what is wrong with it
 */
static const char *
rules_phrase_shape(const char *s, size_t n)
{
	/* The bytes the shape depends on; most of a phrase is none of them. */
	static const bool special[256] = { ['\\'] = true, ['['] = true, ['('] = true,
					   [')'] = true, ['|'] = true };
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (!special[(unsigned char)s[i]])
			continue;
		if (s[i] == '\\') {
			if (++i == n)
				return "phrase ends in a backslash";
		} else if (s[i] == '[') {
			/* A class: "]" right after "[" or "[^" is a member. */
			size_t j = i + 1;

			if (j < n && s[j] == '^')
				j++;
			if (j < n && s[j] == ']')
				j++;
			while (j < n && s[j] != ']')
				j += s[j] == '\\' ? 2 : 1;
			if (j >= n)
				return "phrase has an unclosed '['";
			i = j;
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')' && --depth < 0) {
			return "phrase has an unbalanced ')'";
		} else if (s[i] == '|' && depth == 0) {
			return "one phrase per line: put each alternative on a line of its own";
		}
	}
	return depth == 0 ? NULL : "phrase has an unbalanced '('";
}

/*
 * rules_head_word - the next white-space separated word of *p into w;
 * false when it does not fit
 */
static bool
rules_head_word(const char **p, char *w, size_t size)
{
	size_t n = 0;

	while (isspace((unsigned char)**p))
		(*p)++;
	while ((*p)[n] != '\0' && !isspace((unsigned char)(*p)[n]))
		n++;
	if (n >= size)
		return false;
	memcpy(w, *p, n);
	w[n] = '\0';
	*p += n;
	return true;
}

/* rules_phrases - a "@phrases ID [FLAGS]" block and its phrase lines */
static int
rules_phrases(struct rules *rs, const char *block, const int *linenos, size_t nlines,
	      const char *file, char **error_r)
{
	struct rule r = { .hard = -1, .file = file, .line = linenos[0], .dir = rs->ndirs,
			  .pattern_only = true };
	const char *nl = strchr(block, '\n'), *err;
	char head[160], id[72] = "", flags[16] = "", extra[2] = "";
	size_t hn = (nl != NULL ? (size_t)(nl - block) : strlen(block)) - 8;
	uint32_t options = 0;
	char *pattern;
	size_t plen = 0;

	/* The head line: "@phrases ID [FLAGS]", nothing more. */
	if (hn < sizeof(head)) {
		const char *p = head;

		memcpy(head, block + 8, hn);
		head[hn] = '\0';
		if (!rules_head_word(&p, id, sizeof(id)) || !rules_head_word(&p, flags, sizeof(flags)) ||
		    !rules_head_word(&p, extra, sizeof(extra)))
			id[0] = '\0';
	}
	if (!rules_valid_id(id) || extra[0] != '\0' || !rules_flags(flags, &options)) {
		*error_r = rules_errorf(file, linenos[0], "@phrases wants an id and regex flags");
		return -1;
	}
	if (nlines < 2) {
		*error_r = rules_errorf(file, linenos[0], "@phrases %s has no phrase", id);
		return -1;
	}
	/*
	 * The phrases joined by '|' take fewer bytes than the block, whose
	 * head line they leave out: one allocation holds the regex.
	 */
	pattern = xmalloc(strlen(block) + 1);
	r.id = xstrdup(id);
	r.phrases = xcalloc(nlines - 1, sizeof(*r.phrases));
	for (size_t i = 1; i < nlines; i++) {
		const char *s = nl + 1;
		size_t n;

		nl = strchr(s, '\n');
		n = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if ((err = rules_phrase_shape(s, n)) != NULL) {
			*error_r = rules_errorf(file, linenos[i], "%s", err);
			goto fail;
		}
		if (i > 1)
			pattern[plen++] = '|';
		r.phrases[r.nphrases].line = linenos[i];
		/* Both are below LIMIT_RULE_PATTERN, which holds for the block. */
		r.phrases[r.nphrases].off = (uint32_t)plen;
		r.phrases[r.nphrases++].len = (uint32_t)n;
		memcpy(pattern + plen, s, n);
		plen += n;
	}
	pattern[plen] = '\0';
	rules_take_regex(rs, &r, pattern, options);
	return rules_append(rs, &r, error_r);
fail:
	free(pattern);
	rule_release(&r);
	return -1;
}

/* rules_expand - value with each @set replaced by its values, into out */
static const char *
rules_expand(const struct rules *rs, const char *value, struct buf *out)
{
	const char *p = value;

	buf_reset(out);
	if (*p == '!')
		buf_putc(out, *p++);
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (buf_len(out) > 0 && buf_str(out)[buf_len(out) - 1] != '!')
			buf_putc(out, ',');
		if (*p == '@') {
			const struct rule_set *set = rules_set_find(rs, p + 1, n - 1);

			if (set == NULL)
				return "names an unknown @set";
			buf_puts(out, set->value);
		} else {
			buf_append(out, p, n);
		}
		p += n + (p[n] == ',');
	}
	/*
	 * What is left must be plain words: an '@' inside an item ("+@x"),
	 * or one a set's own value brought in, would send the condition
	 * back to rules_defer() for ever.
	 */
	if (strchr(buf_str(out), '@') != NULL)
		return "'@' may only begin an item that names a @set";
	return NULL;
}

/* rules_resolve_like - give r the regex of the rule its like= names */
static const char *
rules_resolve_like(struct rules *rs, struct rule *r, int depth)
{
	struct rule *other = rules_find(rs, r->like);

	if (other == r || depth > RULES_LIKE_DEPTH)
		return "like= goes round in a circle";
	if (other == NULL)
		return "like= names no rule or pattern";
	if (other->like != NULL && other->pattern == NULL) {
		const char *err = rules_resolve_like(rs, other, depth + 1);

		if (err != NULL)
			return err;
	}
	if (other->pattern == NULL)
		return "like= names a rule without a regex";
	/* The text is shared: every rule lives as long as the set. */
	r->pattern = other->pattern;
	r->pattern_borrowed = true;
	r->options = other->options;
	/* Its literal pre-check is the origin's, built when first needed (rules_lits()). */
	r->like_origin = xstrdup(other->like_origin != NULL ? other->like_origin : other->id);
	return NULL;
}

/* rules_known_providers - NULL when every name of l is a defined provider */
static const char *
rules_known_providers(const struct rules *rs, const struct rule_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], "none") != 0 && !provider_valid(rs->providers, l->v[i]))
			return "names a provider no @provider line defines";
	return NULL;
}

/* rules_resolve - the deferred parts of one rule; an error text or NULL */
static const char *
rules_resolve(struct rules *rs, struct rule *r, struct buf *scratch)
{
	const char *err;

	for (size_t i = 0; i < r->npending; i++) {
		if ((err = rules_expand(rs, r->pending[i].value, scratch)) != NULL ||
		    (err = rules_option(rs, r, r->pending[i].name, buf_str(scratch))) != NULL)
			return err;
	}
	if (r->like != NULL && r->pattern == NULL && (err = rules_resolve_like(rs, r, 0)) != NULL)
		return err;
	if ((err = rules_known_providers(rs, &r->provider)) != NULL ||
	    (err = rules_known_providers(rs, &r->reporter)) != NULL)
		return err;
	return NULL;
}

/* rules_finish - resolve what rules borrow from one another */
int
rules_finish(struct rules *rs, char **error_r)
{
	struct buf *scratch;

	*error_r = NULL;
	if (rs->finished)
		return 0;
	scratch = buf_create(LIMIT_RULE_LINE * 2);
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = rs->v[i];
		const char *err;

		if (r->resolved)
			continue;
		if ((err = rules_resolve(rs, r, scratch)) != NULL) {
			*error_r = rules_errorf(r->file, r->line, "rule %s: %s", r->id, err);
			buf_free(&scratch);
			return -1;
		}
		r->resolved = true;
	}
	buf_free(&scratch);
	rs->finished = true;
	return 0;
}

/* rules_provider_of - the provider of a host or domain, or NULL */
const char *
rules_provider_of(const struct rules *rs, const char *host)
{
	return rs != NULL ? provider_of(rs->providers, host) : NULL;
}

/* rules_line - one logical line: a @ line or a rule; -1 and *error_r on error */
static int
rules_line(struct rules *rs, const char *line, const char *file, int lineno, char **error_r)
{
	if (line[0] == '@')
		return rules_directive(rs, line, file, lineno, error_r);
	return rules_rule_line(rs, line, file, lineno, error_r);
}

/*
 * One logical entry of a rule file: its first line and the continuation
 * lines after it, joined by '\n', with the number of each line.
 */
struct rules_entry {
	struct buf *text;
	int lines[LIMIT_RULE_PHRASES + 1];
	size_t nlines;
	bool phrases;		/* a @phrases block: each line is a phrase */
};

/* rules_entry_end - parse the entry collected so far, and empty it */
static int
rules_entry_end(struct rules *rs, struct rules_entry *e, const char *file, char **error_r)
{
	int ret = 0;

	if (e->nlines == 0)
		return 0;
	if (e->phrases) {
		ret = rules_phrases(rs, buf_str(e->text), e->lines, e->nlines, file, error_r);
	} else {
		char *line = xstrdup(buf_str(e->text));

		/* The line break and the white space around it become one space. */
		for (char *c = strchr(line, '\n'); c != NULL; c = strchr(c + 1, '\n'))
			*c = ' ';
		ret = rules_line(rs, line, file, e->lines[0], error_r);
		free(line);
	}
	buf_reset(e->text);
	e->nlines = 0;
	return ret;
}

/* rules_entry_add - add one physical line to the entry; -1 and *error_r */
static int
rules_entry_add(struct rules_entry *e, const char *s, size_t n, const char *file, int lineno,
		char **error_r)
{
	size_t limit = e->phrases ? LIMIT_RULE_PATTERN : LIMIT_RULE_LINE;

	if (e->nlines > LIMIT_RULE_PHRASES) {
		*error_r = e->phrases ? rules_errorf(file, lineno, "more than %d phrases",
						     LIMIT_RULE_PHRASES)
				      : rules_errorf(file, lineno, "rule too long");
		return -1;
	}
	if ((e->nlines > 0 && buf_putc(e->text, '\n') < 0) || buf_append(e->text, s, n) < 0 ||
	    buf_len(e->text) > limit) {
		*error_r = rules_errorf(file, lineno, "rule too long");
		return -1;
	}
	e->lines[e->nlines++] = lineno;
	return 0;
}

/*
 * rules_digest_add - sum one text for the digest: its file name without
 * the directory (the same rules installed elsewhere are the same set),
 * its length and its bytes; text NULL marks the end of a directory, so
 * that moving a file from the site rules to the built-in ones is another
 * set.  Nothing, after rules_no_digest().
 */
static void
rules_digest_add(struct rules *rs, const char *name, const char *text, size_t len)
{
	const char *base = strrchr(name, '/');
	char head[64];

	if (rs->no_digest)
		return;
	base = base != NULL ? base + 1 : name;
	if (!rs->summing) {
		sha256_init(&rs->sum);
		rs->summing = true;
	}
	if (text == NULL)
		snprintf(head, sizeof(head), "end of directory\n");
	else
		snprintf(head, sizeof(head), "%zu %zu\n", strlen(base), len);
	sha256_update(&rs->sum, head, strlen(head));
	if (text != NULL) {
		sha256_update(&rs->sum, base, strlen(base));
		sha256_update(&rs->sum, text, len);
	}
	rs->digest[0] = '\0';
}

/*
 * rules_no_digest - take no digest of the texts loaded from now on: a
 * text is freed as soon as it is parsed, and its pages serve the rules
 * that follow
 */
void
rules_no_digest(struct rules *rs)
{
	rs->no_digest = true;
}

/* rules_digest - hex SHA-256 of the texts loaded so far, in order; NULL after rules_no_digest() */
const char *
rules_digest(struct rules *rs)
{
	if (rs->no_digest)
		return NULL;
	if (rs->digest[0] == '\0') {
		/* A copy: more texts may be added to the sum after this. */
		struct sha256 copy;
		unsigned char digest[SHA256_SIZE];

		if (!rs->summing) {
			sha256_init(&rs->sum);
			rs->summing = true;
		}
		copy = rs->sum;
		sha256_final(&copy, digest);
		sha256_hex(digest, rs->digest);
	}
	return rs->digest;
}

/* rules_parse_text - append the rules of one file's text */
static int
rules_parse_text(struct rules *rs, const char *text, size_t len, const char *name,
		 char **error_r)
{
	struct rules_entry *e = xcalloc(1, sizeof(*e));
	const char *file, *nul = memchr(text, '\0', len);
	int lineno = 0, ret = 0, nul_line = 0;

	e->text = buf_create(LIMIT_RULE_PATTERN + LIMIT_RULE_LINE);
	rs->files = xrealloc(rs->files, (rs->nfiles + 1) * sizeof(*rs->files));
	file = rs->files[rs->nfiles++] = xstrdup(name);
	*error_r = NULL;
	/* One look for a NUL byte, not one a line; its line is an error. */
	for (const char *p = text; nul != NULL && p <= nul; p++)
		nul_line += p == text || p[-1] == '\n';
	for (size_t off = 0; off <= len && ret == 0;) {
		const char *nl = off < len ? memchr(text + off, '\n', len - off) : NULL;
		size_t n = (nl ? (size_t)(nl - text) : len) - off;
		const char *s = text + off;

		off += n + 1;
		lineno++;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
		if (lineno == nul_line) {
			*error_r = rules_errorf(file, lineno, "NUL byte");
			ret = -1;
			break;
		}
		if (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
			while (n > 0 && isspace((unsigned char)*s))
				s++, n--;
			if (n == 0 || *s == '#')
				continue;
			/* A phrase's source is a comment after it, not part of it. */
			if (e->phrases && (n = rules_phrase_comment(s, n)) == 0)
				continue;
			if (e->nlines == 0) {
				*error_r = rules_errorf(file, lineno, "continuation line without a rule");
				ret = -1;
			} else {
				ret = rules_entry_add(e, s, n, file, lineno, error_r);
			}
			continue;
		}
		ret = rules_entry_end(rs, e, file, error_r);
		if (ret < 0 || n == 0 || *s == '#')
			continue;
		e->phrases = n >= 8 && strncmp(s, "@phrases", 8) == 0 && (n == 8 || isspace((unsigned char)s[8]));
		ret = rules_entry_add(e, s, n, file, lineno, error_r);
	}
	if (ret == 0)
		ret = rules_entry_end(rs, e, file, error_r);
	buf_free(&e->text);
	free(e);
	return ret;
}

/* rules_load_text - append rules from a text that counts as a directory */
int
rules_load_text(struct rules *rs, const char *text, size_t len, const char *name,
		char **error_r)
{
	int ret = rules_parse_text(rs, text, len, name, error_r);

	rules_digest_add(rs, name, text, len);
	rules_digest_add(rs, name, NULL, 0);
	rs->ndirs++;
	return ret;
}

/*
 * rules_read_file - the bytes of the file at path, NUL-terminated, in one
 * allocation sized by fstat(2) (a file that grows meanwhile is read to
 * the limit); NULL and *error_r on failure
 */
static char *
rules_read_file(const char *path, size_t *len_r, char **error_r)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	size_t size, len = 0;
	char *text;

	if (fd < 0) {
		*error_r = rules_errorf(path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size < 0) {
		*error_r = rules_errorf(path, 0, "read error: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	/* One byte past the limit tells a file that is too large. */
	size = (size_t)st.st_size < LIMIT_RULE_FILE_SIZE ? (size_t)st.st_size + 1 :
							    LIMIT_RULE_FILE_SIZE + 1;
	text = xmalloc(size + 1);
	for (;;) {
		ssize_t n;

		/* A file that grew since fstat(2) is read on, to the limit. */
		if (len == size && size <= LIMIT_RULE_FILE_SIZE) {
			size = size * 2 < LIMIT_RULE_FILE_SIZE ? size * 2 : LIMIT_RULE_FILE_SIZE + 1;
			text = xrealloc(text, size + 1);
		}
		if (len == size)
			break;
		if ((n = read(fd, text + len, size - len)) < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = rules_errorf(path, 0, "read error: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (*error_r == NULL && len > LIMIT_RULE_FILE_SIZE)
		*error_r = rules_errorf(path, 0, "file larger than %d bytes", LIMIT_RULE_FILE_SIZE);
	if (*error_r != NULL) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	*len_r = len;
	return text;
}

/* rules_load_file - append the rules of one file */
static int
rules_load_file(struct rules *rs, const char *path, char **error_r)
{
	size_t len;
	char *text;
	int ret;

	*error_r = NULL;
	if ((text = rules_read_file(path, &len, error_r)) == NULL)
		return -1;
	ret = rules_parse_text(rs, text, len, path, error_r);
	rules_digest_add(rs, path, text, len);
	free(text);
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
	rules_digest_add(rs, dir, NULL, 0);
	rs->ndirs++;
	return ret;
}
