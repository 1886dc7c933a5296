/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_SPOOL_H
#define REBOUND_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * spool - the milter's durable queue for records the database cannot take
 * now.
 *
 * A record (struct mrec) is a kind letter, the time it was made and a
 * list of text fields, some of which may be NULL.  It is stored as one
 * line: the kind, '@' and the time in microseconds since 1970, then each
 * field after a tab, with '%', control characters and non-ASCII octets
 * written as %XX and a NULL field written as "%00" (a real string cannot
 * hold a NUL).  Lines are at most SPOOL_LINE_MAX octets.  A line without
 * the time (written by rebound before 1.1) reads as time 0, unknown.
 *
 * Files in the spool directory are named by a counter, are only ever
 * appended to, and each append is followed by fdatasync() before it
 * returns, so that a record the milter has accepted survives a crash.
 * spool_replay() hands the records back oldest first and removes a file
 * only once every record in it has been taken; replay may therefore hand a
 * record over twice after a failure, and the consumer must be idempotent
 * (the milter's inserts are).  A truncated last line, left by a crash in
 * the middle of a write, is dropped.
 *
 * Every function is safe to call from several threads.
 */
#define SPOOL_LINE_MAX	(1024 * 1024)

struct mrec {
	char kind;		/* 'M' message, 'E' event */
	long long made_us;	/* when: microseconds since 1970, 0 if unknown */
	size_t n;		/* number of fields */
	size_t cap;
	char **f;		/* fields, each NULL or a string */
};

/* mrec_create - an empty record of kind, made now */
struct mrec *mrec_create(char kind);
void mrec_add(struct mrec *rec, const char *field);	/* copies; NULL allowed */
void mrec_free(struct mrec **recp);

/* mrec_encode - the record as an allocated line with '\n'; NULL if too long */
char *mrec_encode(const struct mrec *rec, size_t *len_r);

/* mrec_decode - parse one line without its '\n'; NULL if malformed */
struct mrec *mrec_decode(const char *line, size_t len);

struct spool;

/* spool_open - use (and create) directory dir; -1 and *error_r on error */
int spool_open(const char *dir, struct spool **spool_r, char **error_r);
void spool_free(struct spool **spoolp);

/* spool_append - store rec durably; -1 and *error_r on error */
int spool_append(struct spool *spool, const struct mrec *rec, char **error_r);

/*
 * spool_append_many - store recs[0..n) durably, with one sync for all of
 * them; -1 and *error_r on error, when none of them may be counted on
 */
int spool_append_many(struct spool *spool, const struct mrec *const *recs, size_t n,
		      char **error_r);

/*
 * spool_probe - whether a record could be written now: a scratch file in
 * the directory is written, synced and removed.  -1 and *error_r if not.
 */
int spool_probe(struct spool *spool, char **error_r);

/* spool_pending - whether any records are waiting */
bool spool_pending(struct spool *spool);

/*
 * spool_replay - call fn for every waiting record, oldest first, until fn
 * returns -1.  Records appended while it runs wait for the next call.
 * Returns the number of records taken, or -1 when fn failed or a file
 * could not be read (*error_r then describes a file error; it is NULL
 * when fn failed).  Malformed lines are counted in *bad_r and skipped.
 */
long spool_replay(struct spool *spool, int (*fn)(void *ctx, const struct mrec *rec),
		  void *ctx, size_t *bad_r, char **error_r);

#endif
