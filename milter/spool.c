/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spool - append-only, fsync'd record files for the milter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/hex.h"
#include "spool.h"
#include "util/xalloc.h"

#define SPOOL_SUFFIX	".spool"
#define SPOOL_FIELDS_MAX 4096
/* A file name: the directory, '/', 16 hex digits, the suffix. */
#define SPOOL_PATH_MAX	4096

struct mrec *
mrec_create(char kind)
{
	struct mrec *rec = xcalloc(1, sizeof(*rec));
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	rec->made_us = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	rec->kind = kind;
	rec->cap = 8;
	rec->f = xcalloc(rec->cap, sizeof(*rec->f));
	return rec;
}

/* mrec_adopt - append field, which the record now owns */
static void
mrec_adopt(struct mrec *rec, char *field)
{
	if (rec->n == rec->cap) {
		rec->cap *= 2;
		rec->f = xrealloc(rec->f, rec->cap * sizeof(*rec->f));
	}
	rec->f[rec->n++] = field;
}

void
mrec_add(struct mrec *rec, const char *field)
{
	mrec_adopt(rec, field != NULL ? xstrdup(field) : NULL);
}

void
mrec_free(struct mrec **recp)
{
	struct mrec *rec = *recp;

	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->n; i++)
		free(rec->f[i]);
	free(rec->f);
	free(rec);
	*recp = NULL;
}

char *
mrec_encode(const struct mrec *rec, size_t *len_r)
{
	struct buf *b = buf_create(SPOOL_LINE_MAX);
	int err = 0;

	err |= buf_putc(b, rec->kind);
	if (rec->made_us > 0)
		err |= buf_printf(b, "@%lld", rec->made_us);
	for (size_t i = 0; i < rec->n && err == 0; i++) {
		const unsigned char *s = (const unsigned char *)rec->f[i];

		err |= buf_putc(b, '\t');
		if (s == NULL) {
			err |= buf_puts(b, "%00");
			continue;
		}
		for (; *s != '\0' && err == 0; s++) {
			if (*s == '%' || *s < 0x20 || *s > 0x7e)
				err |= buf_printf(b, "%%%02X", *s);
			else
				err |= buf_putc(b, *s);
		}
	}
	err |= buf_putc(b, '\n');
	if (err != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, len_r);
}

