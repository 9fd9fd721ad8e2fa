/*
 * keygen: an ed25519 SSH key pair made in-process (libcrypto), written in
 * the files ssh-keygen would write: PATH (OpenSSH private key format, no
 * passphrase, mode 0600) and PATH.pub ("ssh-ed25519 KEY COMMENT", 0644).
 * A create makes one per VM; spawning ssh-keygen for it cost a process
 * start (about five times the key's own work).
 */
#ifndef BANGER_DAEMON_KEYGEN_H
#define BANGER_DAEMON_KEYGEN_H

#include "util/err.h"

int keygen_ed25519(const char *path, const char *comment, struct err *e);

#endif
