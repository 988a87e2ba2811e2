/* status.c: what PC/SC says of a card and its reader without sending
 * the card anything. Hosts poll the module every second; these answer
 * from pcscd's state (one IPC round trip), never with an APDU, and never
 * wait for another process's transaction. */
#include <string.h>

#include "card/card_int.h"
#include "card/plat.h"

int card_check(struct card *c)
{
    if (!c || !c->drv)
        return CARD_E_ARGS;
    if (c->lost)
        return CARD_E_REMOVED;
    uint8_t atr[CARD_ATR_MAX];
    size_t alen = sizeof(atr);
    LONG rv = card_io_status(c->io, NULL, NULL, atr, &alen);
    switch (rv) {
    case SCARD_S_SUCCESS:
        /* Same handle, same power-up: the card has not left. */
        return CARD_OK;
    case SCARD_W_REMOVED_CARD:
    case SCARD_W_RESET_CARD:
    case SCARD_E_NO_SMARTCARD:
        return CARD_E_REMOVED;
    default:
        return card_pcsc_rv(NULL, rv);
    }
}

int card_check_gone(struct card *c, unsigned max_ms)
{
    const unsigned step_ms = 25;
    for (unsigned waited = 0;; waited += step_ms) {
        int rv = card_check(c);
        if (rv == CARD_E_REMOVED)
            return rv;
        /* A fault other than removal (a mute card, PC/SC itself) is no
         * news of the card: the transfer's own error stands. */
        if (rv != CARD_OK || waited >= max_ms)
            return CARD_OK;
        plat_sleep_ms(step_ms);
    }
}

int card_ctx_reader_events(struct card_ctx *ctx, const char *reader,
                           unsigned *events, bool *present)
{
    if (!ctx || !reader || !events || !present)
        return CARD_E_ARGS;
    SCARD_READERSTATE st;
    memset(&st, 0, sizeof(st));
    st.szReader = reader;
    st.dwCurrentState = SCARD_STATE_UNAWARE;
    LONG rv = ctx->ops->get_status_change(ctx->h, 0, &st, 1);
    if (rv != SCARD_S_SUCCESS)
        return card_pcsc_rv(NULL, rv);
    /* pcsc-lite counts insertions and removals in the high word. */
    *events = (unsigned)(st.dwEventState >> 16);
    *present = (st.dwEventState & SCARD_STATE_PRESENT) &&
               !(st.dwEventState & SCARD_STATE_MUTE);
    return CARD_OK;
}
