/*
 * cli: the `banger` command line. Commands live in a table (one file per
 * group exports its entries); the table also generates the help text.
 * Commands talk to the daemon only through the API client.
 */
#ifndef BANGER_CLI_CLI_H
#define BANGER_CLI_CLI_H

#include <jansson.h>

#include "api/client.h"
#include "config/config.h"
#include "state/vm_state.h"
#include "util/err.h"

struct cli {
	struct paths paths;
	struct client *client; /* opened on first use */
	const char *prog;
};

struct cli_cmd {
	const char *group; /* "vm", "image", "daemon", or NULL for top level */
	const char *name;
	const char *args;  /* usage after the command name */
	const char *summary;
	const char *help;  /* option descriptions, one per line, or NULL */
	int (*fn)(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e);
};

extern const struct cli_cmd cli_daemon_cmds[];
extern const struct cli_cmd cli_daemon_unit_cmds[]; /* daemon install|uninstall */
extern const struct cli_cmd cli_vm_cmds[];
extern const struct cli_cmd cli_vm_cp_cmds[];
extern const struct cli_cmd cli_vm_port_cmds[];
extern const struct cli_cmd cli_vm_copy_cmds[];
extern const struct cli_cmd cli_image_cmds[];
extern const struct cli_cmd cli_misc_cmds[];
extern const struct cli_cmd cli_doctor_cmds[];

/* `banger image build` (cmd_image_build.c). */
int cli_image_build(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		    struct err *e);

/* The daemon connection, started on demand. */
struct client *cli_client(struct cli *c, struct err *e);

/* Prints a command's usage to stdout. */
void cli_usage(const struct cli_cmd *cmd);
/* 1 if argv has -h/--help (before a "--"). */
int cli_wants_help(int argc, char **argv);
/* Errors for bad usage: "vm create: unknown option --foo" + usage hint. */
int cli_usage_error(const struct cli_cmd *cmd, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A long POST that streams progress (printed to stderr as it comes);
 * *result receives the final object (json_decref it), or e the error. */
int cli_stream_request(struct cli *c, const char *path, json_t *body, json_t **result,
		       struct err *e);

/* Sets body[key] to the string value given with option opt ("--name").
 * Text that is not UTF-8 is an error naming the option: JSON cannot carry
 * it, and leaving the field out would do something else than asked. */
int cli_body_str(json_t *body, const char *key, const char *opt, const char *value,
		 struct err *e);

/* cli_body_str of a path resolved here (the daemon has another working
 * directory); one that does not resolve is sent made absolute, so the
 * daemon's error names it in full. */
int cli_body_path(json_t *body, const char *key, const char *opt, const char *path,
		  struct err *e);

/* A field of an API object: its string ("" when absent) or integer (0). */
const char *cli_str(json_t *o, const char *key);
/* The "state" of a VM object; VM_STATE_COUNT when absent or unknown. */
enum vm_state cli_vm_state(json_t *vm);
long long cli_int(json_t *o, const char *key);

/* Prints JSON pretty to stdout. */
void cli_print_json(json_t *j);
/* Prints an error the way every command does. */
void cli_print_error(const char *prefix, const struct err *e);

/* Small formatting helpers for tables. */
void cli_fmt_bytes(long long bytes, char *buf, size_t len);

/* Prints the last `lines` lines of path, then (follow) new lines as they
 * are appended, until interrupted. */
int cli_tail_file(const char *path, long lines, int follow, struct err *e);

#endif
