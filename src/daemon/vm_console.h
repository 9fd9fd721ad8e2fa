/*
 * vm_console: a VM's console log (firecracker.log, both drivers) read for
 * console_scan (vmm/console_scan.h): where the last boot begins, feeding
 * what was appended since an offset, and the summary a failed boot's error
 * shows (what the console said and its last lines).
 *
 * Reads only; never blocks on anything but the file. A file that cannot be
 * read reads as empty (the error then says so through its log path).
 */
#ifndef BANGER_DAEMON_VM_CONSOLE_H
#define BANGER_DAEMON_VM_CONSOLE_H

#include <sys/types.h>

#include "util/buf.h"
#include "vmm/console_scan.h"

/* The offset of the last "--- banger: ... start ..." marker (vmm.h) in
 * path: where the current boot's console begins. 0 when there is none. */
off_t vm_console_marker(const char *path);

/* The size of path now (0 if absent): the marker of a VMM about to be
 * spawned goes there, as the driver appends it. */
off_t vm_console_size(const char *path);

/* Feeds path's bytes from off to its current end into s (fn hears each
 * event, may be NULL). Returns the offset reached. */
off_t vm_console_feed(const char *path, off_t off, struct console_scan *s, console_scan_fn fn,
		      void *ctx);

/* Scans the current boot (from the last marker to the end) into s. */
void vm_console_scan_boot(const char *path, struct console_scan *s);

/* The trouble a scan found (first since boot, a shutdown line included),
 * or NULL. */
const struct console_event *vm_console_trouble(const struct console_scan *s);

/* Appends the last console lines of s to out, each on its own line
 * indented, at most max lines cut to 160 bytes each. */
void vm_console_tail_text(const struct console_scan *s, size_t max, struct buf *out);

#endif
