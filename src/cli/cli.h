/*
 * cli - one function per command family; src/main.c dispatches argv[1] to them.
 *
 * Each takes the argv after the command word (argv[0] is the command word itself) and returns
 * the process exit status: 0 success, 1 failure (message on stderr), 2 usage error. Every
 * command answers --help on stdout with status 0. Commands that touch a node's state take the
 * common options parsed by config_from_args() (-c, --home, -o).
 */
#ifndef MX_CLI_CLI_H
#define MX_CLI_CLI_H

int cmd_serve(int argc, char **argv);      /* cli/serve.c */
int cmd_tenant(int argc, char **argv);     /* cli/tenant.c */
int cmd_config(int argc, char **argv);     /* cli/config.c */
int cmd_token(int argc, char **argv);      /* cli/config.c */
int cmd_queue(int argc, char **argv);      /* cli/queue.c */
int cmd_sink(int argc, char **argv);       /* cli/sink.c */
int cmd_scan(int argc, char **argv);       /* cli/scan.c */
int cmd_sig(int argc, char **argv);        /* cli/sig.c */
int cmd_quarantine(int argc, char **argv); /* cli/quarantine.c */
int cmd_suspect(int argc, char **argv);    /* cli/suspect.c */
int cmd_learn(int argc, char **argv);      /* cli/learn.c */
int cmd_train_weights(int argc, char **argv); /* cli/train_weights.c */
int cmd_rules(int argc, char **argv);      /* cli/rules.c */
int cmd_status(int argc, char **argv);     /* cli/status.c */
int cmd_node(int argc, char **argv);       /* cli/node.c */

/* True if argv has -h or --help; prints usage then. */
int cli_wants_help(int argc, char **argv, const char *usage);
/* Remove every FLAG from argv[1..]; true if there was one. */
int cli_take_flag(int *argc, char **argv, const char *flag);
/* Remove every "OPT VALUE" pair from argv[1..]; the last VALUE, or NULL. */
const char *cli_take_opt(int *argc, char **argv, const char *opt);
/* Directory nesting that cli_walk_files follows: corpora are one or two levels deep; loops end
 * here. */
#define CLI_WALK_MAX_DEPTH 8
/* Call FN(CTX, file) for PATH if it is not a directory, else for every entry below it (names
 * starting with '.' skipped, CLI_WALK_MAX_DEPTH levels). Returns how many paths could not be
 * read; each is named on stderr as "mxtower CMD: PATH: why". */
unsigned cli_walk_files(const char *cmd, const char *path, void (*fn)(void *ctx, const char *file),
			void *ctx);

#endif
