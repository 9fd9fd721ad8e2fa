/*
 * vm_ssh: `banger vm ssh` and `banger ssh-config`.
 */
#ifndef BANGER_CLI_VM_SSH_H
#define BANGER_CLI_VM_SSH_H

#include <jansson.h>

#include "util/err.h"

/* Waits for the VM's port 22, then execs ssh as root with banger's key and
 * known_hosts and StrictHostKeyChecking=yes. Returns only on error. */
int vm_ssh_exec(json_t *vm, json_t *daemon_status, int argc, char **argv, struct err *e);

/* Prints the ssh_config Host block for one VM. */
void vm_ssh_config_block(json_t *vm, json_t *daemon_status);

#endif
