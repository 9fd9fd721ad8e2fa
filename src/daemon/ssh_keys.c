/* ssh_keys: see ssh_keys.h. */
#include "daemon/ssh_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/keygen.h"
#include "daemon/vm.h"
#include "util/buf.h"
#include "util/fs.h"

char *ssh_user_key_path(const struct daemon *d)
{
	if (d->cfg.ssh_key_path && d->cfg.ssh_key_path[0])
		return xstrdup(d->cfg.ssh_key_path);
	return xasprintf("%s/id_ed25519", d->paths.ssh_dir);
}

char *ssh_known_hosts_path(const struct daemon *d)
{
	return xasprintf("%s/known_hosts", d->paths.ssh_dir);
}

/* In-process (keygen.h): the files ssh-keygen -t ed25519 -N "" would
 * write, without a process start on every create. */
static int keygen(const char *path, const char *comment, struct err *e)
{
	return keygen_ed25519(path, comment, e);
}

int ssh_user_key_ensure(struct daemon *d, char **pub, struct err *e)
{
	char *key = ssh_user_key_path(d), *pubpath = xasprintf("%s.pub", key);
	int ret = -1;

	pthread_mutex_lock(&d->lock); /* two creates must not both generate it */
	if (!fs_exists(key)) {
		if (keygen(key, "banger", e) < 0) {
			pthread_mutex_unlock(&d->lock);
			goto out;
		}
		log_info(d->log, "generated SSH key", LF_S("path", key));
	}
	pthread_mutex_unlock(&d->lock);
	if (fs_read(pubpath, 16384, pub, NULL, e) < 0) {
		err_hint(e, "ssh_key_path %s needs its public half next to it (%s)", key, pubpath);
		goto out;
	}
	ret = 0;
out:
	free(key);
	free(pubpath);
	return ret;
}

int ssh_host_key_create(struct daemon *d, const char *key_path, struct err *e)
{
	(void)d;
	return keygen(key_path, "banger-vm", e);
}

int ssh_known_hosts_sync(struct daemon *d, struct err *e)
{
	struct store_vm *vms = NULL;
	struct buf out = BUF_INIT;
	char *path = ssh_known_hosts_path(d);
	size_t n = 0;
	int ret = -1;

	if (store_vm_list(d->store, &vms, &n, e) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		struct vm_files f;
		char *pubpath, *pub = NULL, *nl;

		vm_files_get(d, &vms[i], &f);
		pubpath = xasprintf("%s.pub", f.host_key);
		if (fs_read(pubpath, 16384, &pub, NULL, NULL) == 0) {
			/* "ssh-ed25519 AAAA... comment" -> keep type and key. */
			char *sp = strchr(pub, ' ');

			sp = sp ? strchr(sp + 1, ' ') : NULL;
			if (sp)
				*sp = '\0';
			if ((nl = strchr(pub, '\n')))
				*nl = '\0';
			buf_printf(&out, "%s,%s.vm%s%s %s\n", vms[i].name, vms[i].name,
				   vms[i].address[0] ? "," : "", vms[i].address, pub);
		}
		free(pub);
		free(pubpath);
	}
	ret = fs_write_atomic(path, buf_str(&out), out.len, 0600, e);
done:
	free(vms);
	free(path);
	buf_free(&out);
	return ret;
}
