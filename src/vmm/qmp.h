/*
 * qmp: a small client for QEMU's Machine Protocol over a Unix socket.
 *
 * QMP is JSON, one message per line ("\r\n"-terminated). On connect QEMU
 * sends a greeting {"QMP": {...}}; the client must send qmp_capabilities
 * before any other command. Replies are {"return": ...} or {"error":
 * {"class", "desc"}}; asynchronous events {"event": NAME, "data": {...}}
 * may arrive at any time, also between a command and its reply.
 *
 * A QMP socket serves ONE client at a time: a second connect is accepted by
 * the kernel but QEMU does not answer it until the first client leaves. So
 * the QEMU driver gives QEMU two QMP sockets: one for short command sessions
 * (start, stop) and one that a watcher keeps open to read events.
 *
 * Reads are stateless: each message is peeked (MSG_PEEK) up to its newline
 * and only then consumed, so no buffer has to live between calls and a plain
 * fd is the whole connection.
 */
#ifndef BANGER_VMM_QMP_H
#define BANGER_VMM_QMP_H

#include <stddef.h>

#include <jansson.h>

#include "util/err.h"
#include "util/log.h"

/* Longest QMP message banger reads (replies it asks for are small). */
#define QMP_MSG_MAX 65536

/* What qmp_next_event() found. */
enum qmp_wait {
	QMP_WAIT_TIMEOUT = 0, /* nothing within timeout_ms */
	QMP_WAIT_EVENT = 1,   /* an event was read: name (and reason) are set */
	QMP_WAIT_CLOSED = 2,  /* QEMU closed the connection (it exited) */
};

/* Connects to the QMP socket at path, reads the greeting and negotiates
 * capabilities. Waits at most timeout_ms for each step. Returns the
 * connected fd (close() it) or -1. A socket that does not exist or refuses
 * gives ERR_UNAVAILABLE, so callers can retry while QEMU is starting. */
int qmp_connect(const char *path, int timeout_ms, struct logger *lg, struct err *e);

/* Sends {"execute": cmd, "arguments": args} (args may be NULL; it is not
 * stolen) and waits up to timeout_ms for the reply, skipping events (logged
 * at debug). On success *ret (if ret is not NULL) holds a new reference to
 * the "return" value. A QMP error reply gives ERR_VMM with QEMU's desc. */
int qmp_execute(int fd, const char *cmd, json_t *args, json_t **ret, int timeout_ms,
		struct logger *lg, struct err *e);

/* The same, passing the descriptor pass_fd (>= 0; -1: none) to QEMU with
 * the command's bytes (SCM_RIGHTS). Only getfd and add-fd take a passed
 * descriptor; QEMU keeps its own copy, so the caller still closes pass_fd. */
int qmp_execute_fd(int fd, const char *cmd, json_t *args, int pass_fd, json_t **ret, int timeout_ms,
		   struct logger *lg, struct err *e);

/* Reads one whole message (a line) within timeout_ms into buf (NUL-terminated,
 * trailing "\r\n" removed). Returns its length, 0 on timeout, or -1; when the
 * peer closed the connection, -1 with ERR_UNAVAILABLE. */
int qmp_read_line(int fd, char *buf, size_t len, int timeout_ms, struct err *e);

/* Pure: if msg is a QMP event, copies its name and, for events that carry
 * one (SHUTDOWN), data.reason ("guest-shutdown", "guest-reset",
 * "guest-panic", "host-qmp-quit", "host-signal", ...; "" when absent).
 * Returns 1 for an event, 0 for any other valid message, -1 for bad JSON. */
int qmp_parse_event(const char *msg, char *name, size_t n, char *reason, size_t rn);

/* Waits up to timeout_ms (negative: forever) for the next event on a
 * connected, negotiated fd, skipping command replies. Returns a qmp_wait
 * value, or -1 on a read error or malformed message. On QMP_WAIT_EVENT, name
 * and reason are filled (reason "" unless the event has one). */
int qmp_next_event(int fd, char *name, size_t n, char *reason, size_t rn, int timeout_ms,
		   struct err *e);

#endif
