/* winscard_fwd.c: a test-only winscard.dll for Wine, whose own is a stub.
 * Each SCard* call goes over loopback to scard_bridge, which makes it on
 * pcsc-lite's pcscd of the sandbox: CARDRENEW_SCARD_BRIDGE=<port>. One
 * connection per call, so SCardCancel reaches the bridge while another
 * thread waits in SCardGetStatusChange. Loaded in place of Wine's with
 * WINEDLLOVERRIDES=winscard=n. */
#define WINSCARDAPI
#define WINSCARDDATA
#include <winsock2.h>
#include <windows.h>
#include <winscard.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tests/win/bridge.h"

const SCARD_IO_REQUEST g_rgSCardT0Pci = { SCARD_PROTOCOL_T0, sizeof(SCARD_IO_REQUEST) };
const SCARD_IO_REQUEST g_rgSCardT1Pci = { SCARD_PROTOCOL_T1, sizeof(SCARD_IO_REQUEST) };
const SCARD_IO_REQUEST g_rgSCardRawPci = { SCARD_PROTOCOL_RAW, sizeof(SCARD_IO_REQUEST) };

static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
static unsigned short port;

static BOOL CALLBACK setup(PINIT_ONCE o, PVOID p, PVOID *c)
{
    (void)o; (void)p; (void)c;
    WSADATA w;
    const char *v = getenv("CARDRENEW_SCARD_BRIDGE");
    port = v ? (unsigned short)atoi(v) : 0;
    return WSAStartup(MAKEWORD(2, 2), &w) == 0;
}

