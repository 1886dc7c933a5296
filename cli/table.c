/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * table - typed text cells printed as aligned text, JSON or CSV.
 *
 * Cells are copied into the table, so callers may free their result sets
 * at once.  Text output never lets a control character through: bounce
 * diagnostics and addresses are written by strangers, and an escape
 * sequence must not reach the operator's terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util/xalloc.h"

/* Widest cell shown in a text table; longer text is cut. */
#define TABLE_CELL_MAX	512

struct table {
	size_t ncols;
	char **names;
	enum table_type *types;
	char ***rows;		/* rows[r][c], NULL for SQL NULL */
	size_t nrows;
	size_t cap;
};

struct table *
table_create(size_t ncols)
{
	struct table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	t->names = xcalloc(ncols, sizeof(*t->names));
	t->types = xcalloc(ncols, sizeof(*t->types));
	return t;
}

void
table_free(struct table **tp)
{
	struct table *t = *tp;

	if (t == NULL)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	for (size_t c = 0; c < t->ncols; c++)
		free(t->names[c]);
	free(t->rows);
	free(t->names);
	free(t->types);
	free(t);
	*tp = NULL;
}

void
table_column(struct table *t, size_t i, const char *name, enum table_type type)
{
	if (i >= t->ncols)
		return;
	free(t->names[i]);
	t->names[i] = xstrdup(name);
	t->types[i] = type;
}

void
table_add_row(struct table *t, const char *const *cells)
{
	char **row = xcalloc(t->ncols, sizeof(*row));

	for (size_t c = 0; c < t->ncols; c++)
		row[c] = cells[c] != NULL ? xstrdup(cells[c]) : NULL;
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rows = xrealloc(t->rows, t->cap * sizeof(*t->rows));
	}
	t->rows[t->nrows++] = row;
}

size_t
table_rows(const struct table *t)
{
	return t->nrows;
}

size_t
table_cols(const struct table *t)
{
	return t->ncols;
}

/* table_utf8_len - length of the UTF-8 sequence starting with byte c */
static size_t
table_utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;		/* a stray continuation byte: shown as '?' */
}

void
table_printable(const char *s, char *dst, size_t dstsize)
{
	size_t n = 0;

	if (dstsize == 0)
		return;
	while (*s != '\0') {
		unsigned char c = (unsigned char)*s;
		size_t len = table_utf8_len(c), i;
		int valid = len > 1 || c < 0x80;

		for (i = 1; i < len && valid; i++)
			valid = ((unsigned char)s[i] & 0xc0) == 0x80;
		if (!valid)
			len = 1;
		/* C0 controls, DEL, and the C1 controls U+0080..U+009F. */
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && valid && (unsigned char)s[1] < 0xa0))
			valid = 0;
		if (n + (valid ? len : 1) >= dstsize)
			break;
		if (valid) {
			memcpy(dst + n, s, len);
			n += len;
		} else {
			dst[n++] = '?';	/* one mark for the whole character */
		}
		s += len;
	}
	dst[n] = '\0';
}

size_t
table_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* table_is_true - a PostgreSQL or JSON true */
static int
table_is_true(const char *cell)
{
	return strcmp(cell, "t") == 0 || strcmp(cell, "true") == 0;
}

/* table_text_cell - what a cell shows in a text table, into buf */
static const char *
table_text_cell(const struct table *t, size_t c, const char *cell, char *buf, size_t size)
{
	if (cell == NULL)
		return "-";
	if (t->types[c] == TABLE_BOOL)
		return table_is_true(cell) ? "yes" : "no";
	table_printable(cell, buf, size);
	return buf;
}

