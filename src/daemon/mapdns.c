/* mapdns: see mapdns.h. */
#include "daemon/mapdns.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/fs.h"

char *mapdns_data_path(const struct daemon *d)
{
	if (d->cfg.mapdns_data_file && d->cfg.mapdns_data_file[0])
		return xstrdup(d->cfg.mapdns_data_file);
	if (d->cfg.mapdns_bin && d->cfg.mapdns_bin[0])
		return xasprintf("%s/mapdns.json", d->paths.state_dir);
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

void mapdns_publish(struct daemon *d)
{
	char *path = mapdns_data_path(d), *text = NULL, *out = NULL;
	struct store_vm *vms = NULL;
	json_t *zone = NULL;
	size_t n = 0;
	const char *key;
	json_t *val;
	void *tmp;
	struct err e;

	if (!path)
		return;
	/* Keep the user's own entries; ours are exactly the *.vm. names. */
	if (fs_read(path, 16 << 20, &text, NULL, NULL) == 0)
		zone = json_loads(text, 0, NULL);
	if (!json_is_object(zone)) {
		json_decref(zone);
		zone = json_object();
	}
	json_object_foreach_safe(zone, tmp, key, val) if (ends_with(key, ".vm."))
	    json_object_del(zone, key);
	if (store_vm_list(d->store, &vms, &n, &e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char name[80];

		if (vms[i].state != VM_STATE_RUNNING || !vms[i].address[0])
			continue;
		snprintf(name, sizeof(name), "%s.vm.", vms[i].name);
		json_object_set_new(zone, name, json_pack("{s:s}", "A", vms[i].address));
	}
	out = json_dumps(zone, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!out || fs_write_atomic(path, out, strlen(out), 0644, &e) < 0)
		log_warn(d->log, "cannot publish VMs to mapdns", LF_S("path", path),
			 LF_S("error", e.msg));
out:
	free(vms);
	free(text);
	free(out);
	free(path);
	json_decref(zone);
}
