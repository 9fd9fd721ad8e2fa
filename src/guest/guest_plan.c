/*
 * guest_plan: build the mount plan described in guest_plan.h. Pure.
 */
#include "guest/guest_plan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

/* Formats into dst; false when it did not fit. */
static bool fmt(char *dst, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static bool fmt(char *dst, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(dst, cap, f, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < cap;
}

static struct guest_step *add(struct guest_plan *p, enum guest_step_kind kind, const char *what)
{
	struct guest_step *s;

	if (p->n == GUEST_PLAN_STEPS)
		abort(); /* a programming error: raise GUEST_PLAN_STEPS */
	s = &p->steps[p->n++];

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->what, sizeof(s->what), "%s", what);
	return s;
}

static bool mkdir_step(struct guest_plan *p, const char *what, const char *dir, const char *sub)
{
	struct guest_step *s = add(p, GUEST_STEP_MKDIR, what);

	return fmt(s->target, sizeof(s->target), "%s%s", dir, sub);
}

static bool mount_step(struct guest_plan *p, const char *what, const char *src, const char *fstype,
		       unsigned long flags, const char *target)
{
	struct guest_step *s = add(p, GUEST_STEP_MOUNT, what);

	snprintf(s->fstype, sizeof(s->fstype), "%s", fstype);
	s->flags = flags;
	return fmt(s->source, sizeof(s->source), "%s", src) &&
	       fmt(s->target, sizeof(s->target), "%s", target);
}

static bool move_step(struct guest_plan *p, const char *what, const char *src, const char *target)
{
	struct guest_step *s = add(p, GUEST_STEP_MOVE, what);

	return fmt(s->source, sizeof(s->source), "%s", src) &&
	       fmt(s->target, sizeof(s->target), "%s", target);
}

static int check(const char *name, const char *v, struct err *e)
{
	if (!v || v[0] != '/')
		return err_set(e, ERR_INVALID, "mount plan: %s must be an absolute path, got '%s'",
			       name, v ? v : "(none)");
	if (strlen(v) > GUEST_PLAN_PATH / 4)
		return err_set(e, ERR_INVALID, "mount plan: %s is too long: %s", name, v);
	return 0;
}

int guest_plan_build(const struct guest_plan_input *in, struct guest_plan *out, struct err *e)
{
	char base[GUEST_PLAN_PATH], ovl[GUEST_PLAN_PATH], root[GUEST_PLAN_PATH];
	char rootdir[GUEST_PLAN_PATH], ro[GUEST_PLAN_PATH], rw[GUEST_PLAN_PATH];
	bool ok = true;

	memset(out, 0, sizeof(*out));
	if (check("base device", in->base_dev, e) < 0 ||
	    check("overlay device", in->overlay_dev, e) < 0 ||
	    check("work device", in->work_dev, e) < 0 || check("staging dir", in->stage, e) < 0)
		return -1;
	/* check() bounds every input to a quarter of the buffers: these fit. */
	snprintf(base, sizeof(base), "%s/base", in->stage);
	snprintf(ovl, sizeof(ovl), "%s/overlay", in->stage);
	snprintf(root, sizeof(root), "%s/root", in->stage);
	snprintf(rootdir, sizeof(rootdir), "%s/root", root);
	snprintf(ro, sizeof(ro), "%s%s", root, GUEST_PLAN_RO_DIR);
	snprintf(rw, sizeof(rw), "%s%s", root, GUEST_PLAN_RW_DIR);
	snprintf(out->root, sizeof(out->root), "%s", root);

	ok &= mkdir_step(out, "create the base mount point", base, "");
	ok &= mkdir_step(out, "create the overlay mount point", ovl, "");
	ok &= mkdir_step(out, "create the root mount point", root, "");
	ok &= mount_step(out, "mount the base image (read-only)", in->base_dev, "ext4", MS_RDONLY,
			 base);
	ok &= mount_step(out, "mount the overlay disk", in->overlay_dev, "ext4", 0, ovl);
	ok &= mkdir_step(out, "create the overlay's upper dir", ovl, "/upper");
	ok &= mkdir_step(out, "create the overlay's work dir", ovl, "/work");
	ok &= mount_step(out, "mount the overlay root", "overlay", "overlay", 0, root);
	ok &= fmt(out->steps[out->n - 1].data, GUEST_PLAN_DATA,
		  "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", base, ovl, ovl);
	ok &= mkdir_step(out, "create /root", rootdir, "");
	ok &= mount_step(out, "mount the work disk at /root", in->work_dev, "ext4", 0, rootdir);
	ok &= mkdir_step(out, "create /media", root, "/media");
	ok &= mkdir_step(out, "create " GUEST_PLAN_RO_DIR, ro, "");
	ok &= mkdir_step(out, "create " GUEST_PLAN_RW_DIR, rw, "");
	ok &= move_step(out, "move the base mount to " GUEST_PLAN_RO_DIR, base, ro);
	ok &= move_step(out, "move the overlay disk mount to " GUEST_PLAN_RW_DIR, ovl, rw);
	if (!ok)
		return err_set(e, ERR_INVALID, "mount plan: a path is too long");
	return 0;
}
