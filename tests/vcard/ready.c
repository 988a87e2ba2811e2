/* ready.c: `vcard wait-ready`, for the stack script: polls PC/SC until
 * each of the first N readers holds a card. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <winscard.h>

#include "tests/vcard/core.h"

static int count_cards(SCARDCONTEXT ctx, int want)
{
    SCARD_READERSTATE rs[4];
    char *names = NULL, *p;
    DWORD len = SCARD_AUTOALLOCATE;
    int n = 0, cards = 0;

    if (SCardListReaders(ctx, NULL, (LPSTR)&names, &len) != SCARD_S_SUCCESS)
        return 0;
    for (p = names; *p && n < want && n < 4; p += strlen(p) + 1) {
        memset(&rs[n], 0, sizeof rs[n]);
        rs[n].szReader = p;
        rs[n].dwCurrentState = SCARD_STATE_UNAWARE;
        n++;
    }
    if (n == want && SCardGetStatusChange(ctx, 0, rs, (DWORD)n) ==
        SCARD_S_SUCCESS) {
        for (int i = 0; i < n; i++)
            if (rs[i].dwEventState & SCARD_STATE_PRESENT)
                cards++;
    }
    SCardFreeMemory(ctx, names);
    return cards;
}

int vc_wait_ready(int nreaders, int timeout_ms)
{
    struct timespec t0, t;
    SCARDCONTEXT ctx = 0;
    bool have_ctx = false;

    if (nreaders < 1 || nreaders > 4)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (!have_ctx)
            have_ctx = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL,
                                             &ctx) == SCARD_S_SUCCESS;
        if (have_ctx && count_cards(ctx, nreaders) == nreaders) {
            SCardReleaseContext(ctx);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 +
            (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
            break;
        usleep(50000);
    }
    if (have_ctx)
        SCardReleaseContext(ctx);
    return -1;
}
