/* doctor: see doctor.h. */
#include "cli/doctor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <linux/kvm.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "bundle/bundle_info.h"
#include "net/net_addr.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/size.h"
#include "util/spawn.h"
#include "vmm/vmm.h"

#define KVM_API 12 /* the only stable KVM API version */

static void set(struct doctor_result *r, enum doctor_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set(struct doctor_result *r, enum doctor_status s, const char *fmt, ...)
{
	va_list ap;

	r->status = s;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void fix(struct doctor_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fix(struct doctor_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->fix, sizeof(r->fix), fmt, ap);
	va_end(ap);
}

const char *doctor_status_name(enum doctor_status s)
{
	return s == DOCTOR_OK ? "ok" : s == DOCTOR_WARN ? "warn" : "FAIL";
}

void doctor_env_init(struct doctor_env *env, const struct paths *p, const struct config *cfg)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	memset(env, 0, sizeof(*env));
	env->paths = p;
	env->cfg = cfg;
	env->runtime_dir = paths_runtime_dir(cfg);
	if (n > 0) {
		exe[n] = '\0';
		env->exe_dir = xstrdup(dirname(exe));
	} else {
		env->exe_dir = xstrdup(".");
	}
	env->kvm_dev = "/dev/kvm";
	env->pvm_dir = "/sys/module/kvm_pvm";
	env->route_file = "/proc/net/route";
	env->resolved_stub = "/run/systemd/resolve/stub-resolv.conf";
}

void doctor_env_free(struct doctor_env *env)
{
	free(env->runtime_dir);
	free(env->exe_dir);
	env->runtime_dir = env->exe_dir = NULL;
}

static int want_vmm(const struct doctor_env *env, const char *name)
{
	return env->cfg->vmm && strcmp(env->cfg->vmm, name) == 0;
}

/* ---- config ------------------------------------------------------------ */

static void check_config(struct doctor_env *env, struct doctor_result *r)
{
	if (env->config_error) {
		set(r, DOCTOR_FAIL, "%s", env->config_error);
		fix(r, "correct %s (the other checks use the defaults)", env->paths->config_file);
		return;
	}
	set(r, DOCTOR_OK, "%s%s", env->paths->config_file,
	    fs_exists(env->paths->config_file) ? "" : " (absent: defaults)");
}

/* ---- KVM --------------------------------------------------------------- */

static void check_kvm(struct doctor_env *env, struct doctor_result *r)
{
	/* Without usable KVM banger still runs VMs with QEMU's TCG (slowly);
	 * only a configuration that insists on KVM fails. */
	enum doctor_status bad =
	    want_vmm(env, "firecracker") ||
		    (env->cfg->qemu_accel && !strcmp(env->cfg->qemu_accel, "kvm"))
		? DOCTOR_FAIL
		: DOCTOR_WARN;
	const char *then = bad == DOCTOR_FAIL ? "the configured VMM needs KVM"
					      : "banger will use QEMU under TCG (slow)";
	struct passwd *pw = getpwuid(getuid());
	int fd, api, vm;

	fd = open(env->kvm_dev, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		set(r, bad, "%s is missing: %s", env->kvm_dev, then);
		fix(r,
		    "enable virtualization in the firmware and load the module "
		    "(sudo modprobe kvm_intel or kvm_amd); in a VM, turn on nested virtualization");
		return;
	}
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		struct stat st;
		struct group *g;
		const char *user = pw ? pw->pw_name : "$USER";

		set(r, bad, "%s is not readable and writable by you: %s", env->kvm_dev, then);
		/* Joining the device's group helps only if the group may use it. */
		if (stat(env->kvm_dev, &st) == 0 && (st.st_mode & 0060) == 0060 &&
		    (g = getgrgid(st.st_gid)))
			fix(r, "sudo usermod -aG %s %s, then log in again", g->gr_name, user);
		else
			fix(r,
			    "sudo chgrp kvm %s && sudo chmod 660 %s (for good: a udev rule "
			    "KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"), then sudo usermod -aG "
			    "kvm %s and log in again",
			    env->kvm_dev, env->kvm_dev, user);
		return;
	}
	if (fd < 0) {
		set(r, bad, "cannot open %s: %s: %s", env->kvm_dev, strerror(errno), then);
		fix(r, "check that %s is the KVM device (ls -l %s)", env->kvm_dev, env->kvm_dev);
		return;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API) {
		set(r, bad, "%s answers KVM_GET_API_VERSION with %d, not %d: %s", env->kvm_dev, api,
		    KVM_API, then);
		fix(r, "check that %s is the KVM device", env->kvm_dev);
		close(fd);
		return;
	}
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		set(r, bad, "%s opens but KVM_CREATE_VM fails (%s): %s", env->kvm_dev,
		    strerror(errno), then);
		fix(r, "another hypervisor may hold VT-x/AMD-V (VirtualBox, a nested host): "
		       "stop it, or use QEMU under TCG");
		close(fd);
		return;
	}
	close(vm);
	close(fd);
	if (access(env->pvm_dir, F_OK) == 0) {
		set(r, bad,
		    "%s works, but %s exists: a nested PVM host, where ordinary guest kernels do "
		    "not run under KVM; %s",
		    env->kvm_dev, env->pvm_dir, then);
		fix(r, "nothing to do for QEMU (it picks TCG by itself); for KVM speed run banger "
		       "on a host with hardware virtualization");
		return;
	}
	set(r, DOCTOR_OK, "%s is usable (KVM API %d)", env->kvm_dev, api);
}

