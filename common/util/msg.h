/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef REBOUND_MSG_H
#define REBOUND_MSG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * msg - the one logging module.  Records go to syslog (facility mail by
 * default), to stderr, or to a file.  Every record is formatted, then made
 * printable and capped at LIMIT_LOG_LINE before it is written, because much
 * of what we log was written by strangers.
 *
 * Parsers and codecs never log; only programs and service modules do.
 */

#define MSG_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum msg_flags {
	MSG_TO_SYSLOG = (1 << 0),
	MSG_TO_STDERR = (1 << 1),
};

/* msg_open - set the program name, facility and destinations */
void msg_open(const char *ident, int facility, enum msg_flags flags);

/*
 * msg_syslog_socket - send syslog records to the datagram socket path
 * (syslog_socket) instead of syslog(3)'s /dev/log, in the same format.
 * Call it after msg_open and before threads start.  Returns -1 with errno
 * if the socket cannot be reached now; records try it again.
 */
int msg_syslog_socket(const char *path);

/* msg_log_file - also append records to this file; returns -1 on error */
int msg_log_file(const char *path);

/*
 * msg_log_file_check - whether this process can append to the log file
 * path, creating it if it does not exist (unless created_for_us: then
 * someone else creates it, and only its directory must exist).  -1 and
 * *error_r, an allocated message saying what to do, if not.
 */
int msg_log_file_check(const char *path, bool created_for_us, char **error_r);

/*
 * msg_stderr_quiet - stop (or resume) writing to standard error, the one
 * change a program may make after its threads have started
 */
void msg_stderr_quiet(bool quiet);

/* msg_facility_code - syslog facility by name ("mail", "local0"); -1 if unknown */
int msg_facility_code(const char *name);

/* msg_set_fatal_status - exit status of msg_fatal (default 1) */
void msg_set_fatal_status(int status);

/*
 * msg_set_fatal_quick - msg_fatal ends with _exit(), not exit(): no exit
 * handler runs.  For a process whose other threads go on meanwhile (the
 * milter's, in libmilter), since an exit handler of a library may destroy
 * what those threads still use.  Everything msg writes is already written;
 * the fatal hook has run.
 */
void msg_set_fatal_quick(bool quick);

/*
 * msg_set_fatal_line - a line msg_fatal writes to stdout before it exits:
 * rebound-pipe's "4.x.x" status text for pipe(8).  NULL (the default): none.
 */
void msg_set_fatal_line(const char *line);

/*
 * msg_set_fatal_hook - a function msg_fatal calls once, before it exits:
 * the milter's last chance to put the records it holds in memory on disk.
 * The hook runs on the thread that called msg_fatal.  If the hook itself
 * ends in msg_fatal, that call exits at once; if another thread calls
 * msg_fatal meanwhile, it waits for the first one's exit.  A hook must
 * therefore not wait for a lock that a caller of msg_fatal may hold.
 * NULL (the default): none.
 */
void msg_set_fatal_hook(void (*hook)(void));

/* msg_set_verbose - enable msg_debug output */
void msg_set_verbose(int verbose);

void msg_debug(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_info(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_error(const char *fmt, ...) MSG_PRINTF(1, 2);
_Noreturn void msg_fatal(const char *fmt, ...) MSG_PRINTF(1, 2);

/*
 * msg_printable - copy at most len bytes of src into dst (of size dstsize,
 * always terminated), replacing control characters and non-ASCII bytes by
 * '?'.  Returns the number of bytes written, excluding the terminator.
 */
size_t msg_printable(char *dst, size_t dstsize, const char *src, size_t len);

#endif
