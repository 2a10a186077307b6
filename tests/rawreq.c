/*
 * rawreq.c: a test tool. Sends the bytes of stdin as one request to a
 * node's CLI socket (argv[1], e.g. ipc:///tmp/n/weft.sock) and writes the
 * raw reply to stdout, so tests can send what weft itself never would.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    static char buf[1 << 20];
    size_t      n = fread(buf, 1, sizeof(buf), stdin);
    nng_socket  s;
    nng_msg    *m;
    int         rv;

    if (argc != 2) {
        fprintf(stderr, "usage: rawreq URL < request\n");
        return 2;
    }
    if ((rv = nng_req0_open(&s)) != 0
        || (rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000)) != 0
        || (rv = nng_dial(s, argv[1], NULL, 0)) != 0
        || (rv = nng_send(s, buf, n, 0)) != 0 || (rv = nng_recvmsg(s, &m, 0))) {
        fprintf(stderr, "rawreq: %s\n", nng_strerror(rv));
        return 1;
    }
    fwrite(nng_msg_body(m), 1, nng_msg_len(m), stdout);
    nng_msg_free(m);
    nng_close(s);
    return 0;
}
