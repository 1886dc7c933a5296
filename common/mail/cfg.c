/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfg - the rebound.conf parser.
 *
 * One table declares every parameter.  Parsing never logs or exits: errors
 * come back as an allocated message that names the file and line.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include "util/buf.h"
#include "mail/cfg.h"
#include "util/caps.h"
#include "util/xalloc.h"

enum cfg_type {
	CFG_STR,
	CFG_LIST,
	CFG_SIZE,
	CFG_TIME,
	CFG_RAW,
	CFG_BOOL,
	CFG_ACTION,
	CFG_COUNT,
};

struct cfg_param {
	const char *name;
	enum cfg_type type;
	const char *def;
	size_t offset;
	unsigned long long min;
	unsigned long long max;
};

#define P(name, type, def, min, max) \
	{ #name, type, def, offsetof(struct cfg, name), min, max }

static const struct cfg_param cfg_params[] = {
	P(database, CFG_STR, "dbname=rebound", 0, 0),
	P(db_connect_timeout, CFG_TIME, "10s", 1, 3600),
	P(db_statement_timeout, CFG_TIME, "30s", 1, 3600),
	P(syslog_facility, CFG_STR, "mail", 0, 0),
	P(syslog_name, CFG_STR, "", 0, 0),
	P(syslog_socket, CFG_STR, "", 0, 0),
	P(log_file, CFG_STR, "", 0, 0),
	P(bounce_domains, CFG_LIST, "", 0, 0),
	P(verp_delimiters, CFG_STR, "+=", 0, 0),
	P(local_mta_names, CFG_LIST, "", 0, 0),
	P(max_message_size, CFG_SIZE, "10m", 64 * 1024, LIMIT_MESSAGE_CEILING),
	P(raw_message_limit, CFG_SIZE, "1m", 1024, LIMIT_MESSAGE_CEILING),
	P(raw_messages, CFG_RAW, "all", 0, 0),
	P(pipe_time_limit, CFG_TIME, "100s", 1, 86400),
	P(lmtp_postfix_user, CFG_STR, "postfix", 0, 0),
	P(rules_directory, CFG_STR, "", 0, 0),
	P(builtin_rules_directory, CFG_STR, REBOUND_DATADIR "/rules", 0, 0),
	P(token_key_file, CFG_STR, "", 0, 0),
	P(token_previous_key_file, CFG_STR, "", 0, 0),
	P(token_lifetime, CFG_TIME, "30d", 86400, 3650 * 86400ULL),
	P(return_path_prefix, CFG_STR, "bounces", 0, 0),
	P(milter_socket, CFG_STR, "inet:8894@127.0.0.1", 0, 0),
	P(milter_user, CFG_STR, "rebound", 0, 0),
	P(milter_pid_file, CFG_STR, "/run/rebound/rebound-milter.pid", 0, 0),
	P(milter_spool_directory, CFG_STR, "/var/lib/rebound/spool", 0, 0),
	P(milter_queue_size, CFG_COUNT, "10000", 1, 1000000),
	P(milter_record_timeout, CFG_TIME, "5s", 1, 20),
	P(sender_domains, CFG_LIST, "", 0, 0),
	P(token_header, CFG_BOOL, "no", 0, 0),
	P(bounce_classic_verp, CFG_BOOL, "yes", 0, 0),
	P(suppression_refresh, CFG_TIME, "5m", 10, 86400),
	P(suppression_reply, CFG_STR, "550 5.1.1 <%a>: recipient suppressed (%r)", 0, 0),
	P(suppression_failure_action, CFG_ACTION, "accept", 0, 0),
	P(milter_failure_action, CFG_ACTION, "accept", 0, 0),
};

#undef P

#define CFG_NPARAMS (sizeof(cfg_params) / sizeof(cfg_params[0]))

const char *
cfg_param_name(size_t i)
{
	return i < CFG_NPARAMS ? cfg_params[i].name : NULL;
}

/* cfg_split_list - split on commas and white space */
static char **
cfg_split_list(const char *value)
{
	size_t n = 0, cap = 4;
	char **list = xcalloc(cap + 1, sizeof(*list));
	const char *p = value;

	while (*p != '\0') {
		size_t len;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		len = strcspn(p, ", \t\r\n");
		if (len == 0)
			break;
		if (n == cap) {
			cap *= 2;
			list = xrealloc(list, (cap + 1) * sizeof(*list));
		}
		list[n++] = xstrndup(p, len);
		list[n] = NULL;
		p += len;
	}
	return list;
}

static void
cfg_free_list(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

/* cfg_number - parse a number with a unit suffix from units[] */
static int
cfg_number(const char *value, const char *units, const unsigned long long *mult,
	   unsigned long long *out)
{
	char *end;
	unsigned long long n;
	const char *u;

	if (!isdigit((unsigned char)*value))
		return -1;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0') {
		*out = n * mult[0];
		return n > ULLONG_MAX / mult[0] ? -1 : 0;
	}
	if (end[1] != '\0' || (u = strchr(units, tolower((unsigned char)*end))) == NULL)
		return -1;
	if (n > ULLONG_MAX / mult[u - units + 1])
		return -1;
	*out = n * mult[u - units + 1];
	return 0;
}

/*
 * cfg_reply_ok - whether a reply template is one Postfix accepts from a
 * milter: a 4xx or 5xx code, then an enhanced status of the same class,
 * then text.  Postfix treats anything else as a configuration error, which
 * would fail every session, so it is refused when the file is read.
 */
static bool
cfg_reply_ok(const char *v)
{
	const char *p = v + 4;

	if (strlen(v) > 400 || (v[0] != '4' && v[0] != '5') || !isdigit((unsigned char)v[1]) ||
	    !isdigit((unsigned char)v[2]) || v[3] != ' ' || p[0] != v[0] || p[1] != '.')
		return false;
	for (p += 2; isdigit((unsigned char)*p); p++)
		;
	if (*p++ != '.' || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == ' ' && p[1] != '\0';
}

/* cfg_set - store one value; returns an allocated reason on error */
static char *
cfg_set(struct cfg *cfg, const struct cfg_param *p, const char *value)
{
	static const unsigned long long size_mult[] = { 1, 1, 1024, 1024 * 1024,
							1024ULL * 1024 * 1024 };
	static const unsigned long long time_mult[] = { 1, 1, 60, 3600, 86400, 604800 };
	void *field = (char *)cfg + p->offset;
	unsigned long long n;

	switch (p->type) {
	case CFG_STR:
		if (strcmp(p->name, "verp_delimiters") == 0 &&
		    (strlen(value) != 2 || strspn(value, "-=+") != 2))
			return xstrdup_printf("want two characters from \"-=+\", got \"%s\"", value);
		if (strcmp(p->name, "suppression_reply") == 0 && !cfg_reply_ok(value))
			return xstrdup_printf("want \"5xx 5.x.y text\" or \"4xx 4.x.y text\", got \"%s\"",
					 value);
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return NULL;
	case CFG_BOOL:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return xstrdup_printf("bad value \"%s\" (want yes or no)", value);
		*(bool *)field = strcmp(value, "yes") == 0;
		return NULL;
	case CFG_ACTION:
		if (strcmp(value, "accept") == 0)
			*(enum cfg_action *)field = CFG_ACTION_ACCEPT;
		else if (strcmp(value, "tempfail") == 0)
			*(enum cfg_action *)field = CFG_ACTION_TEMPFAIL;
		else
			return xstrdup_printf("bad value \"%s\" (want accept or tempfail)", value);
		return NULL;
	case CFG_COUNT:
		if (cfg_number(value, "", size_mult, &n) < 0)
			return xstrdup_printf("bad number \"%s\"", value);
		break;
	case CFG_LIST:
		cfg_free_list(*(char ***)field);
		*(char ***)field = cfg_split_list(value);
		return NULL;
	case CFG_SIZE:
		if (cfg_number(value, "bkmg", size_mult, &n) < 0)
			return xstrdup_printf("bad size \"%s\" (want a number with optional k, m or g)",
					 value);
		break;
	case CFG_TIME:
		if (cfg_number(value, "smhdw", time_mult, &n) < 0)
			return xstrdup_printf("bad time \"%s\" (want a number with optional s, m, h, d or w)",
					 value);
		break;
	case CFG_RAW:
		if (strcmp(value, "unparsed") == 0)
			cfg->raw_messages = CFG_RAW_UNPARSED;
		else if (strcmp(value, "all") == 0)
			cfg->raw_messages = CFG_RAW_ALL;
		else
			return xstrdup_printf("bad value \"%s\" (want unparsed or all)", value);
		return NULL;
	}
	if (n < p->min || n > p->max)
		return xstrdup_printf("value \"%s\" out of range [%llu, %llu]", value, p->min, p->max);
	if (p->type == CFG_SIZE || p->type == CFG_COUNT)
		*(size_t *)field = (size_t)n;
	else
		*(unsigned *)field = (unsigned)n;
	return NULL;
}

static const struct cfg_param *
cfg_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < CFG_NPARAMS; i++)
		if (strlen(cfg_params[i].name) == len && strncmp(cfg_params[i].name, name, len) == 0)
			return &cfg_params[i];
	return NULL;
}

