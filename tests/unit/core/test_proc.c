/* Unit tests: /proc/PID/stat parsing (util/proc), on this very process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util/proc.h"

/* Field 22 (starttime) read the plain way, as proc(5) describes it. */
static long long start_time_by_hand(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	char *p;
	long long v = -1;

	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')') + 2;
	for (int field = 3; field < 22; field++)
		p = strchr(p, ' ') + 1;
	sscanf(p, "%lld", &v);
	return v;
}

static void reads_start_time_and_figures(void **state)
{
	long long cpu = -1, rss = -1;

	(void)state;
	assert_int_equal(proc_start_time(getpid()), start_time_by_hand());
	assert_true(proc_alive(getpid(), start_time_by_hand()));
	assert_false(proc_alive(getpid(), start_time_by_hand() + 1)); /* pid reused */
	assert_int_equal(proc_cpu_mem(getpid(), &cpu, &rss), 0);
	assert_true(cpu >= 0);
	assert_true(rss > 0);
	assert_int_equal(proc_start_time(0), -1);
}

/* A command name may hold spaces and parentheses. */
static void odd_command_names(void **state)
{
	char old[17] = "";
	long long want = start_time_by_hand();

	(void)state;
	prctl(PR_GET_NAME, old);
	prctl(PR_SET_NAME, "a) b (c) 1 2");
	assert_int_equal(proc_start_time(getpid()), want);
	prctl(PR_SET_NAME, old);
}

static void *hammer(void *arg)
{
	long long want = *(long long *)arg, cpu, rss;

	for (int i = 0; i < 10000; i++)
		if (proc_start_time(getpid()) != want || proc_cpu_mem(getpid(), &cpu, &rss) < 0)
			return (void *)1;
	return NULL;
}

/* Several threads at once (HTTP, supervisor, reboot threads): each parse is
 * its own (strtok's hidden state was shared between them). */
static void threads_do_not_mix_parses(void **state)
{
	long long want = start_time_by_hand();
	pthread_t t[4];
	void *bad;
	int failed = 0;

	(void)state;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &want);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &bad);
		failed |= bad != NULL;
	}
	assert_false(failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_start_time_and_figures),
	    cmocka_unit_test(odd_command_names),
	    cmocka_unit_test(threads_do_not_mix_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
