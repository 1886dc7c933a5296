/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_TABLE_H
#define REBOUND_TABLE_H

#include <stdio.h>

/*
 * table - rows of text cells, printed for people or for programs.
 *
 * A table has named, typed columns and rows of cells copied from the
 * caller; a NULL cell is SQL NULL.  It prints as an aligned text table
 * (header, then rows; numbers right-aligned; control characters shown as
 * '?', because addresses and diagnostics come from strangers), as JSON
 * (an array of objects, or one object per line), or as CSV (RFC 4180,
 * with a header line).  This module is pure: it writes only to the
 * stream it is given and never logs.
 */
enum table_type {
	TABLE_TEXT,		/* a JSON string */
	TABLE_NUMBER,		/* a JSON number when it looks like one */
	TABLE_BOOL,		/* "t"/"f" (PostgreSQL) or "true"/"false" */
	TABLE_JSON,		/* already JSON; copied as is */
};

struct table;

/* table_create - an empty table of ncols columns, named later */
struct table *table_create(size_t ncols);

/* table_free - release *tp and set it to NULL; accepts NULL */
void table_free(struct table **tp);

/* table_column - name and type column i (name is copied) */
void table_column(struct table *t, size_t i, const char *name, enum table_type type);

/* table_add_row - append a row of ncols cells (copied; NULL allowed) */
void table_add_row(struct table *t, const char *const *cells);

size_t table_rows(const struct table *t);
size_t table_cols(const struct table *t);

/* table_print_text - header and aligned rows; "-" for NULL, yes/no for bools */
void table_print_text(const struct table *t, FILE *fp);

/* table_print_record - each row as "name: value" lines, a blank line between rows */
void table_print_record(const struct table *t, FILE *fp);

/* table_print_json - a JSON array of one object per row */
void table_print_json(const struct table *t, FILE *fp);

/* table_print_json_lines - one JSON object per row, one per line */
void table_print_json_lines(const struct table *t, FILE *fp);

/* table_print_csv - a header line, then one line per row */
void table_print_csv(const struct table *t, FILE *fp, int header);

/* table_json_string - s as a JSON string, quotes included */
void table_json_string(const char *s, FILE *fp);

/* table_json_value - one cell as a JSON value of the given type */
void table_json_value(const char *cell, enum table_type type, FILE *fp);

/*
 * table_printable - s with control characters replaced by '?', into dst
 * of size dstsize (always terminated; longer text is cut at a character
 * boundary).  UTF-8 text other than controls is kept.
 */
void table_printable(const char *s, char *dst, size_t dstsize);

/* table_width - display width of UTF-8 text: its number of characters */
size_t table_width(const char *s);

#endif
