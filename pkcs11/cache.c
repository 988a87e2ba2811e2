/* cache.c: objects are read once per card and kept, keyed on the card's
 * serial and change counter. The counter is read only where the card may
 * have changed unseen (the rule is in README.md: a new handle, a log-in,
 * another process's change notice), so a warm cache costs no APDU, and a
 * certificate another process wrote through this module (a renewal)
 * shows at the next call, with no restart and no log-out. A change
 * made by another process also ends the sessions opened before it at
 * their next C_GetSessionInfo (p11_cache_foreign): that is how NSS learns
 * to drop its copy of the certificates. This process's own changes are
 * published as a change notice (notice.c) for the others. */
#include <stdlib.h>
#include <string.h>

#include "card/x509.h"
#include "pkcs11/p11.h"

void p11_cache_stale(struct p11_slot *s)
{
    s->have_counter = s->checked = false;
    s->own_change = true;
}

void p11_cache_foreign(struct p11_slot *s)
{
    s->epoch++;
    s->have_counter = s->checked = false;
    card_forget_probes(s->card);
}

/* This process changed the card: tell the others, once. */
static void publish_own(struct p11_slot *s, uint64_t counter, bool known)
{
    if (!s->own_change)
        return;
    s->own_change = false;
    p11_notice_publish(s->serial, counter, known);
    /* Our own notice is no news to us. */
    p11_notice_baseline(s);
}

