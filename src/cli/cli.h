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

/* Exit statuses of `banger` (README, banger(1)). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,    /* the command failed */
	CLI_EXIT_USAGE = 2,   /* bad options or arguments (ERR_USAGE): nothing was done */
	CLI_EXIT_PARTIAL = 3, /* given several names, it failed for some of them only */
};

/* One option of a command, for the parser, --help, the man page and the
 * shell completions. It takes a value exactly when value is set. */
struct cli_opt {
	const char *name;  /* long name, without "--" */
	char short_name;   /* 'f' for -f, or 0 */
	const char *value; /* the value's placeholder ("MiB"), or NULL for a flag */
	const char *help;
	/* What completes its value: "@vms", "@images", "@file", "@dir", or a
	 * space-separated word list ("auto firecracker qemu"); NULL: nothing. */
	const char *complete;
	/* 1: may be given several times; the values are joined with '\n'
	 * (a path may hold a comma, never a newline). */
	int repeat;
};

#define CLI_MAX_OPTS 32

/* The options a command was given (cli_parse). */
struct cli_parsed {
	const struct cli_opt *opts;
	const char *val[CLI_MAX_OPTS]; /* the value ("" for a flag), NULL if not given */
	int dashdash;		       /* positionals before a "--", or -1 without one */
};

struct cli {
	struct paths paths;
	struct client *client; /* opened on first use */
	const char *prog;
	const struct cli_parsed *opt; /* the running command's options (cmd->opts set) */
	struct cli_parsed parsed;     /* what opt points at */
};

/*
 * A command. The first six fields are positional in every table. With opts
 * set, main parses the command line first (`--opt=value`, `--opt value`,
 * `-o value`, `-ovalue`, flag clusters, `--` ends options, options anywhere
 * before it) and calls fn with argv[0] the command name followed by the
 * positional arguments only; the options are in c->opt (cli_flag, cli_val).
 * Without opts, fn gets the raw argv and parses it itself (help is then the
 * hand-written option list printed by --help).
 */
struct cli_cmd {
	const char *group; /* "vm", "image", "daemon", or NULL for top level */
	const char *name;
	const char *args; /* positional arguments ("NAME..."); with no opts, the whole usage */
	const char *summary;
	const char *help; /* without opts: option descriptions, one per line, or NULL */
	int (*fn)(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e);
	const struct cli_opt *opts; /* ends with {NULL}; an empty list takes no options */
	const char *complete;	    /* what completes the positionals (as cli_opt.complete) */
	int hidden;		    /* not listed in --help, the man page or completions */
};

/* Command tables list an entry's fields in order, and an entry written in
 * the six-field layout leaves the option fields out (zero: it parses its
 * own argv). -Wextra would refuse that in every file with a table. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Every command table, NULL-terminated (main.c). */
extern const struct cli_cmd *const cli_tables[];
/* The command groups: name and summary, ending with {NULL, NULL}. */
struct cli_group {
	const char *name;
	const char *summary;
};
extern const struct cli_group cli_groups[];

extern const struct cli_cmd cli_daemon_cmds[];
extern const struct cli_cmd cli_daemon_unit_cmds[]; /* daemon install|uninstall */
extern const struct cli_cmd cli_vm_cmds[];
extern const struct cli_cmd cli_vm_cp_cmds[];
extern const struct cli_cmd cli_vm_port_cmds[];
extern const struct cli_cmd cli_vm_mount_cmds[];

/* Shares (cmd_vm_mount.c). specs: --mount's values, one per line, each
 * "HOSTDIR[:GUESTPATH][:ro]", with HOSTDIR made absolute from here, appended
 * to arr. print_mounts: `vm show`'s lines for them. warn_mounts: a line on
 * stderr for each share of a running VM that is not mounted. */
int cli_mount_specs(const char *specs, json_t *arr, struct err *e);
void cli_print_mounts(json_t *vm);
void cli_warn_mounts(json_t *vm);
extern const struct cli_cmd cli_vm_copy_cmds[];
extern const struct cli_cmd cli_image_cmds[];
extern const struct cli_cmd cli_misc_cmds[];
extern const struct cli_cmd cli_doctor_cmds[];

/* `banger image build` (cmd_image_build.c). */
int cli_image_build(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e);

/* The daemon connection, started on demand. */
struct client *cli_client(struct cli *c, struct err *e);

/* Prints a command's usage to stdout. */
void cli_usage(const struct cli_cmd *cmd);
/* The usage line after "usage: " ("banger vm set NAME [options]"), malloc'd. */
char *cli_usage_line(const struct cli_cmd *cmd);
/* 1 if argv has -h/--help (before a "--"). */
int cli_wants_help(int argc, char **argv);
/* Errors for bad usage (ERR_USAGE, exit status 2): "vm create: unknown
 * option --foo" + the usage line as the hint. */
int cli_usage_error(const struct cli_cmd *cmd, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses argv by cmd->opts into p; the positionals go to *pos (argv[0]
 * first; free it), their count to *npos. -1 with a usage error for an
 * unknown option, a missing value, a value given to a flag, or an option
 * with a value given twice. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_parsed *p, int *npos,
	      char ***pos, struct err *e);

/* The value of option name ("" for a flag) or NULL when not given. */
const char *cli_val(const struct cli *c, const char *name);
/* 1 if the flag (or option) name was given. */
int cli_flag(const struct cli *c, const char *name);
/* The value of option name as a positive whole number into *out (left as
 * it is when not given); 1 if given, 0 if not, -1 (usage error) if not
 * such a number. */
int cli_val_posint(const struct cli *c, const struct cli_cmd *cmd, const char *name, long long *out,
		   struct err *e);

/* The flags a command takes, for completion and the man page: its opts,
 * or for an entry without them the --words of its args and help text.
 * Calls fn for each long name (without "--"); o is NULL for the latter. */
void cli_each_flag(const struct cli_cmd *cmd,
		   void (*fn)(void *ctx, const char *name, const struct cli_opt *o), void *ctx);

/* `banger completion` and the hidden `banger __complete` (completion.c). */
extern const struct cli_cmd cli_completion_cmds[];
/* The hidden `banger __man TEMPLATE` and `banger __commands` (man.c). */
extern const struct cli_cmd cli_man_cmds[];

/* A long POST that streams progress (printed to stderr as it comes);
 * *result receives the final object (json_decref it), or e the error. */
int cli_stream_request(struct cli *c, const char *path, json_t *body, json_t **result,
		       struct err *e);

/* Sets body[key] to the string value given with option opt ("--name").
 * Text that is not UTF-8 is an error naming the option: JSON cannot carry
 * it, and leaving the field out would do something else than asked. */
int cli_body_str(json_t *body, const char *key, const char *opt, const char *value, struct err *e);

/* cli_body_str of a path resolved here (the daemon has another working
 * directory); one that does not resolve is sent made absolute, so the
 * daemon's error names it in full. */
int cli_body_path(json_t *body, const char *key, const char *opt, const char *path, struct err *e);

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
