/* Option parsing: commands, values, and the usage errors people see. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "cli/cli.h"

static int parse(struct cli_opts *o, char *err, ...)
{
    char *argv[16] = { "cardrenew" };
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; argc < 15 && (a = va_arg(ap, char *)); )
        argv[argc++] = a;
    va_end(ap);
    err[0] = '\0';
    return cli_parse(argc, argv, o, err, CLI_ERR_MAX);
}

static void test_commands(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[CLI_ERR_MAX];
    assert_int_equal(parse(&o, err, "--status", "--json", NULL), 0);
    assert_int_equal(o.cmd, CLI_STATUS);
    assert_true(o.json);
    assert_int_equal(parse(&o, err, "--check", "--days", "14", "--notify", NULL), 0);
    assert_int_equal(o.cmd, CLI_CHECK);
    assert_int_equal(o.days, 14);
    assert_true(o.notify);
    assert_int_equal(parse(&o, err, "--check", NULL), 0);
    assert_int_equal(o.days, -1);
    assert_int_equal(parse(&o, err, "--renew", "--yes", "--pin-source=env:PIN",
                           "--module", "softhsm2", "--token", "pkcs11:token=X",
                           "--ca", "http://h:1/p", "--ca-cert", "ca.pem", NULL), 0);
    assert_int_equal(o.cmd, CLI_RENEW);
    assert_true(o.yes);
    assert_string_equal(o.pin_source, "env:PIN");
    assert_string_equal(o.module, "softhsm2");
    assert_string_equal(o.token, "pkcs11:token=X");
    assert_string_equal(o.ca_url, "http://h:1/p");
    assert_string_equal(o.ca_cert, "ca.pem");
    assert_int_equal(parse(&o, err, "--diagnose", "--verbose", NULL), 0);
    assert_int_equal(o.cmd, CLI_DIAGNOSE);
    assert_int_equal(parse(&o, err, "--renew", "--help", NULL), 0);
    assert_int_equal(o.cmd, CLI_HELP);
    assert_int_equal(parse(&o, err, "--version", NULL), 0);
    assert_int_equal(o.cmd, CLI_VERSION_CMD);
}

static void test_usage_errors(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[CLI_ERR_MAX];
    assert_int_equal(parse(&o, err, NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "--status"));
    assert_int_equal(parse(&o, err, "--status", "--renew", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--frobnicate", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "--frobnicate"));
    assert_int_equal(parse(&o, err, "--check", "--days", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--check", "--days", "soon", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--check", "--days", "-3", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--status", "--json=yes", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "status", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--status", "--quiet", "--verbose", NULL), RENEW_E_USAGE);
    /* The PIN itself is never accepted on the command line. */
    assert_int_equal(parse(&o, err, "--renew", "--pin-source", "123456", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "never the PIN"));
}

/* The short forms of the common options, alone, bundled and with values
 * attached; long options by unambiguous prefix, as getopt_long allows. */
static void test_short_options(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[CLI_ERR_MAX];
    assert_int_equal(parse(&o, err, "-h", NULL), 0);
    assert_int_equal(o.cmd, CLI_HELP);
    assert_int_equal(parse(&o, err, "-V", NULL), 0);
    assert_int_equal(o.cmd, CLI_VERSION_CMD);
    assert_int_equal(parse(&o, err, "-sj", NULL), 0);
    assert_int_equal(o.cmd, CLI_STATUS);
    assert_true(o.json);
    assert_int_equal(parse(&o, err, "-c", "-d", "14", "-q", NULL), 0);
    assert_int_equal(o.cmd, CLI_CHECK);
    assert_int_equal(o.days, 14);
    assert_true(o.quiet);
    assert_int_equal(parse(&o, err, "-r", "-y", "-f", "-v", "-pfd:3", "-m", "softhsm2",
                           "-t", "pkcs11:token=X", NULL), 0);
    assert_int_equal(o.cmd, CLI_RENEW);
    assert_true(o.yes && o.force && o.verbose);
    assert_string_equal(o.pin_source, "fd:3");
    assert_string_equal(o.module, "softhsm2");
    assert_string_equal(o.token, "pkcs11:token=X");
    assert_int_equal(parse(&o, err, "--stat", "--days=7", NULL), 0);
    assert_int_equal(o.cmd, CLI_STATUS);
    assert_int_equal(o.days, 7);
    /* Options after a stray argument are still read; the argument is not. */
    assert_int_equal(parse(&o, err, "--status", "now", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "\"now\""));
}