/* ---- VMMs -------------------------------------------------------------- */

/* Where the daemon finds Firecracker (daemon/vm_bin.c): firecracker_bin,
 * the runtime bundle, PATH. */
static void probe_vmms(struct doctor_env *env)
{
	struct err e;
	char *b, *which;

	if (env->probed)
		return;
	env->probed = 1;
	if (env->cfg->firecracker_bin && env->cfg->firecracker_bin[0]) {
		snprintf(env->fc_bin, sizeof(env->fc_bin), "%s", env->cfg->firecracker_bin);
	} else {
		b = xasprintf("%s/firecracker", env->runtime_dir);
		snprintf(env->fc_bin, sizeof(env->fc_bin), "%s", fs_exists(b) ? b : "firecracker");
		free(b);
	}
	which = spawn_which(env->fc_bin);
	env->fc_found = which != NULL;
	if (which)
		snprintf(env->fc_bin, sizeof(env->fc_bin), "%s", which);
	free(which);
	err_clear(&e);
	if (env->fc_found &&
	    vmm_firecracker.probe(env->fc_bin, env->fc_version, sizeof(env->fc_version), &e) == 0)
		env->fc_ok = 1;
	else if (env->fc_found) {
		snprintf(env->fc_error, sizeof(env->fc_error), "%s", e.msg);
		snprintf(env->fc_hint, sizeof(env->fc_hint), "%s", e.hint);
	}

	which = spawn_which(env->cfg->qemu_bin ? env->cfg->qemu_bin : "qemu-system-x86_64");
	snprintf(env->qemu_bin, sizeof(env->qemu_bin), "%s",
		 which		      ? which
		 : env->cfg->qemu_bin ? env->cfg->qemu_bin
				      : "qemu-system-x86_64");
	err_clear(&e);
	if (which &&
	    vmm_qemu.probe(env->qemu_bin, env->qemu_version, sizeof(env->qemu_version), &e) == 0)
		env->qemu_ok = 1;
	else
		snprintf(env->qemu_error, sizeof(env->qemu_error), "%s",
			 which ? e.msg : "not found in PATH");
	free(which);
}

static void check_firecracker(struct doctor_env *env, struct doctor_result *r)
{
	/* Missing Firecracker is fine when QEMU can stand in (vmm = auto). */
	enum doctor_status bad;

	probe_vmms(env);
	bad = env->qemu_ok && !want_vmm(env, "firecracker") ? DOCTOR_WARN : DOCTOR_FAIL;
	if (env->fc_ok) {
		set(r, DOCTOR_OK, "Firecracker v%s at %s", env->fc_version, env->fc_bin);
		return;
	}
	if (want_vmm(env, "qemu"))
		bad = DOCTOR_OK;
	if (!env->fc_found)
		set(r, bad, "not found (firecracker_bin, %s/firecracker, PATH)%s", env->runtime_dir,
		    bad == DOCTOR_FAIL ? "" : ": banger will use QEMU");
	else
		set(r, bad, "%s%s", env->fc_error,
		    bad == DOCTOR_FAIL ? "" : ": banger will use QEMU");
	if (bad != DOCTOR_OK)
		fix(r,
		    "install Firecracker 1.8 or newer (github.com/firecracker-microvm/firecracker "
		    "releases) and set firecracker_bin in config.toml or put it in PATH");
}

