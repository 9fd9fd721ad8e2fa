/*
 * Unit tests for console_scan, on console excerpts from real banger boots
 * under QEMU/TCG (tests/guest/test_boot_qemu.py makes each failure; bytes as
 * the serial console wrote them: CR LF line ends,
 * systemd's colour sequences, kernel timestamps), fed whole and in pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/console_scan.h"

/* A healthy boot of the bundle rootfs (trimmed). */
static const char boot_ok[] =
    "[    0.000000] Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) "
    "(gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 "
    "SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)\r\n"
    "[    0.000000] Command line: console=ttyS0 reboot=k panic=1 tsc_early_khz=2596142 "
    "banger.hostname=bench banger.ip=172.30.77.5/24\r\n"
    "banger-init: root assembled (/dev/vda read-only + /dev/vdb overlay, /root on /dev/vdc); "
    "starting /sbin/init\r\n"
    "[\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mintegrityse\xe2\x80\xa6Local Integrity "
    "Protected Volumes.\r\r\n"
    "[    9.736904] systemd[1]: Starting ssh.service - OpenBSD Secure Shell server...\r\n"
    "         Starting \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server...\r\r\n"
    "[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell "
    "server.\r\r\n"
    "         Starting \x1b[0;1;39mbanger-ready.serv\xe2\x80\xa6m - Tell banger the VM is "
    "ready...\r\r\n"
    "banger: ready in 13.48 s\r\n"
    "[\x1b[0;32m  OK  \x1b[0m] Finished \x1b[0;1;39mbanger-ready.serv\xe2\x80\xa6[0m - Tell "
    "banger the VM is ready.\r\r\n"
    "\x1b"
    "M\x1b[K[\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mgetty.target\x1b[0m - "
    "Login Prompts.\r\r\n"
    "\r\nDebian GNU/Linux 12 bench ttyS0\r\n\r\nbench login: ";

/* The TCG hang this module was written for: its first line as reported in
 * issue 10 (not reproduced here, see bench/boot-soak), the rest as the
 * kernel prints a soft lockup report. */
static const char lockup[] =
    "[   41.503920] watchdog: BUG: soft lockup - CPU#1 stuck for 223s! [systemd:1]\r\n"
    "[   41.505551] Modules linked in: virtio_net net_failover failover overlay "
    "virtio_blk\r\n"
    "[   41.509116] RIP: 0010:asm_exc_int3+0x0/0x40\r\n";

/* The kernel's RCU stall report format (not seen in a banger boot yet). */
static const char rcu_stall[] =
    "[  122.108232] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\r\n"
    "[  122.110043] rcu: \t1-...!: (0 ticks this GP) idle=8a4c/0/0x0 softirq=2417/2417 "
    "fqs=0\r\n";

/* banger.init=/bin/true: init exits, the kernel panics. */
static const char panic_init[] =
    "banger-init: root assembled (/dev/vda read-only + /dev/vdb overlay, /root on /dev/vdc); "
    "starting /bin/true\r\n"
    "[    2.975624] Kernel panic - not syncing: Attempted to kill init! "
    "exitcode=0x00000000\r\n"
    "[    2.976137] CPU: 0 PID: 1 Comm: true Not tainted 6.1.0-57-cloud-amd64 #1  Debian "
    "6.1.192-3\r\n"
    "[    2.976579] Call Trace:\r\n"
    "[    2.977083]  <TASK>\r\n"
    "[    2.977226]  dump_stack_lvl+0x44/0x5c\r\n"
    "[    2.977495]  panic+0x118/0x2f4\r\n";

/* Only two disks given. */
static const char init_fail[] =
    "banger-init: error: /dev/vdc did not appear within 10 s (disks found: /dev/vdb "
    "/dev/vda); a banger VM needs 3 virtio disks: base image, overlay, work disk\r\n"
    "[   13.611483] reboot: Restarting system\r\n"
    "[   13.611586] reboot: machine restart\r\n";

/* An sshd_config.d file with an unknown option. */
static const char sshd_fail[] =
    "[    8.325755] systemd[1]: Starting ssh.service - OpenBSD Secure Shell server...\r\n"
    "         Starting \x1b[0;1;39mssh.service\x1b[0m - OpenBSD Secure Shell server...\r\r\n"
    "[\x1b[0;1;31mFAILED\x1b[0m] Failed to start \x1b[0;1;39mssh.servic\xe2\x80\xa6[0m - "
    "OpenBSD Secure Shell server.\r\r\n"
    "See 'systemctl status ssh.service' for details.\r\r\n"
    "         Starting \x1b[0;1;39mbanger-ready.serv\xe2\x80\xa6m - Tell banger the VM is "
    "ready...\r\r\n"
    "banger: not ready: sshd is not listening on port 22 (ssh.service: failed enabled)\r\n";

