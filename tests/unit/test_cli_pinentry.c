/* --pin-source pinentry against a fake pinentry (a shell script speaking
 * Assuan): the PIN is decoded, the description escaped, a cancel or a
 * program that is not a pinentry is a clear error with the buffer wiped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"

static char dir[] = "/tmp/cardrenew-pinentry.XXXXXX";
static char script[256], logf[256];

/* The fake answers every command OK, logs what it got, and answers GETPIN
 * with $FAKE_ANSWER (one or more lines). */
static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(script, sizeof script, "%s/pinentry", dir);
    snprintf(logf, sizeof logf, "%s/log", dir);
    FILE *f = fopen(script, "w");
    if (!f)
        return -1;
    fprintf(f, "#!/bin/sh\n"
               "echo '# a comment first, as pinentry may'\n"
               "echo 'OK Pleased to meet you'\n"
               "while IFS= read -r line; do\n"
               "  printf '%%s\\n' \"$line\" >> \"%s\"\n"
               "  case \"$line\" in\n"
               "    GETPIN) printf '%%b\\n' \"$FAKE_ANSWER\" ;;\n"
               "    BYE) echo OK; exit 0 ;;\n"
               "    *) echo OK ;;\n"
               "  esac\n"
               "done\n", logf);
    fclose(f);
    chmod(script, 0700);
    setenv("CARDRENEW_PINENTRY", script, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(script);
    unlink(logf);
    rmdir(dir);
    return 0;
}

static char *slurp_log(void)
{
    static char buf[4096];
    FILE *f = fopen(logf, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    unlink(logf);
    return buf;
}

static void test_pin_read(void **state)
{
    (void)state;
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t len = 0;
    setenv("FAKE_ANSWER", "D 12%2534\nOK", 1);
    assert_int_equal(cli_pin_read("pinentry", pin, sizeof pin, &len, err, sizeof err), 0);
    assert_int_equal(len, 5);
    assert_string_equal(pin, "12%34");
    const char *log = slurp_log();
    /* The description's newline is escaped; the PIN is never sent. */
    assert_non_null(strstr(log, "SETDESC Renewing the certificate on your smartcard.%0AEnter"));
    assert_non_null(strstr(log, "SETPROMPT PIN:\n"));
    assert_non_null(strstr(log, "GETPIN\nBYE\n"));
    assert_null(strstr(log, "12%34"));
    assert_null(strstr(log, "12%2534"));
}

static void test_cancel(void **state)
{
    (void)state;
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t len = 7;
    memset(pin, 'x', sizeof pin);
    setenv("FAKE_ANSWER", "ERR 83886179 Operation cancelled <Pinentry>", 1);
    assert_int_equal(cli_pin_read("pinentry", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    assert_non_null(strstr(err, "cancelled"));
    assert_int_equal(len, 0);
    for (size_t i = 0; i < sizeof pin; i++)
        assert_int_equal(pin[i], 0);
    slurp_log();
}

static void test_too_long_and_empty(void **state)
{
    (void)state;
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX], answer[200];
    size_t len;
    memset(answer, 0, sizeof answer);
    strcpy(answer, "D ");
    memset(answer + 2, '7', CLI_PIN_MAX + 1);
    strcat(answer, "\nOK");
    setenv("FAKE_ANSWER", answer, 1);
    assert_int_equal(cli_pin_read("pinentry", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    assert_non_null(strstr(err, "longer than"));
    assert_null(memchr(pin, '7', sizeof pin));
    setenv("FAKE_ANSWER", "OK", 1);
    assert_int_equal(cli_pin_read("pinentry", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    assert_non_null(strstr(err, "no PIN was entered"));
    slurp_log();
}

static void test_not_a_pinentry(void **state)
{
    (void)state;
    char pin[CLI_PIN_MAX + 1], err[CLI_ERR_MAX];
    size_t len;
    setenv("CARDRENEW_PINENTRY", "/bin/true", 1);
    assert_int_equal(cli_pin_read("pinentry", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    assert_non_null(strstr(err, "does not speak the pinentry"));
    setenv("CARDRENEW_PINENTRY", "/nonexistent/pinentry", 1);
    assert_int_equal(cli_pin_read("pinentry", pin, sizeof pin, &len, err, sizeof err),
                     RENEW_E_USAGE);
    setenv("CARDRENEW_PINENTRY", script, 1);
}

static void test_decode(void **state)
{
    (void)state;
    char buf[8];
    size_t len;
    assert_int_equal(cli_pinentry_decode("a%41%4a", buf, sizeof buf, &len), 0);
    assert_string_equal(buf, "aAJ");
    assert_int_equal(cli_pinentry_decode("%4", buf, sizeof buf, &len), -1);
    assert_int_equal(cli_pinentry_decode("%zz", buf, sizeof buf, &len), -1);
    assert_int_equal(cli_pinentry_decode("%00", buf, sizeof buf, &len), -1);
    assert_int_equal(cli_pinentry_decode("12345678", buf, sizeof buf, &len), -1);
    assert_int_equal(cli_pinentry_decode("1234567", buf, sizeof buf, &len), 0);
}

static void test_source_parse(void **state)
{
    (void)state;
    enum cli_pin_kind k;
    const char *arg;
    int fd;
    char err[CLI_ERR_MAX];
    assert_int_equal(cli_pin_source_parse("pinentry", &k, &arg, &fd, err, sizeof err), 0);
    assert_int_equal(k, CLI_PIN_PINENTRY);
    assert_int_equal(cli_pin_source_parse("pinentry:x", &k, &arg, &fd, err, sizeof err),
                     RENEW_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_read),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_too_long_and_empty),
        cmocka_unit_test(test_not_a_pinentry),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_source_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