/* mrec_unescape - decode [s, e) into an allocated string; NULL on error */
static char *
mrec_unescape(const char *s, const char *e, int *bad)
{
	char *out = xmalloc((size_t)(e - s) + 1), *o = out;

	while (s < e) {
		if (*s != '%') {
			*o++ = *s++;
			continue;
		}
		if (e - s < 3 || hex_value(s[1]) < 0 || hex_value(s[2]) < 0 ||
		    (s[1] == '0' && s[2] == '0')) {
			*bad = 1;
			free(out);
			return NULL;
		}
		*o++ = (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
		s += 3;
	}
	*o = '\0';
	return out;
}

struct mrec *
mrec_decode(const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	struct mrec *rec;

	if (len < 1 || len > SPOOL_LINE_MAX || memchr(line, '\0', len) != NULL ||
	    (*line != 'M' && *line != 'E'))
		return NULL;
	rec = mrec_create(*line);
	rec->made_us = 0;
	p++;
	if (p < end && *p == '@') {
		long long t = 0;

		/* At most 18 digits: no overflow, and far beyond any real time. */
		for (p++; p < end && *p >= '0' && *p <= '9' && t < 100000000000000000LL; p++)
			t = t * 10 + (*p - '0');
		if (t == 0 || (p < end && *p != '\t'))
			goto bad;
		rec->made_us = t;
	}
	while (p < end) {
		const char *fe;
		int bad = 0;
		char *field;

		if (*p != '\t' || rec->n == SPOOL_FIELDS_MAX)
			goto bad;
		p++;
		fe = memchr(p, '\t', (size_t)(end - p));
		if (fe == NULL)
			fe = end;
		if (fe - p == 3 && memcmp(p, "%00", 3) == 0) {
			mrec_add(rec, NULL);
		} else {
			if ((field = mrec_unescape(p, fe, &bad)) == NULL)
				goto bad;
			mrec_adopt(rec, field);
		}
		p = fe;
	}
	return rec;
bad:
	mrec_free(&rec);
	return NULL;
}

struct spool {
	pthread_mutex_t lock;
	char *dir;
	int fd;			/* the file being appended to, or -1 */
	uint64_t next;		/* number of the next file to create */
	size_t files;		/* files in the directory */
};

/* spool_number - the number of a spool file name; 0 if it is not one */
static uint64_t
spool_number(const char *name)
{
	uint64_t n;
	int end = 0;

	if (sscanf(name, "%16" SCNx64 SPOOL_SUFFIX "%n", &n, &end) != 1 || end == 0 ||
	    name[end] != '\0' || strlen(name) != 16 + strlen(SPOOL_SUFFIX))
		return 0;
	return n;
}

/* spool_scan - the sorted numbers of the files below limit */
static uint64_t *
spool_scan(const char *dir, uint64_t limit, size_t *n_r, char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t *list = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		if (asprintf(error_r, "open %s: %s", dir, strerror(errno)) < 0)
			*error_r = NULL;
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t num = spool_number(de->d_name);

		if (num == 0 || num >= limit)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, cap * sizeof(*list));
		}
		list[n++] = num;
	}
	closedir(d);
	/* Few files: insertion sort keeps this short. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && list[j - 1] > list[j]; j--) {
			uint64_t t = list[j];

			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	*n_r = n;
	return list != NULL ? list : xcalloc(1, sizeof(*list));
}

int
spool_open(const char *dir, struct spool **spool_r, char **error_r)
{
	struct spool *spool;
	uint64_t *list;
	size_t n;

	if (strlen(dir) + 1 + 16 + strlen(SPOOL_SUFFIX) >= SPOOL_PATH_MAX) {
		*error_r = xstrdup("spool directory name too long");
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		if (asprintf(error_r, "mkdir %s: %s", dir, strerror(errno)) < 0)
			*error_r = NULL;
		return -1;
	}
	if ((list = spool_scan(dir, UINT64_MAX, &n, error_r)) == NULL)
		return -1;
	spool = xcalloc(1, sizeof(*spool));
	pthread_mutex_init(&spool->lock, NULL);
	spool->dir = xstrdup(dir);
	spool->fd = -1;
	spool->files = n;
	spool->next = n > 0 ? list[n - 1] + 1 : 1;
	free(list);
	*spool_r = spool;
	return 0;
}

void
spool_free(struct spool **spoolp)
{
	struct spool *spool = *spoolp;

	if (spool == NULL)
		return;
	if (spool->fd >= 0)
		close(spool->fd);
	pthread_mutex_destroy(&spool->lock);
	free(spool->dir);
	free(spool);
	*spoolp = NULL;
}

/*
 * spool_path - the name of file num, in a buffer of the caller's.  It
 * allocates nothing, because spool_append calls it under the lock: a
 * failed allocation there would end in msg_fatal, whose hook (the
 * milter's) appends to this spool and would wait for that lock for ever.
 * spool_open made sure that every name fits.
 */
static void
spool_path(const struct spool *spool, uint64_t num, char path[SPOOL_PATH_MAX])
{
	snprintf(path, SPOOL_PATH_MAX, "%s/%016" PRIx64 SPOOL_SUFFIX, spool->dir, num);
}

