/*
 * vm: the VM operations behind the API (create, start, stop, kill, delete,
 * set) and the reaction to a VMM process exiting.
 *
 * Every change is written to the database before the host is touched, with
 * a transitional state (creating, starting, stopping, deleting), so that after
 * a crash reconcile() can finish or roll back what was under way. Every write
 * of an existing record goes through vm_update() (vm_update.c): under d->lock
 * it reads the record afresh, applies an edit, checks the state machine
 * (state/vm_state.h), writes, wakes waiters and emits the event.
 */
#ifndef BANGER_DAEMON_VM_H
#define BANGER_DAEMON_VM_H

#include <jansson.h>
#include <signal.h>

#include "daemon/daemon.h"
#include "store/store.h"
#include "util/buf.h"
#include "vmm/console_scan.h"
#include "vmm/vmm.h"

struct stream;

/* Files of one VM, derived from its id. */
struct vm_files {
	char dir[512];
	char overlay[600];
	char work[600];
	char console_log[600];
	char metrics[600];
	char host_key[600];
	char api_sock[108];
	/* Saved guest state (vm_suspend.c): complete only under its final
	 * name; written as suspend.tmp, renamed suspend.used while a resume
	 * consumes it. */
	char suspend[600];
	char suspend_tmp[600];
	char suspend_used[600];
};

void vm_files_get(const struct daemon *d, const struct store_vm *vm, struct vm_files *f);

struct vm_create_req {
	const char *name;	    /* NULL: generate */
	const char *image;	    /* NULL: "default" */
	long long vcpu, memory_mib; /* 0: config default */
	const char *disk_size;	    /* NULL: config default */
	const char *vmm;	    /* NULL: config */
	int nat;
	int no_start;
	int no_wait;	       /* return once the VMM is up (the VM is "starting") */
	int suspend_on_stop;   /* -1: config default */
	const json_t *publish; /* array of "[ADDR:]HOST:GUEST" strings, or NULL */
	const json_t *mount;   /* array of "HOSTDIR[:GUESTPATH][:ro]" strings, or NULL */
	int autostart;
};

/* progress may be NULL; it receives {"progress": "..."} lines. */
int vm_create(struct daemon *d, const struct vm_create_req *req, struct stream *progress,
	      struct store_vm *out, struct err *e);
/* vm clone (vm_create.c): a new VM named new_name from a stopped or
 * suspended one (held meanwhile): the same image and settings, copies of
 * its overlay and work disk (reflinks where the file system has them, else
 * only their data), and its own id, name, MAC, address, SSH host key and
 * machine-id. The clone is stopped; a suspended source's memory stays its
 * own (the clone's disks are as at the suspend). */
int vm_clone(struct daemon *d, const char *src_name, const char *new_name, struct stream *prog,
	     struct store_vm *out, struct err *e);

/* Disk checkpoints (vm_snapshot.c) of a stopped or suspended VM, held
 * while they run: create copies its disks (and a suspended VM's saved
 * state) under tag (NULL: the UTC time); list gives {"snapshots": [...]};
 * restore brings them back (the VM is then suspended if the snapshot
 * holds a state, else stopped); reconcile finishes or drops what a
 * crash cut short. */
int vm_snapshot_create(struct daemon *d, const char *name, const char *tag, json_t **out,
		       struct err *e);
int vm_snapshot_list(struct daemon *d, const char *name, json_t **out, struct err *e);
int vm_snapshot_restore(struct daemon *d, const char *name, const char *tag, struct store_vm *out,
			struct err *e);
int vm_snapshot_delete(struct daemon *d, const char *name, const char *tag, struct err *e);
void vm_snapshot_reconcile(struct daemon *d, const struct store_vm *vm);

/* vm start: boots the VM and waits for its guest's ready line (the VM is
 * then "running"); no_wait: returns once the VMM is up ("starting") and a
 * worker waits. A boot that fails (console trouble, VMM gone, boot_timeout)
 * leaves the VM "stopped" with last_error set; the error adds the console's
 * last lines. A VM already starting is waited for (not started twice). */
int vm_start(struct daemon *d, const char *name, int no_wait, struct store_vm *out, struct err *e);
/* vm stop: a running VM shuts down (or, set to suspend_on_stop, is
 * suspended); a suspended one loses its saved state. vm_halt always shuts
 * down (restart, delete). */
