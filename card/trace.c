/* trace.c: an APDU trace for debugging, to the file named by
 * CARDRENEW_APDU_TRACE. The variable is read once; PIN-carrying commands
 * (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER) show their header
 * and length only. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "card/card_int.h"
#include "card/plat.h"

static pthread_once_t trace_once = PTHREAD_ONCE_INIT;
static FILE *trace_file;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

static void trace_open(void)
{
    const char *path = plat_getenv("CARDRENEW_APDU_TRACE");
    if (path && *path) {
        trace_file = plat_fopen_append(path);
        if (trace_file)
            setvbuf(trace_file, NULL, _IOLBF, 0);
    }
}

static bool carries_pin(const uint8_t *cmd, size_t len)
{
    if (len < 5)
        return false;
    return cmd[1] == 0x20 || cmd[1] == 0x24 || cmd[1] == 0x2C;
}

void card_trace(const char *dir, const uint8_t *buf, size_t len)
{
    pthread_once(&trace_once, trace_open);
    if (!trace_file)
        return;
    pthread_mutex_lock(&trace_lock);
    fprintf(trace_file, "%s", dir);
    size_t shown = len;
    if (dir[0] == '>' && carries_pin(buf, len))
        shown = 4;
    for (size_t i = 0; i < shown; i++)
        fprintf(trace_file, " %02X", buf[i]);
    if (shown < len)
        fprintf(trace_file, " [%zu bytes masked]", len - shown);
    fputc('\n', trace_file);
    pthread_mutex_unlock(&trace_lock);
}
