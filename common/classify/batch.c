/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * batch - classify files and directories, JSON Lines out.
 *
 * One read buffer serves every file, and the classifier keeps its parser
 * buffers between messages: a large batch allocates little beyond the
 * reports themselves.  Output strings are JSON-escaped and made valid
 * UTF-8 (a stranger's bytes may not be), so that any JSON reader can take
 * the output.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify/batch.h"
#include "util/caps.h"
#include "util/utf8.h"
#include "util/xalloc.h"

struct batch {
	struct classifier *c;
	FILE *out, *err;
	char *data;		/* the read buffer, of cap bytes */
	size_t cap;		/* at most max_size + 1 */
	size_t max_size;
	unsigned flags;
	int status;
};

/* batch_json_string - write s as a JSON string, or null */
static void
batch_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL) {
		fputs("null", out);
		return;
	}
	n = strlen(s);
	putc('"', out);
	for (size_t i = 0; i < n;) {
		size_t len, run = i;

		/* Printable ASCII needs no escape: write it a run at a time. */
		while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i) {
			fwrite(p + i, 1, run - i, out);
			i = run;
			continue;
		}
		len = utf8_valid_at(p + i, n - i);
		if (len == 0) {
			fputs("\\ufffd", out);
			i++;
		} else if (len > 1) {
			fwrite(p + i, 1, len, out);
			i += len;
		} else {
			if (p[i] == '"' || p[i] == '\\')
				fprintf(out, "\\%c", p[i]);
			else if (p[i] < 0x20 || p[i] == 0x7f)
				fprintf(out, "\\u%04x", p[i]);
			else
				putc(p[i], out);
			i++;
		}
	}
	putc('"', out);
}

/* batch_print - write the JSON lines of one classified report */
void
batch_print(FILE *out, const char *file, const struct report *r)
{
	if (r->format == FORMAT_NONE)
		return;
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct report_rcpt *rc = &r->rcpt[i];
		char code[16] = "";

		if (rc->reply_code > 0)
			snprintf(code, sizeof(code), "%d", rc->reply_code);
		fputs("{\"file\":", out);
		batch_json_string(out, file);
		fputs(",\"recipient\":", out);
		batch_json_string(out, rc->recipient);
		fprintf(out, ",\"kind\":\"%s\",\"reason\":\"%s\",\"category\":\"%s\",\"hard\":%s",
			kind_name(rc->kind), reason_name(rc->reason), reason_category(rc->reason),
			rc->hard ? "true" : "false");
		fprintf(out, ",\"status\":\"%s\",\"replycode\":\"%s\",\"action\":", rc->status, code);
		batch_json_string(out, rc->action != NULL ? rc->action : "");
		fputs(",\"diagnostic\":", out);
		batch_json_string(out, rc->diagnostic != NULL ? rc->diagnostic : "");
		fputs(",\"rule\":", out);
		batch_json_string(out, rc->rule != NULL ? rc->rule : "");
		fputs("}\n", out);
	}
}

/*
 * The read buffer starts at BATCH_READ_START bytes and grows, to at most
 * max_size + 1, only for a larger file: a process that classifies one
 * bounce of a few kilobytes then maps and unmaps no buffer of
 * max_message_size (10 MB by default), which cost it two system calls.
 */
#define BATCH_READ_START (64 * 1024)

