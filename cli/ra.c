/* ra.c: the Registration Authority's commands: --enroll, --cancel,
 * --unblock, --repair. Each shows its plan and acts only once confirmed
 * (--yes for scripts); secrets come from the terminal without echo or
 * from env:/file:/fd: sources, never argv, and are wiped after use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "renew/ra.h"

static bool on_confirm(void *arg, const char *plan)
{
    const struct cli_progress *u = arg;
    if (!u->o->quiet || !u->o->yes) {
        fputs(plan, stdout);
        fflush(stdout);
    }
    return u->o->yes || cli_ask_yes("Go ahead? [y/N] ");
}

int cli_ra_check_opts(const struct cli_opts *o, char *err, size_t errlen)
{
    bool enroll = o->cmd == CLI_ENROLL, cancel = o->cmd == CLI_CANCEL,
         unblock = o->cmd == CLI_UNBLOCK;
    if (!enroll && (o->reference || o->secret_source || o->subject)) {
        snprintf(err, errlen, "--reference, --secret-source and --subject go with --enroll");
        return RENEW_E_USAGE;
    }
    if (!cancel && o->reason) {
        snprintf(err, errlen, "--reason goes with --cancel");
        return RENEW_E_USAGE;
    }
    if (!unblock && (o->puk_source || o->new_pin_source)) {
        snprintf(err, errlen, "--puk-source and --new-pin-source go with --unblock");
        return RENEW_E_USAGE;
    }
    if (enroll && (!o->reference || !*o->reference || !o->secret_source)) {
        snprintf(err, errlen, "--enroll needs --reference REF and --secret-source "
                              "env:VAR|file:PATH|fd:N (the CA's one-time secret for REF)");
        return RENEW_E_USAGE;
    }
    if (cancel && !o->reason) {
        snprintf(err, errlen, "--cancel needs --reason R: unspecified, keyCompromise, "
                              "affiliationChanged, superseded, cessationOfOperation, "
                              "certificateHold, privilegeWithdrawn");
        return RENEW_E_USAGE;
    }
    if (cancel && renew_reason_code(o->reason) < 0) {
        snprintf(err, errlen, "--reason \"%s\" is not an RFC 5280 reason: unspecified, "
                              "keyCompromise, affiliationChanged, superseded, "
                              "cessationOfOperation, certificateHold, privilegeWithdrawn",
                 o->reason);
        return RENEW_E_USAGE;
    }
    return 0;
}

static const struct cli_secret ra_secret = { "the one-time secret", "--secret-source",
                                             "The CA's one-time secret: " };

static int do_enroll(const struct cli_opts *o, const struct cli_settings *s,
                     const struct renew_target *t, struct renew_ra_hooks *rh)
{
    char pin[CLI_PIN_MAX + 1], secret[CLI_PIN_MAX + 1], err[CLI_ERR_MAX], d[32];
    size_t pin_len = 0, secret_len = 0;
    struct renew_ca ca = cli_settings_ca(s);
    struct renew_result res;
    struct renew_err e;
    if (cli_secret_read(&ra_secret, o->secret_source, secret, sizeof secret, &secret_len,
                        err, sizeof err))
        return cli_fail(RENEW_E_USAGE, err);
    if (cli_pin_read(o->pin_source, pin, sizeof pin, &pin_len, err, sizeof err)) {
        renew_wipe(secret, sizeof secret);
        return cli_fail(RENEW_E_USAGE, err);
    }
    struct renew_enroll_req rq = { o->reference, secret, secret_len, o->subject };
    int rc = renew_enroll(t, &ca, &rq, pin, pin_len, rh, &res, &e);
    renew_wipe(pin, sizeof pin);
    renew_wipe(secret, sizeof secret);
    if (rc)
        return cli_fail_err(&e);
    if (!o->quiet) {
        cli_date(res.new_not_after, d, sizeof d);
        printf("The smartcard now holds its new certificate (serial %s): it expires on %s "
               "(%ld days).\n", res.new_serial_hex, d,
               renew_days_left(res.new_not_after, time(NULL)));
    }
    return 0;
}

static int do_cancel(const struct cli_opts *o, const struct cli_settings *s,
                     const struct renew_target *t, struct renew_ra_hooks *rh)
{
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t pin_len = 0;
    struct renew_ca ca = cli_settings_ca(s);
    struct renew_err e;
    if (cli_pin_read(o->pin_source, pin, sizeof pin, &pin_len, err, sizeof err))
        return cli_fail(RENEW_E_USAGE, err);
    int rc = renew_cancel(t, &ca, renew_reason_code(o->reason), pin, pin_len, rh, &e);
    renew_wipe(pin, sizeof pin);
    if (rc)
        return cli_fail_err(&e);
    if (!o->quiet)
        printf("The certificate is cancelled (%s): it can no longer be renewed; "
               "cardrenew --enroll issues a new one.\n", o->reason);
    return 0;
}

static const struct cli_secret puk_secret = { "the PUK", "--puk-source",
                                              "The card's unblocking code (PUK): " };
static const struct cli_secret new_pin = { "the new PIN", "--new-pin-source",
                                           "New smartcard passcode (PIN): " };
static const struct cli_secret new_pin_again = { "the new PIN", "--new-pin-source",
                                                 "New passcode (PIN) again: " };

static int do_unblock(const struct cli_opts *o, const struct renew_target *t,
                      struct renew_ra_hooks *rh)
{
    char puk[CLI_PIN_MAX + 1], np[CLI_PIN_MAX + 1], again[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t puk_len = 0, np_len = 0, again_len = 0;
    struct renew_err e;
    int rc = RENEW_E_USAGE;
    if (cli_secret_read(&puk_secret, o->puk_source, puk, sizeof puk, &puk_len, err, sizeof err))
        goto bad;
    if (cli_secret_read(&new_pin, o->new_pin_source, np, sizeof np, &np_len, err, sizeof err))
        goto bad;
    if (!o->new_pin_source) {
        if (cli_secret_read(&new_pin_again, NULL, again, sizeof again, &again_len, err,
                            sizeof err))
            goto bad;
        if (again_len != np_len || memcmp(again, np, np_len) != 0) {
            snprintf(err, sizeof err, "the two new PINs differ: nothing was changed");
            goto bad;
        }
    }
    rc = renew_unblock(t, puk, puk_len, np, np_len, rh, &e);
    renew_wipe(puk, sizeof puk);
    renew_wipe(np, sizeof np);
    renew_wipe(again, sizeof again);
    if (rc)
        return cli_fail_err(&e);
    if (!o->quiet)
        printf("The PIN is unblocked and set to the new PIN.\n");
    return 0;
bad:
    renew_wipe(puk, sizeof puk);
    renew_wipe(np, sizeof np);
    renew_wipe(again, sizeof again);
    return cli_fail(rc, err);
}

static int do_repair(const struct cli_opts *o, const struct cli_settings *s,
                     const struct renew_target *t, struct renew_ra_hooks *rh)
{
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t pin_len = 0;
    struct renew_ca ca = cli_settings_ca(s);
    struct renew_err e;
    if (cli_pin_read(o->pin_source, pin, sizeof pin, &pin_len, err, sizeof err))
        return cli_fail(RENEW_E_USAGE, err);
    int rc = renew_repair(t, &ca, pin, pin_len, rh, &e);
    renew_wipe(pin, sizeof pin);
    if (rc)
        return cli_fail_err(&e);
    return 0;
}

int cli_ra_run(const struct cli_opts *o, const struct cli_settings *s,
               const struct renew_target *t)
{
    struct cli_progress u;
    struct renew_hooks h = { cli_progress_step, NULL, cli_progress_debug, &u };
    struct renew_ra_hooks rh = { &h, on_confirm, &u };
    cli_progress_start(&u, o);
    if (!o->yes && !cli_have_tty())
        return cli_fail(RENEW_E_USAGE, "no terminal to confirm on: add --yes to go ahead without asking");
    switch (o->cmd) {
    case CLI_ENROLL:
        return do_enroll(o, s, t, &rh);
    case CLI_CANCEL:
        return do_cancel(o, s, t, &rh);
    case CLI_UNBLOCK:
        return do_unblock(o, t, &rh);
    case CLI_REPAIR:
        return do_repair(o, s, t, &rh);
    default:
        return cli_fail(RENEW_E_USAGE, "nothing to do: see cardrenew --help");
    }
}
