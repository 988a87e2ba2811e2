/* cli.h: the cardrenew command: options, configuration, PIN sources and
 * output. No card or crypto logic here: that is renew/. Exit codes are
 * enum renew_code (renew/renew.h). */
#ifndef CARDRENEW_CLI_H
#define CARDRENEW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "cli/plat.h"
#include "renew/renew.h"

#define CLI_VERSION "0.1.0"
#define CLI_PIN_MAX 64
#define CLI_ERR_MAX 256
/* The "version" of every --json record (cardrenew(1), JSON OUTPUT): raised
 * only when a field changes meaning or goes; new fields keep it. */
#define CLI_JSON_VERSION 1

enum cli_cmd { CLI_NONE, CLI_STATUS, CLI_CHECK, CLI_RENEW, CLI_DIAGNOSE, CLI_HELP, CLI_VERSION_CMD,
               CLI_ENROLL, CLI_CANCEL, CLI_UNBLOCK, CLI_REPAIR };

struct cli_opts {
    enum cli_cmd cmd;
    bool json, notify, yes, quiet, verbose, force;
    int days;               /* -1: not given */
    const char *pin_source, *module, *token, *ca_url, *ca_cert, *config;
    const char *exec;       /* --exec CMD: run after a renewal */
    /* The RA's commands (cli/ra.c). */
    const char *reference, *secret_source, *subject, *reason, *puk_source, *new_pin_source;
};

/* Progress while a command runs (progress.c): the hooks renew/ calls.
 * step prints "[  1.2s] what" unless --quiet; debug goes to stderr with
 * --verbose. arg is the struct cli_progress. */
struct cli_progress {
    const struct cli_opts *o;
    struct timespec t0;
};
void cli_progress_start(struct cli_progress *p, const struct cli_opts *o);
double cli_progress_elapsed(const struct cli_progress *p);
void cli_progress_step(void *arg, const char *what);
void cli_progress_debug(void *arg, const char *line);
/* "cardrenew: msg" on stderr; returns code. */
int cli_fail(int code, const char *msg);

/* A module that shows no smartcard, explained (nocard.c): with no slot at
 * all, PC/SC is asked whether its service runs and has a reader; the
 * error becomes RENEW_E_NO_SERVICE, RENEW_E_NO_READER or "no smartcard in
 * the reader" (RENEW_E_NO_TOKEN). Other errors are left as they are.
 * Returns e->code. cli_no_card_explain takes PC/SC's answer (for tests). */
int cli_explain(struct renew_err *e);
int cli_no_card_explain(struct renew_err *e, enum cli_pcsc_state pcsc);
/* cli_explain, then cli_fail with its line. */
int cli_fail_err(struct renew_err *e);

/* Parses argv; 0 on success, else RENEW_E_USAGE with err set. */
int cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen);
void cli_usage(FILE *f);

/* cli/ra.c: the RA's commands. Options that belong to them alone are
 * refused elsewhere, and theirs checked: 0 or RENEW_E_USAGE with err. */
int cli_ra_check_opts(const struct cli_opts *o, char *err, size_t errlen);
struct cli_settings;
int cli_ra_run(const struct cli_opts *o, const struct cli_settings *s,
               const struct renew_target *t);

/* conf/cardrenew.conf: key=value, # comments. */
struct cli_config {
    char ca_url[512], ca_cert[512], ca_tls_trust[512], module[512], token[512], exec[512];
    int renew_days;         /* -1: not set */
    int ca_timeout;         /* seconds; -1: not set */
};
/* Reads path alone; or, if NULL, SYSCONFDIR/cardrenew/cardrenew.conf and
 * then the user's ($XDG_CONFIG_HOME or ~/.config), the user's keys over
 * the system's (either may be missing). 0 or RENEW_E_USAGE with err set. */
int cli_config_load(const char *path, struct cli_config *c, char *err, size_t errlen);
/* The same for two given files (exposed for tests); NULL or "" skips one. */
int cli_config_load_layers(const char *sys, const char *user, struct cli_config *c,
                           char *err, size_t errlen);
/* Parses one file's text into c (exposed for tests). */
int cli_config_parse(const char *text, const char *name, struct cli_config *c,
                     char *err, size_t errlen);

/* The installed configuration directory: PREFIX/etc for a cardrenew
 * running from PREFIX/bin, /etc for /usr/bin and anywhere else. */
const char *cli_sysconfdir(void);
/* The same for a given executable path (exposed for tests); -1 if too long. */
int cli_sysconfdir_for(const char *exe, char *out, size_t outlen);

