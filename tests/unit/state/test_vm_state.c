/* Unit tests: the VM state machine (names, parsing, the transition table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "state/vm_state.h"

#define C VM_STATE_CREATING
#define S VM_STATE_STOPPED
#define A VM_STATE_STARTING
#define R VM_STATE_RUNNING
#define P VM_STATE_STOPPING
#define D VM_STATE_DELETING
#define U VM_STATE_SUSPENDING
#define Z VM_STATE_SUSPENDED

/* Every move the daemon makes, written out independently of the table. */
/* clang-format off */
static const struct {
	enum vm_state from, to;
	const char *why;
} allowed[] = {
	{C, S, "create finished"},      {C, D, "create failed / interrupted"},
	{S, A, "vm start"},             {S, D, "vm delete"},
	{A, R, "guest ready"},          {A, S, "boot failed / interrupted"},
	{A, P, "stop, kill or failed boot of a VM whose VMM is up"},
	{R, P, "vm stop, kill, guest poweroff"},
	{R, S, "VMM exited / found dead"},
	{P, S, "VMM exited"},
	{R, U, "vm suspend"},
	{U, Z, "state saved, VMM ended"},
	{U, R, "save failed, guest let run again"},
	{U, S, "VMM died during the save"},
	{Z, A, "vm start resumes (or cold-boots)"},
	{Z, S, "vm stop discards the saved state"},
	{Z, D, "vm delete"},
	{A, Z, "resume could not begin: state kept"},
	{S, Z, "snapshot restore brings a saved state back"},
};
/* clang-format on */

static int is_allowed(enum vm_state from, enum vm_state to)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i].from == from && allowed[i].to == to)
			return 1;
	return from == to;
}

static void table_is_exactly_the_expected_moves(void **state)
{
	(void)state;
	for (int f = 0; f < VM_STATE_COUNT; f++)
		for (int t = 0; t < VM_STATE_COUNT; t++) {
			if (vm_state_can(f, t) != is_allowed(f, t))
				fail_msg("%s -> %s: table says %d", vm_state_name(f),
					 vm_state_name(t), vm_state_can(f, t));
		}
}

static void impossible_moves_are_refused(void **state)
{
	(void)state;
	assert_false(vm_state_can(D, A)); /* start of a VM being deleted */
	assert_false(vm_state_can(D, S)); /* a deleting VM never comes back */
	assert_false(vm_state_can(C, A)); /* start before the disks exist */
	assert_false(vm_state_can(R, D)); /* delete of a running VM: stop first */
	assert_false(vm_state_can(P, R));
	assert_false(vm_state_can(S, R)); /* running only through starting */
	assert_false(vm_state_can(S, P));
	assert_false(vm_state_can(VM_STATE_COUNT, S));
	assert_false(vm_state_can(S, VM_STATE_COUNT));
	assert_false(vm_state_can((enum vm_state) - 1, S));
	assert_false(vm_state_can(Z, R)); /* a resume goes through starting */
	assert_false(vm_state_can(U, D)); /* delete while its VMM still writes */
	assert_false(vm_state_can(A, U)); /* suspend only a guest that is ready */
}

static void names_round_trip(void **state)
{
	static const char *const want[] = {"creating", "stopped",  "starting",	 "running",
					   "stopping", "deleting", "suspending", "suspended"};
	enum vm_state s;

	(void)state;
	assert_int_equal(VM_STATE_COUNT, 8);
	for (int i = 0; i < VM_STATE_COUNT; i++) {
		assert_string_equal(vm_state_name(i), want[i]);
		assert_int_equal(vm_state_parse(want[i], &s), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(vm_state_name(VM_STATE_COUNT), "unknown");
	assert_string_equal(vm_state_name((enum vm_state) - 3), "unknown");
}

static void unknown_names_leave_the_output_alone(void **state)
{
	enum vm_state s = R;

	(void)state;
	assert_int_equal(vm_state_parse("paused", &s), -1);
	assert_int_equal(vm_state_parse("Running", &s), -1);
	assert_int_equal(vm_state_parse("running ", &s), -1);
	assert_int_equal(vm_state_parse("", &s), -1);
	assert_int_equal(vm_state_parse("unknown", &s), -1);
	assert_int_equal(vm_state_parse(NULL, &s), -1);
	assert_int_equal(s, R);
}

static void predicates(void **state)
{
	(void)state;
	assert_false(vm_state_is_active(S));
	assert_false(vm_state_is_active(Z)); /* no process: may be deleted */
	for (int i = 0; i < VM_STATE_COUNT; i++)
		if (i != S && i != Z)
			assert_true(vm_state_is_active(i));
	assert_false(vm_state_is_active(VM_STATE_COUNT));
	assert_true(vm_state_has_vmm(R));
	assert_true(vm_state_has_vmm(P));
	assert_true(vm_state_has_vmm(A)); /* VMM up, guest booting */
	assert_false(vm_state_has_vmm(S));
	assert_true(vm_state_has_vmm(U)); /* the VMM writes the state */
	assert_false(vm_state_has_vmm(Z));
}

/* Every state is reachable from creating, and every state but deleting can
 * lead to deletion: no state is a trap. */
static void no_state_is_a_trap(void **state)
{
	int reach = 1 << C;

	(void)state;
	for (int round = 0; round < VM_STATE_COUNT; round++)
		for (int f = 0; f < VM_STATE_COUNT; f++)
			for (int t = 0; t < VM_STATE_COUNT; t++)
				if ((reach & (1 << f)) && vm_state_can(f, t))
					reach |= 1 << t;
	assert_int_equal(reach, (1 << VM_STATE_COUNT) - 1);
	for (int f = 0; f < VM_STATE_COUNT; f++) {
		int r = 1 << f;

		for (int round = 0; round < VM_STATE_COUNT; round++)
			for (int a = 0; a < VM_STATE_COUNT; a++)
				for (int t = 0; t < VM_STATE_COUNT; t++)
					if ((r & (1 << a)) && vm_state_can(a, t))
						r |= 1 << t;
		assert_true(r & (1 << D));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_is_exactly_the_expected_moves),
	    cmocka_unit_test(impossible_moves_are_refused),
	    cmocka_unit_test(names_round_trip),
	    cmocka_unit_test(unknown_names_leave_the_output_alone),
	    cmocka_unit_test(predicates),
	    cmocka_unit_test(no_state_is_a_trap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
