/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_PARSE_H
#define REBOUND_PARSE_H

#include <stddef.h>

#include "report/report.h"

/*
 * parse - turn a raw bounce into a report: the MIME structure first, then
 * the machine-readable parts (report_dsn.h), and the free text when they
 * name nobody (ndr.h).  Pure: no logging.
 */

struct report_parser;

/* report_parser_create - parsing state reused from one message to the next */
struct report_parser *report_parser_create(void);

/* report_parser_free - release *pp and set it to NULL; accepts NULL */
void report_parser_free(struct report_parser **pp);

/*
 * report_parser_run - parse a raw message of len bytes.  Always returns a
 * report (caller frees); its format is FORMAT_NONE when nothing could be
 * recognised.  Not reentrant: one parser per thread.
 */
struct report *report_parser_run(struct report_parser *p, const char *data, size_t len);

/* report_parse - report_parser_run() with a parser of its own */
struct report *report_parse(const char *data, size_t len);

#endif