static bool io_all(SOCKET s, void *p, size_t n, bool send_it)
{
    char *b = p;
    while (n) {
        int k = send_it ? send(s, b, (int)n, 0) : recv(s, b, (int)n, 0);
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* One call: the answer's blob (up to cap bytes) lands in out. */
static LONG call(struct br_req *q, const void *blob, struct br_rsp *r, void *out, size_t cap)
{
    InitOnceExecuteOnce(&once, setup, NULL, NULL);
    if (!port)
        return (LONG)SCARD_E_NO_SERVICE;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return (LONG)SCARD_E_NO_SERVICE;
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    LONG rv = (LONG)SCARD_E_NO_SERVICE;
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        io_all(s, q, sizeof(*q), true) && (!q->blen || io_all(s, (void *)blob, q->blen, true)) &&
        io_all(s, r, sizeof(*r), false) && r->blen <= cap &&
        (!r->blen || io_all(s, out, r->blen, false)))
        rv = (LONG)r->rv;
    closesocket(s);
    return rv;
}

static LONG simple(uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                   struct br_rsp *r)
{
    struct br_req q = { op, 0, { a0, a1, a2, a3, 0 } };
    return call(&q, NULL, r, NULL, 0);
}

LONG WINAPI SCardEstablishContext(DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx)
{
    (void)r1; (void)r2;
    struct br_rsp r;
    LONG rv = simple(BR_ESTABLISH, scope, 0, 0, 0, &r);
    if (rv == SCARD_S_SUCCESS)
        *ctx = (SCARDCONTEXT)r.o[0];
    return rv;
}

LONG WINAPI SCardReleaseContext(SCARDCONTEXT ctx)
{
    struct br_rsp r;
    return simple(BR_RELEASE, ctx, 0, 0, 0, &r);
}

LONG WINAPI SCardCancel(SCARDCONTEXT ctx)
{
    struct br_rsp r;
    return simple(BR_CANCEL, ctx, 0, 0, 0, &r);
}

LONG WINAPI SCardListReadersA(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers, LPDWORD len)
{
    (void)groups;
    struct br_rsp r;
    struct br_req q = { BR_LIST_READERS, 0, { ctx, readers ? *len : BR_NULL, 0, 0, 0 } };
    LONG rv = call(&q, NULL, &r, readers, readers ? *len : 0);
    if (rv == SCARD_S_SUCCESS || rv == (LONG)SCARD_E_INSUFFICIENT_BUFFER)
        *len = (DWORD)r.o[0];
    return rv;
}

LONG WINAPI SCardConnectA(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protos,
                          LPSCARDHANDLE h, LPDWORD active)
{
    struct br_rsp r;
    struct br_req q = { BR_CONNECT, (uint32_t)strlen(reader) + 1, { ctx, share, protos, 0, 0 } };
    LONG rv = call(&q, reader, &r, NULL, 0);
    if (rv == SCARD_S_SUCCESS) {
        *h = (SCARDHANDLE)r.o[0];
        *active = (DWORD)r.o[1];
    }
    return rv;
}

LONG WINAPI SCardReconnect(SCARDHANDLE h, DWORD share, DWORD protos, DWORD init, LPDWORD active)
{
    struct br_rsp r;
    LONG rv = simple(BR_RECONNECT, h, share, protos, init, &r);
    if (rv == SCARD_S_SUCCESS)
        *active = (DWORD)r.o[0];
    return rv;
}

LONG WINAPI SCardDisconnect(SCARDHANDLE h, DWORD disposition)
{
    struct br_rsp r;
    return simple(BR_DISCONNECT, h, disposition, 0, 0, &r);
}

LONG WINAPI SCardBeginTransaction(SCARDHANDLE h)
{
    struct br_rsp r;
    return simple(BR_BEGIN, h, 0, 0, 0, &r);
}

LONG WINAPI SCardEndTransaction(SCARDHANDLE h, DWORD disposition)
{
    struct br_rsp r;
    return simple(BR_END, h, disposition, 0, 0, &r);
}

LONG WINAPI SCardTransmit(SCARDHANDLE h, LPCSCARD_IO_REQUEST send_pci, LPCBYTE send,
                          DWORD send_len, LPSCARD_IO_REQUEST recv_pci, LPBYTE recv,
                          LPDWORD recv_len)
{
    struct br_rsp r;
    struct br_req q = { BR_TRANSMIT, send_len, { h, send_pci->dwProtocol, *recv_len, 0, 0 } };
    LONG rv = call(&q, send, &r, recv, *recv_len);
    if (rv == SCARD_S_SUCCESS) {
        *recv_len = r.blen;
        if (recv_pci)
            recv_pci->dwProtocol = (DWORD)r.o[0];
    }
    return rv;
}

LONG WINAPI SCardStatusA(SCARDHANDLE h, LPSTR reader, LPDWORD reader_len, LPDWORD state,
                         LPDWORD proto, LPBYTE atr, LPDWORD atr_len)
{
    struct br_rsp r;
    uint64_t rcap = reader && reader_len ? *reader_len : BR_NULL;
    uint64_t acap = atr && atr_len ? *atr_len : BR_NULL;
    struct br_req q = { BR_STATUS, 0, { h, rcap, acap, 0, 0 } };
    unsigned char buf[600];
    LONG rv = call(&q, NULL, &r, buf, sizeof(buf));
    if (rv != SCARD_S_SUCCESS && rv != (LONG)SCARD_E_INSUFFICIENT_BUFFER)
        return rv;
    /* The blob: the reader's name if asked for, then the ATR if asked for. */
    DWORD rl = (DWORD)r.o[2], al = (DWORD)r.o[3];
    DWORD rpart = rcap != BR_NULL ? rl : 0, apart = acap != BR_NULL ? al : 0;
    if (rv == SCARD_S_SUCCESS && (rpart + apart != r.blen || rpart > rcap || apart > acap))
        return (LONG)SCARD_F_INTERNAL_ERROR;
    if (state)
        *state = (DWORD)r.o[0];
    if (proto)
        *proto = (DWORD)r.o[1];
    if (rv == SCARD_S_SUCCESS) {
        if (rcap != BR_NULL)
            memcpy(reader, buf, rl);
        if (acap != BR_NULL)
            memcpy(atr, buf + rpart, al);
    }
    if (reader_len)
        *reader_len = rl;
    if (atr_len)
        *atr_len = al;
    return rv;
}

LONG WINAPI SCardGetStatusChangeA(SCARDCONTEXT ctx, DWORD timeout, LPSCARD_READERSTATEA st,
                                  DWORD n)
{
    if (n > 64)
        return (LONG)SCARD_E_INVALID_PARAMETER;
    size_t len = 0;
    for (DWORD i = 0; i < n; i++)
        len += 8 + strlen(st[i].szReader) + 1;
    unsigned char *b = malloc(len ? len : 1), *p = b;
    if (!b)
        return (LONG)SCARD_E_NO_MEMORY;
    for (DWORD i = 0; i < n; i++) {
        uint32_t cur = st[i].dwCurrentState, nl = (uint32_t)strlen(st[i].szReader) + 1;
        memcpy(p, &cur, 4);
        memcpy(p + 4, &nl, 4);
        memcpy(p + 8, st[i].szReader, nl);
        p += 8 + nl;
    }
    struct br_rsp r;
    struct br_req q = { BR_GET_STATUS_CHANGE, (uint32_t)len, { ctx, timeout, n, 0, 0 } };
    unsigned char out[64 * (8 + BR_ATR)];
    LONG rv = call(&q, b, &r, out, sizeof(out));
    free(b);
    if (rv == SCARD_S_SUCCESS && r.blen == n * (8 + BR_ATR))
        for (DWORD i = 0; i < n; i++) {
            uint32_t ev, al;
            memcpy(&ev, out + i * (8 + BR_ATR), 4);
            memcpy(&al, out + i * (8 + BR_ATR) + 4, 4);
            st[i].dwEventState = ev;
            st[i].cbAtr = al <= sizeof(st[i].rgbAtr) ? al : 0;
            memcpy(st[i].rgbAtr, out + i * (8 + BR_ATR) + 8, st[i].cbAtr);
        }
    return rv;
}
