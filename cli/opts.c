/* opts.c: the option table, in the style of OpenSSL's apps: one enum,
 * one table that also prints the help and feeds getopt_long (the common
 * options have a one-letter form too). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

/* Long-only options take values past any character. */
enum opt {
    OPT_STATUS = 's', OPT_JSON = 'j', OPT_CHECK = 'c', OPT_DAYS = 'd', OPT_RENEW = 'r',
    OPT_PIN_SOURCE = 'p', OPT_YES = 'y', OPT_FORCE = 'f', OPT_MODULE = 'm', OPT_TOKEN = 't',
    OPT_QUIET = 'q', OPT_VERBOSE = 'v', OPT_VERSION = 'V', OPT_HELP = 'h',
    OPT_NOTIFY = 256, OPT_DIAGNOSE, OPT_CA, OPT_CA_CERT, OPT_CONFIG, OPT_EXEC, OPT_ENROLL,
    OPT_REFERENCE, OPT_SECRET_SOURCE, OPT_SUBJECT, OPT_CANCEL, OPT_REASON, OPT_UNBLOCK,
    OPT_PUK_SOURCE, OPT_NEW_PIN_SOURCE, OPT_REPAIR,
};

static const struct {
    const char *name;
    enum opt id;            /* a letter: also -<letter> */
    const char *arg;        /* NULL: takes no value */
    const char *help;
} options[] = {
    { "status", OPT_STATUS, NULL, "show the card's certificates and days left" },
    { "json", OPT_JSON, NULL, "with --status or --diagnose: JSON output" },
    { "check", OPT_CHECK, NULL, "exit 0, 10 (renewal due) or 11 (expired)" },
    { "days", OPT_DAYS, "N", "the renewal window for --check and --renew (default 28)" },
    { "notify", OPT_NOTIFY, NULL, "with --check: also a desktop notification" },
    { "renew", OPT_RENEW, NULL, "renew the certificate on the card" },
    { "pin-source", OPT_PIN_SOURCE, "SRC", "env:VAR, file:PATH, fd:N or pinentry (default: ask)" },
    { "yes", OPT_YES, NULL, "do not ask for confirmation" },
    { "force", OPT_FORCE, NULL, "with --renew: renew even when not yet due" },
    { "diagnose", OPT_DIAGNOSE, NULL, "what is wrong with the card, and what to do" },
    { "enroll", OPT_ENROLL, NULL, "RA: issue or re-issue a certificate onto the card" },
    { "reference", OPT_REFERENCE, "REF", "with --enroll: the CA's reference for the secret" },
    { "secret-source", OPT_SECRET_SOURCE, "SRC", "with --enroll: the one-time secret (env:, file:, fd:)" },
    { "subject", OPT_SUBJECT, "DN", "with --enroll: /C=GB/O=NHS/CN=Name (default: the card's)" },
    { "cancel", OPT_CANCEL, NULL, "RA: cancel (revoke) the card's certificate" },
    { "reason", OPT_REASON, "R", "with --cancel: keyCompromise, affiliationChanged, superseded, ..." },
    { "unblock", OPT_UNBLOCK, NULL, "RA: unblock the PIN with the PUK and set a new PIN" },
    { "puk-source", OPT_PUK_SOURCE, "SRC", "with --unblock: the PUK (default: ask)" },
    { "new-pin-source", OPT_NEW_PIN_SOURCE, "SRC", "with --unblock: the new PIN (default: ask twice)" },
    { "repair", OPT_REPAIR, NULL, "RA: put right what can be without the CA" },
    { "module", OPT_MODULE, "PATH|NAME", "the PKCS#11 module (file or p11-kit name)" },
    { "token", OPT_TOKEN, "URI", "which token: a pkcs11: URI" },
    { "ca", OPT_CA, "URL", "the CA's CMP URL" },
    { "ca-cert", OPT_CA_CERT, "FILE", "the CA certificate(s) to trust (PEM)" },
    { "config", OPT_CONFIG, "FILE", "configuration file" },
    { "exec", OPT_EXEC, "CMD", "with --renew: run CMD (sh -c) after a renewal" },
    { "quiet", OPT_QUIET, NULL, "print errors only" },
    { "verbose", OPT_VERBOSE, NULL, "print more detail" },
    { "version", OPT_VERSION, NULL, "print the version" },
    { "help", OPT_HELP, NULL, "print this help" },
};
#define NOPTS (sizeof options / sizeof options[0])

