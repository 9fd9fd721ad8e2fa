/*
 * shares: the running side of shared directories (vm mount).
 *
 * One session per share of a running VM: bangerd connects banger-sftp (the
 * jailed SFTP server, share/share_jail.h) to `sshfs -o slave` in the guest
 * through an ssh connection (Lima's reverse sshfs), so it needs nothing
 * from the VMM and works the same under Firecracker and QEMU. Each session
 * has a thread that runs it and, when the connection ends while the share
 * is still wanted, starts it again after a pause (1 s, doubling to 30 s).
 * Output of the server and of ssh goes to the VM's share.log.
 */
#ifndef BANGER_DAEMON_SHARES_H
#define BANGER_DAEMON_SHARES_H

#include "share/share_spec.h"
#include "util/err.h"
#include "util/log.h"

struct shares;

enum share_state { SHARE_CONNECTING, SHARE_MOUNTED, SHARE_DOWN };

/* helper: the banger-sftp path; key and known_hosts as for `vm ssh`. */
int shares_start(struct shares **out, struct logger *log, const char *helper, const char *key,
		 const char *known_hosts, struct err *e);
/* Ends every session (the guests' mounts go away) and waits for their
 * threads. Accepts NULL. */
void shares_stop(struct shares *sh);

/* Makes vm_id's sessions exactly specs[0..n) to the guest at addr (n = 0
 * or addr "": none). Sessions that stay are kept. Does not block. */
void shares_set(struct shares *sh, const char *vm_id, const char *vm_name, const char *addr,
		const struct share_spec *specs, int n, const char *log_path);

/* Waits until every session of vm_id is mounted (0), or one has failed
 * once (-1, e says which and why, with the log), or the mono_ms deadline
 * passes (-1). */
int shares_wait(struct shares *sh, const char *vm_id, long long deadline, struct err *e);

/* The state of vm_id's session for spec, and its last error ("" if none);
 * SHARE_DOWN with "" when there is no session (the VM is not running). */
/* Ends the session processes a daemon before this one left running (it
 * was killed): those whose share log is under log_prefix (the state
 * directory). Returns how many were signalled. */
int shares_kill_leftovers(const char *log_prefix);

enum share_state shares_status(struct shares *sh, const char *vm_id, const struct share_spec *spec,
			       char *error, size_t len);
const char *share_state_name(enum share_state s);

/* The guest side of a share, as a /bin/sh script run over ssh (exposed for
 * the unmount and for tests): mount (sshfs on its stdin/stdout), or
 * unmount. -1 if the path does not fit. */
int shares_guest_script(const struct share_spec *spec, int mount, char *out, size_t len);

#endif
