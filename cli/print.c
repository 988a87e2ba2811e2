/* print.c: what people and scripts see. The status table follows the
 * Care Identity Service profile page (Serial Number, Type, Issued on,
 * Certs expire, State) with dates like 21-Nov-2019, plus Days left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

void cli_date(time_t t, char *out, size_t outlen)
{
    static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%02d-%s-%04d", tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900);
}

void cli_iso_date(time_t t, char *out, size_t outlen)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outlen, "?");
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_print_status(FILE *f, const struct renew_cert_info *c, size_t n, bool json)
{
    char nb[32], na[32];
    if (json) {
        fputs("[", f);
        for (size_t i = 0; i < n; i++) {
            cli_iso_date(c[i].not_before, nb, sizeof nb);
            cli_iso_date(c[i].not_after, na, sizeof na);
            fputs(i ? ",\n {" : "\n {", f);
            fprintf(f, "\"version\": %d, \"serial\": ", CLI_JSON_VERSION);
            json_str(f, c[i].serial);
            fputs(", \"family\": ", f); json_str(f, c[i].family);
            fputs(", \"token_label\": ", f); json_str(f, c[i].token_label);
            fputs(", \"label\": ", f); json_str(f, c[i].label);
            fputs(", \"subject_cn\": ", f); json_str(f, c[i].subject_cn);
            fprintf(f, ", \"not_before\": \"%s\", \"not_after\": \"%s\", \"days_left\": %ld, "
                       "\"state\": \"%s\"", nb, na, c[i].days_left,
                    c[i].cancelled_on ? "cancelled" : renew_state_name(c[i].state));
            if (c[i].cancelled_on) {
                cli_iso_date(c[i].cancelled_on, nb, sizeof nb);
                fprintf(f, ", \"cancelled_on\": \"%s\", \"cancel_reason\": ", nb);
                json_str(f, c[i].cancel_reason);
            } else {
                fputs(", \"cancelled_on\": null", f);
            }
            fputs("}", f);
        }
        fputs(n ? "\n]\n" : "]\n", f);
        return;
    }
    if (n == 0) {
        fprintf(f, "Your smartcard is empty: no certificate found. Ask your RA to cancel and "
                   "re-issue it.\n");
        return;
    }
    /* "Cancelled on", as on the CIS profile page, once the RA cancelled one. */
    bool cancelled = false;
    for (size_t i = 0; i < n; i++)
        cancelled |= c[i].cancelled_on != 0;
    fprintf(f, "%-18s %-18s %-12s %-13s %9s  %-9s ", "Serial Number", "Type", "Issued on",
            "Certs expire", "Days left", "State");
    if (cancelled)
        fprintf(f, "%-13s ", "Cancelled on");
    fprintf(f, "%s\n", "Name");
    for (size_t i = 0; i < n; i++) {
        char cd[32] = "-";
        cli_date(c[i].not_before, nb, sizeof nb);
        cli_date(c[i].not_after, na, sizeof na);
        if (c[i].cancelled_on)
            cli_date(c[i].cancelled_on, cd, sizeof cd);
        fprintf(f, "%-18s %-18s %-12s %-13s %9ld  %-9s ", c[i].serial, c[i].family, nb, na,
                c[i].days_left, c[i].cancelled_on ? "cancelled" : renew_state_name(c[i].state));
        if (cancelled)
            fprintf(f, "%-13s ", cd);
        fprintf(f, "%s\n", c[i].subject_cn[0] ? c[i].subject_cn : c[i].label);
    }
}

const struct renew_cert_info *cli_soonest(const struct renew_cert_info *c, size_t n)
{
    const struct renew_cert_info *soon = NULL;
    for (size_t i = 0; i < n; i++)
        if (!soon || difftime(c[i].not_after, soon->not_after) < 0)
            soon = &c[i];
    return soon;
}

int cli_check_line(const struct renew_cert_info *c, size_t n, int days, char *line,
                   size_t linelen)
{
    const struct renew_cert_info *soon = cli_soonest(c, n);
    char d[32];
    if (!soon) {
        snprintf(line, linelen, "Your smartcard is empty: ask your RA to cancel and re-issue it.");
        return RENEW_E_TOKEN;
    }
    cli_date(soon->not_after, d, sizeof d);
    time_t now = time(NULL);
    enum renew_state s = renew_state_of(soon->not_after, now, days);
    /* Never "run --renew" where --renew would refuse. */
    if (soon->pin_blocked) {
        snprintf(line, linelen, "Your smartcard PIN is blocked: ask your RA to unblock it.");
        return RENEW_E_PIN_BLOCKED;
    }
    if (soon->cancelled_on) {
        char cd[32];
        cli_date(soon->cancelled_on, cd, sizeof cd);
        snprintf(line, linelen, "The certificate on your smartcard was cancelled on %s (%s): "
                 "it cannot be renewed; ask your RA to re-issue the card.", cd,
                 soon->cancel_reason);
        return RENEW_E_CA;
    }
    if (soon->keyless && s != RENEW_EXPIRED) {
        snprintf(line, linelen, "The certificate on your smartcard (expires %s) has no matching "
                 "key: it cannot be renewed; run cardrenew --diagnose and ask your RA.", d);
        return RENEW_E_TOKEN;
    }
    switch (s) {
    case RENEW_EXPIRED:
        snprintf(line, linelen, "Your Smartcard has expired (on %s): ask your RA for an "
                 "RA renewal (cardrenew --enroll).", d);
        break;
    case RENEW_EXPIRING:
        snprintf(line, linelen, "The security certificate for your Smartcard expires on %s "
                 "(%ld days left): run cardrenew --renew to renew it now.", d, soon->days_left);
        break;
    default:
        snprintf(line, linelen, "Your Smartcard certificate is valid until %s (%ld days left): "
                 "nothing to do.", d, soon->days_left);
    }
    return renew_check_code(s);
}

/* Best effort, never blocks the check for long, says nothing on failure. */
void cli_print_findings(FILE *f, const struct renew_finding *v, size_t n, bool json)
{
    if (json) {
        fputs("[", f);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n {" : "\n {", f);
            fprintf(f, "\"version\": %d, \"serial\": ", CLI_JSON_VERSION);
            json_str(f, v[i].serial);
            fprintf(f, ", \"code\": %d, \"problem\": ", v[i].code); json_str(f, v[i].what);
            fputs(", \"what_to_do\": ", f); json_str(f, v[i].todo);
            fputs("}", f);
        }
        fputs(n ? "\n]\n" : "]\n", f);
        return;
    }
    if (n == 0) {
        fprintf(f, "No problems found on your smartcard.\n");
        return;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s: %s %s\n", v[i].serial, v[i].what, v[i].todo);
}
