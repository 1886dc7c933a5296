/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-bounce - the one path from a raw bounce to its rows (bounce.c) and
 * the evidence it carries (evidence.c): a signed return path judged on the
 * day the bounce came, an expired or forged token, classic VERP, a report
 * from our own Postfix, a message nobody can read, keys that cannot be
 * read.  No database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify/classifier.h"
#include "mail/cfg.h"
#include "mail/token.h"
#include "store/bounce.h"
#include "tap.h"

static const char key[] = "0123456789abcdef0123456789abcdef";
static char key_file[256];

/* DSN_FMT - a remote MX's DSN for %s */
#define DSN_FMT \
	"From: MAILER-DAEMON@mx.example.net\n" \
	"Subject: Undelivered Mail Returned to Sender\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n" \
	"Message-ID: <dsn.1@mx.example.net>\n\n" \
	"--b\nContent-Type: message/delivery-status\n\n" \
	"Reporting-MTA: dns; mx.example.net\n\n" \
	"Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n" \
	"Diagnostic-Code: smtp; 550 5.1.1 <%s>: User unknown\n\n--b--\n"

/* config - the tree's rules, and the test key as token_key_file */
static struct cfg *
config(const char *keys)
{
	char text[1024];
	struct cfg *cfg = NULL;
	char *error = NULL;

	snprintf(text, sizeof(text),
		 "bounce_domains = bounce.example.test\n"
		 "builtin_rules_directory = %s/rules\n"
		 "rules_directory =\n"
		 "token_key_file = %s\n",
		 REBOUND_SRCDIR, keys);
	if (cfg_parse(text, strlen(text), "test-bounce.conf", &cfg, &error) < 0) {
		tap_diag("%s", error);
		free(error);
	}
	return cfg;
}

/* prepare - bounce_prepare() of a DSN for rcpt sent to address, on day */
static int
prepare(const struct cfg *cfg, struct classifier *clf, const char *address, const char *rcpt,
	unsigned day, bool local, struct bounce *b)
{
	static char data[2048];
	struct bounce_input in = { .queue_id = "Q1", .recipient = address, .local = local,
				   .data = data, .day = day };
	char *error = NULL;
	int ret;

	snprintf(data, sizeof(data), DSN_FMT, rcpt, rcpt);
	in.len = in.size = strlen(data);
	ret = bounce_prepare(cfg, clf, &in, b, &error);
	if (ret < 0)
		tap_diag("bounce_prepare: %s", error);
	free(error);
	return ret;
}

/* token_address - a signed return path valid until last_day */
static void
token_address(const char *k, unsigned last_day, char out[128])
{
	struct token_keys *keys = token_keys_from_memory(k, strlen(k), NULL, 0);
	struct token_info info = { .message = 42, .flags = TOKEN_SINGLE_RECIPIENT,
				   .last_day = last_day };
	char tok[TOKEN_CHARS + 1];

	token_encode(keys, &info, tok);
	snprintf(out, 128, "bounces+%s@bounce.example.test", tok);
	token_keys_free(&keys);
}

static void
check_token(const struct cfg *cfg, struct classifier *clf)
{
	unsigned day = 20000;
	char address[128];
	struct bounce b;

	token_address(key, day + 5, address);
	if (prepare(cfg, clf, address, "ann@a.example", day, false, &b) == 0) {
		tap_ok(b.sb.token != NULL && b.sb.token_valid, "a signed return path, within its days");
		tap_ok(b.sb.single_recipient, "its single-recipient flag is evidence too");
		tap_is_int((long long)b.report->nrcpt, 1, "one recipient");
		tap_is_str(b.sb.rules_digest, classifier_digest(clf),
			   "the rows carry the digest of the rules that classified them");
		tap_ok(b.sb.keep_raw && b.refused == NULL, "kept raw (raw_messages = all)");
		tap_is_int((long long)strlen(b.digest), 64, "with the SHA-256 of what came");
		bounce_release(&b);
	}
	/* Read again a week later, it is judged on the day it came. */
	if (prepare(cfg, clf, address, "ann@a.example", day + 9, false, &b) == 0) {
		tap_ok(b.sb.token != NULL && !b.sb.token_valid,
		       "on a day past its last one, the same token is expired");
		bounce_release(&b);
	}
	token_address("another key of 32 octets, really", day + 5, address);
	if (prepare(cfg, clf, address, "ann@a.example", day, false, &b) == 0) {
		tap_ok(b.refused != NULL && strstr(b.refused, "forged") != NULL,
		       "a token no key of ours signed: refused (%s)", b.refused ? b.refused : "");
		tap_ok(b.report->nrcpt == 0 && b.sb.keep_raw && b.sb.parse_error != NULL,
		       "no events; kept raw with the reason");
		bounce_release(&b);
	}
}

