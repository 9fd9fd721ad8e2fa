/*
 * vm_state: the VM state machine, pure (no I/O, libc only).
 *
 * A VM is always in exactly one of these states. The transitional ones
 * (creating, starting, stopping, deleting) are written to the database
 * before the host is touched, so that after a crash reconcile knows what
 * was under way. Strings exist only at the edges: the database column and
 * the API's JSON ("state": "running"); everywhere else it is the enum.
 *
 * To add a state, add one line to VM_STATES (and name it in the "to" sets
 * of the states that lead to it).
 *
 * Suspend: running -> suspending (the VMM writes the guest's state) ->
 * suspended (state saved, no VMM, no tap), or back to running when the
 * save failed, or stopped when the VMM died. A start of a suspended VM goes
 * through starting as a boot does; a resume that cannot begin (its network
 * could not be set up) returns it to suspended with the state kept. A
 * suspended VM holds no process, so it may be deleted; stopping it
 * discards the saved state. A stopped VM becomes suspended when a disk
 * snapshot restore brings back the state saved with it.
 */
#ifndef BANGER_STATE_VM_STATE_H
#define BANGER_STATE_VM_STATE_H

#include <stdbool.h>

#define VM_TO(s) (1u << VM_STATE_##s)

/* X(ID, "name", active, states it may move to). active: a VMM process may
 * exist or an operation is under way, so the VM cannot be deleted or
 * reconfigured offline. */
#define VM_STATES(X)                                                                               \
	X(CREATING, "creating", true, VM_TO(STOPPED) | VM_TO(DELETING))                            \
	X(STOPPED, "stopped", false, VM_TO(STARTING) | VM_TO(DELETING) | VM_TO(SUSPENDED))         \
	X(STARTING, "starting", true,                                                              \
	  VM_TO(RUNNING) | VM_TO(STOPPING) | VM_TO(STOPPED) | VM_TO(SUSPENDED))                    \
	X(RUNNING, "running", true, VM_TO(STOPPING) | VM_TO(STOPPED) | VM_TO(SUSPENDING))          \
	X(STOPPING, "stopping", true, VM_TO(STOPPED))                                              \
	X(DELETING, "deleting", true, 0)                                                           \
	X(SUSPENDING, "suspending", true, VM_TO(SUSPENDED) | VM_TO(RUNNING) | VM_TO(STOPPED))      \
	X(SUSPENDED, "suspended", false, VM_TO(STARTING) | VM_TO(STOPPED) | VM_TO(DELETING))

enum vm_state {
#define VM_STATE_ENUM(id, name, active, to) VM_STATE_##id,
	VM_STATES(VM_STATE_ENUM)
#undef VM_STATE_ENUM
	    VM_STATE_COUNT
};

/* The wire / database name ("running"); "unknown" for a value out of range. */
const char *vm_state_name(enum vm_state s);

/* Parses a name as vm_state_name gives it. Returns 0, or -1 (out untouched)
 * for NULL or an unknown name (e.g. from a newer daemon). */
int vm_state_parse(const char *name, enum vm_state *out);

/* Whether the state machine allows from -> to. Staying in the same state is
 * not a transition and is always allowed (a write of other fields). */
bool vm_state_can(enum vm_state from, enum vm_state to);

/* A VMM process may exist or an operation is under way (not stopped). */
bool vm_state_is_active(enum vm_state s);

/* The VM is starting (the VMM is up or being spawned; its pid is recorded
 * once the driver has booted it, 0 before that), running (the guest said
 * it is ready), being suspended, or on its way down: it owns a VMM process, a tap and perhaps
 * NAT rules. Callers that act on the process check that a pid is recorded. */
bool vm_state_has_vmm(enum vm_state s);

#endif
