/* vm_net: see vm_net.h. */
#include "daemon/vm_net.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns_server.h"
#include "net/net_addr.h"
#include "net/net_ops.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/spawn.h"

struct netstate {
	struct net_conf conf;
	struct net_subnet subnet;
	char gateway[NET_ADDR_MAX];
	char *log_path;
	char *helper;
	int enabled;
	char reason[ERR_MSG_MAX];
	char hint[ERR_AUX_MAX];
	struct dns_server *dns;
	int resolved;	      /* registered with systemd-resolved */
	pthread_mutex_t lock; /* serialises host network changes */
	/* Parked taps (net_tap_park), under lock: a stopped VM's tap is
	 * renamed at once and deleted here in the background, by the reaper
	 * thread, unless a start takes it over first. A daemon that dies
	 * first leaves them to the next one's reconcile. */
	struct net_list spares;
	pthread_cond_t spare_cv;
	pthread_t reaper;
	int reaper_on, quit;
	unsigned long long spare_seq;
	struct daemon *d;
};

/* DNS lookups come from the responder's thread: the store is serialised. */
static int dns_lookup(void *ctx, const char *name, uint32_t *ipv4)
{
	struct daemon *d = ctx;
	struct store_vm vm;
	struct in_addr a;

	if (store_vm_get(d->store, name, &vm, NULL) < 0 || strcmp(vm.name, name) != 0 ||
	    vm.state != VM_STATE_RUNNING || !vm.address[0] ||
	    inet_pton(AF_INET, vm.address, &a) != 1)
		return 0;
	*ipv4 = a.s_addr; /* network byte order, as dns_lookup_fn wants */
	return 1;
}

/* Where systemd-resolved runs, route the vm. zone to our responder. */
static void resolved_register(struct daemon *d, struct netstate *n)
{
	char dns[64];
	const char *set_dns[] = {"resolvectl", "dns", n->conf.bridge, dns, NULL};
	const char *set_dom[] = {"resolvectl", "domain", n->conf.bridge, "~vm", NULL};
	struct err e;
	char *tool = spawn_which("resolvectl");

	free(tool);
	if (!fs_exists("/run/systemd/resolve/stub-resolv.conf") || !tool)
		return;
	snprintf(dns, sizeof(dns), "%s:%lld", n->gateway, d->cfg.dns_port);
	if (spawn_check(set_dns, n->log_path, &e) == 0 &&
	    spawn_check(set_dom, n->log_path, &e) == 0) {
		n->resolved = 1;
		log_info(d->log, "registered .vm with systemd-resolved",
			 LF_S("path", n->conf.bridge));
	} else {
		log_warn(d->log, "cannot register .vm with systemd-resolved", LF_S("error", e.msg));
	}
}

static void disable(struct netstate *n, const struct err *e)
{
	n->enabled = 0;
	snprintf(n->reason, sizeof(n->reason), "%s", e->msg);
	snprintf(n->hint, sizeof(n->hint), "%s", e->hint);
}

int vmnet_check_config(const struct config *cfg, struct err *e)
{
	struct net_subnet sn;

	if (net_subnet_parse(cfg->subnet, &sn, e) < 0 || net_subnet_check(&sn, e) < 0)
		return err_wrap(e, "config subnet");
	if (!net_name_is_bridge(cfg->bridge_name)) {
		err_set(e, ERR_INVALID, "config bridge_name \"%s\" is not a banger bridge name",
			cfg->bridge_name);
		err_hint(e, "use \"banger\" followed by lowercase letters or digits, at most 15 "
			    "characters (e.g. banger0)");
		return -1;
	}
	return 0;
}

/* Deletes parked taps one after another, lock released while `ip` runs;
 * at shutdown (quit) it empties the list first. */