static void check_qemu(struct doctor_env *env, struct doctor_result *r)
{
	enum doctor_status bad;

	probe_vmms(env);
	if (env->qemu_ok) {
		set(r, DOCTOR_OK, "QEMU %s at %s", env->qemu_version, env->qemu_bin);
		return;
	}
	/* QEMU is the fallback: its absence matters only without Firecracker. */
	bad = want_vmm(env, "qemu") || !env->fc_ok ? DOCTOR_FAIL : DOCTOR_WARN;
	if (want_vmm(env, "firecracker"))
		bad = DOCTOR_OK;
	set(r, bad, "%s: %s%s", env->qemu_bin, env->qemu_error,
	    bad == DOCTOR_WARN ? " (needed only where Firecracker cannot run)" : "");
	if (bad != DOCTOR_OK)
		fix(r, "sudo apt-get install qemu-system-x86 (or set qemu_bin in config.toml)");
}

/* ---- runtime bundle ------------------------------------------------------ */

static void check_bundle(struct doctor_env *env, struct doctor_result *r)
{
	struct bundle_info bi;
	struct err e;
	size_t n = 0;
	char *json = xasprintf("%s/bundle.json", env->runtime_dir);
	int exists = fs_exists(json);

	free(json);
	err_clear(&e);
	if (!exists) {
		set(r, DOCTOR_FAIL, "no runtime bundle at %s (kernel, initrd, base rootfs)",
		    env->runtime_dir);
		fix(r,
		    "make runtime-bundle (in the source tree), or set runtime_dir in config.toml");
		return;
	}
	if (bundle_info_load(env->runtime_dir, &bi, &e) < 0 ||
	    (bundle_info_free(&bi), bundle_info_verify(env->runtime_dir, &n, &e) < 0)) {
		set(r, DOCTOR_FAIL, "%s", e.msg);
		fix(r, "rebuild it with `make runtime-bundle` or fetch it again "
		       "(banger-bundle fetch)");
		return;
	}
	set(r, DOCTOR_OK, "%s: %zu files, SHA-256 verified", env->runtime_dir, n);
}

/* ---- host tools -------------------------------------------------------- */

/* The programs banger runs (grep spawn argv in src), by what needs them. */
struct toolset {
	const char *needed_by;
	enum doctor_status missing; /* FAIL, or WARN for one command only */
	const char *tools[6];
};

static const struct toolset toolsets[] = {
    {"vm create and disk resize",
     DOCTOR_FAIL,
     {"mkfs.ext4", "resize2fs", "e2fsck", "debugfs", "dumpe2fs", NULL}},
    {"VM networking (bridge, taps, NAT)", DOCTOR_FAIL, {"ip", "nft", NULL}},
    {"vm ssh, vm cp and the guest clock after a resume", DOCTOR_FAIL, {"ssh", "scp", NULL}},
    {"image build only", DOCTOR_WARN, {"mmdebstrap", "unshare", "tar", NULL}},
};

static void check_tools(const struct toolset *t, struct doctor_result *r)
{
	struct buf miss = BUF_INIT, pkgs = BUF_INIT;

	for (size_t i = 0; t->tools[i]; i++) {
		char *p = spawn_which(t->tools[i]);
		const char *pkg = spawn_package_for(t->tools[i]);

		if (p) {
			free(p);
			continue;
		}
		buf_printf(&miss, "%s%s", miss.len ? ", " : "", t->tools[i]);
		if (!pkg[0])
			pkg = !strcmp(t->tools[i], "mmdebstrap") ? "mmdebstrap"
			      : !strcmp(t->tools[i], "unshare")	 ? "util-linux"
			      : !strcmp(t->tools[i], "tar")	 ? "tar"
								 : t->tools[i];
		if (!strstr(buf_str(&pkgs), pkg))
			buf_printf(&pkgs, " %s", pkg);
	}
	if (!miss.len) {
		struct buf all = BUF_INIT;

		for (size_t i = 0; t->tools[i]; i++)
			buf_printf(&all, "%s%s", i ? ", " : "", t->tools[i]);
		set(r, DOCTOR_OK, "%s found", buf_str(&all));
		buf_free(&all);
	} else {
		set(r, t->missing, "not found in PATH: %s (needed by %s)", buf_str(&miss),
		    t->needed_by);
		fix(r, "sudo apt-get install%s", buf_str(&pkgs));
	}
	buf_free(&miss);
	buf_free(&pkgs);
}

