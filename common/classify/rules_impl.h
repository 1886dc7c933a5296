/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_RULES_IMPL_H
#define REBOUND_RULES_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "util/buf.h"
#include "util/litset.h"
#include "util/sha256.h"
#include "util/msg.h"
#include "mail/provider.h"
#include "classify/rules.h"

/*
 * rules_impl - the rule set's inside, shared by rules.c (loading),
 * rules_load.c (the files, the @ lines and the references resolved once
 * everything is loaded) and rules_match.c (matching); not for other
 * modules.
 */

/*
 * When a regex is JIT-compiled.  The interpreter's cost grows with the
 * length of the text times the size of the pattern, and the rules' long
 * caseless alternations cost it several hundred instructions per byte of
 * text; JIT compilation costs about as much as interpreting a few hundred
 * bytes (measured with callgrind on the corpus: 256 does as well for a
 * batch as compiling at once, and leaves one message's process alone).
 * So a regex is JIT-compiled once it has read RULES_JIT_BYTES of text in
 * all, or been run RULES_JIT_AFTER times: a process that classifies one
 * message seldom gets there, a batch soon does.
 */
#define RULES_JIT_AFTER 32
#define RULES_JIT_BYTES 256

enum rule_field { FIELD_DIAGNOSTIC, FIELD_TEXT, FIELD_SUBJECT };

/*
 * A rule's literal pre-check, from litset_required_all(): literal ids in
 * pieces, each closed by RULE_LIT_PIECE, in alternatives, each closed by
 * RULE_LIT_ALT.  The text may match when, for some alternative, each of
 * its pieces has one of its literals in the text.  RULE_LIT_ANY stands
 * for a literal the set could not index: its piece always holds.
 */
#define RULE_LIT_PIECE (-1)
#define RULE_LIT_ALT (-2)
#define RULE_LIT_ANY (-3)

/*
 * One condition: a list of values, or of globs, possibly negated.  The
 * values lie one after another, each NUL-terminated, in pool: one
 * allocation a list rather than one a value, which rebound-pipe would
 * otherwise make about 800 times at each start.
 */
struct rule_list {
	char **v;		/* into pool */
	char *pool;
	uint32_t n;
	uint32_t poollen;	/* bytes of pool in use, NULs included */
	bool negate;
};

/* One line of a @phrases list: a piece of the list's regex. */
struct rule_phrase {
	int line;
	uint32_t off, len;	/* where it stands in the list's pattern */
	bool broken;		/* does not compile alone */
};

/*
 * Whether a @phrases list may be run a phrase at a time (rules_match.c):
 * not known yet, yes, or no.
 */
enum rule_split { SPLIT_UNKNOWN, SPLIT_YES, SPLIT_NO };

/* A condition that names a @set, read once every set is loaded. */
struct rule_pending {
	char *name;
	char *value;
};

struct rule {
	/* Pointers first, then the 32-bit fields, then the flags: no padding. */
	char *id;
	const char *file;	/* owned by struct rules */
	struct rule_list status, rcode, provider, reporter, type, action, sreason;
	char *pattern;		/* NULL for a rule of conditions only */
	int *lits;		/* the literal pre-check, see below; NULL for none */
	pcre2_code *code;	/* compiled on first use */
	size_t scanned;		/* bytes of text run over, towards JIT */
	struct rule_phrase *phrases;	/* the lines of a @phrases list */
	pcre2_code **phrase_codes;	/* each compiled alone, only to explain a match */
	char *like;		/* like= target, resolved by rules_finish() */
	char *like_origin;	/* id of the rule whose regex like= took */
	struct rule_pending *pending;

	int line;
	int dir;		/* index of the directory it came from */
	enum reason reason;
	int hard;		/* -1, 0 or 1 */
	enum rule_field field;
	unsigned cmd_mask;	/* bit per enum smtp_cmd; 0 = any */
	uint32_t options;	/* PCRE2 compile options */
	unsigned runs;
	uint32_t nlits;		/* a regex of at most LIMIT_RULE_PATTERN bytes has fewer */
	uint32_t nphrases;	/* at most LIMIT_RULE_PHRASES */
	uint32_t npending;

