/*
 * dns-test-server: runs banger's DNS responder over a fixed table, for the
 * Python tests in tests/dns/.
 *
 *   dns-test-server [--bind ADDR] [--port N] [--upstream ADDR[:PORT]]... NAME=IPV4...
 *
 * Prints the bound port on stdout, logs (debug level) to stderr, and serves
 * until SIGTERM/SIGINT. Without --upstream, other zones get REFUSED: the
 * host's resolv.conf is never read, so the tests send nothing off loopback.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns_server.h"

#define MAX_ENTRIES 64

struct entry {
	char name[64];
	uint32_t ip;
};

struct table {
	struct entry e[MAX_ENTRIES];
	int n;
};

/* Read-only once the server runs, so safe from its thread. */
static int table_lookup(void *ctx, const char *name, uint32_t *ip)
{
	const struct table *t = ctx;

	for (int i = 0; i < t->n; i++) {
		if (strcmp(t->e[i].name, name) == 0) {
			*ip = t->e[i].ip;
			return 1;
		}
	}
	return 0;
}

static int table_add(struct table *t, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct in_addr a;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(t->e[0].name) || t->n == MAX_ENTRIES ||
	    inet_pton(AF_INET, eq + 1, &a) != 1)
		return -1;
	memcpy(t->e[t->n].name, arg, (size_t)(eq - arg));
	t->e[t->n].name[eq - arg] = '\0';
	t->e[t->n].ip = a.s_addr;
	t->n++;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: dns-test-server [--bind ADDR] [--port N] "
			"[--upstream ADDR[:PORT]]... NAME=IPV4...\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct table table;
	struct dns_upstream ups[DNS_UPSTREAM_MAX];
	struct dns_server_config cfg = {
	    .bind_addr = "127.0.0.1", .lookup = table_lookup, .ctx = &table, .upstreams = ups};
	struct err e = {0};
	sigset_t stop;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
			cfg.bind_addr = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			cfg.port = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--upstream") == 0 && i + 1 < argc) {
			if (cfg.n_upstreams == DNS_UPSTREAM_MAX ||
			    dns_upstream_parse(argv[++i], &ups[cfg.n_upstreams++], &e) < 0)
				return usage();
		} else if (table_add(&table, argv[i]) < 0) {
			return usage();
		}
	}
	/* Block the stop signals before the server thread exists, then wait. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct logger *log = logger_fd(STDERR_FILENO, LOG_DEBUG);
	struct dns_server *s = dns_server_start_config(&cfg, log, &e);
	if (!s) {
		char msg[ERR_MSG_MAX + 2 * ERR_AUX_MAX];
		err_format(&e, msg, sizeof(msg));
		fprintf(stderr, "dns-test-server: %s\n", msg);
		logger_free(log);
		return 1;
	}
	printf("%d\n", dns_server_port(s));
	fflush(stdout);
	sigwait(&stop, &sig);
	dns_server_stop(s);
	logger_free(log);
	return 0;
}
