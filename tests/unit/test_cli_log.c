/* The syslog line after --renew: what happened, the user, the card serial
 * and the expiries, at a priority that matches; control characters from an
 * error message (a CA's reason text) cannot split it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <syslog.h>
#include "cli/cli.h"

static struct renew_result res;

static int setup(void **state)
{
    (void)state;
    memset(&res, 0, sizeof res);
    strcpy(res.serial, "5124000004254900");
    res.current_not_after = 1574294400;     /* 2019-11-21T00:00:00Z */
    return 0;
}

static void test_renewed(void **state)
{
    (void)state;
    char line[512];
    res.outcome = RENEW_RENEWED;
    res.new_not_after = 1637452800;         /* 2021-11-21T00:00:00Z */
    strcpy(res.new_serial_hex, "1A2B");
    assert_int_equal(cli_log_format(0, &res, "jane", NULL, line, sizeof line), LOG_NOTICE);
    assert_string_equal(line, "renewed: user=jane card=5124000004254900 "
                              "old_not_after=2019-11-21T00:00:00Z "
                              "new_not_after=2021-11-21T00:00:00Z new_cert_serial=1A2B");
}

static void test_not_due(void **state)
{
    (void)state;
    char line[512];
    res.outcome = RENEW_ALREADY_RENEWED;
    assert_int_equal(cli_log_format(0, &res, "jane", NULL, line, sizeof line), LOG_INFO);
    assert_string_equal(line, "not due: user=jane card=5124000004254900 "
                              "not_after=2019-11-21T00:00:00Z (already renewed)");
}

static void test_refused(void **state)
{
    (void)state;
    char line[512];
    assert_int_equal(cli_log_format(RENEW_E_CA, &res, "jane",
                                    "the CA refused: bad\nrequest\r", line, sizeof line),
                     LOG_WARNING);
    assert_string_equal(line, "refused: user=jane card=5124000004254900 "
                              "not_after=2019-11-21T00:00:00Z exit=6: the CA refused: bad "
                              "request ");
    assert_int_equal(cli_log_format(RENEW_E_PIN, &res, "jane", "wrong PIN", line, sizeof line),
                     LOG_WARNING);
}

static void test_error_before_card(void **state)
{
    (void)state;
    char line[512];
    struct renew_result none;
    memset(&none, 0, sizeof none);
    assert_int_equal(cli_log_format(RENEW_E_TOKEN, &none, "jane", "card error", line,
                                    sizeof line), LOG_ERR);
    assert_string_equal(line, "error: user=jane card=unknown not_after=unknown exit=7: "
                              "card error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_renewed, setup),
        cmocka_unit_test_setup(test_not_due, setup),
        cmocka_unit_test_setup(test_refused, setup),
        cmocka_unit_test_setup(test_error_before_card, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