CK_RV p11_cache_refresh(struct p11_slot *s)
{
    if (!s->card)
        return CKR_TOKEN_NOT_PRESENT;
    /* Another process cannot change the card inside our transaction. */
    if (s->checked)
        return CKR_OK;
    const char *serial = card_get_info(s->card)->serial;
    bool same_card = strcmp(s->serial, serial) == 0;
    uint64_t counter = 0;
    bool counted = false;
    int crv;
    /* With nothing to compare it with, the counter comes with the
     * objects (from the same read where the profile allows). */
    if (s->have_counter) {
        crv = card_change_counter(s->card, &counter);
        counted = crv == CARD_OK;
        if (!counted && crv != CARD_E_UNSUPPORTED) {
            publish_own(s, 0, false);
            return p11_card_result(s, crv);
        }
        if (counted && s->counter == counter && same_card) {
            s->checked = true;
            return CKR_OK;
        }
    }
    /* Moved while we held objects, and not by us: another program. */
    bool foreign = counted && s->have_counter && same_card;
    if (!s->own_change)
        card_forget_probes(s->card);

    struct card_objects fresh = { 0 };
    bool with = false;
    crv = card_read_objects_ex(s->card, &fresh, s->pending ? CARD_READ_PENDING : 0,
                               s->have_counter ? NULL : &counter, &with);
    if (crv == CARD_OK && !s->have_counter) {
        counted = with;
        if (!counted) {
            crv = card_change_counter(s->card, &counter);
            counted = crv == CARD_OK;
            if (crv == CARD_E_UNSUPPORTED)
                crv = CARD_OK;
        }
    }
    if (crv != CARD_OK) {
        card_objects_clear(&fresh);
        publish_own(s, 0, false);
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
    if (foreign) {
        s->epoch++;
        p11_trace("reader \"%s\": objects changed by another program", s->reader);
    }
    publish_own(s, counter, counted);
    CK_RV rv = p11_objects_build(s);
    if (rv != CKR_OK) {
        s->have_counter = false;
        return rv;
    }
    s->checked = true;
    p11_trace("objects read: %zu containers, %zu objects", s->cont.n, s->nobj);
    return CKR_OK;
}

CK_RV p11_cache_pending(struct p11_slot *s)
{
    if (s->pending || !card_lazy_pending(s->card))
        return CKR_OK;
    struct card_objects more = { 0 };
    int crv = card_find_pending(s->card, &more);
    if (crv != CARD_OK) {
        card_objects_clear(&more);
        return p11_card_result(s, crv);
    }
    s->pending = true;
    size_t n = s->cont.n;
    struct card_container *c = realloc(s->cont.c, (n + more.n + 1) * sizeof(*c));
    if (!c) {
        card_objects_clear(&more);
        return CKR_HOST_MEMORY;
    }
    s->cont.c = c;
    /* Those the objects do not hold yet join them. */
    for (size_t i = 0; i < more.n; i++) {
        struct card_container *k = &more.c[i];
        bool held = false;
        for (size_t j = 0; j < n && !held; j++)
            held = c[j].id_len == k->id_len && !memcmp(c[j].id, k->id, k->id_len);
        if (held) {
            card_container_clear(k);
            continue;
        }
        c[s->cont.n++] = *k;
        memset(k, 0, sizeof(*k));
    }
    card_objects_clear(&more);
    CK_RV rv = p11_objects_build(s);
    if (rv != CKR_OK)
        s->have_counter = s->checked = false;
    p11_trace("pending keys looked for: %zu containers", s->cont.n);
    return rv;
}

/* This process changed the card and s->cont follows the change: the
 * objects are not read again, which would cost the whole card's APDUs
 * after every write; only the counter is read, to stay checked and to
 * tell the others. */
static CK_RV follow_own(struct p11_slot *s)
{
    s->own_change = true;
    uint64_t counter = 0;
    int crv = card_change_counter(s->card, &counter);
    bool counted = crv == CARD_OK;
    if (!counted && crv != CARD_E_UNSUPPORTED) {
        s->have_counter = s->checked = false;
        publish_own(s, 0, false);
        return p11_card_result(s, crv);
    }
    s->have_counter = counted;
    s->counter = counter;
    publish_own(s, counter, counted);
    CK_RV rv = p11_objects_build(s);
    if (rv != CKR_OK) {
        s->have_counter = s->checked = false;
        return rv;
    }
    /* Without a counter the objects are read in every transaction. */
    s->checked = counted;
    return CKR_OK;
}

CK_RV p11_cache_deleted(struct p11_slot *s, size_t ci, bool whole)
{
    if (ci >= s->cont.n)
        return CKR_GENERAL_ERROR;
    struct card_container *k = &s->cont.c[ci];
    if (whole) {
        card_container_clear(k);
        memmove(k, k + 1, (s->cont.n - ci - 1) * sizeof(*k));
        s->cont.n--;
        memset(&s->cont.c[s->cont.n], 0, sizeof(*k));
    } else {
        free(k->cert);
        k->cert = NULL;
        k->cert_len = 0;
    }
    return follow_own(s);
}

CK_RV p11_cache_added(struct p11_slot *s, struct card_container *k)
{
    struct card_container *c = realloc(s->cont.c, (s->cont.n + 1) * sizeof(*c));
    if (!c) {
        card_container_clear(k);
        p11_cache_stale(s);
        return CKR_HOST_MEMORY;
    }
    s->cont.c = c;
    c[s->cont.n++] = *k;
    memset(k, 0, sizeof(*k));
    return follow_own(s);
}

CK_RV p11_cache_certified(struct p11_slot *s, size_t ci, const uint8_t *der, size_t len,
                          const char *label)
{
    if (ci >= s->cont.n)
        return CKR_GENERAL_ERROR;
    struct card_container *k = &s->cont.c[ci];
    uint8_t *copy = malloc(len);
    if (!copy) {
        p11_cache_stale(s);
        return CKR_HOST_MEMORY;
    }
    memcpy(copy, der, len);
    free(k->cert);
    k->cert = copy;
    k->cert_len = len;
    /* The label a reading of the card will show. */
    char cn[sizeof(k->label)] = "";
    if (card_get_info(s->card)->cert_labels && label && label[0])
        snprintf(k->label, sizeof(k->label), "%s", label);
    else if (card_cert_cn(der, len, cn, sizeof(cn)) == CARD_OK && cn[0])
        memcpy(k->label, cn, sizeof(cn));
    return follow_own(s);
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
