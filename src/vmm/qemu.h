/*
 * qemu: the QEMU driver's helpers beyond the vmm_driver table (vmm_qemu).
 *
 * QEMU runs the guest on the `microvm` machine with the same kernel, initrd,
 * drives and tap as Firecracker. The guest serial console and QEMU's own
 * messages go to the VMM's stdout/stderr, which spawn_detached appends to
 * config.console_log (-serial stdio: no truncation, one ordered stream).
 *
 * QEMU gets two QMP sockets, because a QMP socket serves one client at a
 * time (see qmp.h):
 *   - config.api_sock: short command sessions (start's handshake and
 *     query-status, request_stop's send-key);
 *   - qemu_event_sock_path(api_sock): for one long-lived watcher.
 *
 * Watching a VM (the daemon's supervisor):
 *	int fd = qemu_watch_open(cfg.api_sock, &e);
 *	while ((r = qmp_next_event(fd, name, sizeof(name), reason,
 *				   sizeof(reason), 1000, &e)) != QMP_WAIT_CLOSED) {
 *		if (r == QMP_WAIT_EVENT && !strcmp(name, "SHUTDOWN"))
 *			remember(reason); // why QEMU is about to exit
 *	}
 * SHUTDOWN's reason: "guest-shutdown" (guest poweroff, ACPI S5),
 * "guest-reset" (guest reboot, ctrl-alt-delete stop, or a kernel panic with
 * panic=1: with -no-reboot every reset ends QEMU), "guest-panic" (pvpanic,
 * not present on microvm), "host-signal" (SIGTERM/SIGINT), "host-qmp-quit".
 * QEMU sends SHUTDOWN and then exits, closing the watch connection.
 *
 * Suspend (vmm_qemu.suspend) leaves QEMU alive in the "postmigrate" state,
 * its disks flushed and inactivated, after a STOP event on the watch socket;
 * the daemon then ends it (a signal: the SHUTDOWN reason, if any, is
 * "host-signal"). A state QEMU cannot load (truncated, not a migration
 * stream, other memory size) makes the resuming QEMU exit with status 1;
 * its reason is in the console log ("load of migration failed: ..."). QEMU
 * checks no checksum over page contents: a flipped byte inside a page is
 * loaded as is.
 */
#ifndef BANGER_VMM_QEMU_H
#define BANGER_VMM_QEMU_H

#include <stddef.h>

#include "vmm/qmp.h"
#include "vmm/vmm.h"

/* Kernel parameters the driver puts before config.boot_args: serial
 * console, keyboard-controller reboot (microvm has i8042 only because the
 * driver adds it) and reboot 1 s after a panic, which -no-reboot turns into
 * QEMU exiting. */
#define QEMU_BOOT_ARGS "console=ttyS0 reboot=k panic=1"

/* Oldest QEMU whose microvm machine has the ACPI device tables that
 * Debian's kernel needs to find virtio-mmio devices. */
#define QEMU_MIN_MAJOR 6

/* Chooses the accelerator. want is "auto", "kvm" or "tcg" (NULL or "" mean
 * "auto"). auto picks "kvm" only when /dev/kvm opens read-write and the
 * host is not a nested PVM host (/sys/module/kvm_pvm: ordinary guest
 * kernels hang or die with an emulation error there), else "tcg". An
 * explicit choice is honoured as is. Returns the static string "kvm" or
 * "tcg" and writes a one-line reason for the daemon's log to why; returns
 * NULL (reason in why) when want is not one of the three. */
const char *qemu_accel_choose(const char *want, char *why, size_t len);

/* The same with the checked paths injected (tests). */
const char *qemu_accel_choose_at(const char *want, const char *kvm_dev, const char *pvm_dir,
				 char *why, size_t len);

/* The host's TSC rate in kHz, measured against CLOCK_MONOTONIC_RAW over
 * 20 ms; 0 when unknown (not x86). Under TCG the guest's TSC runs at this
 * rate, and telling the guest kernel (tsc_early_khz=) spares it a PIT
 * calibration that fails, and then hangs the boot, on a busy host. */
long qemu_host_tsc_khz(void);

/* Pure: builds QEMU's argv from cfg (argv[0] = cfg->bin, or
 * "qemu-system-x86_64" when bin is NULL). cfg->accel NULL means "tcg".
 * With tcg and tsc_khz > 0, "tsc_early_khz=<tsc_khz>" follows
 * QEMU_BOOT_ARGS on the kernel command line (before cfg->boot_args).
 * The root drive comes first (it is /dev/vda, as under Firecracker), the
 * others follow in cfg order. Commas in paths are doubled (QEMU's option
 * syntax). On success *argv_out is a NULL-terminated array to release with
 * qemu_argv_free(). ERR_INVALID when cfg is incomplete or inconsistent. */
int qemu_build_argv(const struct vmm_config *cfg, long tsc_khz, char ***argv_out, struct err *e);
void qemu_argv_free(char **argv);

/* The same plus "-incoming defer": the command line resume spawns, the
 * very one start used (QEMU checks the restored state against it), with
 * the state to come over QMP. */
int qemu_build_resume_argv(const struct vmm_config *cfg, long tsc_khz, char ***argv_out,
			   struct err *e);

/* The file suspend writes into state_dir: QEMU's migration stream (RAM,
 * with zero pages as flags only, and every device's state). */
#define QEMU_STATE_FILE "qemu.state"

/* Writes the event (watch) socket path for api_sock into buf. -1 with
 * ERR_INVALID when it does not fit a Unix socket address. */
int qemu_event_sock_path(const char *api_sock, char *buf, size_t len, struct err *e);

/* Pure: parses `qemu-system-x86_64 --version` output ("QEMU emulator
 * version 7.2.22 (Debian ...)") into version ("7.2.22"). -1 if absent. */
int qemu_parse_version(const char *out, char *version, size_t len, int *major);

/* Connects to the VM's event socket (derived from the QMP socket path
 * api_sock) and negotiates capabilities. Returns the fd to read with
 * qmp_next_event() (close() it), or -1; ERR_UNAVAILABLE when QEMU is not
 * running or another watcher holds the socket. */
int qemu_watch_open(const char *api_sock, struct err *e);

#endif