static void *reaper_main(void *arg)
{
	struct netstate *n = arg;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		char *spare;
		struct err e;

		while (!n->spares.n && !n->quit)
			pthread_cond_wait(&n->spare_cv, &n->lock);
		if (!n->spares.n)
			break;
		spare = n->spares.items[--n->spares.n];
		pthread_mutex_unlock(&n->lock);
		err_clear(&e);
		if (net_ops_tap_del(&n->conf, spare, &e) < 0)
			log_warn(n->d->log, "cannot remove a parked tap", LF_S("path", spare),
				 LF_S("error", e.msg));
		free(spare);
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

static void reaper_start(struct netstate *n)
{
	if (n->conf.use_helper)
		return; /* no parking through the helper (net_ops.h) */
	n->spare_seq = ((unsigned long long)time(NULL) << 16) ^ (unsigned long long)getpid();
	n->reaper_on = pthread_create(&n->reaper, NULL, reaper_main, n) == 0;
}

/* Hands a leaked or unusable spare to the reaper. n->lock held. */
static void spare_add_locked(struct netstate *n, const char *spare)
{
	if (!net_list_has(&n->spares, spare))
		net_list_add(&n->spares, spare);
	pthread_cond_signal(&n->spare_cv);
}

int vmnet_init(struct daemon *d, struct err *e)
{
	struct netstate *n = xcalloc(1, sizeof(*n));

	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->spare_cv, NULL);
	n->d = d;
	d->net = n;
	n->log_path = xasprintf("%s/network.log", d->paths.state_dir);
	n->helper = d->cfg.netd_path && d->cfg.netd_path[0]
			? xstrdup(d->cfg.netd_path)
			: xasprintf("%s/banger-netd", d->exe_dir);
	if (!fs_exists(n->helper) && !(d->cfg.netd_path && d->cfg.netd_path[0])) {
		/* Installed layout: PREFIX/bin/bangerd, PREFIX/lib/banger/banger-netd. */
		free(n->helper);
		n->helper = xasprintf("%s/../lib/banger/banger-netd", d->exe_dir);
	}
	n->conf.bridge = d->cfg.bridge_name;
	n->conf.subnet = d->cfg.subnet;
	n->conf.run_dir = d->paths.run_dir;
	n->conf.log_path = n->log_path;
	n->conf.helper_path = n->helper;
	n->conf.use_helper = net_ops_need_helper();
	if (net_subnet_parse(d->cfg.subnet, &n->subnet, e) < 0 ||
	    net_subnet_check(&n->subnet, e) < 0) {
		err_wrap(e, "subnet");
		goto fail;
	}
	net_addr_format(net_subnet_bridge(&n->subnet), n->gateway);
	if (net_ops_bridge_up(&n->conf, e) < 0)
		goto fail;
	n->enabled = 1;
	reaper_start(n);
	n->dns = dns_server_start(n->gateway, (int)d->cfg.dns_port, dns_lookup, d, d->log, e);
	if (!n->dns) {
		log_warn(d->log, "DNS responder not started", LF_S("error", e->msg));
		err_clear(e);
	} else {
		resolved_register(d, n);
	}
	log_info(d->log, "network ready", LF_S("path", n->conf.bridge),
		 LF_S("subnet", d->cfg.subnet), LF_S("gateway", n->gateway));
	return 0;
fail:
	disable(n, e);
	return -1;
}

void vmnet_done(struct daemon *d)
{
	struct netstate *n = d->net;

	if (!n)
		return;
	dns_server_stop(n->dns);
	if (n->reaper_on) {
		pthread_mutex_lock(&n->lock);
		n->quit = 1;
		pthread_cond_signal(&n->spare_cv);
		pthread_mutex_unlock(&n->lock);
		pthread_join(n->reaper, NULL);
	}
	net_list_free(&n->spares);
	pthread_cond_destroy(&n->spare_cv);
	/* The bridge and the running VMs' taps stay: the VMs keep running. */
	free(n->log_path);
	free(n->helper);
	pthread_mutex_destroy(&n->lock);
	free(n);
	d->net = NULL;
}

int vmnet_alloc_address(struct daemon *d, char addr[16], struct err *e)
{
	struct store_vm *vms = NULL;
	const char **used;
	size_t n = 0, k = 0;
	int ret;

	if (store_vm_list(d->store, &vms, &n, e) < 0)
		return -1;
	used = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (vms[i].address[0])
			used[k++] = vms[i].address;
	ret = net_alloc_guest_str(d->cfg.subnet, used, k, addr, e);
	free(used);
	free(vms);
	return ret;
}

static int need_net(struct netstate *n, struct err *e)
{
	if (n && n->enabled)
		return 0;
	err_set(e, ERR_UNAVAILABLE, "networking is not available: %s",
		n && n->reason[0] ? n->reason : "not initialised");
	if (n && n->hint[0])
		err_hint(e, "%s", n->hint);
	return -1;
}

/* 1 if the bridge exists and is up: one ioctl. net_ops_bridge_up checks
 * and repairs it whole (routes, address, state) with four `ip` runs, and
 * vmnet_init did that at startup: a start redoes it only for a bridge
 * that was removed or taken down since (what a hand removal does). */
static int bridge_is_up(const char *name)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), up;

	if (fd < 0 || strlen(name) >= sizeof(ifr.ifr_name)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	close(fd);
	return up;
}

