/* SPDX-License-Identifier: BSD-2-Clause */
/* lmtp - rebound-pipe as the LMTP server of one Postfix connection. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include "deliver.h"
#include "lmtp.h"
#include "mail/db.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/msg.h"
#include "util/xalloc.h"

/* A command line, CRLF included: Postfix's own line_length_limit. */
#define LMTP_LINE_MAX 2048
/* Recipients of one transaction; Postfix sends the rest in another. */
#define LMTP_RCPT_MAX 1000
/* Seconds a client may stay silent, as Postfix's smtpd_timeout. */
#define LMTP_IDLE_SECONDS 300
/* Errors before the connection is dropped, as smtpd_hard_error_limit. */
#define LMTP_ERROR_LIMIT 20
/* What we keep of an XFORWARD value, NUL included. */
#define XFORWARD_VALUE_MAX 64
/* XFORWARD's "not available" value (Postfix's XFORWARD_README). */
#define XFORWARD_UNAVAILABLE "[UNAVAILABLE]"

struct lmtp_io {
	int in;
	int out;
	size_t pos;			/* next unread byte of in_buf */
	size_t end;			/* end of what was read */
	struct buf *replies;		/* replies not yet written */
	char in_buf[16384];
};

struct lmtp_session {
	const struct cfg *cfg;
	struct classifier *clf;
	struct db *db;			/* kept from bounce to bounce */
	struct lmtp_io io;
	bool trusted;			/* XFORWARD is believed (and offered) */
	bool greeted;			/* LHLO seen */
	bool in_mail;			/* MAIL seen, no DATA or RSET yet */
	bool xforward;			/* XFORWARD seen in this transaction */
	bool warned_no_xforward;
	char client[XFORWARD_VALUE_MAX];	/* XFORWARD ADDR, "" if not given */
	char ident[XFORWARD_VALUE_MAX];		/* XFORWARD IDENT, "" if not given */
	char **rcpt;
	size_t nrcpt;
	unsigned errors;
	char hostname[256];
};

/* The output descriptor, for the alarm handler. */
static int lmtp_alarm_fd = -1;

/* lmtp_on_alarm - a delivery outlasted pipe_time_limit: defer what is left */
static void
lmtp_on_alarm(int sig)
{
	static const char text[] = "421 4.3.0 rebound-pipe time limit exceeded\r\n";

	(void)sig;
	(void)!write(lmtp_alarm_fd, text, sizeof(text) - 1);
	_exit(EX_TEMPFAIL);
}

/* --- input and output --------------------------------------------------- */

