/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-mime-gmime - GMime as the oracle for our MIME scanner.
 *
 * rebound-pipe does not parse with GMime: its object parser alone costs
 * more than the whole per-message budget (README, "Why not GMime on the
 * hot path").  GMime stays the reference for what a MIME structure is, so
 * every message of tests/data (and, under make check-corpus, of the
 * labelled corpus) is parsed by both, and:
 *
 *  - every leaf part GMime finds, the scanner finds too, in the same order
 *    (the scanner may find more: it is meant to be more forgiving of
 *    broken bounces than a general parser);
 *  - the delivery status both find decodes to the same bytes, except
 *    where a malformed part header ends at a different line.
 */
#include <dirent.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "report/mime.h"
#include "tap.h"

#define MAX_LEAVES 64

struct leaves {
	int n;
	char type[MAX_LEAVES][80];
	struct buf *dsn;	/* the first delivery status, decoded */
};

/* is_dsn - whether type/subtype is a delivery status */
static int
is_dsn(const char *t)
{
	return strcmp(t, "message/delivery-status") == 0 ||
	       strcmp(t, "message/global-delivery-status") == 0;
}

static void
add_leaf(struct leaves *l, const char *type, const char *subtype)
{
	if (l->n < MAX_LEAVES) {
		snprintf(l->type[l->n], sizeof(l->type[0]), "%s/%s", type, subtype);
		for (char *c = l->type[l->n]; *c != '\0'; c++)
			*c = g_ascii_tolower(*c);
		l->n++;
	}
}

/* gmime_walk - the leaves of a GMime tree, in order */
static void
gmime_walk(GMimeObject *o, struct leaves *l)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	if (GMIME_IS_MULTIPART(o)) {
		for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o)); i++)
			gmime_walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), l);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));

		if (m != NULL)
			gmime_walk(g_mime_message_get_mime_part(m), l);
	} else if (GMIME_IS_PART(o)) {
		add_leaf(l, g_mime_content_type_get_media_type(ct),
			 g_mime_content_type_get_media_subtype(ct));
		if (l->dsn == NULL && is_dsn(l->type[l->n - 1])) {
			GMimeStream *mem = g_mime_stream_mem_new();
			GByteArray *bytes;

			g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(o)),
							    mem);
			bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
			l->dsn = buf_create(1 << 20);
			buf_append(l->dsn, bytes->data, bytes->len);
			g_object_unref(mem);
		}
	}
}

/* scanner_leaves - the leaves our scanner finds */
static void
scanner_leaves(struct mime *m, const char *data, size_t len, struct leaves *l)
{
	size_t n = mime_scan(m, data, len);

	for (size_t i = 0; i < n; i++) {
		const struct mime_part *p = mime_get(m, i);

		/* A container is an entity that is the parent of the next one. */
		if (i + 1 < n && mime_get(m, i + 1)->parent == (int)i)
			continue;
		if (strcmp(p->type, "multipart") == 0)
			continue;
		add_leaf(l, p->type, p->subtype);
		if (l->dsn == NULL && is_dsn(l->type[l->n - 1])) {
			l->dsn = buf_create(1 << 20);
			mime_decode(m, p, l->dsn);
		}
	}
}

/* normalised - text without CR and trailing white space, for comparison */
static char *
normalised(const struct buf *b)
{
	const char *s = buf_str(b);
	char *out = malloc(buf_len(b) + 1);
	size_t n = 0;

	for (size_t i = 0; i < buf_len(b); i++)
		if (s[i] != '\r')
			out[n++] = s[i];
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	return out;
}

/* starts_with_field - whether line begins with one of the DSN fields we read */
static int
starts_with_field(const char *line)
{
	static const char *const fields[] = {
		"reporting-mta:", "final-recipient:", "original-recipient:", "action:",
		"status:", "diagnostic-code:", "remote-mta:", "arrival-date:",
		"last-attempt-date:", "will-retry-until:", "x-postfix-queue-id:",
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strncasecmp(line, fields[i], strlen(fields[i])) == 0)
			return 1;
	return 0;
}

/*
 * header_tail - whether longer is shorter with a few stray header lines
 * before it: shorter starts at a line of longer, at most four lines come
 * before it, none of them a delivery status field, and shorter still
 * holds a Status field.  A scanner that lost real fields, or kept only
 * the last of them, does not pass for a header ended at another line.
 */
static int
header_tail(const char *longer, const char *shorter)
{
	size_t ll = strlen(longer), ls = strlen(shorter), lines = 0;
	const char *p;

	if (ls == 0 || ll <= ls || strcmp(longer + ll - ls, shorter) != 0)
		return 0;
	if (longer[ll - ls - 1] != '\n' || strcasestr(shorter, "status:") == NULL)
		return 0;
	for (p = longer; p < longer + ll - ls; p = strchr(p, '\n') + 1) {
		if (*p != '\n' && ++lines > 4)
			return 0;
		if (starts_with_field(p))
			return 0;
	}
	return 1;
}