/* What applies, after precedence: flags > environment > file > default. */
struct cli_settings {
    const char *ca_url, *ca_cert, *ca_tls_trust, *module, *token, *exec;
    int days;
    int ca_timeout;         /* $CARDRENEW_CA_TIMEOUT, else ca_timeout; 0: default */
};
void cli_settings_resolve(const struct cli_opts *o, const struct cli_config *c,
                          const char *env_url, const char *env_cert,
                          struct cli_settings *s);
/* The CA as renew/ takes it, from the settings. */
struct renew_ca cli_settings_ca(const struct cli_settings *s);

/* PIN sources: env:VAR, file:PATH, fd:N, pinentry; NULL means the terminal. */
enum cli_pin_kind { CLI_PIN_TTY, CLI_PIN_ENV, CLI_PIN_FILE, CLI_PIN_FD, CLI_PIN_PINENTRY };
int cli_pin_source_parse(const char *src, enum cli_pin_kind *kind, const char **arg,
                         int *fd, char *err, size_t errlen);
/* Reads the PIN into buf (at most CLI_PIN_MAX chars, NUL-terminated).
 * 0, or RENEW_E_USAGE with err set; buf is wiped on failure. */
int cli_pin_read(const char *src, char *buf, size_t bufsize, size_t *len,
                 char *err, size_t errlen);
/* Asks a pinentry program ($CARDRENEW_PINENTRY, else "pinentry") over
 * Assuan; same contract as cli_pin_read. */
int cli_pin_pinentry(char *buf, size_t bufsize, size_t *len, char *err, size_t errlen);
/* Decodes an Assuan data line's percent escapes into buf (NUL-terminated);
 * -1 (buf wiped) when malformed or too long. */
int cli_pinentry_decode(const char *data, char *buf, size_t bufsize, size_t *len);
/* Any secret read like the PIN (a PUK, a new PIN, the RA's one-time
 * secret): name for messages ("the PUK"), the option that gives its
 * source, and the no-echo terminal prompt. */
struct cli_secret {
    const char *name, *option, *prompt;
};
int cli_secret_read(const struct cli_secret *what, const char *src, char *buf,
                    size_t bufsize, size_t *len, char *err, size_t errlen);
/* Is there a terminal to ask on? */
bool cli_have_tty(void);
/* Asks a yes/no question on the terminal; false when there is none. */
bool cli_ask_yes(const char *question);

/* Output. */
void cli_date(time_t t, char *out, size_t outlen);     /* 21-Nov-2019 */
void cli_iso_date(time_t t, char *out, size_t outlen); /* 2019-11-21T00:00:00Z */
/* The certificate that expires first; NULL when n is 0. */
const struct renew_cert_info *cli_soonest(const struct renew_cert_info *c, size_t n);
void cli_print_status(FILE *f, const struct renew_cert_info *c, size_t n, bool json);
/* The --check line and exit code for the soonest-expiring certificate. */
int cli_check_line(const struct renew_cert_info *c, size_t n, int days,
                   char *line, size_t linelen);
/* The --check --notify reminder (notify.c): when rc is RENEW_CHECK_DUE or
 * RENEW_CHECK_EXPIRED, a desktop notification over the session bus whose
 * urgency follows the soonest expiry; when due, its "Renew now" action runs
 * cardrenew --renew --pin-source pinentry and a second notification tells
 * the outcome. Problems go to stderr as one line; never fatal. */
void cli_remind(const struct cli_opts *o, const struct renew_cert_info *c, size_t n, int rc,
                const char *line);
/* After a successful renewal (hooks.c): runs exec_cmd (through /bin/sh -c;
 * NULL: none), then every executable in dir, with CARDRENEW_NEW_CERT,
 * CARDRENEW_OLD_CERT (PEM files), CARDRENEW_SERIAL, CARDRENEW_NOT_AFTER.
 * Each failure is one line on stderr; returns how many failed. */
int cli_run_hooks(const char *exec_cmd, const char *dir, const struct renew_result *res);
/* $CARDRENEW_HOOK_DIR, else SYSCONFDIR/cardrenew/renewed.d. */
const char *cli_hook_dir(void);

/* The syslog line after --renew (log.c): code is renew_run's result (or
 * RENEW_E_HOOK), msg its error line. cli_log_format returns the priority
 * and fills out; cli_log_renewal sends it (LOG_AUTHPRIV). */
int cli_log_format(int code, const struct renew_result *res, const char *user,
                   const char *msg, char *out, size_t n);
void cli_log_renewal(int code, const struct renew_result *res, const char *msg);

/* The notification's urgency (freedesktop: 0 low, 1 normal, 2 critical). */
enum { CLI_URGENCY_LOW, CLI_URGENCY_NORMAL, CLI_URGENCY_CRITICAL };
int cli_notify_urgency(long days_left);
void cli_print_findings(FILE *f, const struct renew_finding *v, size_t n, bool json);

#endif
