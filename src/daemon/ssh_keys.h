/*
 * ssh_keys: the user's key pair and the VMs' host keys.
 *
 * banger makes the user's key on first need (never one shipped in a bundle)
 * and one host key per VM at create; the host key's public half goes into
 * banger's own known_hosts under the VM's name, name.vm and address, so
 * `banger vm ssh` can use StrictHostKeyChecking=yes.
 */
#ifndef BANGER_DAEMON_SSH_KEYS_H
#define BANGER_DAEMON_SSH_KEYS_H

#include "daemon/daemon.h"
#include "store/store.h"

/* Path of the user's private key (ssh_key_path or state/ssh/id_ed25519). */
char *ssh_user_key_path(const struct daemon *d);
/* Creates the user's key pair if missing; returns the public key text. */
int ssh_user_key_ensure(struct daemon *d, char **pub, struct err *e);
/* Makes a host key pair at key_path (ed25519, no passphrase). */
int ssh_host_key_create(struct daemon *d, const char *key_path, struct err *e);
/* Rewrites banger's known_hosts from all VMs' host keys. */
int ssh_known_hosts_sync(struct daemon *d, struct err *e);
char *ssh_known_hosts_path(const struct daemon *d);

#endif
