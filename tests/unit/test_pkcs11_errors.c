/* test_pkcs11_errors.c: the one card_rv -> CKR table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pkcs11/p11.h"

static void test_map(void **state)
{
    (void)state;
    static const struct { int card; CK_RV ckr; } want[] = {
        { CARD_OK, CKR_OK },
        { CARD_E_NO_CARD, CKR_TOKEN_NOT_PRESENT },
        { CARD_E_REMOVED, CKR_DEVICE_REMOVED },
        { CARD_E_COMM, CKR_DEVICE_ERROR },
        { CARD_E_MUTE, CKR_DEVICE_ERROR },
        { CARD_E_UNSUPPORTED, CKR_FUNCTION_NOT_SUPPORTED },
        { CARD_E_PIN_INCORRECT, CKR_PIN_INCORRECT },
        { CARD_E_PIN_LOCKED, CKR_PIN_LOCKED },
        { CARD_E_PIN_LEN, CKR_PIN_LEN_RANGE },
        { CARD_E_SECURITY, CKR_USER_NOT_LOGGED_IN },
        { CARD_E_NOT_FOUND, CKR_OBJECT_HANDLE_INVALID },
        { CARD_E_CARD_FULL, CKR_DEVICE_MEMORY },
        { CARD_E_BAD_RESPONSE, CKR_DEVICE_ERROR },
        { CARD_E_UNEXPECTED_SW, CKR_DEVICE_ERROR },
        { CARD_E_ARGS, CKR_ARGUMENTS_BAD },
        { CARD_E_HOST_MEMORY, CKR_HOST_MEMORY },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(p11_card_rv(want[i].card), want[i].ckr);
    /* Every card code has a mapping; an unknown one is a general error. */
    for (int rv = CARD_OK; rv <= CARD_E_HOST_MEMORY; rv++)
        assert_int_not_equal(p11_card_rv(rv), CKR_GENERAL_ERROR);
    assert_int_equal(p11_card_rv(9999), CKR_GENERAL_ERROR);
    assert_int_equal(p11_card_rv(-1), CKR_GENERAL_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_map) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