struct seen {
	enum console_kind kinds[16];
	size_t n;
};

static void record(const struct console_event *ev, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->kinds[s->n++] = ev->kind;
}

/* Feeds text in pieces of `step` bytes (0: all at once). */
static void feed(struct console_scan *s, const char *text, size_t step, struct seen *seen)
{
	size_t len = strlen(text);

	if (!step)
		step = len;
	for (size_t i = 0; i < len; i += step)
		console_scan_feed(s, text + i, len - i < step ? len - i : step,
				  seen ? record : NULL, seen);
}

static void test_ready_whole_and_in_pieces(void **state)
{
	static const size_t steps[] = {0, 1, 2, 7, 64};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct console_scan s;
		struct seen seen = {0};

		console_scan_init(&s);
		feed(&s, boot_ok, steps[i], &seen);
		assert_int_equal(s.ready.kind, CONSOLE_READY);
		assert_true(s.ready.seconds > 13.47 && s.ready.seconds < 13.49);
		assert_string_equal(s.ready.line, "banger: ready in 13.48 s");
		assert_int_equal(s.trouble.kind, CONSOLE_NONE);
		assert_int_equal(seen.n, 2);
		assert_int_equal(seen.kinds[0], CONSOLE_BOOT);
		assert_int_equal(seen.kinds[1], CONSOLE_READY);
	}
}

static void test_clean_drops_colours_cr_and_timestamp(void **state)
{
	char out[CONSOLE_SCAN_LINE];
	const char *raw = "[\x1b[0;1;31mFAILED\x1b[0m] Failed to start \x1b[0;1;39mssh.service"
			  "\x1b[0m - OpenBSD Secure Shell server.\r\r";

	(void)state;
	console_scan_clean(raw, strlen(raw), out, sizeof(out));
	assert_string_equal(out, "[FAILED] Failed to start ssh.service - OpenBSD Secure Shell "
				 "server.");
	raw = "[    9.736904] systemd[1]: Starting ssh.service\r";
	console_scan_clean(raw, strlen(raw), out, sizeof(out));
	assert_string_equal(out, "systemd[1]: Starting ssh.service");
	/* systemd's "[  OK  ]" is not a timestamp. */
	raw = "[  OK  ] Started x";
	console_scan_clean(raw, strlen(raw), out, sizeof(out));
	assert_string_equal(out, "[  OK  ] Started x");
}

static void expect_trouble(const char *text, enum console_kind kind, const char *line_start)
{
	struct console_scan s;
	struct seen seen = {0};

	console_scan_init(&s);
	feed(&s, text, 5, &seen);
	console_scan_end(&s, NULL, NULL);
	assert_int_equal(s.trouble.kind, kind);
	assert_true(console_kind_fatal(kind));
	assert_int_equal(strncmp(s.trouble.line, line_start, strlen(line_start)), 0);
	assert_int_equal(s.ready.kind, CONSOLE_NONE);
}

static void test_soft_lockup(void **state)
{
	(void)state;
	expect_trouble(lockup, CONSOLE_LOCKUP,
		       "watchdog: BUG: soft lockup - CPU#1 stuck for 223s!");
	assert_string_equal(console_kind_name(CONSOLE_LOCKUP), "CPU lockup");
}

static void test_rcu_stall(void **state)
{
	(void)state;
	expect_trouble(rcu_stall, CONSOLE_RCU_STALL, "rcu: INFO: rcu_preempt detected stalls");
}

static void test_kernel_panic_first_line_wins(void **state)
{
	(void)state;
	expect_trouble(panic_init, CONSOLE_PANIC,
		       "Kernel panic - not syncing: Attempted to kill init!");
}

static void test_init_failure_before_its_reset(void **state)
{
	struct console_scan s;
	struct seen seen = {0};

	(void)state;
	expect_trouble(init_fail, CONSOLE_INIT_FAIL, "banger-init: error: /dev/vdc did not appear");
	console_scan_init(&s);
	feed(&s, init_fail, 0, &seen);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.kinds[0], CONSOLE_INIT_FAIL);
	assert_int_equal(seen.kinds[1], CONSOLE_SHUTDOWN);
}

