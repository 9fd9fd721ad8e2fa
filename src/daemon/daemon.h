/*
 * daemon: bangerd's shared context, handed to every part of the daemon.
 *
 * Lock order: d->lock (VM state transitions and the runtime table) may be
 * taken while holding nothing; no other daemon lock is held while waiting
 * for a VMM or a host command.
 */
#ifndef BANGER_DAEMON_DAEMON_H
#define BANGER_DAEMON_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "config/config.h"
#include "store/store.h"
#include "util/log.h"

struct supervisor;
struct events;
struct netstate;
struct dnsstate;
struct vm_mark;
struct workers;
struct vm_bin_cache;
struct vm_usage;
struct vm_views;
struct portfwd;
struct shares;

struct daemon {
	struct paths paths;
	struct config cfg;
	struct logger *log;
	struct store *store;
	char *runtime_dir; /* runtime bundle directory */
	char *exe_dir;	   /* where bangerd lives (to find banger-netd) */
	pthread_mutex_t lock;
	/* Orders VM events: taken before d->lock (never while holding it) to
	 * read a VM and emit it as one step (vm_update_publish). */
	pthread_mutex_t publish_lock;
	pthread_cond_t changed; /* broadcast whenever a VM's process state changes */
	struct vm_mark *marks;	/* per-VM busy / pending-exit marks (vm_update.c), under lock */
	size_t nmarks;
	struct supervisor *sup;
	struct events *events;
	struct netstate *net;
	struct dnsstate *dns;
	struct workers *workers;   /* background threads, drained at shutdown (workers.h) */
	struct vm_bin_cache *bins; /* VMM binaries probed once per file (vm_bin.h) */
	struct vm_usage *usage;	   /* disk usage of each VM, kept in memory (vm.h) */
	struct vm_views *views;	   /* each VM's list text, under lock (vm_list_text) */
	struct portfwd *ports;	   /* published ports' relay (portfwd.h), or NULL */
	struct shares *shares;	   /* shared directories' sessions (shares.h), or NULL */
	atomic_int shutting_down;  /* set once by daemon_request_shutdown, never cleared */
	int wake_fd;		   /* eventfd written to end the main loop */
	/* Socket activation (listen_fds.h): the API socket systemd passed, or
	 * -1 when bangerd binds its own. */
	int listen_fd;
	long long started_ms;
};

/* Asks the main loop to shut down (API "daemon stop", SIGTERM). */
void daemon_request_shutdown(struct daemon *d);

#endif