static bool is_short(enum opt id)
{
    return id < 256;
}

void cli_usage(FILE *f)
{
    fprintf(f, "Usage: cardrenew --status|--check|--renew|--diagnose [options]\n"
               "       cardrenew --enroll|--cancel|--unblock|--repair [options]   (the RA's)\n"
               "Shows, checks and renews the certificate on an NHS smartcard.\n\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[48];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s", is_short(options[i].id) ? '-' : ' ',
                 is_short(options[i].id) ? (char)options[i].id : ' ',
                 is_short(options[i].id) ? ',' : ' ', options[i].name,
                 options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
        fprintf(f, "  %-28s %s\n", left, options[i].help);
    }
    fprintf(f, "\nExit codes: 0 ok, 1 usage, 2 no card, 3 wrong PIN, 4 PIN blocked,\n"
               "5 expired (RA renewal), 6 CA unreachable or refused, 7 card error,\n"
               "8 not supported here, 9 renewal journal damaged (moved aside), 10 renewal due,\n"
               "11 expired (--check), 12 renewed but a hook failed, 13 renewal declined,\n"
               "14 smartcard service (pcscd) not running, 15 no smartcard reader.\n"
               "See cardrenew(1).\n");
}

static int set_cmd(struct cli_opts *o, enum cli_cmd c, const char *name, char *err, size_t n)
{
    if (o->cmd != CLI_NONE && o->cmd != c) {
        snprintf(err, n, "--%s cannot be combined with another command: give one of "
                         "--status, --check, --renew, --diagnose, --enroll, --cancel, "
                         "--unblock, --repair", name);
        return RENEW_E_USAGE;
    }
    o->cmd = c;
    return 0;
}

static int index_of(int id)
{
    for (size_t k = 0; k < NOPTS; k++)
        if ((int)options[k].id == id)
            return (int)k;
    return -1;
}

