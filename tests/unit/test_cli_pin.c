/* PIN sources: env:, file:, fd:, bounds, and wiping on failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

static void test_parse_sources(void **state)
{
    (void)state;
    enum cli_pin_kind k;
    const char *arg;
    int fd;
    char err[CLI_ERR_MAX];
    assert_int_equal(cli_pin_source_parse(NULL, &k, &arg, &fd, err, sizeof err), 0);
    assert_int_equal(k, CLI_PIN_TTY);
    assert_int_equal(cli_pin_source_parse("env:CARD_PIN", &k, &arg, &fd, err, sizeof err), 0);
    assert_int_equal(k, CLI_PIN_ENV);
    assert_string_equal(arg, "CARD_PIN");
    assert_int_equal(cli_pin_source_parse("file:/run/pin", &k, &arg, &fd, err, sizeof err), 0);
    assert_int_equal(k, CLI_PIN_FILE);
    assert_string_equal(arg, "/run/pin");
    assert_int_equal(cli_pin_source_parse("fd:3", &k, &arg, &fd, err, sizeof err), 0);
    assert_int_equal(k, CLI_PIN_FD);
    assert_int_equal(fd, 3);
    const char *bad[] = { "1234", "env:", "file:", "fd:", "fd:x", "fd:-1", "pass:1234", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cli_pin_source_parse(bad[i], &k, &arg, &fd, err, sizeof err),
                         RENEW_E_USAGE);
}

static void test_env(void **state)
{
    (void)state;
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t len;
    setenv("TEST_PIN", "123456", 1);
    assert_int_equal(cli_pin_read("env:TEST_PIN", pin, sizeof pin, &len, err, sizeof err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(pin, "123456");
    /* Taken out of the environment once read. */
    assert_null(getenv("TEST_PIN"));
    assert_int_equal(cli_pin_read("env:TEST_PIN", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    setenv("TEST_PIN", "", 1);
    assert_int_equal(cli_pin_read("env:TEST_PIN", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    char longpin[CLI_PIN_MAX + 10];
    memset(longpin, '7', sizeof longpin - 1);
    longpin[sizeof longpin - 1] = '\0';
    setenv("TEST_PIN", longpin, 1);
    assert_int_equal(cli_pin_read("env:TEST_PIN", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    for (size_t i = 0; i < sizeof pin; i++)
        assert_int_equal(pin[i], 0);
}

static void test_file_and_fd(void **state)
{
    (void)state;
    char path[] = "/tmp/test_cli_pin.XXXXXX", src[64], pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t len;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "4321\r\nignored\n", 14), 14);
    close(fd);
    snprintf(src, sizeof src, "file:%s", path);
    assert_int_equal(cli_pin_read(src, pin, sizeof pin, &len, err, sizeof err), 0);
    assert_string_equal(pin, "4321");
    assert_int_equal(len, 4);
    unlink(path);
    assert_int_equal(cli_pin_read(src, pin, sizeof pin, &len, err, sizeof err), RENEW_E_USAGE);
    assert_non_null(strstr(err, path));

    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "987654", 6), 6);
    close(p[1]);
    snprintf(src, sizeof src, "fd:%d", p[0]);
    assert_int_equal(cli_pin_read(src, pin, sizeof pin, &len, err, sizeof err), 0);
    assert_string_equal(pin, "987654");
    close(p[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sources),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_file_and_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
