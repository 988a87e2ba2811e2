/* card_tx.h: the card ops as the module runs them, each in a PC/SC
 * transaction of its own: what a driver had selected on the card does not
 * carry over from one op to the next (struct card's sel). For tests that
 * call the ops without card_begin/card_end; include after scripted_card.h. */
#ifndef CARDRENEW_TEST_CARD_TX_H
#define CARDRENEW_TEST_CARD_TX_H

#include "card/card_int.h"

static inline struct card *card_tx(struct card *c)
{
    if (c) {
        c->sel = CARD_SEL_NONE;
        c->free_known = false;
    }
    return c;
}

#define card_change_counter(c, ...) card_change_counter(card_tx(c), __VA_ARGS__)
#define card_read_objects(c, ...) card_read_objects(card_tx(c), __VA_ARGS__)
#define card_find_pending(c, ...) card_find_pending(card_tx(c), __VA_ARGS__)
#define card_pin_status(c, ...) card_pin_status(card_tx(c), __VA_ARGS__)
#define card_pin_verify(c, ...) card_pin_verify(card_tx(c), __VA_ARGS__)
#define card_pin_change(c, ...) card_pin_change(card_tx(c), __VA_ARGS__)
#define card_pin_unblock(c, ...) card_pin_unblock(card_tx(c), __VA_ARGS__)
#define card_sign(c, ...) card_sign(card_tx(c), __VA_ARGS__)
#define card_decrypt(c, ...) card_decrypt(card_tx(c), __VA_ARGS__)
#define card_generate_key(c, ...) card_generate_key(card_tx(c), __VA_ARGS__)
#define card_write_cert(c, ...) card_write_cert(card_tx(c), __VA_ARGS__)
#define card_delete_cert(c, ...) card_delete_cert(card_tx(c), __VA_ARGS__)
#define card_delete_key(c, ...) card_delete_key(card_tx(c), __VA_ARGS__)

#endif
