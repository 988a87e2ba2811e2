/* log.c: one line to syslog (LOG_AUTHPRIV) for the administrator after
 * every --renew: a renewal, a refusal or an error, with the user, the card
 * serial and the expiries. Built only from the result and the one-line
 * error: the PIN never reaches it. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "cli/cli.h"

static void iso(time_t t, char *out, size_t n)
{
    if (t)
        cli_iso_date(t, out, n);
    else
        snprintf(out, n, "unknown");
}

/* Refusals: the card, the CA or the holder said no; nothing is broken. */
static bool refusal(int code)
{
    return code == RENEW_E_PIN || code == RENEW_E_PIN_BLOCKED || code == RENEW_E_EXPIRED ||
           code == RENEW_E_CA || code == RENEW_E_UNSUPPORTED || code == RENEW_E_USAGE;
}

int cli_log_format(int code, const struct renew_result *res, const char *user,
                   const char *msg, char *out, size_t n)
{
    char was[32], now[32], clean[RENEW_MSG_MAX];
    const char *serial = res->serial[0] ? res->serial : "unknown";
    size_t k = 0;
    iso(res->current_not_after, was, sizeof was);
    for (; msg && msg[k] && k + 1 < sizeof clean; k++)
        clean[k] = (unsigned char)msg[k] < 0x20 ? ' ' : msg[k];
    clean[k] = '\0';
    if (code == 0 && res->outcome == RENEW_RENEWED) {
        iso(res->new_not_after, now, sizeof now);
        snprintf(out, n, "renewed: user=%s card=%s old_not_after=%s new_not_after=%s "
                 "new_cert_serial=%s", user, serial, was, now,
                 res->new_serial_hex[0] ? res->new_serial_hex : "unknown");
        return LOG_NOTICE;
    }
    if (code == 0) {
        snprintf(out, n, "not due: user=%s card=%s not_after=%s%s", user, serial, was,
                 res->outcome == RENEW_ALREADY_RENEWED ? " (already renewed)" : "");
        return LOG_INFO;
    }
    snprintf(out, n, "%s: user=%s card=%s not_after=%s exit=%d: %s",
             refusal(code) ? "refused" : "error", user, serial, was, code, clean);
    return refusal(code) ? LOG_WARNING : LOG_ERR;
}

void cli_log_renewal(int code, const struct renew_result *res, const char *msg)
{
    char line[1024], name[64];
    struct passwd *pw = getpwuid(getuid());
    snprintf(name, sizeof name, "%s", pw ? pw->pw_name : "?");
    int prio = cli_log_format(code, res, name, msg, line, sizeof line);
    openlog("cardrenew", LOG_PID, LOG_AUTHPRIV);
    syslog(prio, "%s", line);
    closelog();
}
