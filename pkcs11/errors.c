/* errors.c: card_rv -> CKR, in one table. */
#include "pkcs11/p11.h"

static const struct {
    int card;
    CK_RV ckr;
} map[] = {
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

CK_RV p11_card_rv(int rv)
{
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].card == rv)
            return map[i].ckr;
    return CKR_GENERAL_ERROR;
}
