/*
 * vmm: the interface between bangerd and a VMM driver (Firecracker, QEMU).
 *
 * A driver knows how to spawn its VMM process for one VM, configure and boot
 * it, ask the guest to shut down, and clean up its sockets after the process
 * is gone. Supervision is not the driver's job: the daemon watches the
 * process (pidfd / waitpid), escalates a stop (request_stop, wait, SIGTERM,
 * wait, SIGKILL) and records state. The process is spawned in its own session
 * so that it survives a daemon restart; the daemon re-adopts it by pid plus
 * process start time.
 *
 * The VMM's stdout and stderr (guest serial console and the VMM's own
 * messages) are appended to config.console_log (the VM's firecracker.log,
 * name kept from the seed for both drivers). A driver writes a marker line
 * "--- banger: <driver> start <RFC3339 time> ---" to it before each spawn
 * (vmm_child.h does both for every driver).
 *
 * Where drivers differ in what the daemon must do, the driver says so in
 * its capability fields below; the daemon never decides by driver name.
 */
#ifndef BANGER_VMM_VMM_H
#define BANGER_VMM_VMM_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "util/err.h"
#include "util/log.h"

#define VMM_MAX_DRIVES 4

struct vmm_drive {
	const char *id;	  /* API id: [A-Za-z0-9_]+ ("base", "overlay", "work") */
	const char *path; /* host file */
	int read_only;
	int is_root; /* exactly one drive is root (the base rootfs, vda) */
};

struct vmm_config {
	const char *vm_id;     /* banger id: 16 lowercase hex chars */
	const char *vm_name;   /* DNS label, for messages */
	const char *vm_dir;    /* <state>/vms/<id>: disks and logs live here */
	const char *api_sock;  /* control socket path (< 108 bytes), chosen by the daemon */
	const char *bin;       /* VMM binary (absolute path or name in PATH) */
	const char *kernel;    /* uncompressed ELF vmlinux */
	const char *initrd;    /* may be NULL */
	const char *boot_args; /* banger's per-VM parameters; the driver prepends its defaults */
	struct vmm_drive drives[VMM_MAX_DRIVES];
	size_t ndrives;
	const char *tap; /* tap device name, or NULL for no network */
	const char *mac; /* "06:xx:xx:xx:xx:xx", with tap */
	int vcpu;
	int mem_mib;
	const char *console_log;  /* <vm_dir>/firecracker.log */
	const char *metrics_path; /* <vm_dir>/metrics.json (Firecracker only) */
	const char *accel;	  /* QEMU only: "kvm" or "tcg" */
	struct logger *log;	  /* daemon log: stages at info, API traffic at debug */
};

struct vmm_proc {
	pid_t pid;
	long long start_time; /* proc_start_time(pid) right after spawn */
};

struct vmm_driver {
	const char *name; /* "firecracker" | "qemu": config, records, messages */

	/* ---- capabilities: what the daemon does differently per driver ---- */

	/* 1: the daemon chooses vmm_config.accel ("kvm" or "tcg") before each
	 * start and records it; 0: accel is unused (left NULL / empty). */
	int needs_accel;

	/* 1: the VMM keeps running after the guest powers off (Firecracker on
	 * x86 has no ACPI power-off), so the daemon watches console_log for
	 * the kernel's "reboot: Power down" line and ends the process itself.
	 * 0: the VMM exits by itself when the guest powers off. */
	int poweroff_keeps_running;

	/* How a clean exit (status 0) of the VMM, outside a stop banger asked
	 * for and without a kernel panic on the console, is read. 1: it always
	 * means the guest rebooted (Firecracker exits 0 on the guest's i8042
	 * reset; a poweroff leaves it running, see poweroff_keeps_running).
	 * 0: it is a reboot only if the console since the last start marker
	 * has the kernel's "reboot: Restarting system" line, else a poweroff
	 * (QEMU with -no-reboot exits 0 for both). */
	int exit0_is_reboot;

	/* Metrics, both NULL when the VMM keeps none (QEMU).
	 * flush_metrics asks the running VMM behind api_sock to write its
	 * counters now; blocks until it answered (a few s at most).
	 * read_metrics parses the last complete line of the metrics file
	 * (vmm_config.metrics_path) into *out (json_decref it): an object
	 * whose "block*" and "net*" counters are deltas since the line
	 * before. ERR_NOT_FOUND while there are none yet. */
	int (*flush_metrics)(const char *api_sock, struct err *e);
	int (*read_metrics)(const char *metrics_path, json_t **out, struct err *e);

	/* ---- operations ---- */

	/* Spawns the VMM, configures it and boots the guest. Blocks until the
	 * VMM reports the guest running (Firecracker: InstanceStart 204). On
	 * failure the process is killed and reaped, sockets are removed, and the
	 * error names the stage, the VMM's message and console_log. */
	int (*start)(const struct vmm_config *cfg, struct vmm_proc *out, struct err *e);

	/* Asks the guest to shut down (Firecracker: SendCtrlAltDel; QEMU: QMP
	 * send-key ctrl-alt-delete). Returns at once; does not wait for exit. */
	int (*request_stop)(const struct vmm_config *cfg, const struct vmm_proc *p, struct err *e);

	/* After the process is gone: removes the sockets it left behind. */
	void (*cleanup)(const struct vmm_config *cfg);

	/* Checks that bin exists and is a version banger supports; fills
	 * version ("1.16.1"). The error says what to install. */
	int (*probe)(const char *bin, char *version, size_t len, struct err *e);

	/* ---- suspend / resume: both NULL when the driver cannot ---- */

	/* Pauses the running guest behind cfg/p and writes its full state
	 * (memory and devices) as files in state_dir, an empty directory the
	 * daemon made; returns once they are complete and fsynced, with
	 * *state_bytes their total size. The VMM is left paused and running:
	 * the daemon ends it. On failure the guest is let run again where
	 * possible, and the error names the stage and the VMM's message.
	 * The daemon renames state_dir into place only after this returns 0,
	 * so a crash midway never leaves a state taken for complete. */
	int (*suspend)(const struct vmm_config *cfg, const struct vmm_proc *p,
		       const char *state_dir, long long *state_bytes, struct err *e);

	/* Like start, but the new VMM restores the state that suspend wrote
	 * into state_dir (same driver, and cfg as then: disks, tap name, MAC,
	 * vCPUs, memory) instead of booting, and lets the guest run on. On
	 * failure, as start: nothing is left running, sockets are removed;
	 * ERR_VMM with the VMM's message when it refused the state. */
	int (*resume)(const struct vmm_config *cfg, const char *state_dir, struct vmm_proc *out,
		      struct err *e);

	/* Lets a guest that suspend paused run again, ending a save under way
	 * (reconcile, after a daemon died mid-suspend). NULL with suspend. */
	int (*unpause)(const struct vmm_config *cfg, const struct vmm_proc *p, struct err *e);
};

extern const struct vmm_driver vmm_firecracker;
extern const struct vmm_driver vmm_qemu;

/* Looks a driver up by name; NULL if unknown. */
const struct vmm_driver *vmm_driver_find(const char *name);

#endif
