/*
 * bundle_download: see bundle_download.h. One libcurl easy handle per call;
 * the file is appended to as data arrives, so an interrupted download leaves a
 * prefix that the next call continues with a Range request.
 */
#include "bundle/bundle_download.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

struct dl {
	CURL *curl;
	int fd;
	curl_off_t offset;  /* bytes already in the file when the transfer began */
	curl_off_t written; /* bytes written by this transfer */
	int write_errno;
	const struct bundle_progress *progress;
	int last_step; /* last progress step printed (percent or MiB/64) */
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct dl *d = arg;
	size_t len = size * n, done = 0;

	while (done < len) {
		ssize_t w = write(d->fd, data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			d->write_errno = errno;
			return 0; /* makes curl stop with CURLE_WRITE_ERROR */
		}
		done += (size_t)w;
	}
	d->written += (curl_off_t)len;
	return len;
}

static void draw_progress(struct dl *d, curl_off_t now, curl_off_t total)
{
	const struct bundle_progress *p = d->progress;
	double mib = (double)now / (1 << 20), tmib = (double)total / (1 << 20);
	int pct = total > 0 ? (int)(now * 100 / total) : -1;
	char bar[31];

	if (total <= 0) { /* size unknown: a line every 64 MiB */
		if (now / (64 << 20) > d->last_step || (p->tty && pct != d->last_step)) {
			d->last_step = (int)(now / (64 << 20));
			dprintf(p->fd, p->tty ? "\rdownloaded %.1f MiB " : "downloaded %.1f MiB\n",
				mib);
		}
		return;
	}
	if (!p->tty) {
		if (pct / 10 > d->last_step) {
			d->last_step = pct / 10;
			dprintf(p->fd, "downloaded %d%% (%.1f of %.1f MiB)\n", pct, mib, tmib);
		}
		return;
	}
	if (pct == d->last_step)
		return;
	d->last_step = pct;
	for (int i = 0; i < 30; i++)
		bar[i] = i < pct * 30 / 100 ? '#' : '.';
	bar[30] = '\0';
	dprintf(p->fd, "\r[%s] %3d%% %.1f/%.1f MiB", bar, pct, mib, tmib);
}

/* libcurl's progress callback: totals here cover only this transfer, so the
 * bytes we resumed from are added. Returning non-zero would abort. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct dl *d = arg;

	(void)ultotal;
	(void)ulnow;
	if (d->progress && d->progress->fd >= 0 && (dlnow > 0 || dltotal > 0))
		draw_progress(d, d->offset + dlnow, dltotal > 0 ? d->offset + dltotal : 0);
	return 0;
}

/* Errors after which the bytes we have are still good and a retry resumes. */
static int is_interruption(CURLcode rc)
{
	switch (rc) {
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static void setup(struct dl *d, const char *url, char *errbuf)
{
	CURL *c = d->curl;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "banger/" BANGER_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer (under 1 byte/s for a minute) counts as interrupted. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	if (d->offset > 0)
		curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, d->offset);
}

/* Turns a failed transfer into a message that says what went wrong. */
static int report(struct dl *d, CURLcode rc, const char *url, const char *path, const char *errbuf,
		  struct err *e)
{
	long code = 0;

	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_WRITE_ERROR && d->write_errno)
		return err_errno(e, d->write_errno, "download %s: write %s", url, path);
	if (rc == CURLE_HTTP_RETURNED_ERROR) {
		err_set(e, code == 404 ? ERR_NOT_FOUND : ERR_UNAVAILABLE,
			"download %s: server answered HTTP %ld", url, code);
		err_hint(e, "check url in runtime-bundle.toml and that the bundle is published");
		return -1;
	}
	err_set(e, ERR_UNAVAILABLE, "download %s: %s", url,
		errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (is_interruption(rc) && (d->offset + d->written) > 0)
		err_hint(e,
			 "the download broke off after %lld bytes; run the same command again "
			 "to resume it",
			 (long long)(d->offset + d->written));
	return -1;
}

/* One transfer attempt starting from the file's current size. */
static CURLcode transfer(struct dl *d, const char *url, char *errbuf)
{
	struct stat st;

	if (fstat(d->fd, &st) < 0)
		return CURLE_WRITE_ERROR;
	d->offset = st.st_size;
	d->written = 0;
	d->last_step = -1;
	errbuf[0] = '\0';
	curl_easy_reset(d->curl);
	setup(d, url, errbuf);
	if (lseek(d->fd, 0, SEEK_END) < 0)
		return CURLE_WRITE_ERROR;
	return curl_easy_perform(d->curl);
}

int bundle_download(const char *url, const char *path, const struct bundle_progress *progress,
		    int *interrupted, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct dl d = {.fd = -1, .progress = progress};
	CURLcode rc;
	long code = 0;
	int ret = -1;

	*interrupted = 0;
	d.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d.fd < 0)
		return err_errno(e, errno, "open %s", path);
	d.curl = curl_easy_init();
	if (!d.curl) {
		err_set(e, ERR_INTERNAL, "download %s: cannot initialise libcurl", url);
		goto out;
	}
	rc = transfer(&d, url, errbuf);
	curl_easy_getinfo(d.curl, CURLINFO_RESPONSE_CODE, &code);
	/* What we have cannot be continued: the server does not do ranges
	 * (CURLE_RANGE_ERROR) or our bytes are not a prefix of its file (416).
	 * Start over once from zero. */
	if (d.offset > 0 &&
	    (rc == CURLE_RANGE_ERROR || (rc == CURLE_HTTP_RETURNED_ERROR && code == 416))) {
		if (ftruncate(d.fd, 0) < 0) {
			err_errno(e, errno, "truncate %s", path);
			goto out;
		}
		rc = transfer(&d, url, errbuf);
	}
	if (progress && progress->fd >= 0 && progress->tty && d.last_step >= 0)
		dprintf(progress->fd, "\n");
	if (rc != CURLE_OK) {
		*interrupted = is_interruption(rc);
		report(&d, rc, url, path, errbuf, e);
		goto out;
	}
	ret = 0;
out:
	if (d.curl)
		curl_easy_cleanup(d.curl);
	close(d.fd);
	return ret;
}
