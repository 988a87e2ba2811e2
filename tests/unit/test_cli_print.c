/* Dates as the CIS profile page shows them, the --check line, and the
 * --json records with their "version". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Runs print into a memory stream; the caller frees the text. */
static char *printed(void (*print)(FILE *, const void *, size_t, bool), const void *v, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    print(f, v, n, true);
    fclose(f);
    return text;
}

static void status_json(FILE *f, const void *v, size_t n, bool json)
{
    cli_print_status(f, v, n, json);
}

static void findings_json(FILE *f, const void *v, size_t n, bool json)
{
    cli_print_findings(f, v, n, json);
}

/* How many times needle stands in text. */
static int count(const char *text, const char *needle)
{
    int k = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        k++;
    return k;
}

/* Every record of both JSON outputs opens with the version; the array
 * stays the top level, as scripts read it. */
static void test_json_version(void **state)
{
    (void)state;
    struct renew_cert_info c[2] = { { .serial = "5124000004254900", .not_after = 1574294400 },
                                    { .serial = "4082C10C1A222820", .not_after = 1574294400 } };
    struct renew_finding v[1] = { { .code = 10, .serial = "5124000004254900",
                                    .what = "renewal due", .todo = "run cardrenew --renew" } };
    char want[32];
    snprintf(want, sizeof want, "{\"version\": %d, \"serial\": ", CLI_JSON_VERSION);
    char *t = printed(status_json, c, 2);
    assert_int_equal(t[0], '[');
    assert_int_equal(count(t, want), 2);
    assert_int_equal(count(t, "\"version\""), 2);
    free(t);
    t = printed(findings_json, v, 1);
    assert_int_equal(t[0], '[');
    assert_int_equal(count(t, want), 1);
    free(t);
    assert_int_equal(CLI_JSON_VERSION, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_check_line),
        cmocka_unit_test(test_check_line_never_promises_a_refused_renewal),
        cmocka_unit_test(test_json_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
