/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_NDR_LINES_H
#define REBOUND_NDR_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "report/report.h"

/*
 * ndr_lines - the state of the free-text reader: the report text split
 * into lines, and the leads, the places where it names a recipient.
 * Shared by ndr_block.c and ndr.c; not for other modules.
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

/* ndr_lead_for - the lead that names addr (an unqualified one too, as Exim repeats it), or -1 */
long ndr_lead_for(struct ndr *x, const char *addr);

/*
 * ndr_only_address - when the report text holds exactly one address that
 * is neither the sender's nor a role mailbox, make it a lead.
 */
void ndr_only_address(struct ndr *x);

#endif