/* getopt_long's complaint, in our words (opterr is off). */
static int bad_option(int c, char **argv, char *err, size_t errlen)
{
    int k = optopt ? index_of(optopt) : -1;
    const char *arg = argv[optind - 1];
    /* "--json=yes": glibc answers '?', mingw's BSD getopt_long ':' (our
     * optstring starts with ':'), so the option's own table decides. */
    if (k >= 0 && !options[k].arg && strncmp(arg, "--", 2) == 0)
        snprintf(err, errlen, "--%s takes no value", options[k].name);
    else if (c == ':' && k >= 0)
        snprintf(err, errlen, "--%s needs a value (%s)", options[k].name, options[k].arg);
    else if (optopt)
        snprintf(err, errlen, "unknown option -%c: see cardrenew --help", optopt);
    else
        snprintf(err, errlen, "unknown or ambiguous option %.*s: see cardrenew --help",
                 (int)strcspn(arg, "="), arg);
    return RENEW_E_USAGE;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen)
{
    struct option lo[NOPTS + 1];
    char shorts[2 * NOPTS + 2], *sp = shorts;
    *sp++ = ':';        /* a missing value is ':', not '?' */
    for (size_t k = 0; k < NOPTS; k++) {
        lo[k] = (struct option){ options[k].name,
                                 options[k].arg ? required_argument : no_argument, NULL,
                                 (int)options[k].id };
        if (is_short(options[k].id)) {
            *sp++ = (char)options[k].id;
            if (options[k].arg)
                *sp++ = ':';
        }
    }
    *sp = '\0';
    lo[NOPTS] = (struct option){ 0 };
    memset(o, 0, sizeof *o);
    o->days = -1;
    optind = 0;         /* glibc: start afresh (cli_parse may run again) */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        const char *val = optarg;
        if (c == '?' || c == ':')
            return bad_option(c, argv, err, errlen);
        int rc = 0;
        switch ((enum opt)c) {
        case OPT_STATUS: rc = set_cmd(o, CLI_STATUS, "status", err, errlen); break;
        case OPT_CHECK: rc = set_cmd(o, CLI_CHECK, "check", err, errlen); break;
        case OPT_RENEW: rc = set_cmd(o, CLI_RENEW, "renew", err, errlen); break;
        case OPT_DIAGNOSE: rc = set_cmd(o, CLI_DIAGNOSE, "diagnose", err, errlen); break;
        case OPT_ENROLL: rc = set_cmd(o, CLI_ENROLL, "enroll", err, errlen); break;
        case OPT_CANCEL: rc = set_cmd(o, CLI_CANCEL, "cancel", err, errlen); break;
        case OPT_UNBLOCK: rc = set_cmd(o, CLI_UNBLOCK, "unblock", err, errlen); break;
        case OPT_REPAIR: rc = set_cmd(o, CLI_REPAIR, "repair", err, errlen); break;
        case OPT_REFERENCE: o->reference = val; break;
        case OPT_SECRET_SOURCE: o->secret_source = val; break;
        case OPT_SUBJECT: o->subject = val; break;
        case OPT_REASON: o->reason = val; break;
        case OPT_PUK_SOURCE: o->puk_source = val; break;
        case OPT_NEW_PIN_SOURCE: o->new_pin_source = val; break;
        case OPT_HELP: o->cmd = CLI_HELP; return 0;
        case OPT_VERSION: o->cmd = CLI_VERSION_CMD; return 0;
        case OPT_JSON: o->json = true; break;
        case OPT_NOTIFY: o->notify = true; break;
        case OPT_YES: o->yes = true; break;
        case OPT_FORCE: o->force = true; break;
        case OPT_QUIET: o->quiet = true; break;
        case OPT_VERBOSE: o->verbose = true; break;
        case OPT_DAYS: {
            char *end;
            long d = val ? strtol(val, &end, 10) : -1;
            if (!val || !*val || *end || d < 0 || d > 3650) {
                snprintf(err, errlen, "--days: \"%s\" is not a number of days (0-3650)", val);
                return RENEW_E_USAGE;
            }
            o->days = (int)d;
            break;
        }
        case OPT_PIN_SOURCE: o->pin_source = val; break;
        case OPT_MODULE: o->module = val; break;
        case OPT_TOKEN: o->token = val; break;
        case OPT_CA: o->ca_url = val; break;
        case OPT_CA_CERT: o->ca_cert = val; break;
        case OPT_CONFIG: o->config = val; break;
        case OPT_EXEC: o->exec = val; break;
        }
        if (rc)
            return rc;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument \"%s\": see cardrenew --help", argv[optind]);
        return RENEW_E_USAGE;
    }
    if (o->quiet && o->verbose) {
        snprintf(err, errlen, "--quiet and --verbose cannot be used together");
        return RENEW_E_USAGE;
    }
    if (o->cmd == CLI_NONE) {
        snprintf(err, errlen, "say what to do: --status, --check, --renew or --diagnose "
                              "(the RA's: --enroll, --cancel, --unblock, --repair; "
                              "see cardrenew --help)");
        return RENEW_E_USAGE;
    }
    if (o->json && o->cmd != CLI_STATUS && o->cmd != CLI_DIAGNOSE) {
        snprintf(err, errlen, "--json goes with --status and --diagnose; the other commands "
                              "answer with their exit code (see cardrenew(1))");
        return RENEW_E_USAGE;
    }
    const char *srcs[] = { o->pin_source, o->secret_source, o->puk_source, o->new_pin_source };
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
        enum cli_pin_kind kind;
        const char *arg;
        int fd;
        int rc = srcs[i] ? cli_pin_source_parse(srcs[i], &kind, &arg, &fd, err, errlen) : 0;
        if (rc)
            return rc;
    }
    return cli_ra_check_opts(o, err, errlen);
}
