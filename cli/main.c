/* cardrenew: show, check, diagnose and renew the certificate on an NHS
 * smartcard through any PKCS#11 module. Every error is one line on
 * stderr saying what to do next; the exit codes are in cardrenew(1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"

static bool on_confirm(void *arg, const struct renew_plan *p)
{
    const struct cli_progress *u = arg;
    char d[32], q[512];
    if (u->o->yes)
        return true;
    cli_date(p->not_after, d, sizeof d);
    snprintf(q, sizeof q, "%s the certificate of %s on smartcard %s (expires %s)? [y/N] ",
             p->resuming ? "Finish renewing" : "Renew",
             p->subject_cn[0] ? p->subject_cn : p->label, p->serial, d);
    return cli_ask_yes(q);
}

static int do_status(const struct cli_opts *o, const struct cli_settings *s,
                     const struct renew_target *t)
{
    struct renew_cert_info *c;
    size_t n;
    struct renew_err e;
    int rc = renew_status(t, s->days, time(NULL), &c, &n, &e);
    if (rc)
        return cli_fail_err(&e);
    if (o->cmd == CLI_STATUS) {
        if (!o->quiet || o->json)
            cli_print_status(stdout, c, n, o->json);
    } else {
        char line[512];
        rc = cli_check_line(c, n, s->days, line, sizeof line);
        if (rc == RENEW_E_TOKEN || rc == RENEW_E_PIN_BLOCKED)
            fprintf(stderr, "cardrenew: %s\n", line);
        else if (!o->quiet)
            printf("%s\n", line);
        if (o->notify)
            cli_remind(o, c, n, rc, line);
    }
    free(c);
    return rc;
}

static int do_diagnose(const struct cli_opts *o, const struct cli_settings *s,
                       const struct renew_target *t)
{
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t pin_len = 0;
    struct renew_finding *v;
    size_t n;
    struct renew_err e;
    if (o->pin_source && cli_pin_read(o->pin_source, pin, sizeof pin, &pin_len, err, sizeof err))
        return cli_fail(RENEW_E_USAGE, err);
    int rc = renew_diagnose(t, o->pin_source ? pin : NULL, pin_len, s->days, time(NULL),
                            &v, &n, &e);
    renew_wipe(pin, sizeof pin);
    if (rc)
        return cli_fail_err(&e);
    if (!o->quiet || o->json)
        cli_print_findings(stdout, v, n, o->json);
    rc = RENEW_OK;
    for (size_t i = 0; i < n; i++)
        rc = renew_worse(rc, v[i].code);
    free(v);
    return rc;
}

static int do_renew(const struct cli_opts *o, const struct cli_settings *s,
                    const struct renew_target *t)
{
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX], d[32];
    size_t pin_len = 0;
    struct cli_progress u;
    struct renew_hooks h = { cli_progress_step, on_confirm, cli_progress_debug, &u };
    struct renew_ca ca = cli_settings_ca(s);
    struct renew_result res;
    struct renew_err e;
    if (!o->yes && !cli_have_tty())
        return cli_fail(RENEW_E_USAGE, "no terminal to confirm the renewal on: add --yes to renew "
                                   "without asking");
    /* Settings that cannot work are found before the PIN or the card. */
    if (renew_ca_usable(&ca, &e))
        return cli_fail_err(&e);
    if (cli_pin_read(o->pin_source, pin, sizeof pin, &pin_len, err, sizeof err))
        return cli_fail(RENEW_E_USAGE, err);
    cli_progress_start(&u, o);
    struct renew_when when = { s->days, o->force };
    int rc = renew_run(t, &ca, &when, pin, pin_len, &h, &res, &e);
    if (rc)
        rc = cli_explain(&e);
    cli_log_renewal(rc, &res, rc ? e.msg : NULL);
    renew_wipe(pin, sizeof pin);
    if (rc)
        return cli_fail_err(&e);
    if (res.outcome != RENEW_RENEWED) {
        if (!o->quiet) {
            cli_date(res.current_not_after, d, sizeof d);
            printf("%s: your certificate is valid until %s (%ld days left) and renewal is due "
                   "only in its last %d days; nothing was changed (--force renews now).\n",
                   res.outcome == RENEW_ALREADY_RENEWED ? "Your smartcard is already renewed"
                                                        : "No renewal is due yet",
                   d, renew_days_left(res.current_not_after, time(NULL)), s->days);
        }
        return 0;
    }
    if (!o->quiet) {
        cli_date(res.new_not_after, d, sizeof d);
        printf("[%5.1fs] Your smartcard is now renewed: the new certificate expires on %s "
               "(%ld days).\n", cli_progress_elapsed(&u), d,
               renew_days_left(res.new_not_after, time(NULL)));
        printf("Programs that loaded the old key keep it until they load the card again: "
               "browsers do so by themselves; for ssh-agent, run ssh-add -e and ssh-add -s "
               "again with the card's PKCS#11 module.\n");
    }
    return cli_run_hooks(s->exec, cli_hook_dir(), &res) ? RENEW_E_HOOK : 0;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    struct cli_config cfg;
    struct cli_settings s;
    char err[CLI_ERR_MAX];
    int rc = cli_parse(argc, argv, &o, err, sizeof err);
    if (rc)
        return cli_fail(rc, err);
    if (o.cmd == CLI_HELP) {
        cli_usage(stdout);
        return 0;
    }
    if (o.cmd == CLI_VERSION_CMD) {
        printf("cardrenew %s\n", CLI_VERSION);
        return 0;
    }
    if ((rc = cli_config_load(o.config, &cfg, err, sizeof err)))
        return cli_fail(rc, err);
    cli_settings_resolve(&o, &cfg, getenv("CARDRENEW_CA_URL"), getenv("CARDRENEW_CA_CERT"), &s);
    struct renew_target t = { s.module, s.token };
    switch (o.cmd) {
    case CLI_STATUS:
    case CLI_CHECK:
        return do_status(&o, &s, &t);
    case CLI_DIAGNOSE:
        return do_diagnose(&o, &s, &t);
    case CLI_RENEW:
        return do_renew(&o, &s, &t);
    case CLI_ENROLL:
    case CLI_CANCEL:
    case CLI_UNBLOCK:
    case CLI_REPAIR:
        return cli_ra_run(&o, &s, &t);
    default:
        return cli_fail(RENEW_E_USAGE, "nothing to do: see cardrenew --help");
    }
}
