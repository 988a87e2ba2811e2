/* Expiry policy and the stable exit codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "renew/renew.h"

#define DAY 86400

static void test_days_left(void **state)
{
    (void)state;
    time_t now = 1700000000;
    assert_int_equal(renew_days_left(now + 20 * DAY, now), 20);
    assert_int_equal(renew_days_left(now + 20 * DAY - 1, now), 20);
    assert_int_equal(renew_days_left(now + 19 * DAY + 1, now), 20);
    assert_int_equal(renew_days_left(now + 1, now), 1);
    assert_int_equal(renew_days_left(now, now), 0);
    assert_int_equal(renew_days_left(now - 1, now), -1);
    assert_int_equal(renew_days_left(now - DAY, now), -1);
    assert_int_equal(renew_days_left(now - DAY - 1, now), -2);
}

static void test_states(void **state)
{
    (void)state;
    time_t now = 1700000000;
    assert_int_equal(renew_state_of(now + 100 * DAY, now, 28), RENEW_ACTIVE);
    assert_int_equal(renew_state_of(now + 28 * DAY + 1, now, 28), RENEW_ACTIVE);
    assert_int_equal(renew_state_of(now + 28 * DAY, now, 28), RENEW_EXPIRING);
    assert_int_equal(renew_state_of(now + 20 * DAY, now, 28), RENEW_EXPIRING);
    assert_int_equal(renew_state_of(now + 1, now, 28), RENEW_EXPIRING);
    assert_int_equal(renew_state_of(now, now, 28), RENEW_EXPIRED);
    assert_int_equal(renew_state_of(now - DAY, now, 28), RENEW_EXPIRED);
    assert_int_equal(renew_state_of(now + 20 * DAY, now, 0), RENEW_ACTIVE);
    assert_string_equal(renew_state_name(RENEW_ACTIVE), "Active");
    assert_string_equal(renew_state_name(RENEW_EXPIRING), "Expiring");
    assert_string_equal(renew_state_name(RENEW_EXPIRED), "Expired");
}

static void test_check_codes_are_stable(void **state)
{
    (void)state;
    assert_int_equal(renew_check_code(RENEW_ACTIVE), 0);
    assert_int_equal(renew_check_code(RENEW_EXPIRING), 10);
    assert_int_equal(renew_check_code(RENEW_EXPIRED), 11);
    /* Documented in cardrenew(1): scripts depend on these numbers. */
    assert_int_equal(RENEW_E_USAGE, 1);
    assert_int_equal(RENEW_E_NO_TOKEN, 2);
    assert_int_equal(RENEW_E_PIN, 3);
    assert_int_equal(RENEW_E_PIN_BLOCKED, 4);
    assert_int_equal(RENEW_E_EXPIRED, 5);
    assert_int_equal(RENEW_E_CA, 6);
    assert_int_equal(RENEW_E_TOKEN, 7);
    assert_int_equal(RENEW_E_UNSUPPORTED, 8);
    assert_int_equal(RENEW_E_JOURNAL, 9);
}

/* --diagnose's exit code when two problems meet, whichever comes first. */
static void test_diagnose_priority(void **state)
{
    (void)state;
    static const struct { int a, b, want; } cases[] = {
        { RENEW_E_EXPIRED, RENEW_E_PIN_BLOCKED, RENEW_E_PIN_BLOCKED },
        { RENEW_E_EXPIRED, RENEW_E_PIN, RENEW_E_EXPIRED },      /* few tries left */
        { RENEW_E_EXPIRED, RENEW_CHECK_DUE, RENEW_E_EXPIRED },  /* a second cert due */
        { RENEW_E_EXPIRED, RENEW_E_TOKEN, RENEW_E_TOKEN },
        { RENEW_E_EXPIRED, RENEW_E_JOURNAL, RENEW_E_JOURNAL },
        { RENEW_E_TOKEN, RENEW_E_JOURNAL, RENEW_E_JOURNAL },
        { RENEW_CHECK_DUE, RENEW_E_PIN, RENEW_E_PIN },
        { RENEW_CHECK_DUE, RENEW_OK, RENEW_CHECK_DUE },
        { RENEW_E_TOKEN, RENEW_E_PIN_BLOCKED, RENEW_E_PIN_BLOCKED },
        { RENEW_OK, RENEW_OK, RENEW_OK },
        { RENEW_E_USAGE, RENEW_E_PIN_BLOCKED, RENEW_E_USAGE },
        /* A cancelled certificate: above expiry, below a broken card. */
        { RENEW_E_CA, RENEW_E_EXPIRED, RENEW_E_CA },
        { RENEW_E_CA, RENEW_E_PIN_BLOCKED, RENEW_E_PIN_BLOCKED },
        { RENEW_E_CA, RENEW_E_TOKEN, RENEW_E_TOKEN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int x = renew_worse(cases[i].a, cases[i].b), y = renew_worse(cases[i].b, cases[i].a);
        if (x != cases[i].want || y != cases[i].want)
            fail_msg("%d with %d: %d / %d, want %d", cases[i].a, cases[i].b, x, y, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_left),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_check_codes_are_stable),
        cmocka_unit_test(test_diagnose_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