static void test_short_usage_errors(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[CLI_ERR_MAX];
    assert_int_equal(parse(&o, err, "-s", "-x", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "unknown option -x"));
    assert_int_equal(parse(&o, err, "-c", "-d", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "--days needs a value (N)"));
    assert_int_equal(parse(&o, err, "--check", "--days", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "--days needs a value (N)"));
    assert_int_equal(parse(&o, err, "--status", "--json=yes", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "--json takes no value"));
    /* --re is --renew, --reference, --reason or --repair. */
    assert_int_equal(parse(&o, err, "--re", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "ambiguous option --re"));
    assert_int_equal(parse(&o, err, "-s", "-r", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "-r", "-p", "123456", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "never the PIN"));
    assert_int_equal(parse(&o, err, "-s", "--", "-c", NULL), RENEW_E_USAGE);
    /* JSON where there is some, a refusal elsewhere. */
    assert_int_equal(parse(&o, err, "--diagnose", "-j", NULL), 0);
    static const char *no_json[] = { "--check", "--renew", "--repair", "--cancel", "--unblock" };
    for (size_t i = 0; i < sizeof no_json / sizeof no_json[0]; i++) {
        assert_int_equal(parse(&o, err, no_json[i], "--json", "--reason", "superseded", NULL),
                         RENEW_E_USAGE);
        assert_non_null(strstr(err, "--json goes with --status and --diagnose"));
    }
}

/* The RA's commands: their options go with them alone, secrets never as
 * values, reasons by their RFC 5280 names. */
static void test_ra_commands(void **state)
{
    (void)state;
    struct cli_opts o;
    char err[CLI_ERR_MAX];
    assert_int_equal(parse(&o, err, "--enroll", "--reference", "0a1b", "--secret-source",
                           "env:S", "--subject", "/CN=Jane", NULL), 0);
    assert_int_equal(o.cmd, CLI_ENROLL);
    assert_string_equal(o.reference, "0a1b");
    assert_string_equal(o.subject, "/CN=Jane");
    assert_int_equal(parse(&o, err, "--enroll", "--secret-source", "env:S", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "--reference"));
    assert_int_equal(parse(&o, err, "--enroll", "--reference", "0a1b", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--enroll", "--reference", "0a1b", "--secret-source",
                           "s3cret", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--renew", "--reference", "0a1b", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--cancel", "--reason", "keyCompromise", NULL), 0);
    assert_int_equal(o.cmd, CLI_CANCEL);
    assert_int_equal(parse(&o, err, "--cancel", "--reason", "cessationOfOperation", NULL), 0);
    assert_int_equal(parse(&o, err, "--cancel", "--reason", "stolen", NULL), RENEW_E_USAGE);
    assert_non_null(strstr(err, "keyCompromise"));
    assert_int_equal(parse(&o, err, "--cancel", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--status", "--reason", "superseded", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--unblock", "--puk-source", "fd:3", "--new-pin-source",
                           "env:N", NULL), 0);
    assert_int_equal(o.cmd, CLI_UNBLOCK);
    assert_int_equal(parse(&o, err, "--unblock", "--puk-source", "12345678", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--renew", "--puk-source", "fd:3", NULL), RENEW_E_USAGE);
    assert_int_equal(parse(&o, err, "--repair", "--yes", NULL), 0);
    assert_int_equal(o.cmd, CLI_REPAIR);
    assert_int_equal(parse(&o, err, "--repair", "--enroll", NULL), RENEW_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_ra_commands),
        cmocka_unit_test(test_short_options),
        cmocka_unit_test(test_short_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