int vm_stop(struct daemon *d, const char *name, struct store_vm *out, struct err *e);
int vm_halt(struct daemon *d, const char *name, struct store_vm *out, struct err *e);
int vm_restart(struct daemon *d, const char *name, int no_wait, struct store_vm *out,
	       struct err *e);
int vm_kill(struct daemon *d, const char *name, int sig, struct store_vm *out, struct err *e);
int vm_delete(struct daemon *d, const char *name, int force, struct err *e);

struct vm_set_req {
	long long vcpu, memory_mib; /* 0: unchanged */
	const char *disk_size;	    /* NULL: unchanged */
	int nat;		    /* -1: unchanged */
	int suspend_on_stop;	    /* -1: unchanged */
	int force;     /* a suspended VM: discard its saved state to apply the change */
	int autostart; /* -1: unchanged; else 0 or 1 (any state) */
};
int vm_set(struct daemon *d, const char *name, const struct vm_set_req *req, struct store_vm *out,
	   struct err *e);

/* An edit of one record, run under d->lock on a copy just read. busy is what
 * holds the VM (vm_busy_claim_locked), or NULL. Returns 0 to write the
 * record, VM_EDIT_SKIP to leave it as it is (success: out gets it), or -1
 * with e filled to refuse. It must not block or take other locks. */
typedef int (*vm_edit_fn)(struct store_vm *vm, const char *busy, void *arg, struct err *e);
#define VM_EDIT_SKIP 1

/* Applies edit to the VM named name (or id) and writes it. A state change
 * that the table does not allow, or any state change while the VM is busy,
 * is refused with ERR_BAD_STATE. A failed write is logged (VM and error)
 * and returned. out gets the record as written. */
int vm_update(struct daemon *d, const char *name, vm_edit_fn edit, void *arg, struct store_vm *out,
	      struct err *e);

/* The same with d->lock held by the caller, for one more step under the
 * same hold (sup_watch, a busy claim). Returns -1, 0 (nothing written) or a
 * VM_UPD_* value to hand to vm_update_publish() once the lock is released. */
enum { VM_UPD_FIELDS = 2, VM_UPD_STATE, VM_UPD_CREATED };
int vm_update_locked(struct daemon *d, const char *name, vm_edit_fn edit, void *arg,
		     struct store_vm *out, struct err *e);
void vm_update_publish(struct daemon *d, int rc, const struct store_vm *vm);

/* Waits (d->lock held) for d->changed until deadline_ms, a mono_ms() time,
 * or 200 ms at most: callers re-check their condition in a loop. */
void vm_wait_changed_locked(struct daemon *d, long long deadline_ms);

/* Busy marks (under d->lock): an operation that holds a VM without a state
 * of its own. Claiming a busy VM fails with ERR_BAD_STATE. what is a static
 * string ("its disk is being resized") used in the refusal. */
int vm_busy_claim_locked(struct daemon *d, const struct store_vm *vm, const char *what,
			 struct err *e);
const char *vm_busy_locked(struct daemon *d, const char *id);
void vm_busy_release(struct daemon *d, const char *id); /* takes d->lock */

/* What the end of a VMM process writes (state stopped, pid 0, the texts
 * unless empty), onto the record only if its pid is still pid. */
struct vm_exit {
	long long pid;
	char last_exit[256];
	char last_error[1024];
	int suspended; /* a resume that could not begin: its saved state is kept */
};
int vm_exit_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e);
/* Keeps an exit the database refused, to retry before the next write of
 * that VM and to show in vm_to_json meanwhile (under d->lock). */
void vm_exit_pending_locked(struct daemon *d, const struct store_vm *vm, const struct vm_exit *x);
int vm_exit_is_pending_locked(struct daemon *d, const char *id);
/* Applies a pending exit to vm, a copy for display. */
void vm_view_locked(struct daemon *d, struct store_vm *vm);
/* 1 if vm_view_locked would change the record of id (a pending exit). */
int vm_view_differs_locked(struct daemon *d, const char *id);

/* ERR_BAD_STATE "the VM is STATE" with a hint that fits the state. Returns -1. */
int vm_refuse(struct err *e, const struct store_vm *vm);

