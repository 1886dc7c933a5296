/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_NDR_IMPL_H
#define REBOUND_NDR_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "report/report.h"

/*
 * ndr_impl - the state of the free-text reader, shared by ndr.c (finding
 * recipients) and ndr_block.c (gathering each one's reason); not for other
 * modules.
 */
enum ndr_lead_kind {
	LEAD_LINE,		/* the line starts with the address */
	LEAD_REPLY,		/* a transcript reply line names it */
	LEAD_PHRASE,		/* a sentence leads up to it */
};

struct ndr_lead {
	size_t line;
	size_t rest;		/* where the text after the address starts */
	char *addr;
	enum ndr_lead_kind kind;
};

struct ndr_line {
	const char *s;
	size_t n;
};

struct ndr {
	struct report *r;
	struct ndr_line *lines;
	size_t nlines;
	struct ndr_lead *leads;
	size_t nleads;
	struct buf *diag;
};

/* ndr_split - split text[0..len) into lines */
void ndr_split(struct ndr *x, const char *text, size_t len);

/* ndr_find_leads - every recipient position in the report text */
void ndr_find_leads(struct ndr *x);

/* ndr_release - free the lines and leads of x */
void ndr_release(struct ndr *x);

/* ndr_blank - whether a line holds only white space */
bool ndr_blank(const struct ndr_line *l);

/* ndr_sender - whether addr is the sender of the bounced message */
bool ndr_sender(const struct report *r, const char *addr);

/* ndr_put - append s[0..n) and a space to b, white space collapsed */
void ndr_put(struct buf *b, const char *s, size_t n);

/* ndr_blocks - the reason texts of lead k and the later leads of its address */
void ndr_blocks(struct ndr *x, size_t k, struct buf *b);

/* ndr_command - the SMTP command named around the leads of lead k's address */
enum smtp_cmd ndr_command(struct ndr *x, size_t k, const char *diag, size_t n);

/* ndr_set_diag - set the diagnostic-derived fields of rc from d[0..n) */
void ndr_set_diag(struct report_rcpt *rc, const char *d, size_t n);

/* ndr_trimmed - length of b without trailing spaces */
size_t ndr_trimmed(const struct buf *b);

/* ndr_error_text - the report's reply lines and "Error:" lines, into b */
void ndr_error_text(struct ndr *x, struct buf *b);

/* ndr_error_lines - give the only recipient the report's reply lines */
void ndr_error_lines(struct ndr *x, struct report_rcpt *rc);

#endif
