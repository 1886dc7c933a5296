/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_CAPS_H
#define REBOUND_CAPS_H

/*
 * Every cap on external input lives here, with the reason for its value.
 * Bounces are written by strangers; nothing they send may make us use
 * unbounded time or memory.
 */

/* Default cap on a bounce read from stdin; a DSN's useful part is small. */
#define LIMIT_MESSAGE_DEFAULT	(10 * 1024 * 1024)

/* Hard ceiling for max_message_size; pipe(8) input beyond it is absurd. */
#define LIMIT_MESSAGE_CEILING	(256 * 1024 * 1024)

/* Default cap on the copy of a bounce kept in raw_messages. */
#define LIMIT_RAW_DEFAULT	(1024 * 1024)

/* A DSN is multipart/report with three parts; 16 levels is generous. */
#define LIMIT_MIME_DEPTH	16

/* MIME parts visited per message before the rest is ignored. */
#define LIMIT_MIME_PARTS	256

/*
 * Recipients one report may name.  Postfix takes at most 1000 per message
 * (smtpd_recipient_limit), so a report that names more describes no
 * message of ours; rebound-pipe stores it raw, without events, so that
 * one forged report cannot buy a thousand rows.
 */
#define LIMIT_RECIPIENTS	1000

/* Fields per DSN group, and length of one unfolded field value. */
#define LIMIT_DSN_FIELDS	64
#define LIMIT_FIELD_LEN		8192

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets. */
#define LIMIT_ADDRESS_LEN	256

/* RFC 5321 4.5.3.1.1: a local part is at most 64 octets. */
#define LIMIT_LOCAL_PART	64

/* Diagnostic text stored per event; longer text is cut. */
#define LIMIT_DIAGNOSTIC_LEN	2000

/* Bytes of a text body scanned for free-text NDR patterns. */
#define LIMIT_TEXT_SCAN		(256 * 1024)

/* Lines of report text read for recipients; a real report has a few dozen. */
#define LIMIT_NDR_LINES		4000

/* Lines taken as one recipient's reason when it stands alone in its paragraph. */
#define LIMIT_NDR_BLOCK_LINES	40

/* JSON values in one ESP notification; SES sends a few hundred at most. */
#define LIMIT_JSON_NODES	4096

/* JSON nesting; SES notifications are five levels deep. */
#define LIMIT_JSON_DEPTH	32

/* Rule files read from one directory; a site needs a handful. */
#define LIMIT_RULE_FILES	64

/* Size of one rule file; the built-in set is a few tens of kB. */
#define LIMIT_RULE_FILE_SIZE	(1024 * 1024)

/* Rules in all files together; each costs memory and a literal check. */
#define LIMIT_RULES		4096

/* A rule, after joining continuation lines; also one phrase of a list. */
#define LIMIT_RULE_LINE		4096

/*
 * Phrases of one @phrases list, and the length of the regex they make
 * together: the largest built-in list has about a hundred phrases.
 */
#define LIMIT_RULE_PHRASES	512
#define LIMIT_RULE_PATTERN	(32 * 1024)

/* Domain suffixes of all @provider lines together. */
#define LIMIT_PROVIDER_SUFFIXES	4096

/*
 * PCRE2 limits set on every match: bounce text is written by strangers,
 * and a careless rule must not let it buy unbounded backtracking.  The
 * match limit allows some 100000 backtracking steps (a well-written rule
 * needs a few hundred on a 2 kB diagnostic); the depth limit bounds
 * nested backtracking; the heap limit (in KiB) bounds the interpreter's
 * memory.
 */
#define LIMIT_REGEX_MATCH	100000
#define LIMIT_REGEX_DEPTH	5000
#define LIMIT_REGEX_HEAP	1024

/* Bytes of text a rule is matched against. */
#define LIMIT_RULE_SUBJECT	4096

/* Directory levels batch mode descends; corpora are flat or nearly so. */
#define LIMIT_BATCH_DEPTH	8

/* Postfix caps syslog records at 2000 characters; so do we. */
#define LIMIT_LOG_LINE		2000

/* A configuration line, after joining continuation lines. */
#define LIMIT_CONF_LINE		8192

#endif
