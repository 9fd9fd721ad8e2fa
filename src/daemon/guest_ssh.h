/*
 * guest_ssh: the ssh command line bangerd uses to run something in a guest
 * as root, with banger's key and the VM's pinned host key, never asking.
 */
#ifndef BANGER_DAEMON_GUEST_SSH_H
#define BANGER_DAEMON_GUEST_SSH_H

#define GUEST_SSH_ARGV_MAX 40

struct guest_ssh {
	const char *argv[GUEST_SSH_ARGV_MAX]; /* NULL-terminated */
	char *owned[4];
};

/* argv: ssh OPTIONS root@addr -- script. extra (NULL-terminated, or NULL)
 * are more ssh options placed before the destination. Free with
 * guest_ssh_free. */
void guest_ssh_argv(struct guest_ssh *g, const char *addr, const char *key, const char *known_hosts,
		    const char *const *extra, const char *script);
void guest_ssh_free(struct guest_ssh *g);

/* Appends s to out (len bytes) as one word for the guest's /bin/sh, in
 * single quotes. -1 if it does not fit. */
int guest_sh_quote(const char *s, char *out, size_t len);

#endif
