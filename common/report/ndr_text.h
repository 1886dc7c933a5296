/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_NDR_TEXT_H
#define REBOUND_NDR_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "report/report.h"

/*
 * ndr_text - text helpers of the free-text reader, also used by the other
 * report readers: where the report ends, whether a message is a bounce or
 * a delay warning, addresses in running text, quoted forwards and HTML.
 * Pure: no logging.
 */

/* ndr_html_to_text - append the visible text of HTML to out */
void ndr_html_to_text(const char *html, size_t len, struct buf *out);

/*
 * ndr_cut - length of the report part of text: everything before the
 * first line that introduces the returned message.  With fields, a line
 * that starts with a header field only a message has (Received:,
 * Return-Path:...) ends it too, for reports that paste the returned
 * message without a marker.
 */
size_t ndr_cut(const char *text, size_t len, bool fields);

/* ndr_is_bounce - whether the headers or the opening text say "bounce" */
bool ndr_is_bounce(const struct report *r, const char *text, size_t len);

/* ndr_is_delay - whether the text is a delay warning, not a failure */
bool ndr_is_delay(const struct report *r, const char *text, size_t len);

/*
 * ndr_dequote - when most lines of text start with '>' (a forwarded
 * bounce), a copy with one level of quoting removed, else NULL.
 */
char *ndr_dequote(const char *text, size_t len, size_t *len_r);

/*
 * ndr_addr_span - find the next plausible address in s[*pos..n): sets
 * *start and *alen and moves *pos past it.  Returns false when none.
 */
bool ndr_addr_span(const char *s, size_t n, size_t *pos, size_t *start, size_t *alen);

/* ndr_addr_copy - a lower-case copy of an address span */
char *ndr_addr_copy(const char *s, size_t n);

#endif
