/* No smartcard: the cause named from what the module showed and what PC/SC
 * says, each with its own exit code; other errors left alone. And the
 * probe itself against a pcscd socket that is not there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static int explain(enum renew_absent absent, enum cli_pcsc_state pcsc, struct renew_err *e)
{
    renew_fail(e, RENEW_E_NO_TOKEN, "no smartcard found: insert your card and try again");
    e->absent = absent;
    return cli_no_card_explain(e, pcsc);
}

static void test_causes(void **state)
{
    (void)state;
    struct renew_err e;
    assert_int_equal(explain(RENEW_ABSENT_SLOT, CLI_PCSC_NO_SERVICE, &e), RENEW_E_NO_SERVICE);
    assert_int_equal(e.code, RENEW_E_NO_SERVICE);
    assert_non_null(strstr(e.msg, "smartcard service (pcscd) is not running"));
    assert_int_equal(explain(RENEW_ABSENT_SLOT, CLI_PCSC_NO_READER, &e), RENEW_E_NO_READER);
    assert_non_null(strstr(e.msg, "no smartcard reader found"));
    assert_int_equal(explain(RENEW_ABSENT_SLOT, CLI_PCSC_NO_CARD, &e), RENEW_E_NO_TOKEN);
    assert_non_null(strstr(e.msg, "no smartcard in the reader"));
    /* The module has slots (readers) with nothing in them: PC/SC is not
     * needed to say so. */
    assert_int_equal(explain(RENEW_ABSENT_TOKEN, CLI_PCSC_UNKNOWN, &e), RENEW_E_NO_TOKEN);
    assert_non_null(strstr(e.msg, "no smartcard in the reader"));
    /* A card PC/SC sees but the module does not: the module is the cause. */
    assert_int_equal(explain(RENEW_ABSENT_SLOT, CLI_PCSC_CARD, &e), RENEW_E_NO_TOKEN);
    assert_non_null(strstr(e.msg, "--module"));
    /* PC/SC cannot tell: the engine's own line stays. */
    assert_int_equal(explain(RENEW_ABSENT_SLOT, CLI_PCSC_UNKNOWN, &e), RENEW_E_NO_TOKEN);
    assert_string_equal(e.msg, "no smartcard found: insert your card and try again");
}

static void test_other_errors_untouched(void **state)
{
    (void)state;
    struct renew_err e;
    renew_fail(&e, RENEW_E_NO_TOKEN, "cannot load the PKCS#11 module (x)");
    assert_int_equal(e.absent, RENEW_ABSENT_NONE);
    assert_int_equal(cli_no_card_explain(&e, CLI_PCSC_NO_SERVICE), RENEW_E_NO_TOKEN);
    assert_string_equal(e.msg, "cannot load the PKCS#11 module (x)");
    renew_fail(&e, RENEW_E_PIN, "wrong PIN");
    e.absent = RENEW_ABSENT_SLOT;       /* only with RENEW_E_NO_TOKEN */
    assert_int_equal(cli_explain(&e), RENEW_E_PIN);
    assert_string_equal(e.msg, "wrong PIN");
}

/* pcsc-lite reads PCSCLITE_CSOCK_NAME once: a socket that does not exist is
 * a pcscd that is not running. */
static void test_probe_no_service(void **state)
{
    (void)state;
    setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/cardrenew-test/pcscd.comm", 1);
    assert_int_equal(cli_plat_pcsc_probe(), CLI_PCSC_NO_SERVICE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_causes),
        cmocka_unit_test(test_other_errors_untouched),
        cmocka_unit_test(test_probe_no_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