static void
check_paths(const struct cfg *cfg, struct classifier *clf)
{
	char identity[160];
	struct bounce b;

	if (prepare(cfg, clf, "bounces+bob=b.example@bounce.example.test", "bob@b.example", 20000,
		    false, &b) == 0) {
		tap_is_str(b.sb.verp_recipient, "bob@b.example", "classic VERP names its recipient");
		tap_is_str(kind_name(b.report->rcpt[0].kind), "bounced", "a remote's report: bounced");
		snprintf(identity, sizeof(identity), "%s", b.identity);
		bounce_release(&b);
	}
	if (prepare(cfg, clf, "bounces+bob=b.example@bounce.example.test", "bob@b.example", 20001,
		    true, &b) == 0) {
		tap_ok(b.report->rcpt[0].kind == KIND_REJECTED && b.report->rcpt[0].sync &&
			       b.sb.local,
		       "from Postfix itself: a synchronous rejection, and the copy says so");
		tap_is_str(b.identity, identity, "the same bounce, the same identity");
		bounce_release(&b);
	}
}

/* DSN_MID_FMT - a remote MX's DSN for bob@b.example with Message-ID %s */
#define DSN_MID_FMT \
	"From: MAILER-DAEMON@mx.example.net\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n" \
	"Message-ID: %s\n\n" \
	"--b\nContent-Type: message/delivery-status\n\n" \
	"Reporting-MTA: dns; mx.example.net\n\n" \
	"Final-Recipient: rfc822; bob@b.example\nAction: failed\nStatus: 5.1.1\n" \
	"Diagnostic-Code: smtp; 550 5.1.1 <bob@b.example>: User unknown\n\n--b--\n"

/* identity_of - b.identity of the DSN with Message-ID mid, delivered as queue_id */
static void
identity_of(const struct cfg *cfg, struct classifier *clf, const char *queue_id, const char *mid,
	    char out[160])
{
	static char data[2048];
	struct bounce_input in = { .queue_id = queue_id,
				   .recipient = "bounces+bob=b.example@bounce.example.test",
				   .data = data, .day = 20000 };
	char *error = NULL;
	struct bounce b;

	snprintf(data, sizeof(data), DSN_MID_FMT, mid);
	in.len = in.size = strlen(data);
	out[0] = '\0';
	if (bounce_prepare(cfg, clf, &in, &b, &error) == 0) {
		snprintf(out, 160, "%s", b.identity);
		bounce_release(&b);
	}
	free(error);
}

/*
 * check_message_id - a report that came without a Message-ID gets a new
 * one from our Postfix at every delivery; it must not make two copies of
 * one report look different.  A Message-ID of the report's own does.
 */
static void
check_message_id(const struct cfg *cfg, struct classifier *clf)
{
	char first[160], again[160], other[160];

	identity_of(cfg, clf, "4XyZ1", "<20261205120001.4XyZ1@mail.example.com>", first);
	identity_of(cfg, clf, "4XyZ2", "<20261205120502.4XyZ2@mail.example.com>", again);
	identity_of(cfg, clf, "4XyZ3", "<20261205120502.4XyZ2@mail.example.com>", other);
	tap_ok(first[0] != '\0' && strcmp(first, again) == 0,
	       "a Message-ID our Postfix added at each delivery is no part of the identity");
	tap_ok(other[0] != '\0' && strcmp(other, again) != 0,
	       "one that is not this delivery's queue id is the report's own, and counts");
}

static void
check_unreadable(const struct cfg *cfg, struct classifier *clf)
{
	static const char junk[] = "no report here";
	struct bounce_input in = { .queue_id = "Q2",
				   .recipient = "bounces+eve=e.example@bounce.example.test",
				   .data = junk, .len = sizeof(junk) - 1, .size = sizeof(junk) - 1,
				   .day = 20000 };
	struct cfg *bad = config("/nonexistent/rebound-key");
	char address[128], *error = NULL;
	struct bounce b;

	if (bounce_prepare(cfg, clf, &in, &b, &error) == 0) {
		tap_ok(b.report->nrcpt == 1 && b.report->rcpt[0].kind == KIND_UNKNOWN &&
			       strcmp(b.report->rcpt[0].recipient, "eve@e.example") == 0,
		       "a message nobody can read: one unknown event, for the VERP recipient");
		tap_ok(b.sb.keep_raw && b.sb.parse_error != NULL, "kept raw, with why");
		bounce_release(&b);
	}
	free(error);
	error = NULL;
	token_address(key, 20005, address);
	in.recipient = address;
	tap_is_int(bad != NULL ? bounce_prepare(bad, clf, &in, &b, &error) : 0, -1,
		   "keys that cannot be read are an error, not unverified events");
	tap_ok(error != NULL, "which says why (%s)", error ? error : "");
	free(error);
	cfg_free(&bad);
}

int
main(void)
{
	char dir[] = "/tmp/test-bounce.XXXXXX";
	struct classifier *clf = NULL;
	struct cfg *cfg;
	char *error = NULL;
	FILE *fp;

	if (!tap_ok(mkdtemp(dir) != NULL, "a directory for the key"))
		return tap_done();
	snprintf(key_file, sizeof(key_file), "%s/token.key", dir);
	fp = fopen(key_file, "w");
	if (fp != NULL) {
		fputs(key, fp);
		fclose(fp);
		chmod(key_file, 0600);
	}
	cfg = config(key_file);
	if (tap_ok(cfg != NULL && classifier_create(cfg, &clf, &error) == 0, "the tree's rules")) {
		check_token(cfg, clf);
		check_paths(cfg, clf);
		check_message_id(cfg, clf);
		check_unreadable(cfg, clf);
	}
	free(error);
	classifier_free(&clf);
	cfg_free(&cfg);
	unlink(key_file);
	rmdir(dir);
	return tap_done();
}