/* subsequence - whether every entry of a appears in b, in order */
static int
subsequence(const struct leaves *a, const struct leaves *b)
{
	int j = 0;

	for (int i = 0; i < a->n; i++) {
		while (j < b->n && strcmp(a->type[i], b->type[j]) != 0)
			j++;
		if (j == b->n)
			return 0;
		j++;
	}
	return 1;
}

/* compare_file - one message through both parsers */
static void
compare_file(struct mime *m, const char *path, int *files, int *failures)
{
	struct leaves g = { 0 }, o = { 0 };
	FILE *fp = fopen(path, "rb");
	char *data, *copy = NULL;
	const char *scan;
	size_t len, size;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;

	if (fp == NULL)
		return;
	fseek(fp, 0, SEEK_END);
	size = (size_t)ftell(fp);
	rewind(fp);
	data = malloc(size + 1);
	len = fread(data, 1, size, fp);
	fclose(fp);
	/* An mbox "From " line is not part of the message (batch mode splits on it). */
	if (len > 5 && memcmp(data, "From ", 5) == 0) {
		char *nl = memchr(data, '\n', len);
		size_t skip = nl != NULL ? (size_t)(nl + 1 - data) : len;

		memmove(data, data + skip, len - skip);
		len -= skip;
	}
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg != NULL)
		gmime_walk(g_mime_message_get_mime_part(msg), &g);
	scan = mime_normalize(data, &len, &copy);
	scanner_leaves(m, scan, len, &o);
	(*files)++;
	if (!subsequence(&g, &o)) {
		(*failures)++;
		tap_diag("%s: GMime found a part the scanner missed", path);
	} else if (g.dsn != NULL && o.dsn != NULL) {
		char *a = normalised(g.dsn), *b = normalised(o.dsn);

		/*
		 * Equal, or one is the other after a few header lines: when a
		 * part's header has a line broken without folding (Exchange
		 * does it), the two parsers end that header at different lines
		 * and one of them keeps those lines as content.  The fields
		 * after them are the same.
		 */
		if (strcmp(a, b) != 0 && !header_tail(a, b) && !header_tail(b, a)) {
			if (getenv("TEST_VERBOSE") != NULL)
				fprintf(stderr, "--- GMime\n%s\n--- scanner\n%s\n", a, b);
			(*failures)++;
			tap_diag("%s: delivery status decodes differently", path);
		}
		free(a);
		free(b);
	}
	buf_free(&g.dsn);
	buf_free(&o.dsn);
	if (msg != NULL)
		g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	free(copy);
	free(data);
}

/* compare_dir - every *.eml file of a directory */
static void
compare_dir(struct mime *m, const char *dir, int *files, int *failures)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!tap_ok(d != NULL, "read %s", dir))
		return;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		size_t n = strlen(e->d_name);

		if (n < 5 || strcmp(e->d_name + n - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		compare_file(m, path, files, failures);
	}
	closedir(d);
}

int
main(void)
{
	const char *corpus = getenv("CORPUS");
	struct mime *m = mime_create();
	int files = 0, failures = 0;

	g_mime_init();
	/* The tolerance itself: a lost field or a cut line is a difference. */
	tap_ok(header_tail("Content-Description: x\n\nReporting-MTA: dns; a\nStatus: 5.1.1",
			   "Reporting-MTA: dns; a\nStatus: 5.1.1"),
	       "stray header lines before the same fields are tolerated");
	tap_ok(!header_tail("Reporting-MTA: dns; a\n\nStatus: 5.1.1", "Status: 5.1.1"),
	       "a lost delivery status field is not");
	tap_ok(!header_tail("Reporting-MTA: dns; a\nStatus: 5.1.1", "a\nStatus: 5.1.1"),
	       "nor a tail that starts inside a line");
	/*
	 * The fixtures of this tree always; the labelled corpus only when
	 * make check-corpus names it (CORPUS=), so that make check passes on
	 * a plain clone.  A named corpus that cannot be read fails.
	 */
	compare_dir(m, REBOUND_SRCDIR "/tests/data", &files, &failures);
	compare_dir(m, REBOUND_SRCDIR "/tests/data/classify", &files, &failures);
	tap_ok(files >= 30, "compared the %d fixtures with GMime", files);
	if (corpus != NULL && *corpus != '\0') {
		int fixtures = files;
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/emails", corpus);
		compare_dir(m, dir, &files, &failures);
		tap_ok(files - fixtures > 300, "compared %d corpus messages with GMime", files - fixtures);
	}
	tap_is_int(failures, 0, "the scanner finds every part GMime finds and decodes the same DSN");
	mime_free(&m);
	g_mime_shutdown();
	return tap_done();
}
