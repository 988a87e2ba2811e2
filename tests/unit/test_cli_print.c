/* Dates as the CIS profile page shows them, and the --check line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "cli/cli.h"

static void test_date(void **state)
{
    (void)state;
    char d[32];
    cli_date(1574294400, d, sizeof d);      /* 2019-11-21T00:00:00Z */
    assert_string_equal(d, "21-Nov-2019");
}

static void test_check_line(void **state)
{
    (void)state;
    struct renew_cert_info c[2];
    char line[512];
    time_t now = time(NULL);
    memset(c, 0, sizeof c);
    c[0].not_after = now + 400 * 86400;
    c[1].not_after = now + 20 * 86400 + 60;
    c[0].days_left = 400;
    c[1].days_left = 20;
    assert_int_equal(cli_check_line(c, 2, 28, line, sizeof line), RENEW_CHECK_DUE);
    assert_non_null(strstr(line, "20 days"));
    assert_non_null(strstr(line, "cardrenew --renew"));
    assert_int_equal(cli_check_line(c, 2, 14, line, sizeof line), RENEW_OK);
    c[1].not_after = now - 86400;
    assert_int_equal(cli_check_line(c, 2, 28, line, sizeof line), RENEW_CHECK_EXPIRED);
    assert_non_null(strstr(line, "RA renewal"));
    assert_int_equal(cli_check_line(c, 0, 28, line, sizeof line), RENEW_E_TOKEN);
    assert_non_null(strstr(line, "empty"));
}

/* --check never sends the holder to --renew where --renew would refuse. */
static void test_check_line_never_promises_a_refused_renewal(void **state)
{
    (void)state;
    struct renew_cert_info c[1];
    char line[512];
    memset(c, 0, sizeof c);
    c[0].not_after = time(NULL) + 20 * 86400;
    c[0].days_left = 20;
    c[0].keyless = true;
    assert_int_equal(cli_check_line(c, 1, 28, line, sizeof line), RENEW_E_TOKEN);
    assert_null(strstr(line, "--renew"));
    assert_non_null(strstr(line, "RA"));
    c[0].keyless = false;
    c[0].pin_blocked = true;
    assert_int_equal(cli_check_line(c, 1, 28, line, sizeof line), RENEW_E_PIN_BLOCKED);
    assert_null(strstr(line, "--renew"));
    assert_non_null(strstr(line, "unblock"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_check_line),
        cmocka_unit_test(test_check_line_never_promises_a_refused_renewal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
