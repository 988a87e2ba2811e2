/* vcard_rtt: round trip of one short APDU (GET DATA, applet version)
 * through libpcsclite -> pcscd -> vpcd -> the virtual card, plain and
 * wrapped in SCardBeginTransaction/SCardEndTransaction. Prints figures
 * against the stack's measured floor; never judges them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <winscard.h>

#define FLOOR_US 80.0           /* tests/testing notes: one APDU, quick ACKs */
#define FLOOR_TX_US 190.0       /* the same inside a transaction */

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n, double floor)
{
    double sum = 0;

    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%-28s n=%d median %.1f us  mean %.1f us  p99 %.1f us  "
           "median/floor(%.0f us) %.2f\n", what, n, t[n / 2], sum / n,
           t[(n * 99) / 100], floor, t[n / 2] / floor);
}

static int run(SCARDHANDLE h, const SCARD_IO_REQUEST *pci, bool tx,
               double *t, int n)
{
    static const BYTE cmd[] = { 0x80, 0xCA, 0xDF, 0x03, 0x08 };
    BYTE resp[258];

    for (int i = 0; i < n; i++) {
        DWORD rl = sizeof resp;
        double t0 = now_us();
        LONG e = SCARD_S_SUCCESS;

        if (tx)
            e = SCardBeginTransaction(h);
        if (e == SCARD_S_SUCCESS)
            e = SCardTransmit(h, pci, cmd, sizeof cmd, NULL, resp, &rl);
        if (tx && e == SCARD_S_SUCCESS)
            e = SCardEndTransaction(h, SCARD_LEAVE_CARD);
        t[i] = now_us() - t0;
        if (e != SCARD_S_SUCCESS || rl < 2) {
            fprintf(stderr, "vcard_rtt: transmit failed: %s\n",
                    pcsc_stringify_error(e));
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    DWORD proto, len = SCARD_AUTOALLOCATE;
    char *readers = NULL;
    double *t;
    int rc = 1;

    if (n < 10 || n > 1000000) {
        fprintf(stderr, "usage: vcard_rtt [iterations >= 10]\n");
        return 2;
    }
    t = calloc((size_t)n, sizeof *t);
    if (!t || SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)
        != SCARD_S_SUCCESS) {
        fprintf(stderr, "vcard_rtt: no PC/SC service\n");
        free(t);
        return 1;
    }
    if (SCardListReaders(ctx, NULL, (LPSTR)&readers, &len) != SCARD_S_SUCCESS ||
        SCardConnect(ctx, readers, SCARD_SHARE_SHARED,
                     SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto)
        != SCARD_S_SUCCESS) {
        fprintf(stderr, "vcard_rtt: no card in the first reader\n");
        goto out;
    }
    {
        const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ?
                                      SCARD_PCI_T0 : SCARD_PCI_T1;

        printf("reader: %s\n", readers);
        if (run(h, pci, false, t, n / 10) == 0 &&      /* warm up */
            run(h, pci, false, t, n) == 0) {
            report("SCardTransmit", t, n, FLOOR_US);
            if (run(h, pci, true, t, n) == 0) {
                report("Begin+Transmit+End", t, n, FLOOR_US);
                printf("%-28s (the notes measured about %.0f us for this)\n",
                       "", FLOOR_TX_US);
                rc = 0;
            }
        }
    }
    SCardDisconnect(h, SCARD_LEAVE_CARD);
out:
    if (readers)
        SCardFreeMemory(ctx, readers);
    SCardReleaseContext(ctx);
    free(t);
    return rc;
}
