/* SPDX-License-Identifier: BSD-2-Clause */
/* test-spool - spool record encoding, append, replay and recovery. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "tap.h"

struct seen {
	int n;
	int fail_at;		/* make the callback fail at this record, or -1 */
	char last[64];
};

static int
collect(void *ctx, const struct mrec *rec)
{
	struct seen *s = ctx;

	if (s->n == s->fail_at)
		return -1;
	s->n++;
	snprintf(s->last, sizeof(s->last), "%s", rec->n > 0 && rec->f[0] ? rec->f[0] : "(null)");
	return 0;
}

static struct mrec *
numbered(int i)
{
	struct mrec *rec = mrec_create('E');
	char text[32];

	snprintf(text, sizeof(text), "r%d", i);
	mrec_add(rec, text);
	mrec_add(rec, NULL);
	return rec;
}

/* check_encoding - every byte survives a record's line, and bad lines are refused */
static void
check_encoding(void)
{
	struct mrec *rec, *back;
	char *line;
	size_t len;

	/* Every byte survives, NULL stays NULL. */
	rec = mrec_create('M');
	mrec_add(rec, "tab\there%and\nnewline \x01\xff");
	mrec_add(rec, NULL);
	mrec_add(rec, "");
	mrec_add(rec, "%00");
	line = mrec_encode(rec, &len);
	tap_ok(line != NULL && line[len - 1] == '\n' && memchr(line, '\t', len) != NULL,
	       "encoded as one line");
	tap_ok(strchr(line, '\n') == line + len - 1, "no newline inside the line");
	back = mrec_decode(line, len - 1);
	tap_ok(back != NULL && back->kind == 'M' && back->n == 4, "decoded four fields");
	if (back != NULL && back->n == 4) {
		tap_is_str(back->f[0], rec->f[0], "field with special bytes");
		tap_ok(back->f[1] == NULL, "NULL field");
		tap_is_str(back->f[2], "", "empty field");
		tap_is_str(back->f[3], "%00", "a literal %%00");
	}
	mrec_free(&back);
	free(line);
	mrec_free(&rec);
	/* The time a record was made survives; old lines have none. */
	rec = mrec_create('E');
	tap_ok(rec->made_us > 1700000000LL * 1000000, "a new record has the time it was made");
	rec->made_us = 1795425518123456LL;
	mrec_add(rec, "x");
	line = mrec_encode(rec, &len);
	tap_ok(strncmp(line, "E@1795425518123456\tx\n", len) == 0, "the time is written after the kind");
	back = mrec_decode(line, len - 1);
	tap_ok(back != NULL && back->made_us == 1795425518123456LL && back->n == 1 &&
	       strcmp(back->f[0], "x") == 0, "and read back");
	mrec_free(&back);
	free(line);
	mrec_free(&rec);
	back = mrec_decode("M\tx", 3);
	tap_ok(back != NULL && back->made_us == 0 && back->n == 1, "a line without a time reads as 0");
	mrec_free(&back);
	back = mrec_decode("M@\tx", 4);
	tap_ok(back == NULL, "an empty time refused");
	back = mrec_decode("M@12a\tx", 6);
	tap_ok(back == NULL, "a time with a letter refused");
	back = mrec_decode("M@99999999999999999999999\tx", 26);
	tap_ok(back == NULL, "a time too long refused");
	back = mrec_decode("E@17", 4);
	tap_ok(back != NULL && back->made_us == 17 && back->n == 0, "a time and no fields");
	mrec_free(&back);
	tap_ok(mrec_decode("X\tfoo", 5) == NULL, "unknown kind refused");
	tap_ok(mrec_decode("E\tbad%zz", 8) == NULL, "bad escape refused");
	tap_ok(mrec_decode("Efoo", 4) == NULL, "missing tab refused");
}

/* check_replay - append, replay in order across files, a failing consumer */
static void
check_replay(const char *dir)
{
	struct seen seen = { 0, -1, "" };
	struct mrec *rec;
	struct spool *spool;
	char *error;
	size_t bad;
	long n;

	tap_ok(spool_open(dir, &spool, &error) == 0, "open spool");
	tap_ok(!spool_pending(spool), "empty spool has nothing pending");
	for (int i = 0; i < 5; i++) {
		rec = numbered(i);
		tap_ok(spool_append(spool, rec, &error) == 0, "append r%d", i);
		mrec_free(&rec);
	}
	tap_ok(spool_pending(spool), "records pending");

	/* A failing consumer keeps the file; the next replay starts over. */
	seen.fail_at = 2;
	n = spool_replay(spool, collect, &seen, &bad, &error);
	tap_ok(n == -1 && error == NULL, "replay stops when the consumer fails");
	tap_ok(spool_pending(spool), "records still pending");
	seen = (struct seen){ 0, -1, "" };

	/* Records appended after that go to a newer file, replayed later. */
	rec = numbered(5);
	spool_append(spool, rec, &error);
	mrec_free(&rec);
	/* Several at once, with one sync, keep their order. */
	{
		struct mrec *many[3] = { numbered(6), numbered(7), numbered(8) };

		tap_ok(spool_append_many(spool, (const struct mrec *const *)many, 3, &error) == 0,
		       "append three records at once");
		for (int i = 0; i < 3; i++)
			mrec_free(&many[i]);
	}
	n = spool_replay(spool, collect, &seen, &bad, &error);
	tap_is_int(n, 9, "replay hands over all nine records");
	tap_is_str(seen.last, "r8", "oldest first, newest last");
	tap_ok(!spool_pending(spool), "nothing pending after replay");
	spool_free(&spool);
}

/* check_recovery - a crash mid-write leaves a partial line: dropped, the rest kept */
static void
check_recovery(const char *dir)
{
	struct seen seen = { 0, -1, "" };
	struct mrec *rec;
	struct spool *spool;
	char *error, path[128];
	size_t bad;
	long n;
	int fd;

	snprintf(path, sizeof(path), "%s/00000000000000a0.spool", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	tap_ok(fd >= 0 && write(fd, "E\tgood\nE\tjunk%%\nE\tpart", 22) == 22, "write damaged file");
	close(fd);
	tap_ok(spool_open(dir, &spool, &error) == 0 && spool_pending(spool),
	       "reopened spool sees the file");
	seen = (struct seen){ 0, -1, "" };
	n = spool_replay(spool, collect, &seen, &bad, &error);
	tap_is_int(n, 1, "one good record");
	tap_is_int((long long)bad, 1, "one malformed record skipped");
	tap_is_str(seen.last, "good", "the good one");
	/* New files continue after the highest number found. */
	rec = numbered(9);
	spool_append(spool, rec, &error);
	mrec_free(&rec);
	snprintf(path, sizeof(path), "%s/00000000000000a1.spool", dir);
	tap_ok(access(path, F_OK) == 0, "numbering resumes after the existing files");
	n = spool_replay(spool, collect, &seen, &bad, &error);
	tap_is_int(n, 1, "replayed");
	spool_free(&spool);
}

int
main(void)
{
	char dir[] = "/tmp/test-spool.XXXXXX";

	check_encoding();
	if (mkdtemp(dir) == NULL)
		return tap_ok(0, "mkdtemp"), tap_done();
	check_replay(dir);
	check_recovery(dir);
	rmdir(dir);
	return tap_done();
}
