/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_RULES_IMPL_H
#define REBOUND_RULES_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "util/buf.h"
#include "util/litset.h"
#include "classify/rules.h"

/*
 * rules_impl - the rule set's inside, shared by rules.c (loading) and
 * rules_match.c (matching); not for other modules.
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

/* One condition: a list of values, or of globs, possibly negated. */
struct rule_list {
	char **v;
	size_t n;
	bool negate;
};

struct rule {
	char *id;
	const char *file;	/* owned by struct rules */
	int line;
	int dir;		/* index of the directory it came from */
	enum reason reason;
	int hard;		/* -1, 0 or 1 */
	enum rule_field field;
	struct rule_list status, rcode, provider, reporter, type, action, sreason;
	unsigned cmd_mask;	/* bit per enum smtp_cmd; 0 = any */
	bool cmd_negate;

	char *pattern;		/* NULL for a rule of conditions only */
	uint32_t options;	/* PCRE2 compile options */
	int *lits;		/* the literal pre-check, see below; NULL for none */
	size_t nlits;
	pcre2_code *code;	/* compiled on first use */
	unsigned runs;
	size_t scanned;		/* bytes of text run over, towards JIT */
	bool jit;		/* JIT compilation was tried */
	bool broken;		/* failed to compile: skipped */
	bool pattern_only;	/* reason "-": a named regex for like=, not a rule */
};

struct rules {
	struct rule *v;
	size_t n, cap;
	char **files;		/* names for error messages */
	size_t nfiles;
	int ndirs;
	struct litset *lits;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	struct buf *lower;	/* the lower-cased diagnostic */
	char *error;
	size_t compiled;
};

/* rules_compile - compile r's regex; false (and *error_r) on failure */
bool rules_compile(struct rules *rs, struct rule *r, char **error_r);

#endif
