/*
 * guest_clock: sets a guest's clock to the host's over SSH.
 *
 * A resumed guest's clock stood still while it was suspended (its state
 * holds the time of the save). The guest prints its time, waits for a
 * line, and sets its clock to the value on it; the host writes that value
 * only once the guest is waiting, so the SSH handshake (a second or more
 * under TCG) does not make the guest late.
 */
#ifndef BANGER_DAEMON_GUEST_CLOCK_H
#define BANGER_DAEMON_GUEST_CLOCK_H

#include "util/err.h"

/* ssh root@addr with banger's key and known_hosts; gives up (killing ssh)
 * after timeout_ms. *skew_ms: host minus guest time before the set. */
int guest_clock_set(const char *addr, const char *key, const char *known_hosts, int timeout_ms,
		    long long *skew_ms, struct err *e);

#endif