void
table_print_text(const struct table *t, FILE *fp)
{
	size_t *width = xcalloc(t->ncols ? t->ncols : 1, sizeof(*width));
	char buf[TABLE_CELL_MAX];

	for (size_t c = 0; c < t->ncols; c++)
		width[c] = table_width(t->names[c] ? t->names[c] : "");
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = table_width(table_text_cell(t, c, t->rows[r][c], buf, sizeof(buf)));

			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *text = r == 0 ? (t->names[c] ? t->names[c] : "")
						  : table_text_cell(t, c, t->rows[r - 1][c], buf,
								    sizeof(buf));
			size_t pad = width[c] - table_width(text);
			int last = c + 1 == t->ncols;

			if (t->types[c] == TABLE_NUMBER)
				fprintf(fp, "%*s%s", (int)pad, "", text);
			else
				fprintf(fp, "%s%*s", text, last ? 0 : (int)pad, "");
			fputs(last ? "\n" : "  ", fp);
		}
	}
	free(width);
}

void
table_print_record(const struct table *t, FILE *fp)
{
	size_t width = 0;
	char buf[TABLE_CELL_MAX];

	for (size_t c = 0; c < t->ncols; c++)
		if (table_width(t->names[c] ? t->names[c] : "") > width)
			width = table_width(t->names[c] ? t->names[c] : "");
	for (size_t r = 0; r < t->nrows; r++) {
		if (r > 0)
			fputc('\n', fp);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *name = t->names[c] ? t->names[c] : "";

			fprintf(fp, "%s:%*s %s\n", name, (int)(width - table_width(name)), "",
				table_text_cell(t, c, t->rows[r][c], buf, sizeof(buf)));
		}
	}
}

void
table_json_string(const char *s, FILE *fp)
{
	putc('"', fp);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(fp, "\\u%04x", c);
			else
				putc(c, fp);
		}
	}
	putc('"', fp);
}

/* table_json_number_ok - whether text is a JSON number (RFC 8259 grammar) */
static int
table_json_number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

void
table_json_value(const char *cell, enum table_type type, FILE *fp)
{
	if (cell == NULL) {
		fputs("null", fp);
		return;
	}
	switch (type) {
	case TABLE_NUMBER:
		/* NaN and Infinity are numeric values but not JSON numbers. */
		if (table_json_number_ok(cell))
			fputs(cell, fp);
		else
			table_json_string(cell, fp);
		return;
	case TABLE_BOOL:
		fputs(table_is_true(cell) ? "true" : "false", fp);
		return;
	case TABLE_JSON:
		fputs(cell, fp);
		return;
	case TABLE_TEXT:
		break;
	}
	table_json_string(cell, fp);
}

/* table_json_row - one row as a JSON object */
static void
table_json_row(const struct table *t, size_t r, FILE *fp)
{
	putc('{', fp);
	for (size_t c = 0; c < t->ncols; c++) {
		if (c > 0)
			putc(',', fp);
		table_json_string(t->names[c] ? t->names[c] : "", fp);
		putc(':', fp);
		table_json_value(t->rows[r][c], t->types[c], fp);
	}
	putc('}', fp);
}

void
table_print_json(const struct table *t, FILE *fp)
{
	putc('[', fp);
	for (size_t r = 0; r < t->nrows; r++) {
		if (r > 0)
			putc(',', fp);
		table_json_row(t, r, fp);
	}
	putc(']', fp);
}

void
table_print_json_lines(const struct table *t, FILE *fp)
{
	for (size_t r = 0; r < t->nrows; r++) {
		table_json_row(t, r, fp);
		putc('\n', fp);
	}
}

/* table_csv_cell - one CSV field, quoted when it must be */
static void
table_csv_cell(const char *s, FILE *fp)
{
	size_t len = strlen(s);

	if (strpbrk(s, ",\"\r\n") == NULL && (len == 0 || (s[0] != ' ' && s[len - 1] != ' '))) {
		fputs(s, fp);
		return;
	}
	putc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	putc('"', fp);
}

void
table_print_csv(const struct table *t, FILE *fp, int header)
{
	if (header) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c > 0)
				putc(',', fp);
			table_csv_cell(t->names[c] ? t->names[c] : "", fp);
		}
		putc('\n', fp);
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c > 0)
				putc(',', fp);
			if (t->rows[r][c] != NULL)
				table_csv_cell(t->rows[r][c], fp);
		}
		putc('\n', fp);
	}
}
