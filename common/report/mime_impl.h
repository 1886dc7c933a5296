/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MIME_IMPL_H
#define REBOUND_MIME_IMPL_H

#include <iconv.h>

#include "util/buf.h"
#include "report/mime.h"

/*
 * mime_impl - the state shared by mime.c and mime_decode.c; not for
 * other modules.
 */
struct mime {
	struct mime_part *parts;
	size_t nparts;
	size_t cap;
	bool truncated;

	/* One cached converter: bounces rarely mix charsets. */
	iconv_t cd;
	char cd_charset[40];

	struct buf *scratch;	/* decoded bytes before charset conversion */
	struct buf *value;	/* a header value being examined */
};

#endif