/* Takes over a parked tap as tap: 1 if done. n->lock held. */
static int tap_unpark_locked(struct netstate *n, const char *tap)
{
	char *spare;
	struct err e;
	int ok;

	if (!n->reaper_on || !n->spares.n)
		return 0;
	spare = n->spares.items[--n->spares.n];
	err_clear(&e);
	ok = net_ops_tap_unpark(&n->conf, spare, tap, &e) == 0;
	if (!ok) {
		log_warn(n->d->log, "cannot reuse a parked tap", LF_S("path", spare),
			 LF_S("error", e.msg));
		spare_add_locked(n, spare);
	}
	free(spare);
	return ok;
}

/* The tap's delete waits for an RCU barrier (15-25 ms): on the path of
 * `vm stop` it is parked instead (net_tap_park), which sets it down and
 * takes it out of the bgr* names in a fraction of a millisecond, and the
 * reaper deletes it. 0 when parked or absent. n->lock held. */
static int tap_park_locked(struct netstate *n, const char *tap)
{
	struct err e;

	if (!n->reaper_on)
		return -1;
	for (int tries = 0; tries < 3; tries++) {
		char spare[NET_IFNAME_MAX];
		int rc;

		snprintf(spare, sizeof(spare), NET_SPARE_PREFIX "%012llx",
			 n->spare_seq++ & 0xffffffffffffULL);
		err_clear(&e);
		rc = net_ops_tap_park(&n->conf, tap, spare, &e);
		if (rc == 1)
			return 0;
		if (rc == 0) {
			spare_add_locked(n, spare);
			return 0;
		}
	}
	log_warn(n->d->log, "cannot park tap, deleting it", LF_S("path", tap),
		 LF_S("error", e.msg));
	return -1;
}

int vmnet_up(struct daemon *d, const struct store_vm *vm, char *tap, size_t taplen, struct err *e)
{
	struct netstate *n = d->net;
	char name[NET_IFNAME_MAX];
	int ret = -1;

	if (need_net(n, e) < 0)
		return err_wrap(e, "network");
	net_tap_name(vm->id, name);
	pthread_mutex_lock(&n->lock);
	/* The bridge may have been removed by hand since we started. */
	if (!bridge_is_up(n->conf.bridge) && net_ops_bridge_up(&n->conf, e) < 0)
		goto out;
	if (!tap_unpark_locked(n, name) &&
	    net_ops_tap_add(&n->conf, name, (unsigned)getuid(), e) < 0)
		goto out;
	if (vm->nat && net_ops_nat_add(&n->conf, vm->id, name, vm->address, e) < 0) {
		net_ops_tap_del(&n->conf, name, NULL);
		goto out;
	}
	snprintf(tap, taplen, "%s", name);
	ret = 0;
out:
	pthread_mutex_unlock(&n->lock);
	if (ret < 0)
		err_wrap(e, "network for %s", vm->name);
	return ret;
}

void vmnet_down(struct daemon *d, const struct store_vm *vm)
{
	struct netstate *n = d->net;
	char name[NET_IFNAME_MAX];
	struct err e;

	if (!n || !n->enabled)
		return;
	net_tap_name(vm->id, name);
	pthread_mutex_lock(&n->lock);
	/* Without NAT there are no rules (vm set --no-nat removed them, and
	 * reconcile removes leaked ones): skip the nft round trip. */
	if (vm->nat && net_ops_nat_del(&n->conf, vm->id, &e) < 0)
		log_warn(d->log, "cannot remove NAT rules", LF_S("vm", vm->name),
			 LF_S("error", e.msg));
	if (tap_park_locked(n, name) < 0 && net_ops_tap_del(&n->conf, name, &e) < 0)
		log_warn(d->log, "cannot remove tap", LF_S("vm", vm->name), LF_S("error", e.msg));
	pthread_mutex_unlock(&n->lock);
}

int vmnet_set_nat(struct daemon *d, const struct store_vm *vm, int on, struct err *e)
{
	struct netstate *n = d->net;
	char name[NET_IFNAME_MAX];
	int ret;

	if (need_net(n, e) < 0)
		return -1;
	net_tap_name(vm->id, name);
	pthread_mutex_lock(&n->lock);
	ret = on ? net_ops_nat_add(&n->conf, vm->id, name, vm->address, e)
		 : net_ops_nat_del(&n->conf, vm->id, e);
	pthread_mutex_unlock(&n->lock);
	if (ret == 0)
		log_info(d->log, on ? "NAT on" : "NAT off", LF_S("vm", vm->name));
	return ret;
}

