/* vm_bin: see vm_bin.h. */
#include "daemon/vm_bin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/spawn.h"
#include "vmm/vmm.h"

/* A binary file that probed fine. The file is named by what changes when
 * it is replaced or upgraded in place (device, inode, size, mtime), so a
 * new binary is probed again. Only successes are kept: a failure may be
 * passing (a process start refused under load), and a failing create is
 * not the path worth saving a process start on. */
struct bin_probe {
	const struct vmm_driver *drv;
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct vm_bin_cache {
	pthread_mutex_t lock;
	struct bin_probe *v;
	size_t n;
};

void vm_bin_cache_init(struct daemon *d)
{
	d->bins = xcalloc(1, sizeof(*d->bins));
	pthread_mutex_init(&d->bins->lock, NULL);
}

void vm_bin_cache_done(struct daemon *d)
{
	if (!d->bins)
		return;
	for (size_t i = 0; i < d->bins->n; i++)
		free(d->bins->v[i].path);
	free(d->bins->v);
	pthread_mutex_destroy(&d->bins->lock);
	free(d->bins);
	d->bins = NULL;
}

char *vm_bin_path(struct daemon *d, const char *driver)
{
	if (strcmp(driver, "qemu") == 0)
		return xstrdup(d->cfg.qemu_bin);
	if (d->cfg.firecracker_bin && d->cfg.firecracker_bin[0])
		return xstrdup(d->cfg.firecracker_bin);
	{
		char *b = xasprintf("%s/firecracker", d->runtime_dir);

		if (fs_exists(b))
			return b;
		free(b);
	}
	return xstrdup("firecracker");
}

/* The file exec would run for bin (a path, or a name looked up in PATH
 * as execvp does), stat'ed. -1 if there is none: the probe then runs
 * uncached and reports it. */
static int bin_stat(const char *bin, struct stat *st)
{
	const char *path = getenv("PATH");
	int found = -1;

	if (strchr(bin, '/'))
		return stat(bin, st);
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; found < 0 && *p;) {
		size_t len = strcspn(p, ":");
		char *cand = xasprintf("%.*s/%s", (int)len, len ? p : ".", bin);

		if (access(cand, X_OK) == 0 && stat(cand, st) == 0 && S_ISREG(st->st_mode))
			found = 0;
		free(cand);
		p += len + (p[len] == ':');
	}
	return found;
}

static struct bin_probe *cache_find(struct vm_bin_cache *c, const struct vmm_driver *drv,
				    const char *bin, const struct stat *st)
{
	for (size_t i = 0; i < c->n; i++) {
		struct bin_probe *b = &c->v[i];

		if (b->drv == drv && strcmp(b->path, bin) == 0 && b->dev == st->st_dev &&
		    b->ino == st->st_ino && b->size == st->st_size &&
		    b->mtime.tv_sec == st->st_mtim.tv_sec &&
		    b->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return b;
	}
	return NULL;
}

/* Replaces the entry for (drv, bin), if any: a changed file's old answer
 * is never asked for again. */
static void cache_put(struct vm_bin_cache *c, const struct vmm_driver *drv, const char *bin,
		      const struct stat *st)
{
	struct bin_probe *b = NULL;

	for (size_t i = 0; i < c->n && !b; i++)
		if (c->v[i].drv == drv && strcmp(c->v[i].path, bin) == 0)
			b = &c->v[i];
	if (!b) {
		c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
		b = &c->v[c->n++];
		b->path = xstrdup(bin);
		b->drv = drv;
	}
	b->dev = st->st_dev;
	b->ino = st->st_ino;
	b->size = st->st_size;
	b->mtime = st->st_mtim;
}

/* drv->probe(bin), answered from the cache when the file is the one
 * probed before. The lock is not held while the probe runs (a process
 * start); two requests that miss together both probe, harmlessly. */
static int probe_cached(struct daemon *d, const struct vmm_driver *drv, const char *bin,
			struct err *e)
{
	struct vm_bin_cache *c = d->bins;
	char ver[64];
	struct stat st;
	int hit;

	if (!c || bin_stat(bin, &st) < 0)
		return drv->probe(bin, ver, sizeof(ver), e);
	pthread_mutex_lock(&c->lock);
	hit = cache_find(c, drv, bin, &st) != NULL;
	pthread_mutex_unlock(&c->lock);
	if (hit)
		return 0;
	if (drv->probe(bin, ver, sizeof(ver), e) < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	cache_put(c, drv, bin, &st);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int usable(struct daemon *d, const char *driver, struct err *e)
{
	const struct vmm_driver *drv = vmm_driver_find(driver);
	char *bin;
	int ret;

	if (!drv)
		return err_set(e, ERR_INVALID, "unknown VMM \"%s\"", driver);
	bin = vm_bin_path(d, driver);
	ret = probe_cached(d, drv, bin, e);
	free(bin);
	return ret;
}

int vm_bin_choose(struct daemon *d, const char *want, char *out, size_t len, struct err *e)
{
	const char *w = want && want[0] ? want : d->cfg.vmm;

	if (strcmp(w, "auto") == 0) {
		if (usable(d, "firecracker", NULL) == 0)
			w = "firecracker";
		else
			w = "qemu";
		if (usable(d, w, e) < 0) {
			err_wrap(e, "no usable VMM: firecracker was not found and QEMU");
			err_hint(
			    e,
			    "install QEMU (apt-get install qemu-system-x86) or set firecracker_bin");
			return -1;
		}
	} else if (strcmp(w, "firecracker") && strcmp(w, "qemu")) {
		err_set(e, ERR_INVALID, "unknown VMM \"%s\"", w);
		err_hint(e, "use auto, firecracker or qemu");
		return -1;
	} else if (usable(d, w, e) < 0) {
		return -1;
	}
	snprintf(out, len, "%s", w);
	return 0;
}

void vm_bin_identity(struct daemon *d, const char *driver, char *out, size_t len)
{
	char *bin = vm_bin_path(d, driver);
	struct stat st;

	if (bin_stat(bin, &st) < 0)
		snprintf(out, len, "%s (not found)", bin);
	else
		snprintf(out, len, "%s %llu:%llu %lld %lld.%09ld", bin,
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	free(bin);
}