#define TOOL_CHECK(i)                                                                              \
	static void check_tools_##i(struct doctor_env *env, struct doctor_result *r)               \
	{                                                                                          \
		(void)env;                                                                         \
		check_tools(&toolsets[i], r);                                                      \
	}
TOOL_CHECK(0)
TOOL_CHECK(1)
TOOL_CHECK(2)
TOOL_CHECK(3)

/* ---- subnet ------------------------------------------------------------- */

struct taken {
	char what[128];
	struct net_subnet sn;
};

/* The host's routes (main table) and interface addresses, leaving out
 * banger's own bridge and catch-all routes shorter than /8 (as
 * net_bridge_ensure does: a VPN's 0/1 + 128/1 is not a network). */
static size_t host_networks(struct doctor_env *env, struct taken *out, size_t max)
{
	size_t n = 0;
	char line[512];
	FILE *f = fopen(env->route_file, "r");
	struct ifaddrs *ifa = NULL;

	if (f) {
		while (n < max && fgets(line, sizeof(line), f)) {
			char dev[IF_NAMESIZE + 1];
			unsigned dst, gw, flags, refc, use, metric, mask;
			struct net_subnet sn;

			if (sscanf(line, "%16s %x %x %x %u %u %u %x", dev, &dst, &gw, &flags, &refc,
				   &use, &metric, &mask) != 8 ||
			    !strcmp(dev, env->cfg->bridge_name))
				continue;
			sn.net = ntohl(dst);
			sn.prefix = __builtin_popcount(mask);
			if (sn.prefix < 8)
				continue;
			char a[NET_CIDR_MAX];

			net_subnet_format(&sn, a);
			snprintf(out[n].what, sizeof(out[n].what), "route %s dev %s", a, dev);
			out[n++].sn = sn;
		}
		fclose(f);
	}
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i && n < max; i = i->ifa_next) {
			char a[NET_ADDR_MAX];
			uint32_t addr, mask;

			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask ||
			    !strcmp(i->ifa_name, env->cfg->bridge_name))
				continue;
			addr = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
			mask = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
			out[n].sn.prefix = __builtin_popcount(mask);
			out[n].sn.net = addr & mask;
			if (out[n].sn.prefix < 8)
				continue;
			net_addr_format(addr, a);
			snprintf(out[n].what, sizeof(out[n].what), "address %s/%d on %s", a,
				 out[n].sn.prefix, i->ifa_name);
			n++;
		}
		freeifaddrs(ifa);
	}
	return n;
}

void doctor_free_subnet(struct doctor_env *env, char *out, size_t len)
{
	static const char *const cand[] = {"172.31.77.0/24", "172.29.77.0/24", "172.28.77.0/24",
					   "10.177.77.0/24", "192.168.177.0/24"};
	struct taken t[256];
	size_t n = host_networks(env, t, 256);

	out[0] = '\0';
	for (size_t c = 0; c < sizeof(cand) / sizeof(cand[0]); c++) {
		struct net_subnet sn;
		size_t i = 0;

		net_subnet_parse(cand[c], &sn, NULL);
		while (i < n && !net_subnet_overlaps(&sn, &t[i].sn))
			i++;
		if (i == n) {
			snprintf(out, len, "%s", cand[c]);
			return;
		}
	}
}

