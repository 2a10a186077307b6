/*
 * cli.h: the weft command-line client. It only talks to a node's socket:
 * each command builds a request map, sends it with cli_call, and prints
 * the reply as a table for people or JSON (--json) for programs.
 *
 * Exit codes: 0 success, 1 a negative answer (not found, refused),
 * 2 a usage error or a failure.
 */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stdio.h>

#define CLI_OK   0
#define CLI_NO   1
#define CLI_FAIL 2

/* The state shared by every command. */
typedef struct cli {
    const char *data; /* data directory */
    bool        json;
    pv_arena   *a;    /* requests and replies live here */
    const char *cmd;  /* the command's name, for messages */
    void       *conn; /* the socket to the node, opened on first use */
} cli;

/* Requests that may be in flight at once (slots 0 and 1). */
#define CLI_INFLIGHT 2

typedef int (*cli_fn)(cli *c, int argc, char **argv);

typedef struct cli_cmd {
    const char *name;
    cli_fn      fn;
    const char *synopsis;
    const char *help;
} cli_cmd;

/* cli_read_file reads a whole file (- is stdin) of at most max bytes
 * into b; on failure it says why and b holds nothing (cli_gov.c). */
int cli_read_file(cli *c, const char *path, size_t max, weft_buf *b);

/* The governance commands (cli_gov.c). */
int cli_cmd_governance(cli *c, int argc, char **argv);
int cli_cmd_why(cli *c, int argc, char **argv);

/* cli_commands is the table of commands, ended by a NULL name. */
extern const cli_cmd cli_commands[];

/* cli_call sends req to the node and decodes the reply into *rep. On a
 * transport failure it prints why and returns CLI_FAIL. */
int cli_call(cli *c, const pv *req, pv **rep);

/* cli_send starts req in slot without waiting for the reply. */
int cli_send(cli *c, int slot, const pv *req);

/* cli_recv waits for the reply to the request in slot. */
int cli_recv(cli *c, int slot, pv **rep);

/* cli_close closes the connection, if one was opened. */
void cli_close(cli *c);

/* cli_send starts req in slot without waiting for the reply. */
int cli_send(cli *c, int slot, const pv *req);

/* cli_recv waits for the reply to the request in slot. */
int cli_recv(cli *c, int slot, pv **rep);

/* cli_close closes the connection, if one was opened. */
void cli_close(cli *c);

/* cli_fail prints an error reply (text, or JSON with --json) and returns
 * the exit code that fits its error code. */
int cli_fail(cli *c, const pv *rep);

/* cli_code maps a weft_err to an exit code. */
int cli_code(weft_err err);

/* cli_err prints "weft: CMD: message" to stderr. */
void cli_err(cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_print_json prints v as pretty JSON on stdout. */
int cli_print_json(const pv *v);

/* cli_print_table prints list items as an aligned table. */
void cli_print_table(const pv *items);

/* cli_print_product prints one product (the `get` reply) for people. */
void cli_print_product(const pv *p);

/* cli_usage prints the synopsis and help of one command (or all);
 * CLI_FAIL when there is no such command. */
int cli_usage(FILE *f, const char *name);

#endif