	bool cmd_negate;
	bool pattern_borrowed;	/* pattern belongs to the rule like= names */
	bool lits_built;	/* rules_lits() has built lits */
	bool lits_borrowed;	/* lits belong to the rule like= names */
	bool jit;		/* JIT compilation was tried */
	bool broken;		/* failed to compile: skipped */
	bool pattern_only;	/* reason "-" or @phrases: for like=, not a rule */
	bool resolved;		/* rules_finish() has seen it */
	uint8_t split;		/* enum rule_split, for a @phrases list */
};

/* A named list of condition values (@set). */
struct rule_set {
	char *name;
	char *value;
	const char *file;
	int line;
	int dir;
};

struct rules {
	struct rule **v;
	size_t n, cap;
	uint32_t *ids;		/* id index: rule number + 1, 0 = empty */
	size_t idcap;		/* a power of two, at least twice n */
	char **files;		/* names for error messages */
	size_t nfiles;
	int ndirs;
	struct rule_set *sets;
	size_t nsets;
	struct provider_table *providers;
	bool finished;		/* every reference is resolved */
	struct litset *lits;
	int *scratch;		/* rules_lits() collects a rule's literal ids here */
	size_t nscratch, scratchcap;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	struct buf *lower;	/* the lower-cased diagnostic */
	char *error;
	size_t compiled;
	struct sha256 sum;	/* of the texts loaded, for rules_digest() */
	bool summing;		/* sum is started */
	bool no_digest;		/* rules_no_digest(): no sum at all */
	char digest[SHA256_HEX_SIZE];	/* its hex value, or "" when more was loaded since */
};

/* rules_compile - compile r's regex; false (and *error_r) on failure */
bool rules_compile(struct rules *rs, struct rule *r, char **error_r);

/* rules_errorf - an allocated "file:line: message" */
char *rules_errorf(const char *file, int line, const char *fmt, ...) MSG_PRINTF(3, 4);

/* rules_valid_id - whether s is a well-formed rule, set or pattern id */
bool rules_valid_id(const char *s);

/* rules_find - the active rule or pattern with this id, or NULL */
struct rule *rules_find(struct rules *rs, const char *id);

/* rules_option - apply one NAME=VALUE condition to r; an error text or NULL */
const char *rules_option(struct rules *rs, struct rule *r, const char *name, const char *value);

/* rules_set_regex - give r the pattern p (copied) with options */
void rules_set_regex(struct rules *rs, struct rule *r, const char *p, size_t n,
		     uint32_t options);

/* rules_take_regex - give r the allocated pattern with options; r owns it */
void rules_take_regex(struct rules *rs, struct rule *r, char *pattern, uint32_t options);

/* rules_lits - build r's literal pre-check when it is first needed */
void rules_lits(struct rules *rs, struct rule *r);

/* rules_flags - PCRE2 options of regex flags "imsxu"; false on an unknown flag */
bool rules_flags(const char *flags, uint32_t *options_r);

/* rules_flags_n - rules_flags() of the n bytes at flags */
bool rules_flags_n(const char *flags, size_t n, uint32_t *options_r);

/*
 * rules_append - add a parsed rule, or drop it when an earlier directory
 * has its id; -1 and *error_r (the rule released) on a duplicate within
 * one directory or past LIMIT_RULES
 */
int rules_append(struct rules *rs, struct rule *r, char **error_r);


/* rule_release - free what one rule owns */
void rule_release(struct rule *r);

/* rules_rule_line - parse one rule's logical line (rules.c); -1 and *error_r on error */
int rules_rule_line(struct rules *rs, const char *line, const char *file, int lineno,
		    char **error_r);

#endif