static void check_subnet(struct doctor_env *env, struct doctor_result *r)
{
	struct net_subnet sn;
	struct taken t[256];
	struct err e;
	char free_sn[NET_CIDR_MAX];
	size_t n;

	err_clear(&e);
	if (net_subnet_parse(env->cfg->subnet, &sn, &e) < 0 || net_subnet_check(&sn, &e) < 0) {
		set(r, DOCTOR_FAIL, "subnet %s: %s", env->cfg->subnet, e.msg);
		fix(r, "%s", e.hint[0] ? e.hint : "set subnet in config.toml to a private /24");
		return;
	}
	n = host_networks(env, t, 256);
	for (size_t i = 0; i < n; i++) {
		if (!net_subnet_overlaps(&sn, &t[i].sn))
			continue;
		set(r, DOCTOR_FAIL, "subnet %s overlaps the host's %s", env->cfg->subnet,
		    t[i].what);
		doctor_free_subnet(env, free_sn, sizeof(free_sn));
		fix(r, "choose a free private range: subnet = \"%s\" in %s (or BANGER_SUBNET)",
		    free_sn[0] ? free_sn : "172.31.77.0/24", env->paths->config_file);
		return;
	}
	set(r, DOCTOR_OK, "%s is free of host routes and addresses (bridge %s)", env->cfg->subnet,
	    env->cfg->bridge_name);
}

/* ---- DNS ---------------------------------------------------------------- */

static void check_dns(struct doctor_env *env, struct doctor_result *r)
{
	struct net_subnet sn;
	char gw[NET_ADDR_MAX] = "172.30.77.1", *tool = spawn_which("resolvectl");
	char ifpath[64];

	if (net_subnet_parse(env->cfg->subnet, &sn, NULL) == 0)
		net_addr_format(net_subnet_bridge(&sn), gw);
	if (!fs_exists(env->resolved_stub) || !tool) {
		set(r, DOCTOR_WARN,
		    "systemd-resolved is not running%s: NAME.vm does not resolve on the host "
		    "(vm ssh NAME works anyway)",
		    tool ? "" : " (no resolvectl)");
		fix(r,
		    "sudo apt-get install systemd-resolved (bangerd then routes ~vm itself), or "
		    "forward vm. to %s port %lld in your resolver, e.g. dnsmasq: "
		    "server=/vm/%s#%lld",
		    gw, env->cfg->dns_port, gw, env->cfg->dns_port);
		free(tool);
		return;
	}
	snprintf(ifpath, sizeof(ifpath), "/sys/class/net/%s", env->cfg->bridge_name);
	if (fs_exists(ifpath)) {
		/* The bridge is up: bangerd should have registered ~vm on it. */
		const char *argv[] = {tool, "domain", env->cfg->bridge_name, NULL};
		char *out = NULL;
		struct err e;

		if (spawn_output(argv, NULL, &out, &e) < 0 || !strstr(out, "~vm")) {
			set(r, DOCTOR_WARN, "systemd-resolved does not route ~vm to %s",
			    env->cfg->bridge_name);
			fix(r,
			    "sudo resolvectl dns %s %s:%lld && sudo resolvectl domain %s '~vm' (or "
			    "restart bangerd: banger daemon stop)",
			    env->cfg->bridge_name, gw, env->cfg->dns_port, env->cfg->bridge_name);
			free(out);
			free(tool);
			return;
		}
		free(out);
		set(r, DOCTOR_OK, "systemd-resolved routes ~vm to %s:%lld on %s", gw,
		    env->cfg->dns_port, env->cfg->bridge_name);
	} else {
		set(r, DOCTOR_OK,
		    "systemd-resolved runs: bangerd routes ~vm to %s:%lld on %s when it "
		    "brings the bridge up",
		    gw, env->cfg->dns_port, env->cfg->bridge_name);
	}
	free(tool);
}

/* ---- privileged helper ---------------------------------------------------- */

/* banger-netd as bangerd finds it (daemon/vm_net.c). */
static char *netd_path(struct doctor_env *env)
{
	char *p;

	if (env->cfg->netd_path && env->cfg->netd_path[0])
		return xstrdup(env->cfg->netd_path);
	p = xasprintf("%s/banger-netd", env->exe_dir);
	if (!fs_exists(p)) {
		free(p);
		p = xasprintf("%s/../lib/banger/banger-netd", env->exe_dir);
	}
	return p;
}