/*
 * cfg_distance - the edit distance between a and the len characters at b
 * (insertions, deletions, substitutions and swaps of neighbours), or
 * more than limit when it is more.  Names are short: one row of the
 * table fits on the stack.
 */
static size_t
cfg_distance(const char *a, const char *b, size_t len, size_t limit)
{
	size_t alen = strlen(a), prev2[64], prev[64], cur[64];

	if (alen >= 64 || len >= 64)
		return limit + 1;
	for (size_t j = 0; j <= len; j++)
		prev[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		size_t best;

		cur[0] = best = i;
		for (size_t j = 1; j <= len; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t d = prev[j - 1] + cost;

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < best)
				best = d;
		}
		if (best > limit)
			return limit + 1;
		memcpy(prev2, prev, sizeof(prev));
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[len];
}

/*
 * cfg_suggest - the parameter whose name is closest to the len characters
 * at name, or NULL when none is close: a name that lacks the first
 * words of a longer one ("pid_file"), else one a few typos away (a letter
 * wrong, too many or too few, two letters swapped).
 */
static const char *
cfg_suggest(const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < CFG_NPARAMS; i++) {
		const char *full = cfg_params[i].name;
		size_t flen = strlen(full);

		if (len + 1 < flen && full[flen - len - 1] == '_' &&
		    strncasecmp(full + flen - len, name, len) == 0)
			return full;
	}
	for (size_t i = 0; i < CFG_NPARAMS; i++) {
		size_t limit = strlen(cfg_params[i].name) / 4 + 1;
		size_t d = cfg_distance(cfg_params[i].name, name, len, limit);

		if (d <= limit && d < best_d) {
			best = cfg_params[i].name;
			best_d = d;
		}
	}
	return best;
}

