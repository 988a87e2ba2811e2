/* send.c: `vcard send`, a small PC/SC client for scripts: APDUs in hex,
 * one per line, on stdin (so PINs stay out of argv), all in one card
 * session; each response printed as hex on its own line. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <winscard.h>
#include <openssl/crypto.h>

#include "tests/vcard/core.h"

static size_t unhex(const char *s, uint8_t *out, size_t max, bool *bad)
{
    size_t n = 0;
    int hi = -1;

    *bad = false;
    for (; *s; s++) {
        int v;

        if (isspace((unsigned char)*s) || *s == ':')
            continue;
        if (!isxdigit((unsigned char)*s) || n == max) {
            *bad = true;
            return 0;
        }
        v = isdigit((unsigned char)*s) ? *s - '0'
                                       : tolower((unsigned char)*s) - 'a' + 10;
        if (hi < 0)
            hi = v;
        else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *bad = hi >= 0;
    return n;
}

static const char *reader_at(SCARDCONTEXT ctx, int idx, char **names)
{
    DWORD len = SCARD_AUTOALLOCATE;
    char *p;

    if (SCardListReaders(ctx, NULL, (LPSTR)names, &len) != SCARD_S_SUCCESS)
        return NULL;
    for (p = *names; *p; p += strlen(p) + 1)
        if (idx-- == 0)
            return p;
    return NULL;
}

int vc_send_apdus(int reader, FILE *in, FILE *out)
{
    SCARDCONTEXT ctx;
    SCARDHANDLE h = 0;
    DWORD proto;
    char *names = NULL, line[4200];
    const char *name;
    uint8_t cmd[2048], resp[VC_RESP_MAX + 2];
    int rc = 1;
    LONG e;

    if ((e = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)) !=
        SCARD_S_SUCCESS) {
        fprintf(stderr, "vcard send: no PC/SC: %s\n", pcsc_stringify_error(e));
        return 1;
    }
    name = reader_at(ctx, reader, &names);
    if (!name) {
        fprintf(stderr, "vcard send: no reader %d\n", reader);
        goto out;
    }
    e = SCardConnect(ctx, name, SCARD_SHARE_SHARED,
                     SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto);
    if (e != SCARD_S_SUCCESS) {
        fprintf(stderr, "vcard send: %s: %s\n", name, pcsc_stringify_error(e));
        h = 0;
        goto out;
    }
    while (fgets(line, sizeof line, in)) {
        DWORD rlen = sizeof resp;
        bool bad;
        size_t n = unhex(line, cmd, sizeof cmd, &bad);

        if (bad) {
            fprintf(stderr, "vcard send: not a hex APDU line\n");
            goto out;
        }
        if (n == 0)
            continue;
        e = SCardTransmit(h, proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0
                          : SCARD_PCI_T1, cmd, (DWORD)n, NULL, resp, &rlen);
        OPENSSL_cleanse(cmd, n);
        if (e != SCARD_S_SUCCESS || rlen < 2) {
            fprintf(out, "ERR %s\n", e != SCARD_S_SUCCESS ?
                    pcsc_stringify_error(e) : "no response");
            goto out;
        }
        for (DWORD i = 0; i < rlen; i++)
            fprintf(out, i ? " %02X" : "%02X", resp[i]);
        fputc('\n', out);
        fflush(out);
    }
    rc = 0;
out:
    OPENSSL_cleanse(line, sizeof line);
    if (h)
        SCardDisconnect(h, SCARD_LEAVE_CARD);
    if (names)
        SCardFreeMemory(ctx, names);
    SCardReleaseContext(ctx);
    return rc;
}
