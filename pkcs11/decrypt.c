/* decrypt.c: C_DecryptInit and C_Decrypt with CKM_RSA_PKCS on the card,
 * where the card and its profile's APDUs can carry the cryptogram. The
 * plaintext is kept (and wiped later) when the caller's buffer is too
 * small, so the retry does not go to the card again. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

CK_RV p11_decrypt_init(struct p11_session *ss, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    const struct card_container *c;
    if (ss->decrypting)
        return CKR_OPERATION_ACTIVE;
    if (!m)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_token_objects(s);
    if (rv != CKR_OK)
        return rv;
    p11_token_end(s);
    unsigned max_bits = p11_decrypt_bits_max(s->card);
    if (m->mechanism != CKM_RSA_PKCS || !max_bits)
        return CKR_MECHANISM_INVALID;
    if (m->ulParameterLen)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = p11_op_key(s, key, true, &c)) != CKR_OK)
        return rv;
    if (c->type != CARD_KEY_RSA)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!c->can_decrypt)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    /* G's short APDUs carry at most 255 bytes: its 2048-bit keys can
     * decipher, but not through this card's interface. The mechanism
     * info says so (ulMaxKeySize); this key is outside it. */
    if (c->bits > max_bits) {
        p11_trace("C_DecryptInit: a %u-bit cryptogram does not fit the card's APDUs", c->bits);
        return CKR_KEY_SIZE_RANGE;
    }
    memset(&ss->decrypt, 0, sizeof(ss->decrypt));
    ss->decrypt.key = key;
    ss->decrypting = true;
    return CKR_OK;
}

static void decrypt_end(struct p11_session *ss)
{
    p11_opstate_clear(&ss->decrypt);
    ss->decrypting = false;
}

/* Hands out a kept result by the length rules. */
static CK_RV decrypt_result(struct p11_session *ss, CK_BYTE *out, CK_ULONG *outlen)
{
    struct p11_opstate *op = &ss->decrypt;
    if (!out) {
        *outlen = op->resultlen;
        return CKR_OK;
    }
    if (*outlen < op->resultlen) {
        *outlen = op->resultlen;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(out, op->result, op->resultlen);
    *outlen = op->resultlen;
    decrypt_end(ss);
    return CKR_OK;
}

CK_RV p11_decrypt(struct p11_session *ss, const CK_BYTE *in, CK_ULONG inlen,
                  CK_BYTE *out, CK_ULONG *outlen)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    const struct card_container *c;
    if (!ss->decrypting)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!outlen || (!in && inlen)) {
        decrypt_end(ss);
        return CKR_ARGUMENTS_BAD;
    }
    if (ss->decrypt.result)
        return decrypt_result(ss, out, outlen);
    /* The key C_DecryptInit found in objects it checked against the card. */
    CK_RV rv = p11_op_key(s, ss->decrypt.key, true, &c);
    if (rv != CKR_OK) {
        decrypt_end(ss);
        return rv;
    }
    size_t k = p11_sig_len(c);
    if (!out) {
        /* An upper bound; the exact length comes with the result. */
        *outlen = k - 11;
        return CKR_OK;
    }
    if (inlen != k) {
        decrypt_end(ss);
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    }
    rv = p11_token_begin(s);
    if (rv != CKR_OK) {
        if (rv != CKR_DEVICE_REMOVED)
            decrypt_end(ss);
        return rv;
    }
    uint8_t *plain = malloc(k);
    size_t plen = k;
    if (!plain) {
        rv = CKR_HOST_MEMORY;
        goto fail;
    }
    int crv = card_decrypt(s->card, c, in, inlen, plain, &plen);
    /* The length was checked above: a card refusing the data refuses
     * the cryptogram itself (its padding, or a value past the modulus). */
    rv = crv == CARD_E_ARGS ? CKR_ENCRYPTED_DATA_INVALID : p11_card_result(s, crv);
    p11_token_end(s);
    if (rv != CKR_OK) {
        p11_secure_zero(plain, k);
        free(plain);
        if (rv != CKR_DEVICE_REMOVED)
            decrypt_end(ss);
        return rv;
    }
    ss->decrypt.result = plain;
    ss->decrypt.resultlen = plen;
    return decrypt_result(ss, out, outlen);
fail:
    p11_token_end(s);
    decrypt_end(ss);
    return rv;
}
