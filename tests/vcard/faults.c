/* faults.c: the control line protocol that arms and clears faults.
 *   vanish [N]   answer N more APDUs, then drop the connection unanswered
 *                (N omitted or 0: at the next APDU); stay away until "back"
 *   vanish now   drop the connection at once (e.g. while muted)
 *   tear K       the persisting command that takes the written data past
 *                K bytes is discarded, unanswered, and the card vanishes
 *   mute / unmute   stop / resume answering (the connection stays)
 *   latency US   delay every answer by US microseconds
 *   back         reconnect after a vanish or tear
 *   clear        all of the above off, and back
 *   status       the current settings, and how many APDUs went unanswered
 *                while muted (silenced=N) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vcard/core.h"

void vc_faults_clear(struct vc_faults *f)
{
    f->vanish_after = -1;
    f->tear_after = -1;
    f->mute = false;
    f->latency_us = 0;
    f->vanished = false;
    f->silenced = 0;
}

static int num(const char *s, long max, long *out)
{
    char *end;
    long v;

    if (!s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

void vc_faults_command(struct vc_faults *f, const char *line, char *ans,
                       size_t anslen)
{
    char buf[128], *save = NULL, *cmd, *arg, *extra;
    long v;

    snprintf(buf, sizeof buf, "%s", line);
    buf[strcspn(buf, "\r\n")] = '\0';
    cmd = strtok_r(buf, " \t", &save);
    arg = cmd ? strtok_r(NULL, " \t", &save) : NULL;
    extra = arg ? strtok_r(NULL, " \t", &save) : NULL;
    snprintf(ans, anslen, "ok");
    if (!cmd) {
        snprintf(ans, anslen, "err empty command");
    } else if (extra) {
        snprintf(ans, anslen, "err too many arguments");
    } else if (strcmp(cmd, "vanish") == 0) {
        if (arg && strcmp(arg, "now") == 0) {
            f->vanished = true;
            return;
        }
        if (!arg)
            v = 0;
        else if (num(arg, 1000000000L, &v) != 0) {
            snprintf(ans, anslen, "err vanish takes a count of APDUs");
            return;
        }
        f->vanish_after = v;
    } else if (strcmp(cmd, "tear") == 0) {
        if (num(arg, 1000000000L, &v) != 0) {
            snprintf(ans, anslen, "err tear takes a byte count");
            return;
        }
        f->tear_after = v;
    } else if (strcmp(cmd, "latency") == 0) {
        if (num(arg, 60000000L, &v) != 0) {
            snprintf(ans, anslen, "err latency takes microseconds (<= 60000000)");
            return;
        }
        f->latency_us = v;
    } else if (arg) {
        snprintf(ans, anslen, "err %s takes no argument", cmd);
    } else if (strcmp(cmd, "mute") == 0) {
        f->mute = true;
    } else if (strcmp(cmd, "unmute") == 0) {
        f->mute = false;
    } else if (strcmp(cmd, "back") == 0) {
        f->vanished = false;
    } else if (strcmp(cmd, "clear") == 0) {
        vc_faults_clear(f);
    } else if (strcmp(cmd, "status") == 0) {
        snprintf(ans, anslen,
                 "ok vanish_after=%ld tear_after=%ld mute=%d latency_us=%ld "
                 "vanished=%d silenced=%ld", f->vanish_after, f->tear_after, f->mute,
                 f->latency_us, f->vanished, f->silenced);
    } else {
        snprintf(ans, anslen, "err unknown command \"%.40s\"", cmd);
    }
}
