/* paths: XDG locations of banger's files. See config.h. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/fs.h"

/* $VAR if set and absolute, else $HOME/fallback. */
static char *xdg(const char *var, const char *home, const char *fallback)
{
	const char *v = getenv(var);

	if (v && v[0] == '/')
		return xasprintf("%s/banger", v);
	return xasprintf("%s/%s/banger", home, fallback);
}

int paths_init(struct paths *p, struct err *e)
{
	const char *home = getenv("HOME");
	const char *rt = getenv("XDG_RUNTIME_DIR");

	memset(p, 0, sizeof(*p));
	if (!home || home[0] != '/')
		return err_set(e, ERR_INVALID, "HOME is not set to an absolute path");
	p->config_dir = xdg("XDG_CONFIG_HOME", home, ".config");
	p->config_file = xasprintf("%s/config.toml", p->config_dir);
	p->state_dir = xdg("XDG_STATE_HOME", home, ".local/state");
	p->cache_dir = xdg("XDG_CACHE_HOME", home, ".cache");
	/* Sockets must fit sun_path (108 bytes): keep the run dir short. */
	if (rt && rt[0] == '/' && strlen(rt) < 60)
		p->run_dir = xasprintf("%s/banger", rt);
	else
		p->run_dir = xasprintf("/tmp/banger-%u", (unsigned)getuid());
	p->socket = xasprintf("%s/bangerd.sock", p->run_dir);
	p->pid_file = xasprintf("%s/bangerd.pid", p->run_dir);
	p->db = xasprintf("%s/banger.db", p->state_dir);
	p->log = xasprintf("%s/bangerd.log", p->state_dir);
	p->vms_dir = xasprintf("%s/vms", p->state_dir);
	p->images_dir = xasprintf("%s/images", p->state_dir);
	p->image_build_dir = xasprintf("%s/image-build", p->state_dir);
	p->ssh_dir = xasprintf("%s/ssh", p->state_dir);
	return 0;
}

/* The run dir may be under /tmp: refuse one that another user owns. */
static int check_private(const char *dir, struct err *e)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return err_errno(e, errno, "stat %s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
		err_set(e, ERR_PERMISSION, "%s is not a directory owned by you", dir);
		err_hint(e, "remove it or set XDG_RUNTIME_DIR");
		return -1;
	}
	if ((st.st_mode & 0077) && chmod(dir, 0700) < 0)
		return err_errno(e, errno, "chmod %s", dir);
	return 0;
}

int paths_ensure(const struct paths *p, struct err *e)
{
	const char *dirs[] = {p->state_dir,	  p->vms_dir, p->images_dir,
			      p->image_build_dir, p->ssh_dir, p->cache_dir};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (fs_mkdir_p(dirs[i], 0700, e) < 0)
			return -1;
	if (mkdir(p->run_dir, 0700) < 0 && errno != EEXIST)
		return err_errno(e, errno, "create %s", p->run_dir);
	return check_private(p->run_dir, e);
}

void paths_free(struct paths *p)
{
	char **all[] = {&p->config_file, &p->config_dir, &p->state_dir,	 &p->cache_dir,
			&p->run_dir,	 &p->socket,	 &p->pid_file,	 &p->db,
			&p->log,	 &p->vms_dir,	 &p->images_dir, &p->image_build_dir,
			&p->ssh_dir};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(*all[i]);
		*all[i] = NULL;
	}
}

char *paths_runtime_dir(const struct config *cfg)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *dir, *installed;

	if (cfg->runtime_dir && cfg->runtime_dir[0])
		return xstrdup(cfg->runtime_dir);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return xstrdup("runtime");
	exe[n] = '\0';
	dir = dirname(exe);
	installed = xasprintf("%s/../lib/banger", dir);
	if (fs_is_dir(installed)) {
		char *real = fs_realpath(installed);

		free(installed);
		return real ? real : xstrdup("runtime");
	}
	free(installed);
	return xasprintf("%s/runtime", dir);
}