/* batch_room - make b->data hold at least want + 1 bytes, within max_size + 1 */
static void
batch_room(struct batch *b, size_t want)
{
	size_t cap = b->cap != 0 ? b->cap : BATCH_READ_START;

	if (want > b->max_size)
		want = b->max_size;
	while (cap < want + 1)
		cap = cap > (b->max_size + 1) / 2 ? b->max_size + 1 : cap * 2;
	if (cap > b->max_size + 1)
		cap = b->max_size + 1;
	if (cap != b->cap || b->data == NULL) {
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
}

/*
 * batch_read - read up to max_size bytes of name, relative to directory
 * dfd, into b->data; length or -1.  Opening by the name within an open
 * directory spares the kernel a walk of the whole path for every file.
 */
static ssize_t
batch_read(struct batch *b, int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return -1;
	/*
	 * No fstat(2) for the size: the buffer is kept from file to file and
	 * is large enough for most at once, and one that is not grows below.
	 */
	batch_room(b, 0);
	while (len < b->max_size) {
		size_t want;
		ssize_t n;

		if (len + 1 >= b->cap)
			batch_room(b, b->cap * 2);
		want = b->cap - 1 - len;
		n = read(fd, b->data + len, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		len += (size_t)n;
		/* A regular file reads short only at its end: no need to read 0. */
		if ((size_t)n < want)
			break;
	}
	close(fd);
	return (ssize_t)len;
}

/* batch_explain_step - print one step of a decision (rules_explain_fn) */
static void
batch_explain_step(void *ctx, const struct rule_step *step)
{
	static const char *const outcomes[] = {
		[RULE_CONDITION] = "condition", [RULE_ABSENT] = "absent",
		[RULE_NO_MATCH] = "no match", [RULE_DECIDED] = "DECIDED",
	};
	FILE *out = ctx;

	if (step->file[0] == '\0') {
		fprintf(out, "    %-10s %-22s %s\n", outcomes[step->outcome], step->id, step->detail);
		fprintf(out, "  decided by %s: %s\n", step->id, step->detail);
		return;
	}
	fprintf(out, "    %-10s %-22s %s:%d", outcomes[step->outcome], step->id, step->file,
		step->line);
	if (step->outcome == RULE_CONDITION)
		fprintf(out, "  %s", step->detail);
	fputc('\n', out);
	if (step->outcome != RULE_DECIDED)
		return;
	fprintf(out, "  decided by %s at %s:%d", step->id, step->file, step->line);
	if (step->phrase_file != NULL)
		fprintf(out, ", phrase %s:%d", step->phrase_file, step->phrase_line);
	fputs(step->detail[0] != '\0' ? ", on " : ", on its conditions", out);
	if (step->detail[0] != '\0')
		batch_json_string(out, step->detail);
	fputc('\n', out);
}

/* batch_explain_report - what decided each recipient of a report, for people */
void
batch_explain_report(struct classifier *c, const char *path, const struct report *r, FILE *out)
{
	if (r->format == FORMAT_NONE) {
		fprintf(out, "%s: no report recognised\n\n", path);
		return;
	}
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct report_rcpt *rc = &r->rcpt[i];
		bool generic;
		enum reason sr = status_reason(rc->status, &generic);

		fprintf(out, "%s: recipient %s\n", path, rc->recipient ? rc->recipient : "(none)");
		fprintf(out, "  kind %s, reason %s (%s), %s\n", kind_name(rc->kind),
			reason_name(rc->reason), reason_category(rc->reason),
			kind_is_failure(rc->kind) ? (rc->hard ? "hard" : "soft") : "not a failure");
		fprintf(out, "  status %s (%s), reply code %d, command %s, action %s, type %s\n",
			rc->status[0] ? rc->status : "none",
			rc->status[0] ? reason_name(sr) : "-", rc->reply_code,
			rc->command == CMD_NONE ? "none" : smtp_cmd_name(rc->command),
			rc->action ? rc->action : "none",
			rc->diagnostic_type ? rc->diagnostic_type : "none");
		fprintf(out, "  remote %s, reporting %s\n", rc->remote_mta ? rc->remote_mta : "-",
			r->reporting_mta ? r->reporting_mta : "-");
		fputs("  diagnostic ", out);
		batch_json_string(out, rc->diagnostic ? rc->diagnostic : "");
		fputs("\n  rules tried, in order:\n", out);
		classifier_explain(c, r, i, batch_explain_step, out);
		fputc('\n', out);
	}
}

/* batch_message - classify one message and print its lines */
static void
batch_message(struct batch *b, const char *path, const char *data, size_t len)
{
	struct report *r = classifier_run(b->c, data, len);

	if (b->flags & BATCH_EXPLAIN)
		batch_explain_report(b->c, path, r, b->out);
	else
		batch_print(b->out, path, r);
	report_free(&r);
}

/*
 * batch_file - classify one file, name within directory dfd, called path
 * in the output.  A file that starts with an mbox "From " line may hold
 * several messages, each starting with such a line.
 */
static void
batch_file(struct batch *b, int dfd, const char *name, const char *path)
{
	ssize_t len = batch_read(b, dfd, name);
	const char *p, *end, *next;

	if (len < 0) {
		fprintf(b->err, "rebound-pipe: %s: %s\n", path, strerror(errno));
		b->status = 1;
		return;
	}
	p = b->data;
	end = b->data + len;
	if (len < 5 || memcmp(p, "From ", 5) != 0) {
		batch_message(b, path, p, (size_t)len);
		return;
	}
	for (; p < end; p = next) {
		const char *q = p + 5;

		next = end;
		while (q < end && (q = memmem(q, (size_t)(end - q), "\nFrom ", 6)) != NULL) {
			/* The separator follows an empty line, as mbox writers put it. */
			if (q > p && q[-1] == '\n') {
				next = q + 1;
				break;
			}
			q++;
		}
		batch_message(b, path, p, (size_t)(next - p));
	}
}

/* batch_namecmp - qsort order of directory entries (past their type byte) */
static int
batch_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static void batch_path(struct batch *b, const char *path, int depth);

/* batch_dir - classify the entries of a directory in name order */
static void
batch_dir(struct batch *b, const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		fprintf(b->err, "rebound-pipe: %s: %s\n", path, strerror(errno));
		b->status = 1;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			names = xrealloc(names, cap * sizeof(*names));
		}
		/* The name carries its type: a regular file needs no stat(2). */
		names[n] = xmalloc(strlen(de->d_name) + 2);
		names[n][0] = de->d_type == DT_REG ? 'f' : '?';
		strcpy(names[n] + 1, de->d_name);
		n++;
	}
	qsort(names, n, sizeof(*names), batch_namecmp);
	/* The directory stays open: its files are opened relative to it. */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *sub = xmalloc(len);

		snprintf(sub, len, "%s/%s", path, names[i] + 1);
		if (names[i][0] == 'f')
			batch_file(b, dirfd(d), names[i] + 1, sub);
		else
			batch_path(b, sub, depth + 1);
		free(sub);
		free(names[i]);
	}
	closedir(d);
	free(names);
}

