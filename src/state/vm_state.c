/* vm_state: see vm_state.h. */
#include "state/vm_state.h"

#include <stddef.h>
#include <string.h>

static const struct {
	const char *name;
	bool active;
	unsigned to;
} states[VM_STATE_COUNT] = {
#define VM_STATE_ROW(id, n, act, t) [VM_STATE_##id] = {n, act, t},
    VM_STATES(VM_STATE_ROW)
#undef VM_STATE_ROW
};

static bool valid(enum vm_state s)
{
	return (unsigned)s < VM_STATE_COUNT;
}

const char *vm_state_name(enum vm_state s)
{
	return valid(s) ? states[s].name : "unknown";
}

int vm_state_parse(const char *name, enum vm_state *out)
{
	for (int i = 0; name && i < VM_STATE_COUNT; i++) {
		if (strcmp(name, states[i].name) == 0) {
			*out = (enum vm_state)i;
			return 0;
		}
	}
	return -1;
}

bool vm_state_can(enum vm_state from, enum vm_state to)
{
	if (!valid(from) || !valid(to))
		return false;
	return from == to || (states[from].to & (1u << to)) != 0;
}

bool vm_state_is_active(enum vm_state s)
{
	return valid(s) && states[s].active;
}

bool vm_state_has_vmm(enum vm_state s)
{
	return s == VM_STATE_STARTING || s == VM_STATE_RUNNING || s == VM_STATE_STOPPING ||
	       s == VM_STATE_SUSPENDING;
}
