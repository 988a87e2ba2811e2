/* trace.c: an APDU trace a person can read. The data of PIN-carrying
 * commands is never written: only its length. */
#include <stdio.h>
#include <time.h>

#include "tests/vcard/core.h"

size_t vc_apdu_data_len(const uint8_t *apdu, size_t len)
{
    size_t lc;

    if (len <= 5)
        return 0;
    if (apdu[4] != 0)
        lc = apdu[4];
    else if (len >= 7)
        lc = (size_t)apdu[5] << 8 | apdu[6];
    else
        return 0;
    return lc <= len ? lc : len;
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %02X", p[i]);
}

static void stamp(FILE *f)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(f, "%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
}

void vc_trace_apdu(FILE *f, const uint8_t *cmd, size_t clen,
                   const uint8_t *resp, size_t rlen, bool pin_data)
{
    if (!f)
        return;
    stamp(f);
    fputc('>', f);
    if (pin_data && clen > 5) {
        hex(f, cmd, 5);
        fprintf(f, " [%zu bytes masked]", clen - 5);
    } else {
        hex(f, cmd, clen);
    }
    fputc('\n', f);
    stamp(f);
    fputc('<', f);
    if (resp)
        hex(f, resp, rlen);
    else
        fputs(" (no answer)", f);
    fputc('\n', f);
    fflush(f);
}

void vc_trace_note(FILE *f, const char *what)
{
    if (!f)
        return;
    stamp(f);
    fprintf(f, "# %s\n", what);
    fflush(f);
}