/* batch_path - classify a file, or the files under a directory */
static void
batch_path(struct batch *b, const char *path, int depth)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(b->err, "rebound-pipe: %s: %s\n", path, strerror(errno));
		b->status = 1;
	} else if (S_ISDIR(st.st_mode)) {
		if (depth < LIMIT_BATCH_DEPTH)
			batch_dir(b, path, depth);
	} else if (S_ISREG(st.st_mode)) {
		batch_file(b, AT_FDCWD, path, path);
	} else {
		fprintf(b->err, "rebound-pipe: %s: not a regular file\n", path);
		b->status = 1;
	}
}

/* batch_run - classify files and directories; 0 if every file could be read */
int
batch_run(struct classifier *c, char *const *paths, size_t n, size_t max_size, unsigned flags,
	  FILE *out, FILE *err)
{
	struct batch b = { .c = c, .out = out, .err = err, .max_size = max_size, .flags = flags };

	for (size_t i = 0; i < n; i++)
		batch_path(&b, paths[i], 0);
	free(b.data);
	return b.status;
}

int
batch_classify(const struct cfg *cfg, char *const *paths, size_t n, unsigned flags, FILE *out,
	       FILE *err)
{
	struct classifier *clf = NULL;
	char *error = NULL;
	int ret;

	/* The lines printed name no rule-set digest: none is taken. */
	if (classifier_create_nodigest(cfg, &clf, &error) < 0) {
		fprintf(err, "rebound: %s\n", error);
		free(error);
		return EX_CONFIG;
	}
	ret = batch_run(clf, paths, n, cfg->max_message_size, flags, out, err);
	if (fflush(out) != 0 || ferror(out))
		ret = EX_IOERR;
	else if (ret != 0)
		ret = EX_NOINPUT;
	classifier_free(&clf);
	return ret;
}