/* spool_write_all - write len bytes, retrying short writes */
static int
spool_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
spool_append_many(struct spool *spool, const struct mrec *const *recs, size_t n,
		  char **error_r)
{
	struct buf *lines = buf_create((size_t)SPOOL_LINE_MAX * (n > 0 ? n : 1));
	int ret = -1;

	*error_r = NULL;
	/* Every line is made before the lock is taken: see spool_path(). */
	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *line = mrec_encode(recs[i], &len);

		if (line == NULL) {
			*error_r = xstrdup("record too long for the spool");
			buf_free(&lines);
			return -1;
		}
		if (buf_append(lines, line, len) < 0) {
			*error_r = xstrdup("records too long for the spool");
			free(line);
			buf_free(&lines);
			return -1;
		}
		free(line);
	}
	pthread_mutex_lock(&spool->lock);
	if (spool->fd < 0) {
		char path[SPOOL_PATH_MAX];

		spool_path(spool, spool->next, path);
		spool->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (spool->fd < 0) {
			if (asprintf(error_r, "open %s: %s", path, strerror(errno)) < 0)
				*error_r = NULL;
			goto out;
		}
		spool->next++;
		spool->files++;
	}
	/* One sync for them all: this is what makes a batch cheap. */
	if (spool_write_all(spool->fd, buf_str(lines), buf_len(lines)) < 0 ||
	    fdatasync(spool->fd) < 0) {
		if (asprintf(error_r, "write to spool %s: %s", spool->dir, strerror(errno)) < 0)
			*error_r = NULL;
		/* Start a new file: this one may end in a partial line. */
		close(spool->fd);
		spool->fd = -1;
		goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&spool->lock);
	buf_free(&lines);
	return ret;
}

int
spool_append(struct spool *spool, const struct mrec *rec, char **error_r)
{
	return spool_append_many(spool, &rec, 1, error_r);
}

int
spool_probe(struct spool *spool, char **error_r)
{
	char *path;
	int fd, ret = -1;

	*error_r = NULL;
	if (asprintf(&path, "%s/probe.tmp", spool->dir) < 0)
		return -1;
	pthread_mutex_lock(&spool->lock);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || spool_write_all(fd, "\n", 1) < 0 || fdatasync(fd) < 0) {
		if (asprintf(error_r, "%s: %s", path, strerror(errno)) < 0)
			*error_r = NULL;
	} else {
		ret = 0;
	}
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	pthread_mutex_unlock(&spool->lock);
	free(path);
	return ret;
}

bool
spool_pending(struct spool *spool)
{
	bool pending;

	pthread_mutex_lock(&spool->lock);
	pending = spool->files > 0;
	pthread_mutex_unlock(&spool->lock);
	return pending;
}

/* spool_replay_file - feed one file to fn; -1 on failure */
static long
spool_replay_file(const char *path, int (*fn)(void *, const struct mrec *), void *ctx,
		  size_t *bad_r, char **error_r)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long taken = 0;

	if (fp == NULL) {
		if (asprintf(error_r, "open %s: %s", path, strerror(errno)) < 0)
			*error_r = NULL;
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) > 0) {
		struct mrec *rec;

		if (line[len - 1] != '\n')
			break;	/* a partial last line: the write never finished */
		if ((rec = mrec_decode(line, (size_t)len - 1)) == NULL) {
			(*bad_r)++;
			continue;
		}
		if (fn(ctx, rec) < 0) {
			mrec_free(&rec);
			taken = -1;
			break;
		}
		mrec_free(&rec);
		taken++;
	}
	free(line);
	fclose(fp);
	return taken;
}

long
spool_replay(struct spool *spool, int (*fn)(void *ctx, const struct mrec *rec), void *ctx,
	     size_t *bad_r, char **error_r)
{
	uint64_t limit, *list;
	size_t n;
	long total = 0;

	*error_r = NULL;
	*bad_r = 0;
	/*
	 * Close the current file so that appends from now on go to a new
	 * one, which this call leaves alone.
	 */
	pthread_mutex_lock(&spool->lock);
	if (spool->fd >= 0) {
		close(spool->fd);
		spool->fd = -1;
	}
	limit = spool->next;
	pthread_mutex_unlock(&spool->lock);
	if ((list = spool_scan(spool->dir, limit, &n, error_r)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char path[SPOOL_PATH_MAX];
		long taken;

		spool_path(spool, list[i], path);
		if ((taken = spool_replay_file(path, fn, ctx, bad_r, error_r)) < 0) {
			free(list);
			return -1;
		}
		total += taken;
		if (unlink(path) < 0 && errno != ENOENT) {
			if (asprintf(error_r, "unlink %s: %s", path, strerror(errno)) < 0)
				*error_r = NULL;
			free(list);
			return -1;
		}
		pthread_mutex_lock(&spool->lock);
		spool->files--;
		pthread_mutex_unlock(&spool->lock);
	}
	free(list);
	return total;
}