/* cfg_defaults - a configuration with every default applied */
static struct cfg *
cfg_defaults(const char *name)
{
	struct cfg *cfg = xcalloc(1, sizeof(*cfg));

	cfg->path = xstrdup(name);
	for (size_t i = 0; i < CFG_NPARAMS; i++) {
		char *err = cfg_set(cfg, &cfg_params[i], cfg_params[i].def);

		if (err != NULL)	/* a bad default is a programming error */
			msg_fatal("default of %s: %s", cfg_params[i].name, err);
	}
	return cfg;
}

/* cfg_setting - apply one logical line, continuation lines joined */
static int
cfg_setting(struct cfg *cfg, const char *name, int lineno, const char *line, char **error_r)
{
	const char *eq = strchr(line, '=');
	const char *key_end, *value;
	const struct cfg_param *p;
	char *reason;
	char *val;
	size_t vlen;

	if (eq == NULL) {
		*error_r = xstrdup_printf("%s, line %d: missing '=' after parameter name", name, lineno);
		return -1;
	}
	for (key_end = eq; key_end > line && isspace((unsigned char)key_end[-1]); key_end--)
		;
	if ((p = cfg_lookup(line, (size_t)(key_end - line))) == NULL) {
		const char *near = cfg_suggest(line, (size_t)(key_end - line));

		*error_r = xstrdup_printf("%s, line %d: unknown parameter \"%.*s\"%s%s%s", name, lineno,
				     (int)(key_end - line > 64 ? 64 : key_end - line), line,
				     near != NULL ? " (did you mean \"" : "", near != NULL ? near : "",
				     near != NULL ? "\"?)" : "");
		return -1;
	}
	for (value = eq + 1; isspace((unsigned char)*value); value++)
		;
	vlen = strlen(value);
	while (vlen > 0 && isspace((unsigned char)value[vlen - 1]))
		vlen--;
	val = xstrndup(value, vlen);
	reason = cfg_set(cfg, p, val);
	free(val);
	if (reason != NULL) {
		*error_r = xstrdup_printf("%s, line %d: %s: %s", name, lineno, p->name, reason);
		free(reason);
		return -1;
	}
	return 0;
}