/* io_flush - write the pending replies; -1 when the client is gone */
static int
io_flush(struct lmtp_io *io)
{
	const char *p = buf_str(io->replies);
	size_t left = buf_len(io->replies);

	while (left > 0) {
		ssize_t n = write(io->out, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		left -= (size_t)n;
	}
	buf_reset(io->replies);
	return 0;
}

/*
 * io_fill - read more input, writing pending replies first: a pipelining
 * client waits for them before it sends more.  0 at end of file or after
 * LMTP_IDLE_SECONDS of silence, -1 on error.
 */
static ssize_t
io_fill(struct lmtp_io *io)
{
	struct pollfd pfd = { .fd = io->in, .events = POLLIN };
	ssize_t n;
	int ready;

	if (io_flush(io) < 0)
		return -1;
	if (io->pos > 0) {
		memmove(io->in_buf, io->in_buf + io->pos, io->end - io->pos);
		io->end -= io->pos;
		io->pos = 0;
	}
	while ((ready = poll(&pfd, 1, LMTP_IDLE_SECONDS * 1000)) < 0 && errno == EINTR)
		;
	if (ready <= 0)
		return ready;
	while ((n = read(io->in, io->in_buf + io->end, sizeof(io->in_buf) - io->end)) < 0 &&
	       errno == EINTR)
		;
	if (n > 0)
		io->end += (size_t)n;
	return n;
}

/*
 * io_segment - the next at most max bytes of input, up to and including a
 * newline (*complete) or not yet at one; -1 at end of input or on error.
 */
static ssize_t
io_segment(struct lmtp_io *io, char *out, size_t max, bool *complete)
{
	for (;;) {
		size_t avail = io->end - io->pos;
		char *nl = memchr(io->in_buf + io->pos, '\n', avail);
		size_t take = nl != NULL ? (size_t)(nl - (io->in_buf + io->pos)) + 1 : avail;

		if (nl != NULL || avail >= max || avail == sizeof(io->in_buf)) {
			*complete = nl != NULL && take <= max;
			if (take > max)
				take = max;
			memcpy(out, io->in_buf + io->pos, take);
			io->pos += take;
			return (ssize_t)take;
		}
		if (io_fill(io) <= 0)
			return -1;
	}
}

/*
 * io_command - the next command line without its line end, NUL-terminated;
 * a longer line is read to its end and reported with *too_long.  -1 at end
 * of input.
 */
static int
io_command(struct lmtp_io *io, char line[LMTP_LINE_MAX], bool *too_long)
{
	size_t len = 0;
	bool complete = false;
	ssize_t n;

	*too_long = false;
	while (!complete) {
		char *dst = *too_long ? line : line + len;
		size_t room = *too_long ? LMTP_LINE_MAX - 1 : LMTP_LINE_MAX - 1 - len;

		if (room == 0) {
			*too_long = true;
			continue;
		}
		if ((n = io_segment(io, dst, room, &complete)) < 0)
			return -1;
		if (!*too_long)
			len += (size_t)n;
	}
	if (*too_long)
		len = 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';
	return 0;
}

/* reply - queue one reply line */
static void reply(struct lmtp_session *s, const char *fmt, ...) MSG_PRINTF(2, 3);

static void
reply(struct lmtp_session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_puts(s->io.replies, line);
	buf_puts(s->io.replies, "\r\n");
}

/* --- pure parsers ------------------------------------------------------- */

int
lmtp_xtext(const char *text, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3 || (hi = hex_value(text[i + 1])) < 0 ||
			    (lo = hex_value(text[i + 2])) < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			/* Neither an address nor a queue id holds a control character. */
			if (c < ' ' || c == 0x7f)
				return -1;
		} else if (c < '!' || c > '~' || c == '=') {
			return -1;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

char *
lmtp_path(const char *text, size_t max)
{
	const char *p = text;
	char *addr, *o;
	bool quoted = false;

	while (*p == ' ')
		p++;
	if (*p++ != '<')
		return NULL;
	/*
	 * A source route ("@a,@b:") is obsolete syntax that RFC 5321 says to
	 * ignore; Postfix's smtpd drops it the same way.
	 */
	if (*p == '@') {
		const char *colon = strchr(p, ':');

		if (colon == NULL)
			return NULL;
		p = colon + 1;
	}
	addr = o = xmalloc(strlen(p) + 1);
	for (; *p != '\0'; p++) {
		if (*p == '\\' && quoted && p[1] != '\0') {
			*o++ = *++p;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == '>' && !quoted) {
			break;
		} else if ((unsigned char)*p < ' ' || *p == 0x7f) {
			break;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	if (*p != '>' || o == addr || (size_t)(o - addr) > max) {
		free(addr);
		return NULL;
	}
	return addr;
}

/* header_end - where the header section of data ends (its blank line) */
static size_t
header_end(const char *data, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (data[i] == '\n' && (data[i + 1] == '\n' || data[i + 1] == '\r'))
			return i + 1;
	return len;
}

int
lmtp_received_id(const char *data, size_t len, char *out, size_t size)
{
	size_t end = header_end(data, len), start = 0, stop;
	char field[1024];
	size_t flen = 0;
	const char *id, *postfix;

	/* The first Received: field, unfolded. */
	while (start < end && strncasecmp(data + start, "Received:", 9) != 0) {
		const char *nl = memchr(data + start, '\n', end - start);

		if (nl == NULL)
			return -1;
		start = (size_t)(nl - data) + 1;
	}
	if (start >= end)
		return -1;
	for (stop = start; stop < end && flen + 1 < sizeof(field); stop++) {
		char c = data[stop];

		if (c == '\n' && (stop + 1 >= end || (data[stop + 1] != ' ' && data[stop + 1] != '\t')))
			break;
		field[flen++] = c == '\r' || c == '\n' || c == '\t' ? ' ' : c;
	}
	field[flen] = '\0';
	/* Postfix writes "by HOST (Postfix) with ESMTP id QUEUEID" or "... id QUEUEID;". */
	if ((postfix = strstr(field, " (Postfix")) == NULL ||
	    (id = strstr(postfix, " id ")) == NULL)
		return -1;
	id += 4;
	flen = strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	if (flen == 0 || flen >= size)
		return -1;
	memcpy(out, id, flen);
	out[flen] = '\0';
	return 0;
}

/* --- the session -------------------------------------------------------- */

/*
 * peer_trusted - whether the peer on fd may tell us, with XFORWARD, how a
 * report reached Postfix: a Unix-domain socket whose peer runs as root or
 * as lmtp_postfix_user.  Over TCP anyone could claim that a report is one
 * Postfix wrote itself (a synchronous rejection, which may suppress a
 * whole domain), so there it is never believed.
 */
static bool
peer_trusted(const struct cfg *cfg, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct passwd *pw;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0 || ss.ss_family != AF_UNIX) {
		msg_warn("LMTP connection is not on a Unix-domain socket: XFORWARD is not "
			 "believed, and every report is taken for a remote one");
		return false;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		msg_warn("LMTP peer credentials: %s; every report is taken for a remote one",
			 strerror(errno));
		return false;
	}
	if (cred.uid == 0)
		return true;
	pw = getpwnam(cfg->lmtp_postfix_user);
	if (pw != NULL && pw->pw_uid == cred.uid)
		return true;
	msg_warn("LMTP peer runs as uid %ld, not as lmtp_postfix_user %s: XFORWARD is not "
		 "believed, and every report is taken for a remote one",
		 (long)cred.uid, cfg->lmtp_postfix_user);
	return false;
}

/* reset_transaction - forget MAIL, RCPT and XFORWARD */
static void
reset_transaction(struct lmtp_session *s)
{
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	s->nrcpt = 0;
	s->in_mail = false;
	s->xforward = false;
	s->client[0] = s->ident[0] = '\0';
}

/* do_lhlo - LHLO: what we offer */
static void
do_lhlo(struct lmtp_session *s)
{
	reset_transaction(s);
	s->greeted = true;
	reply(s, "250-%s", s->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	if (s->trusted)
		reply(s, "250-XFORWARD NAME ADDR PROTO HELO SOURCE IDENT");
	/*
	 * Without SMTPUTF8 Postfix would bounce a report whose envelope needs
	 * it, and a bounce that bounces is lost; rebound takes any bytes.
	 */
	reply(s, "250 SMTPUTF8");
}

/*
 * do_xforward - XFORWARD: how the next report reached Postfix.  Only ADDR
 * and IDENT are read; the others (NAME, HELO...) are taken unread, so that
 * a long host name is never a reason to refuse, which would defer the
 * report.  A value longer than we keep is cut: only whether ADDR is empty
 * matters, and that survives the cut.
 */
static void
do_xforward(struct lmtp_session *s, const char *args)
{
	char value[LMTP_LINE_MAX];

	if (!s->trusted) {
		reply(s, "502 5.5.1 Error: XFORWARD is not offered here");
		s->errors++;
		return;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		s->errors++;
		return;
	}
	while (*args != '\0') {
		size_t len = strcspn(args, " ");
		const char *eq = memchr(args, '=', len);
		size_t name_len = eq != NULL ? (size_t)(eq - args) : 0;
		bool addr = name_len == 4 && strncasecmp(args, "ADDR", 4) == 0;
		bool ident = name_len == 5 && strncasecmp(args, "IDENT", 5) == 0;

		if (eq == NULL || ((addr || ident) &&
				   lmtp_xtext(eq + 1, len - name_len - 1, value, sizeof(value)) < 0)) {
			reply(s, "501 5.5.4 Error: bad XFORWARD attribute");
			s->errors++;
			return;
		}
		if (addr || ident) {
			char *keep = addr ? s->client : s->ident;

			if (strcmp(value, XFORWARD_UNAVAILABLE) == 0)
				value[0] = '\0';
			value[XFORWARD_VALUE_MAX - 1] = '\0';
			memcpy(keep, value, strlen(value) + 1);
		}
		args += len;
		args += strspn(args, " ");
	}
	s->xforward = true;
	reply(s, "250 2.0.0 Ok");
}

/* do_mail - MAIL FROM: the sender of a report is of no use, and unchecked */
static void
do_mail(struct lmtp_session *s, const char *args)
{
	if (!s->greeted) {
		reply(s, "503 5.5.1 Error: send LHLO first");
	} else if (s->in_mail) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
	} else if (strncasecmp(args, "FROM:", 5) != 0) {
		reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
	} else {
		s->in_mail = true;
		reply(s, "250 2.1.0 Ok");
		return;
	}
	s->errors++;
}

/* do_rcpt - RCPT TO: one more return path the report goes to */
static void
do_rcpt(struct lmtp_session *s, const char *args)
{
	char *addr;

	if (!s->in_mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
	} else if (strncasecmp(args, "TO:", 3) != 0) {
		reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
	} else if (s->nrcpt == LMTP_RCPT_MAX) {
		/* Postfix sends the others again in a transaction of their own. */
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	} else if ((addr = lmtp_path(args + 3, LMTP_LINE_MAX)) == NULL) {
		reply(s, "501 5.1.3 Bad recipient address syntax");
	} else {
		s->rcpt[s->nrcpt++] = addr;
		reply(s, "250 2.1.5 Ok");
		return;
	}
	s->errors++;
}

/*
 * read_data - the message up to its lone ".", dot-unstuffed and with LF
 * line ends, as pipe(8) would hand it over, at most max_message_size of
 * it kept; -1 when the connection ends first.
 */
static int
read_data(struct lmtp_session *s, char **data_r, size_t *len_r, size_t *size_r)
{
	struct buf *b = buf_create(s->cfg->max_message_size);
	bool complete, at_start = true, held_cr = false;
	size_t size = 0;
	char seg[8192];
	ssize_t n;

	while ((n = io_segment(&s->io, seg, sizeof(seg), &complete)) > 0) {
		char *p = seg;
		size_t len = (size_t)n;

		if (at_start && complete && ((len == 3 && memcmp(p, ".\r\n", 3) == 0) ||
					     (len == 2 && memcmp(p, ".\n", 2) == 0))) {
			*data_r = buf_detach(&b, len_r);
			*size_r = size;
			return 0;
		}
		/* A CR held back at the end of the last piece of a long line. */
		if (held_cr && p[0] != '\n') {
			buf_append_partial(b, "\r", 1);
			size++;
		}
		held_cr = false;
		if (at_start && p[0] == '.')
			p++, len--;
		if (complete && len >= 2 && p[len - 2] == '\r')
			p[len - 2] = '\n', len--;
		else if (!complete && len > 0 && p[len - 1] == '\r')
			held_cr = true, len--;
		/* Past the cap we keep reading, so that the client sees us take it all. */
		buf_append_partial(b, p, len);
		size += len;
		at_start = complete;
	}
	buf_free(&b);
	return -1;
}

/* report_origin - the --client-address of pipe(8) mode: NULL when unknown */
static const char *
report_origin(struct lmtp_session *s, const char *queue_id)
{
	if (!s->trusted)
		return NULL;
	if (!s->xforward) {
		if (!s->warned_no_xforward)
			msg_warn("%s: Postfix sent no XFORWARD: set lmtp_send_xforward_command = "
				 "yes for the rebound transport; every report is taken for a "
				 "remote one", queue_id);
		s->warned_no_xforward = true;
		return NULL;
	}
	return s->client;
}

/* deliver_all - store the report once for each recipient, and answer each */
static void
deliver_all(struct lmtp_session *s, const char *data, size_t len, size_t size)
{
	char queue_id[64] = "NOQUEUE";
	struct deliver_outcome out;
	const char *client;

	/*
	 * The queue id pipe(8) would pass: XFORWARD IDENT, which Postfix sends
	 * for mail it received over SMTP, or else the id in the Received: line
	 * Postfix's cleanup(8) put on top (also on the reports it writes).
	 */
	if (s->trusted && s->ident[0] != '\0')
		snprintf(queue_id, sizeof(queue_id), "%s", s->ident);
	else
		(void)lmtp_received_id(data, len, queue_id, sizeof(queue_id));
	client = report_origin(s, queue_id);
	alarm(s->cfg->pipe_time_limit);
	for (size_t i = 0; i < s->nrcpt; i++) {
		struct deliver_request req = {
			.queue_id = queue_id, .recipient = s->rcpt[i], .client_address = client,
			.local = client != NULL && *client == '\0', .data = data, .len = len,
			.size = size, .truncated = size > len,
		};

		deliver_bounce(s->cfg, s->clf, &s->db, &req, &out);
		if (out.status == EX_OK)
			reply(s, "250 2.0.0 %s", out.text);
		else
			reply(s, "451 %s", out.text);
	}
	alarm(0);
}

/* do_data - DATA: read the report, deliver it, one reply per recipient */
static int
do_data(struct lmtp_session *s)
{
	char *data = NULL;
	size_t len, size;

	if (!s->in_mail || s->nrcpt == 0) {
		reply(s, s->in_mail ? "554 5.5.1 Error: no valid recipients" :
			  "503 5.5.1 Error: need MAIL command");
		s->errors++;
		return 0;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (read_data(s, &data, &len, &size) < 0)
		return -1;
	deliver_all(s, data, len, size);
	free(data);
	reset_transaction(s);
	return 0;
}

/* dispatch - one command line; -1 when the session is over */
static int
dispatch(struct lmtp_session *s, const char *line)
{
	size_t verb = strcspn(line, " ");
	const char *args = line + verb + (line[verb] == ' ');

#define IS(name) (verb == sizeof(name) - 1 && strncasecmp(line, name, verb) == 0)
	if (IS("LHLO")) {
		do_lhlo(s);
	} else if (IS("XFORWARD")) {
		do_xforward(s, args);
	} else if (IS("MAIL")) {
		do_mail(s, args);
	} else if (IS("RCPT")) {
		do_rcpt(s, args);
	} else if (IS("DATA")) {
		return do_data(s);
	} else if (IS("RSET")) {
		reset_transaction(s);
		reply(s, "250 2.0.0 Ok");
	} else if (IS("NOOP")) {
		reply(s, "250 2.0.0 Ok");
	} else if (IS("VRFY")) {
		reply(s, "252 2.5.2 Cannot VRFY");
	} else if (IS("QUIT")) {
		reply(s, "221 2.0.0 Bye");
		return -1;
	} else {
		reply(s, IS("HELO") || IS("EHLO") ? "500 5.5.1 Error: this is LMTP, send LHLO" :
			  "500 5.5.2 Error: command not recognized");
		s->errors++;
	}
#undef IS
	return 0;
}

int
lmtp_serve(const struct cfg *cfg, struct classifier *clf, int in_fd, int out_fd)
{
	struct lmtp_session s = {
		.cfg = cfg, .clf = clf, .io = { .in = in_fd, .out = out_fd },
	};
	char line[LMTP_LINE_MAX];
	bool too_long;

	/* Replies of one pipelined group: at most LMTP_RCPT_MAX of each kind. */
	s.io.replies = buf_create(1024 * 1024);
	s.rcpt = xcalloc(LMTP_RCPT_MAX, sizeof(*s.rcpt));
	if (gethostname(s.hostname, sizeof(s.hostname) - 1) < 0 || s.hostname[0] == '\0')
		snprintf(s.hostname, sizeof(s.hostname), "localhost");
	s.trusted = peer_trusted(cfg, in_fd);
	lmtp_alarm_fd = out_fd;
	signal(SIGALRM, lmtp_on_alarm);
	signal(SIGPIPE, SIG_IGN);
	reply(&s, "220 %s LMTP rebound-pipe", s.hostname);
	while (io_command(&s.io, line, &too_long) == 0) {
		if (too_long) {
			reply(&s, "500 5.5.2 Error: line too long");
			s.errors++;
		} else if (dispatch(&s, line) < 0) {
			break;
		}
		if (s.errors >= LMTP_ERROR_LIMIT) {
			msg_warn("LMTP client made %u errors; disconnecting", s.errors);
			reply(&s, "421 4.7.0 Error: too many errors");
			break;
		}
	}
	(void)io_flush(&s.io);
	reset_transaction(&s);
	free(s.rcpt);
	buf_free(&s.io.replies);
	db_free(&s.db);
	return EX_OK;
}