/* Called by the supervisor when a VMM process ended. status is the exit
 * status (128+signal when killed), or -1 when unknown (not our child). */
void vm_on_exit(struct daemon *d, const char *vm_id, int status);
/* Called by the supervisor when the guest printed its power-down line. */
void vm_on_poweroff(struct daemon *d, const char *vm_id);
/* Called by the supervisor for each console event of a watched VM (never
 * with d->lock held): CONSOLE_READY makes a starting VM running; trouble
 * (console_kind_fatal but a shutdown) sets last_error. t0_ms: realtime ms
 * when that boot began (for ready_ms). See vm_ready.c. */
void vm_on_console(struct daemon *d, const char *vm_id, const struct console_event *ev,
		   long long t0_ms);

/* Waits until the starting VM id is running (0, out = its record) or its
 * boot failed: trouble on the console, the VMM gone, or the mono_ms()
 * deadline passed. A failed boot whose VMM is still up is stopped; the
 * error says why, with the console's last lines and its path. At daemon
 * shutdown it returns 0 at once with the VM still starting (out says so):
 * the next daemon re-adopts it and waits. */
int vm_boot_wait(struct daemon *d, const char *id, long long deadline, struct store_vm *out,
		 struct err *e);
/* vm_boot_wait now (no_wait 0), or on a worker (no_wait 1: returns 0). */
int vm_boot_follow(struct daemon *d, struct store_vm *vm, int no_wait, long long deadline,
		   struct err *e);
/* The boot_timeout deadline (mono_ms) of a VM whose VMM started at
 * vm->started_at. */
long long vm_boot_deadline(struct daemon *d, const struct store_vm *vm);
/* Waits until the VM no longer has a VMM (or its exit is pending), up to
 * timeout_ms. 0 when it stopped. */
int vm_wait_stopped(struct daemon *d, const char *id, int timeout_ms);
long long vm_realtime_ms(void);

/* Startup: re-adopt live VMMs, mark dead ones stopped, finish or roll back
 * half-done operations. */
void vm_reconcile(struct daemon *d);
/* After reconcile, on a worker (the API serves meanwhile): starts every
 * VM with autostart set that is stopped, logging each; a failure is logged
 * and put in that VM's last_error and the others still start. See
 * vm_autostart.c (where resuming suspended VMs will go). */
void vm_autostart(struct daemon *d);
/* Part of reconcile: kills VMM processes (found by the API socket path in
 * their argv) that are not the recorded VMM of any VM. */
void vm_kill_orphans(struct daemon *d);

/* Stops every running VM's supervision without stopping the VMs (daemon
 * shutdown: VMs keep running and are re-adopted next time). */

/* `vm stats`: live figures of one VM (see vm_stats.c). flush: ask
 * Firecracker for fresh counters first (it logs two lines each time). */
int vm_stats(struct daemon *d, const char *name, int flush, json_t **out, struct err *e);

/* JSON view of a VM for the API (everything `vm show` prints). Takes
 * d->lock briefly (a pending exit shows as stopped): never call it with
 * d->lock held. */
json_t *vm_to_json(struct daemon *d, const struct store_vm *vm);
/* GET /v1/vms's body, {"vms": [every VM's view, sorted by name]}, as JSON
 * text appended to out (object keys in strcmp order): disk usage as last
 * measured (vm_usage.h). Same d->lock rule. indented: the array laid out
 * as `banger vm list --json` prints it (cli_json_indent, what jansson's
 * JSON_INDENT(2) gives), asked for by the CLI with the request header
 * VM_LIST_LAYOUT_HEADER: "indent", so that it prints the text as it comes
 * (each VM's indented text is kept like its compact one). Other clients
 * get the compact text, the same JSON. */
#define VM_LIST_LAYOUT_HEADER "X-Banger-Layout"
int vm_list_text(struct daemon *d, struct buf *out, int indented, struct err *e);
/* Frees the texts vm_list_text keeps (d->views). */
void vm_views_done(struct daemon *d);

/* vm suspend (vm_suspend.c): saves the running guest's state into the VM's
 * directory, ends its VMM and releases its tap; the VM is "suspended". A
 * suspended VM is success at once. A save that fails lets the guest run on
 * (still "running") and says why. */
