/*
 * weft.c: the CLI's entry point: global options, the command table
 * dispatch, and the REQ socket to the node.
 */
#include "node/cli.h"

#include <getopt.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long the CLI waits for a reply (large imports take a while). */
#define CLI_TIMEOUT_MS (600 * 1000)

void
cli_err(cli *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "weft: %s%s", c->cmd ? c->cmd : "", c->cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
cli_code(weft_err err)
{
    switch (err) {
    case WEFT_OK:
        return CLI_OK;
    case WEFT_ENOTFOUND:
    case WEFT_EDOMAIN:
    case WEFT_EVERSION:
    case WEFT_ESTATE:
    case WEFT_EEXIST:
    case WEFT_EPOLICY:
    case WEFT_ELIMIT:
        return CLI_NO;
    default:
        return CLI_FAIL;
    }
}

/* The connection to the node: one REQ socket with a context per request
 * that may be in flight (publish overlaps reading files with the node's
 * work on the previous batch). */
typedef struct conn {
    nng_socket      s;
    nng_ctx         ctx[CLI_INFLIGHT];
    nng_aio        *aio[CLI_INFLIGHT];
    pthread_mutex_t mtx;  /* guards lost and starting an operation */
    bool            lost; /* the connection to the node went away */
    char            url[4200];
} conn;

/*
 * pipe_gone runs (on an nng thread) when the connection to the node
 * closes: whatever waits fails now, and nothing is sent later, rather than
 * waiting (up to CLI_TIMEOUT_MS) for the dialer to reach a restarted node
 * and handing it the request then.
 */
static void
pipe_gone(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    conn *k = arg;

    (void) p;
    (void) ev;
    pthread_mutex_lock(&k->mtx);
    if (!k->lost)
        for (int i = 0; i < CLI_INFLIGHT; i++)
            if (k->aio[i] != NULL)
                nng_aio_abort(k->aio[i], NNG_ECONNRESET);
    k->lost = true;
    pthread_mutex_unlock(&k->mtx);
}

/* start runs op on slot unless the connection is lost (then false). */
static bool
start(conn *k, int slot, void (*op)(nng_ctx, nng_aio *))
{
    bool ok;

    pthread_mutex_lock(&k->mtx);
    if ((ok = !k->lost))
        op(k->ctx[slot], k->aio[slot]);
    pthread_mutex_unlock(&k->mtx);
    return ok;
}

static int
transport(cli *c, const char *url, const char *what, int rv)
{
    cli_err(c,
        "cannot reach weftd at %s: %s: %s (is `weftd run --data %s` "
        "running?)",
        url, what, nng_strerror(rv), c->data);
    return CLI_FAIL;
}

static int
connect_node(cli *c)
{
    conn *k;
    int   rv;

    if (c->conn != NULL)
        return CLI_OK;
    if ((k = calloc(1, sizeof(*k))) == NULL)
        return CLI_FAIL;
    snprintf(k->url, sizeof(k->url), "ipc://%s/weft.sock", c->data);
    if ((rv = nng_req0_open(&k->s)) != 0) {
        transport(c, k->url, "socket", rv);
        free(k);
        return CLI_FAIL;
    }
    pthread_mutex_init(&k->mtx, NULL);
    c->conn = k;
    nng_socket_set_size(k->s, NNG_OPT_RECVMAXSZ, WEFT_MSG_MAX);
    for (int i = 0; i < CLI_INFLIGHT; i++) {
        if ((rv = nng_ctx_open(&k->ctx[i], k->s)) != 0
            || (rv = nng_aio_alloc(&k->aio[i], NULL, NULL)) != 0)
            return transport(c, k->url, "socket", rv);
        /* A request is never resent: a publish may take a while. */
        nng_ctx_set_ms(
            k->ctx[i], NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
        nng_aio_set_timeout(k->aio[i], CLI_TIMEOUT_MS);
    }
    /* One connection: once it is gone, every request fails at once. */
    if ((rv = nng_pipe_notify(k->s, NNG_PIPE_EV_REM_POST, pipe_gone, k)) != 0
        || (rv = nng_dial(k->s, k->url, NULL, 0)) != 0)
        return transport(c, k->url, "connect", rv);
    return CLI_OK;
}

void
cli_close(cli *c)
{
    conn *k = c->conn;

    if (k == NULL)
        return;
    nng_pipe_notify(k->s, NNG_PIPE_EV_REM_POST, NULL, NULL);
    pthread_mutex_lock(&k->mtx);
    k->lost = true; /* pipe_gone leaves the aios alone from now on */
    pthread_mutex_unlock(&k->mtx);
    for (int i = 0; i < CLI_INFLIGHT; i++)
        if (k->aio[i] != NULL) {
            nng_aio_stop(k->aio[i]);
            nng_aio_free(k->aio[i]);
        }
    nng_close(k->s);
    pthread_mutex_destroy(&k->mtx);
    free(k);
    c->conn = NULL;
}

int
cli_send(cli *c, int slot, const pv *req)
{
    conn    *k;
    nng_msg *msg;
    weft_buf b;
    int      rv, code;

    if ((code = connect_node(c)) != CLI_OK)
        return code;
    k = c->conn;
    weft_buf_init(&b, WEFT_MSG_MAX);
    if (proto_encode(req, &b) != WEFT_OK) {
        weft_buf_free(&b);
        cli_err(c, "request over the %u-byte message limit", WEFT_MSG_MAX);
        return CLI_FAIL;
    }
    rv = nng_msg_alloc(&msg, 0);
    if (rv == 0 && (rv = nng_msg_append(msg, b.p, b.len)) != 0)
        nng_msg_free(msg);
    weft_buf_free(&b);
    if (rv != 0)
        return transport(c, k->url, "send", rv);
    nng_aio_set_msg(k->aio[slot], msg);
    if (!start(k, slot, nng_ctx_send)) {
        nng_msg_free(msg);
        return transport(c, k->url, "send", NNG_ECONNRESET);
    }
    nng_aio_wait(k->aio[slot]);
    if ((rv = nng_aio_result(k->aio[slot])) != 0) {
        nng_msg_free(msg);
        return transport(c, k->url, "send", rv);
    }
    if (!start(k, slot, nng_ctx_recv)) /* cli_recv waits for it */
        return transport(c, k->url, "receive", NNG_ECONNRESET);
    return CLI_OK;
}

int
cli_recv(cli *c, int slot, pv **rep)
{
    conn     *k = c->conn;
    nng_msg  *msg;
    weft_diag d = { "" };
    int       rv, code = CLI_OK;

    nng_aio_wait(k->aio[slot]);
    if ((rv = nng_aio_result(k->aio[slot])) != 0)
        return transport(c, k->url, "receive", rv);
    msg = nng_aio_get_msg(k->aio[slot]);
    if (proto_decode(c->a, nng_msg_body(msg), nng_msg_len(msg), rep, &d)
        != WEFT_OK) {
        cli_err(c, "bad reply from weftd: %s", d.msg);
        code = CLI_FAIL;
    }
    nng_msg_free(msg);
    return code;
}

int
cli_call(cli *c, const pv *req, pv **rep)
{
    int code = cli_send(c, 0, req);

    return code == CLI_OK ? cli_recv(c, 0, rep) : code;
}

int
cli_fail(cli *c, const pv *rep)
{
    weft_err    err = (weft_err) pv_getint(rep, "code", WEFT_EINVAL);
    const char *msg = pv_getstr(rep, "error");

    cli_err(c, "%s", msg ? msg : weft_strerror(err));
    if (c->json) {
        pv *m = pv_map(c->a);

        pv_set(c->a, m, "ok", pv_bool(c->a, false));
        pv_setstr(c->a, m, "code", weft_errname(err));
        pv_setstr(c->a, m, "error", msg ? msg : weft_strerror(err));
        cli_print_json(m);
    }
    return cli_code(err);
}

int
cli_usage(FILE *f, const char *name)
{
    if (name == NULL) {
        fputs("usage: weft [--data DIR] [--json] COMMAND [ARGS]\n\n"
              "Talks to the weftd node whose data directory is DIR\n"
              "(default: $WEFT_DATA) over ipc://DIR/weft.sock.\n\n"
              "Commands:\n",
            f);
        for (const cli_cmd *c = cli_commands; c->name; c++)
            fprintf(f, "  %-44s\n", c->synopsis);
        fputs("\n--json prints stable JSON (see docs/cli.md). Exit codes: "
              "0 success,\n1 negative answer (not found, refused), 2 usage "
              "error or failure.\n`weft help COMMAND` explains one "
              "command.\n",
            f);
        return CLI_OK;
    }
    for (const cli_cmd *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0) {
            fprintf(f, "usage: weft %s\n\n%s", c->synopsis, c->help);
            return CLI_OK;
        }
    fprintf(
        stderr, "weft: help: no command '%s'; `weft help` lists them\n", name);
    return CLI_FAIL;
}

int
main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "data", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    cli c = { getenv("WEFT_DATA"), false, NULL, NULL, NULL };
    int opt, rc = CLI_FAIL;

    /* Stop at the command name: its options are its own. */
    while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
        if (opt == 'd')
            c.data = optarg;
        else if (opt == 'j')
            c.json = true;
        else if (opt == 'h') {
            cli_usage(stdout, NULL);
            return CLI_OK;
        } else {
            cli_usage(stderr, NULL);
            return CLI_FAIL;
        }
    }
    if (optind >= argc) {
        cli_usage(stderr, NULL);
        return CLI_FAIL;
    }
    for (const cli_cmd *cmd = cli_commands; cmd->name; cmd++) {
        if (strcmp(cmd->name, argv[optind]) != 0)
            continue;
        c.cmd = cmd->name;
        /* help, and the council's own key and signing work, need no
         * node. */
        if (c.data == NULL && strcmp(cmd->name, "help") != 0
            && !(strcmp(cmd->name, "governance") == 0 && optind + 1 < argc
                && (strcmp(argv[optind + 1], "keygen") == 0
                    || strcmp(argv[optind + 1], "sign") == 0))) {
            cli_err(&c,
                "no data directory: give --data DIR or set "
                "WEFT_DATA");
            return CLI_FAIL;
        }
        if ((c.a = pv_arena_new((size_t) WEFT_MSG_MAX * 8)) == NULL)
            return CLI_FAIL;
        argc -= optind;
        argv += optind;
        optind = 0; /* GNU getopt: start over for the command's options */
        rc = cmd->fn(&c, argc, argv);
        pv_arena_free(c.a);
        return rc;
    }
    fprintf(stderr, "weft: unknown command '%s'; `weft help` lists them\n",
        argv[optind]);
    return CLI_FAIL;
}