void vmnet_boot_args(struct daemon *d, const struct store_vm *vm, struct buf *b)
{
	struct netstate *n = d->net;

	buf_printf(b, "banger.hostname=%s", vm->name);
	if (n && n->enabled && vm->address[0])
		buf_printf(b, " banger.ip=%s/%d banger.gw=%s banger.dns=%s", vm->address,
			   n->subnet.prefix, n->gateway, n->gateway);
}

void vmnet_mac(const char *vm_id, char mac[18])
{
	net_mac(vm_id, mac);
}

/* Removes taps and NAT rules that no running VM owns. */
/* Adds the NAT rules of a running NAT VM that has none. n->lock held. */
static void nat_restore(struct daemon *d, const struct store_vm *vm)
{
	char tap[NET_IFNAME_MAX];
	struct err e;

	net_tap_name(vm->id, tap);
	log_info(d->log, "adding missing NAT rules", LF_S("vm", vm->name), LF_S("vm_id", vm->id));
	if (net_ops_nat_add(&d->net->conf, vm->id, tap, vm->address, &e) < 0)
		log_error(d->log, "cannot add NAT rules", LF_S("vm", vm->name),
			  LF_S("error", e.msg));
}

void vmnet_reconcile(struct daemon *d)
{
	struct netstate *n = d->net;
	struct net_list taps = {0}, nats = {0}, keep_tap = {0}, keep_nat = {0};
	struct store_vm *vms = NULL;
	size_t nvms = 0;
	struct err e;

	if (!n || !n->enabled || store_vm_list(d->store, &vms, &nvms, &e) < 0)
		return;
	for (size_t i = 0; i < nvms; i++) {
		char tap[NET_IFNAME_MAX];

		if (!vm_state_has_vmm(vms[i].state))
			continue;
		net_tap_name(vms[i].id, tap);
		net_list_add(&keep_tap, tap);
		if (vms[i].nat)
			net_list_add(&keep_nat, vms[i].id);
	}
	pthread_mutex_lock(&n->lock);
	if (net_ops_tap_list(&n->conf, &taps, &e) == 0) {
		for (size_t i = 0; i < taps.n; i++) {
			if (net_name_is_spare(taps.items[i]) && n->reaper_on) {
				spare_add_locked(n, taps.items[i]);
			} else if (!net_list_has(&keep_tap, taps.items[i])) {
				log_info(d->log, "removing leaked tap",
					 LF_S("path", taps.items[i]));
				net_ops_tap_del(&n->conf, taps.items[i], NULL);
			}
		}
	}
	if (net_ops_nat_list(&n->conf, &nats, &e) == 0) {
		for (size_t i = 0; i < nats.n; i++)
			if (!net_list_has(&keep_nat, nats.items[i])) {
				log_info(d->log, "removing leaked NAT rules",
					 LF_S("vm_id", nats.items[i]));
				net_ops_nat_del(&n->conf, nats.items[i], NULL);
			}
		/* `vm set --nat` records the setting before it adds the rules: a
		 * daemon that died in between left a NAT VM without them. Only
		 * for a VMM still alive: one that has just exited (a re-adopted
		 * VM whose stop is being finished) had its rules taken down by
		 * vm_on_exit, which waits for n->lock only if it has not yet. */
		for (size_t i = 0; i < nvms; i++)
			if (vms[i].state == VM_STATE_RUNNING && vms[i].nat &&
			    !net_list_has(&nats, vms[i].id) &&
			    proc_alive((pid_t)vms[i].pid, vms[i].pid_start))
				nat_restore(d, &vms[i]);
	}
	pthread_mutex_unlock(&n->lock);
	net_list_free(&taps);
	net_list_free(&nats);
	net_list_free(&keep_tap);
	net_list_free(&keep_nat);
	free(vms);
}

json_t *vmnet_status(struct daemon *d)
{
	struct netstate *n = d->net;
	char dns[64];
	json_t *o;

	if (!n || !n->enabled)
		return json_pack("{s:b, s:s, s:s}", "enabled", 0, "reason", n ? n->reason : "",
				 "hint", n ? n->hint : "");
	snprintf(dns, sizeof(dns), "%s:%lld", n->gateway, d->cfg.dns_port);
	o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:b}", "enabled", 1, "bridge", n->conf.bridge,
		      "subnet", d->cfg.subnet, "gateway", n->gateway, "dns", n->dns ? dns : "off",
		      "resolved", n->resolved);
	if (!n->resolved)
		json_object_set_new(
		    o, "dns_hint",
		    json_string("systemd-resolved is not running: to resolve NAME.vm on the host, "
				"point your resolver's vm. zone at the dns address above "
				"(e.g. dnsmasq: server=/vm/ADDRESS)"));
	return o;
}