static void check_netd(struct doctor_env *env, struct doctor_result *r)
{
	struct passwd *pw = getpwuid(getuid());
	char *helper, *sudo;
	struct spawn_opts o = {.capture = 1};
	struct spawn_result res;
	struct err e;

	if (geteuid() == 0) {
		set(r, DOCTOR_OK, "running as root: bangerd changes the network itself");
		return;
	}
	helper = netd_path(env);
	if (access(helper, X_OK) != 0) {
		set(r, DOCTOR_FAIL, "network helper %s not found", helper);
		fix(r, "install banger-netd next to bangerd (make install) or set netd_path in "
		       "config.toml");
		goto out;
	}
	sudo = spawn_which("sudo");
	free(sudo);
	if (!sudo) {
		set(r, DOCTOR_FAIL, "sudo is not installed: bangerd runs %s through sudo -n",
		    helper);
		fix(r,
		    "as root: apt-get install sudo, then visudo -f /etc/sudoers.d/banger: "
		    "%s ALL=(root) NOPASSWD: %s",
		    pw ? pw->pw_name : "YOUR_USER", helper);
		goto out;
	}
	/* -l asks sudo whether the command is allowed, without running it. */
	{
		const char *argv[] = {"sudo", "-n", "-l", helper, "nat-list", NULL};

		if (spawn_run(argv, &o, &res, &e) == 0 && res.status == 0) {
			set(r, DOCTOR_OK, "sudo -n allows %s", helper);
		} else {
			set(r, DOCTOR_FAIL, "sudo -n does not allow %s without a password", helper);
			fix(r,
			    "visudo -f /etc/sudoers.d/banger and add: %s ALL=(root) NOPASSWD: %s",
			    pw ? pw->pw_name : "YOUR_USER", helper);
		}
		free(res.out);
	}
out:
	free(helper);
}

/* ---- free space ----------------------------------------------------------- */

static void check_space(struct doctor_env *env, struct doctor_result *r)
{
	char *dir = xstrdup(env->paths->state_dir), avail_s[32];
	struct statvfs st;
	long long avail;

	/* The state directory may not exist yet: ask its nearest ancestor. */
	while (!fs_is_dir(dir) && strcmp(dir, "/") != 0) {
		char *up = xstrdup(dirname(dir));

		free(dir);
		dir = up;
	}
	if (statvfs(dir, &st) < 0) {
		set(r, DOCTOR_FAIL, "statvfs %s: %s", dir, strerror(errno));
		fix(r, "check that %s is readable", dir);
		free(dir);
		return;
	}
	avail = (long long)st.f_bavail * (long long)st.f_frsize;
	size_format(avail, avail_s, sizeof(avail_s));
	if (avail < DOCTOR_SPACE_WARN) {
		set(r, avail < DOCTOR_SPACE_FAIL ? DOCTOR_FAIL : DOCTOR_WARN,
		    "%s free in %s (banger wants %s, at least %s)", avail_s, dir, "5G", "1G");
		fix(r, "free space on that filesystem, or move the state directory "
		       "(XDG_STATE_HOME=/bigger/disk)");
	} else {
		set(r, DOCTOR_OK, "%s free in %s", avail_s, dir);
	}
	free(dir);
}

/* ---- daemon ----------------------------------------------------------------- */

static void check_daemon(struct doctor_env *env, struct doctor_result *r)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", env->paths->socket);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		set(r, DOCTOR_OK, "bangerd is running (%s)", env->paths->socket);
	else
		set(r, DOCTOR_OK, "bangerd is not running (the first banger command starts it)");
	if (fd >= 0)
		close(fd);
}

const struct doctor_check doctor_checks[] = {
    {"config", check_config},
    {"kvm", check_kvm},
    {"firecracker", check_firecracker},
    {"qemu", check_qemu},
    {"bundle", check_bundle},
    {"e2fsprogs", check_tools_0},
    {"network-tools", check_tools_1},
    {"ssh", check_tools_2},
    {"image-build-tools", check_tools_3},
    {"subnet", check_subnet},
    {"dns", check_dns},
    {"netd", check_netd},
    {"disk-space", check_space},
    {"daemon", check_daemon},
    {NULL, NULL},
};