/* cfg_flush - apply the pending logical line, if any */
static int
cfg_flush(struct cfg *cfg, const char *name, struct buf *line, int lineno, char **error_r)
{
	int ret = 0;

	if (buf_len(line) > 0)
		ret = cfg_setting(cfg, name, lineno, buf_str(line), error_r);
	buf_reset(line);
	return ret;
}

int
cfg_parse(const char *text, size_t len, const char *name, struct cfg **cfg_r, char **error_r)
{
	struct cfg *cfg = cfg_defaults(name);
	struct buf *line = buf_create(LIMIT_CONF_LINE);
	const char *p = text, *end = text + len;
	int lineno = 0, start = 0;

	*error_r = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *s = p;

		lineno++;
		p += n + (nl != NULL);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (memchr(s, '\0', n) != NULL) {
			*error_r = xstrdup_printf("%s, line %d: NUL byte", name, lineno);
			break;
		}
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
		if (n > 0 && isspace((unsigned char)*s)) {
			/* A continuation line, or a blank or indented comment. */
			while (n > 0 && isspace((unsigned char)*s))
				s++, n--;
			if (n == 0 || *s == '#')
				continue;
			if (buf_len(line) == 0) {
				*error_r = xstrdup_printf("%s, line %d: continuation line without a setting",
						     name, lineno);
				break;
			}
			if (buf_putc(line, ' ') < 0 || buf_append(line, s, n) < 0) {
				*error_r = xstrdup_printf("%s, line %d: line too long", name, lineno);
				break;
			}
			continue;
		}
		if (cfg_flush(cfg, name, line, start, error_r) < 0)
			break;
		if (n == 0 || *s == '#')
			continue;
		start = lineno;
		if (buf_append(line, s, n) < 0) {
			*error_r = xstrdup_printf("%s, line %d: line too long", name, lineno);
			break;
		}
	}
	if (*error_r == NULL)
		(void)cfg_flush(cfg, name, line, start, error_r);
	buf_free(&line);
	if (*error_r != NULL) {
		cfg_free(&cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}

int
cfg_load(const char *path, struct cfg **cfg_r, char **error_r)
{
	struct buf *text;
	FILE *fp;
	char chunk[4096];
	struct stat st;
	mode_t mode;
	size_t n;
	int ret;

	if (path == NULL)
		path = CFG_DEFAULT_PATH;
	if ((fp = fopen(path, "r")) == NULL) {
		*error_r = xstrdup_printf("open %s: %s", path, strerror(errno));
		return -1;
	}
	text = buf_create(1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (buf_append(text, chunk, n) < 0) {
			*error_r = xstrdup_printf("%s: file too large", path);
			fclose(fp);
			buf_free(&text);
			return -1;
		}
	}
	if (ferror(fp)) {
		*error_r = xstrdup_printf("read %s: %s", path, strerror(errno));
		fclose(fp);
		buf_free(&text);
		return -1;
	}
	mode = fstat(fileno(fp), &st) == 0 ? st.st_mode : 0;
	fclose(fp);
	ret = cfg_parse(buf_str(text), buf_len(text), path, cfg_r, error_r);
	buf_free(&text);
	/* A password in the conninfo is a secret: like a key file, not for others. */
	if (ret == 0 && (mode & (S_IROTH | S_IWOTH)) != 0 &&
	    strstr((*cfg_r)->database, "password") != NULL) {
		*error_r = xstrdup_printf("%s: database has a password but the file is mode %03o; "
				     "chmod o-rw it", path, (unsigned)(mode & 0777));
		cfg_free(cfg_r);
		return -1;
	}
	return ret;
}

void
cfg_free(struct cfg **cfgp)
{
	struct cfg *cfg = *cfgp;

	if (cfg == NULL)
		return;
	for (size_t i = 0; i < CFG_NPARAMS; i++) {
		void *field = (char *)cfg + cfg_params[i].offset;

		if (cfg_params[i].type == CFG_STR)
			free(*(char **)field);
		else if (cfg_params[i].type == CFG_LIST)
			cfg_free_list(*(char ***)field);
	}
	free(cfg->path);
	free(cfg);
	*cfgp = NULL;
}
