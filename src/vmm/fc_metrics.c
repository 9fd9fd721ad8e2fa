/* fc_metrics: see fc_metrics.h. */
#include "vmm/fc_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "vmm/fc_api.h"

/* One metrics line is tens of KiB at most; reading this much of the end of
 * the file always holds the last complete line. */
#define FC_METRICS_TAIL (1024 * 1024)

/* Reads at most FC_METRICS_TAIL bytes from the end of path. */
static int read_tail(const char *path, char **out, size_t *len, struct err *e)
{
	struct stat st;
	off_t off = 0;
	size_t want, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *data;

	if (fd < 0)
		return err_errno(e, errno, "open metrics file %s", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_errno(e, errno, "stat %s", path);
	}
	if (st.st_size > FC_METRICS_TAIL)
		off = st.st_size - FC_METRICS_TAIL;
	want = (size_t)(st.st_size - off);
	data = xmalloc(want + 1);
	while (got < want) {
		ssize_t n = pread(fd, data + got, want - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*out = data;
	*len = got;
	return 0;
}

int fc_metrics_read_last(const char *metrics_path, json_t **out, struct err *e)
{
	char *data = NULL;
	size_t len = 0, end;
	int ret = -1;

	*out = NULL;
	if (read_tail(metrics_path, &data, &len, e) < 0)
		return -1;
	/* Only text up to the last newline is complete. Walk back over lines
	 * until one parses (a line cut at the start of our window does not). */
	end = len;
	while (end > 0 && data[end - 1] != '\n')
		end--;
	while (end > 0) {
		size_t start = end - 1;

		while (start > 0 && data[start - 1] != '\n')
			start--;
		if (end - 1 > start) {
			*out = json_loadb(data + start, end - 1 - start, 0, NULL);
			if (json_is_object(*out)) {
				ret = 0;
				goto out;
			}
			json_decref(*out);
			*out = NULL;
		}
		end = start;
	}
	err_set(e, ERR_NOT_FOUND, "no metrics in %s yet", metrics_path);
	err_hint(e, "Firecracker writes metrics every 60 s while the VM runs");
out:
	free(data);
	return ret;
}

int fc_flush_metrics(const char *api_sock, struct err *e)
{
	struct fc_api *c = fc_api_new(api_sock, NULL);
	json_t *body = json_pack("{s:s}", "action_type", "FlushMetrics");
	int ret = fc_api_call(c, "PUT", "/actions", body, FC_API_TIMEOUT_MS, NULL, e);

	json_decref(body);
	fc_api_free(c);
	if (ret < 0)
		return err_wrap(e, "flush metrics");
	return 0;
}
