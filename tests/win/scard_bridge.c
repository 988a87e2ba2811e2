/* scard_bridge.c: the Linux end of the test-only winscard.dll
 * (winscard_fwd.c): makes each forwarded SCard* call on pcsc-lite, so a
 * Windows program under Wine reaches the sandbox's pcscd and virtual card.
 * Listens on 127.0.0.1, an ephemeral port written as one line to stdout;
 * a thread per connection, one call each. Runs until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <PCSC/winscard.h>

#include "tests/win/bridge.h"

static bool io_all(int s, void *p, size_t n, bool send_it)
{
    char *b = p;
    while (n) {
        ssize_t k = send_it ? send(s, b, n, MSG_NOSIGNAL) : recv(s, b, n, 0);
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

static void answer(int s, LONG rv, struct br_rsp *r, const void *blob, uint32_t blen)
{
    r->rv = (int32_t)(uint32_t)rv;
    r->blen = blen;
    if (io_all(s, r, sizeof(*r), true) && blen)
        io_all(s, (void *)blob, blen, true);
}

static void get_status_change(int s, const struct br_req *q, const unsigned char *in)
{
    struct br_rsp r = { 0 };
    DWORD n = (DWORD)q->a[2];
    SCARD_READERSTATE st[64];
    unsigned char out[64 * (8 + BR_ATR)];
    const unsigned char *p = in, *end = in + q->blen;
    if (n > 64) {
        answer(s, SCARD_E_INVALID_PARAMETER, &r, NULL, 0);
        return;
    }
    memset(st, 0, sizeof(st));
    for (DWORD i = 0; i < n; i++) {
        uint32_t cur, nl;
        if (end - p < 8) {
            answer(s, SCARD_E_INVALID_PARAMETER, &r, NULL, 0);
            return;
        }
        memcpy(&cur, p, 4);
        memcpy(&nl, p + 4, 4);
        if ((size_t)(end - p - 8) < nl || !nl || p[8 + nl - 1]) {
            answer(s, SCARD_E_INVALID_PARAMETER, &r, NULL, 0);
            return;
        }
        st[i].szReader = (const char *)p + 8;
        st[i].dwCurrentState = cur;
        p += 8 + nl;
    }
    LONG rv = SCardGetStatusChange((SCARDCONTEXT)q->a[0], (DWORD)q->a[1], st, n);
    for (DWORD i = 0; i < n; i++) {
        uint32_t ev = (uint32_t)st[i].dwEventState, al = (uint32_t)st[i].cbAtr;
        if (al > BR_ATR)
            al = 0;
        memcpy(out + i * (8 + BR_ATR), &ev, 4);
        memcpy(out + i * (8 + BR_ATR) + 4, &al, 4);
        memset(out + i * (8 + BR_ATR) + 8, 0, BR_ATR);
        memcpy(out + i * (8 + BR_ATR) + 8, st[i].rgbAtr, al);
    }
    answer(s, rv, &r, out, rv == SCARD_S_SUCCESS ? n * (8 + BR_ATR) : 0);
}

static void serve(int s)
{
    struct br_req q;
    struct br_rsp r = { 0 };
    if (!io_all(s, &q, sizeof(q), false) || q.blen > BR_MAX_BLOB)
        return;
    unsigned char *in = malloc(q.blen + 1), *out = NULL;
    if (!in || (q.blen && !io_all(s, in, q.blen, false)))
        goto done;
    in[q.blen] = 0;
    LONG rv;
    switch (q.op) {
    case BR_ESTABLISH: {
        SCARDCONTEXT c = 0;
        rv = SCardEstablishContext((DWORD)q.a[0], NULL, NULL, &c);
        r.o[0] = (uint64_t)c;
        answer(s, rv, &r, NULL, 0);
        break;
    }
    case BR_RELEASE:
        answer(s, SCardReleaseContext((SCARDCONTEXT)q.a[0]), &r, NULL, 0);
        break;
    case BR_CANCEL:
        answer(s, SCardCancel((SCARDCONTEXT)q.a[0]), &r, NULL, 0);
        break;
    case BR_LIST_READERS: {
        DWORD len = q.a[1] == BR_NULL ? 0 : (DWORD)q.a[1];
        if (len > BR_MAX_BLOB)
            len = BR_MAX_BLOB;
        out = malloc(len + 1);
        rv = SCardListReaders((SCARDCONTEXT)q.a[0], NULL, q.a[1] == BR_NULL ? NULL : (char *)out,
                              &len);
        r.o[0] = len;
        answer(s, rv, &r, out, rv == SCARD_S_SUCCESS && q.a[1] != BR_NULL ? (uint32_t)len : 0);
        break;
    }
    case BR_CONNECT: {
        SCARDHANDLE h = 0;
        DWORD active = 0;
        rv = q.blen ? SCardConnect((SCARDCONTEXT)q.a[0], (const char *)in, (DWORD)q.a[1],
                                   (DWORD)q.a[2], &h, &active)
                    : SCARD_E_INVALID_PARAMETER;
        r.o[0] = (uint64_t)h;
        r.o[1] = active;
        answer(s, rv, &r, NULL, 0);
        break;
    }
    case BR_RECONNECT: {
        DWORD active = 0;
        rv = SCardReconnect((SCARDHANDLE)q.a[0], (DWORD)q.a[1], (DWORD)q.a[2], (DWORD)q.a[3],
                            &active);
        r.o[0] = active;
        answer(s, rv, &r, NULL, 0);
        break;
    }
    case BR_DISCONNECT:
        answer(s, SCardDisconnect((SCARDHANDLE)q.a[0], (DWORD)q.a[1]), &r, NULL, 0);
        break;
    case BR_BEGIN:
        answer(s, SCardBeginTransaction((SCARDHANDLE)q.a[0]), &r, NULL, 0);
        break;
    case BR_END:
        answer(s, SCardEndTransaction((SCARDHANDLE)q.a[0], (DWORD)q.a[1]), &r, NULL, 0);
        break;
    case BR_TRANSMIT: {
        SCARD_IO_REQUEST spci = { (unsigned long)q.a[1], sizeof(SCARD_IO_REQUEST) };
        SCARD_IO_REQUEST rpci = spci;
        DWORD len = q.a[2] > BR_MAX_BLOB ? BR_MAX_BLOB : (DWORD)q.a[2];
        out = malloc(len + 1);
        rv = SCardTransmit((SCARDHANDLE)q.a[0], &spci, in, q.blen, &rpci, out, &len);
        r.o[0] = rpci.dwProtocol;
        answer(s, rv, &r, out, rv == SCARD_S_SUCCESS ? (uint32_t)len : 0);
        break;
    }
    case BR_STATUS: {
        char reader[512];
        unsigned char atr[MAX_ATR_SIZE], both[512 + MAX_ATR_SIZE];
        DWORD rl = q.a[1] == BR_NULL ? 0 : (q.a[1] > sizeof(reader) ? sizeof(reader) : (DWORD)q.a[1]);
        DWORD al = q.a[2] == BR_NULL ? 0 : (q.a[2] > sizeof(atr) ? sizeof(atr) : (DWORD)q.a[2]);
        DWORD state = 0, proto = 0;
        rv = SCardStatus((SCARDHANDLE)q.a[0], q.a[1] == BR_NULL ? NULL : reader, &rl, &state,
                         &proto, q.a[2] == BR_NULL ? NULL : atr, &al);
        r.o[0] = state;
        r.o[1] = proto;
        r.o[2] = rl;
        r.o[3] = al;
        /* The blob: the reader's name if asked for, then the ATR if asked for. */
        uint32_t n = 0;
        if (rv == SCARD_S_SUCCESS) {
            if (q.a[1] != BR_NULL && rl <= sizeof(reader)) {
                memcpy(both, reader, rl);
                n = rl;
            }
            if (q.a[2] != BR_NULL && al <= sizeof(atr)) {
                memcpy(both + n, atr, al);
                n += al;
            }
        }
        answer(s, rv, &r, both, rv == SCARD_S_SUCCESS ? n : 0);
        break;
    }
    case BR_GET_STATUS_CHANGE:
        get_status_change(s, &q, in);
        break;
    default:
        answer(s, SCARD_E_INVALID_PARAMETER, &r, NULL, 0);
    }
done:
    free(in);
    free(out);
}

static void *conn(void *arg)
{
    int s = (int)(intptr_t)arg;
    serve(s);
    close(s);
    return NULL;
}

int main(void)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 64) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0) {
        perror("scard_bridge: listen");
        return 1;
    }
    printf("%u\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int s = accept(l, NULL, NULL);
        if (s < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, conn, (void *)(intptr_t)s) != 0)
            close(s);
        else
            pthread_detach(t);
    }
}