static void test_sshd_failure(void **state)
{
	(void)state;
	expect_trouble(sshd_fail, CONSOLE_SSHD_FAIL, "[FAILED] Failed to start ssh.servic");
	expect_trouble("banger: not ready: sshd is not listening (ssh.service: masked)\n",
		       CONSOLE_SSHD_FAIL, "banger: not ready: sshd is not listening");
}

static void test_ordinary_banger_init_lines_are_not_failures(void **state)
{
	(void)state;
	assert_int_equal(console_scan_line("banger-init: root assembled (/dev/vda ...)", NULL),
			 CONSOLE_NONE);
	assert_int_equal(console_scan_line("banger-init: warning: no kernel modules for 6.1", NULL),
			 CONSOLE_NONE);
	assert_int_equal(console_scan_line("bench login: ", NULL), CONSOLE_NONE);
}

/* A reboot in the same log: the new boot starts with a clean slate. */
static void test_new_boot_resets(void **state)
{
	struct console_scan s;

	(void)state;
	console_scan_init(&s);
	feed(&s, lockup, 0, NULL);
	assert_int_equal(s.trouble.kind, CONSOLE_LOCKUP);
	feed(&s, boot_ok, 3, NULL);
	assert_int_equal(s.trouble.kind, CONSOLE_NONE);
	assert_int_equal(s.ready.kind, CONSOLE_READY);
}

static void test_last_line_without_newline(void **state)
{
	struct console_scan s;
	struct seen seen = {0};

	(void)state;
	console_scan_init(&s);
	feed(&s, "banger: ready in 0.9", 0, &seen);
	assert_int_equal(s.ready.kind, CONSOLE_NONE);
	feed(&s, "1 s", 0, &seen);
	console_scan_end(&s, record, &seen);
	assert_int_equal(s.ready.kind, CONSOLE_READY);
	assert_true(s.ready.seconds > 0.90 && s.ready.seconds < 0.92);
}

static void test_tail_keeps_last_lines_oldest_first(void **state)
{
	struct console_scan s;
	const char *lines[CONSOLE_SCAN_TAIL];
	char buf[32];
	size_t n;

	(void)state;
	console_scan_init(&s);
	for (int i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "line %d\r\n", i);
		feed(&s, buf, 0, NULL);
	}
	n = console_scan_tail(&s, lines, 3);
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "line 17");
	assert_string_equal(lines[2], "line 19");
	n = console_scan_tail(&s, lines, CONSOLE_SCAN_TAIL);
	assert_int_equal(n, CONSOLE_SCAN_TAIL);
	assert_string_equal(lines[0], "line 8");
}

static void test_long_line_is_cut_but_classified(void **state)
{
	char big[CONSOLE_SCAN_LINE * 3];
	struct console_scan s;

	(void)state;
	snprintf(big, sizeof(big), "[   1.000000] Kernel panic - not syncing: ");
	memset(big + strlen(big), 'x', sizeof(big) - strlen(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	console_scan_init(&s);
	feed(&s, big, 100, NULL);
	assert_int_equal(s.trouble.kind, CONSOLE_PANIC);
	/* Cut as received (timestamp included), then the timestamp goes. */
	assert_int_equal(strlen(s.trouble.line), CONSOLE_SCAN_LINE - 1 - strlen("[   1.000000] "));
	feed(&s, "banger: ready in 2 s\n", 0, NULL);
	assert_int_equal(s.ready.kind, CONSOLE_READY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ready_whole_and_in_pieces),
	    cmocka_unit_test(test_clean_drops_colours_cr_and_timestamp),
	    cmocka_unit_test(test_soft_lockup),
	    cmocka_unit_test(test_rcu_stall),
	    cmocka_unit_test(test_kernel_panic_first_line_wins),
	    cmocka_unit_test(test_init_failure_before_its_reset),
	    cmocka_unit_test(test_sshd_failure),
	    cmocka_unit_test(test_ordinary_banger_init_lines_are_not_failures),
	    cmocka_unit_test(test_new_boot_resets),
	    cmocka_unit_test(test_last_line_without_newline),
	    cmocka_unit_test(test_tail_keeps_last_lines_oldest_first),
	    cmocka_unit_test(test_long_line_is_cut_but_classified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