int vm_suspend(struct daemon *d, const char *name, struct store_vm *out, struct err *e);

/* The start of a suspended VM (called by boot with the VM "starting" and
 * its network up): resumes it from its saved state when that is usable.
 * 1: resumed, *p is the new VMM (the state is consumed: renamed
 * suspend.used, for vm_resume_done to remove); 0: nothing to resume, or
 * the state was unusable and is discarded (note says why, "" when there
 * was none): boot cold. */
int vm_resume_begin(struct daemon *d, const struct store_vm *vm, const struct vmm_config *c,
		    struct vmm_proc *p, char *note, size_t note_len);
/* After a resume was recorded: removes the consumed state, and starts a
 * worker that sets the guest's clock (it stood still while suspended) over
 * SSH. Logs, never fails. */
void vm_resume_done(struct daemon *d, const struct store_vm *vm);

/* Discards the saved state of a suspended VM named name: it becomes
 * stopped (the next start boots cold). Nothing happens to a VM in another
 * state. Used by vm stop and vm set --force. */
int vm_discard_state(struct daemon *d, const char *name, struct err *e);

/* Reconcile of a VM found suspending or suspended, or with leftover state
 * files (vm_suspend.c). 1 when it handled the VM. */
int vm_suspend_reconcile(struct daemon *d, struct store_vm *vm);

/* The VMM configuration of a VM as a start uses it. args holds the boot
 * arguments (buf_free it); bin and tap must outlive c. */
void vm_vmm_config(struct daemon *d, const struct store_vm *vm, const struct store_image *img,
		   const struct vm_files *f, struct buf *args, char *bin, const char *tap,
		   struct vmm_config *c);

/* Published ports (vm_ports.c). check: the record list `list` clashes with
 * no other VM's (d->lock held). join: a request's array of specs as a
 * record list. sync: the VM's forwards follow its state (open while it
 * runs) and its list; called with every published change. port_add/rm:
 * `vm port add NAME SPEC` (a running VM's forward opens now, or the add is
 * refused), `vm port rm NAME [ADDR:]HOSTPORT`. */
int vm_ports_check_locked(struct daemon *d, const char *vm_id, const char *list, struct err *e);
int vm_ports_join(json_t *arr, char *out, size_t len, struct err *e);
void vm_ports_sync(struct daemon *d, const struct store_vm *vm);
void vm_ports_sync_all(struct daemon *d);
int vm_port_add(struct daemon *d, const char *name, const char *spec, struct store_vm *out,
		struct err *e);
int vm_port_rm(struct daemon *d, const char *name, const char *which, struct store_vm *out,
	       struct err *e);

/* Shared host directories (vm_mounts.c). join: a create request's array
 * of "HOSTDIR[:GUESTPATH][:ro]" specs as a record list (each directory
 * resolved and checked). sync: the VM's share sessions follow its state
 * (mounted while it runs) and its list; called with every published
 * change. wait: until a running VM's shares are mounted (a failure is
 * logged, not returned: the VM runs all the same). view: adds each
 * share's "state" and "error" to a VM's JSON view. mount_add: `vm mount`
 * (a running VM's share must mount, or nothing is recorded); mount_rm:
 * `vm umount NAME GUESTPATH|HOSTDIR`. */
int vm_mounts_join(json_t *arr, char *out, size_t len, struct err *e);
void vm_mounts_sync(struct daemon *d, const struct store_vm *vm);
void vm_mounts_sync_all(struct daemon *d);
/* Startup: the share sessions' manager (d->shares). */
int vm_mounts_start(struct daemon *d, struct err *e);
void vm_mounts_wait(struct daemon *d, const struct store_vm *vm);
void vm_mounts_view(struct daemon *d, const struct store_vm *vm, json_t *view);
int vm_mount_add(struct daemon *d, const char *name, const char *host, const char *guest, int ro,
		 struct store_vm *out, struct err *e);
int vm_mount_rm(struct daemon *d, const char *name, const char *which, struct store_vm *out,
		struct err *e);

/* The driver a VM uses. */
const struct vmm_driver *vm_driver(const struct store_vm *vm);

/* Signal names <-> numbers for `vm kill --signal`. */
int vm_signal_parse(const char *s, int *sig, struct err *e);

#endif
