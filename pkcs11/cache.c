/* cache.c: objects are read once per card and kept, keyed on the card's
 * serial and change counter. The counter is read once per card
 * transaction that needs objects (the rule is in README.md), so a
 * certificate another process wrote (a renewal) shows at the next
 * C_FindObjectsInit or C_*Init, with no restart and no log-out. */
#include <string.h>

#include "pkcs11/p11.h"

void p11_cache_stale(struct p11_slot *s)
{
    s->have_counter = s->checked = false;
}

CK_RV p11_cache_refresh(struct p11_slot *s)
{
    if (!s->card)
        return CKR_TOKEN_NOT_PRESENT;
    /* Another process cannot change the card inside our transaction. */
    if (s->checked)
        return CKR_OK;
    uint64_t counter = 0;
    int crv = card_change_counter(s->card, &counter);
    bool counted = crv == CARD_OK;
    if (!counted && crv != CARD_E_UNSUPPORTED)
        return p11_card_result(s, crv);
    const char *serial = card_get_info(s->card)->serial;
    if (counted && s->have_counter && s->counter == counter && strcmp(s->serial, serial) == 0) {
        s->checked = true;
        return CKR_OK;
    }

    struct card_objects fresh = { 0 };
    crv = card_read_objects(s->card, &fresh);
    if (crv != CARD_OK) {
        card_objects_clear(&fresh);
        return p11_card_result(s, crv);
    }
    card_objects_clear(&s->cont);
    s->cont = fresh;
    /* Without a counter (a profile that has none) the objects are read
     * again in every transaction: slower, never stale. */
    s->have_counter = counted;
    s->counter = counter;
    memcpy(s->serial, serial, sizeof(s->serial));
    s->serial[sizeof(s->serial) - 1] = '\0';
    CK_RV rv = p11_objects_build(s);
    if (rv != CKR_OK) {
        s->have_counter = false;
        return rv;
    }
    s->checked = true;
    p11_trace("objects read: %zu containers, %zu objects", s->cont.n, s->nobj);
    return CKR_OK;
}

CK_RV p11_token_objects(struct p11_slot *s)
{
    CK_RV rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv;
    rv = p11_cache_refresh(s);
    if (rv != CKR_OK)
        p11_token_end(s);
    return rv;
}
