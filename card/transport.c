/* transport.c: one APDU through PC/SC, and PC/SC results as card_rv. */
#include <string.h>

#include <openssl/crypto.h>

#include "card/card_int.h"

void card_secure_zero(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int card_pcsc_rv(struct card *c, LONG rv)
{
    switch (rv) {
    case SCARD_S_SUCCESS:
        return CARD_OK;
    case SCARD_W_RESET_CARD:
    case SCARD_W_REMOVED_CARD:
        if (c) {
            c->lost = true;
            c->lost_reported = true;
        }
        return CARD_E_REMOVED;
    case SCARD_E_NO_SMARTCARD:
        if (c) {
            c->lost = true;
            c->lost_reported = true;
        }
        return CARD_E_NO_CARD;
    case SCARD_E_TIMEOUT:
    case SCARD_W_UNRESPONSIVE_CARD:
        return CARD_E_MUTE;
    case SCARD_E_NO_MEMORY:
        return CARD_E_HOST_MEMORY;
    case SCARD_E_CANCELLED:
        return CARD_E_ARGS;
    default:
        return CARD_E_COMM;
    }
}

int card_transmit_raw(struct card *c, const uint8_t *cmd, size_t len,
                      uint8_t *resp, size_t *resp_len, bool secret)
{
    if (c->lost)
        return c->lost_reported ? CARD_E_REMOVED : CARD_E_COMM;
    card_trace(">", cmd, len);
    size_t rlen = *resp_len;
    LONG prv = card_io_transmit(c->io, c->proto, cmd, len, resp, &rlen);
    if (prv != SCARD_S_SUCCESS || rlen > *resp_len || rlen < 2)
        c->sel = CARD_SEL_NONE, c->free_known = false;     /* the card's state is unknown */
    if (prv != SCARD_S_SUCCESS)
        return card_pcsc_rv(c, prv);
    if (rlen > *resp_len)
        return CARD_E_COMM;
    /* A deciphered secret is no more for the trace than a PIN is. */
    card_trace(secret && rlen > 2 ? "< [masked]" : "<",
               secret && rlen > 2 ? resp + rlen - 2 : resp, secret && rlen > 2 ? 2 : rlen);
    /* A card that dies mid-APDU gives a 0-byte answer with success. */
    if (rlen < 2)
        return CARD_E_COMM;
    *resp_len = rlen;
    return CARD_OK;
}
