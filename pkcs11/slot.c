/* slot.c: one slot per reader; the token is there when card_open
 * succeeds. Slot ids stay with their reader name for the module's life. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "card/x509.h"
#include "pkcs11/p11.h"

CK_RV p11_ctx_get(struct card_ctx **out)
{
    if (!p11_g.ctx) {
        int rv = card_ctx_new(card_pcsc_default(), &p11_g.ctx);
        if (rv != CARD_OK) {
            p11_g.ctx = NULL;
            p11_trace("PC/SC unavailable: %s", card_rv_name(rv));
            return CKR_DEVICE_ERROR;
        }
    }
    *out = p11_g.ctx;
    return CKR_OK;
}

CK_RV p11_slot_for_reader(const char *reader, CK_SLOT_ID *id)
{
    CK_SLOT_ID free_id = P11_MAX_SLOTS;
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS; i++) {
        if (p11_g.slots[i].used && strcmp(p11_g.slots[i].reader, reader) == 0) {
            *id = i;
            return CKR_OK;
        }
        if (!p11_g.slots[i].used && free_id == P11_MAX_SLOTS)
            free_id = i;
    }
    if (free_id == P11_MAX_SLOTS || strlen(reader) >= sizeof(p11_g.slots[0].reader))
        return CKR_HOST_MEMORY;
    struct p11_slot *s = &p11_g.slots[free_id];
    s->used = true;
    snprintf(s->reader, sizeof(s->reader), "%s", reader);
    s->next_handle = 1;
    *id = free_id;
    return CKR_OK;
}

CK_RV p11_slot_get(CK_SLOT_ID id, struct p11_slot **out)
{
    if (id >= P11_MAX_SLOTS || !p11_g.slots[id].used)
        return CKR_SLOT_ID_INVALID;
    *out = &p11_g.slots[id];
    return CKR_OK;
}

void p11_slot_drop(struct p11_slot *s, bool close_card)
{
    p11_objects_free(s);
    card_objects_clear(&s->cont);
    s->have_counter = s->checked = false;
    s->logged_in = false;
    s->gen++;           /* its sessions are now stale (wrap.c closes them) */
    if (close_card && s->card) {
        card_close(s->card);
        s->card = NULL;
    }
}

static CK_RV slot_open(struct p11_slot *s)
{
    struct card_ctx *ctx;
    CK_RV rv = p11_ctx_get(&ctx);
    if (rv != CKR_OK)
        return CKR_TOKEN_NOT_PRESENT;
    int crv = card_open(ctx, s->reader, &s->card);
    if (crv != CARD_OK) {
        s->card = NULL;
        if (crv != CARD_E_NO_CARD)
            p11_trace("reader \"%s\": %s", s->reader, card_rv_name(crv));
        return crv == CARD_E_HOST_MEMORY ? CKR_HOST_MEMORY : CKR_TOKEN_NOT_PRESENT;
    }
    snprintf(s->serial, sizeof(s->serial), "%s", card_get_info(s->card)->serial);
    return CKR_OK;
}

CK_RV p11_token_begin(struct p11_slot *s)
{
    if (!s->card) {
        CK_RV rv = slot_open(s);
        if (rv != CKR_OK)
            return rv;
    }
    s->checked = false;
    int crv = card_begin(s->card);
    if (crv == CARD_OK)
        return CKR_OK;
    p11_trace("reader \"%s\": %s", s->reader, card_rv_name(crv));
    /* A handle that cannot even begin a transaction is lost (a pulled
     * card shows as a transfer failure first): forget it; the next call
     * opens the card again if it is there. */
    if (crv == CARD_E_REMOVED || crv == CARD_E_NO_CARD || crv == CARD_E_COMM ||
        crv == CARD_E_MUTE) {
        p11_slot_drop(s, true);
        return CKR_DEVICE_REMOVED;
    }
    return p11_card_rv(crv);
}

void p11_token_end(struct p11_slot *s)
{
    s->checked = false;
    if (s->card)
        card_end(s->card);
}

CK_RV p11_card_result(struct p11_slot *s, int crv)
{
    if (crv != CARD_OK)
        p11_trace("card: %s", card_rv_name(crv));
    if ((crv == CARD_E_COMM || crv == CARD_E_MUTE) && s->card) {
        /* A card pulled between APDUs first shows as a failed transfer:
         * a new transaction tells removal from a passing fault. It is
         * left open for the caller's p11_token_end. */
        card_end(s->card);
        s->checked = false;
        int again = card_begin(s->card);
        if (again != CARD_OK)
            crv = CARD_E_REMOVED;
    }
    if (crv == CARD_E_REMOVED || crv == CARD_E_NO_CARD) {
        p11_slot_drop(s, true);
        return CKR_DEVICE_REMOVED;
    }
    if (crv == CARD_E_SECURITY)
        s->logged_in = false;   /* the card forgot the PIN: another reset */
    return p11_card_rv(crv);
}

/* Present now? Opens, or re-checks an open card (a removal seen drops
 * state and the card is opened again: it may be another one). */
static bool token_present(struct p11_slot *s)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        CK_RV rv = p11_token_begin(s);
        if (rv == CKR_OK) {
            p11_token_end(s);
            return true;
        }
        if (rv != CKR_DEVICE_REMOVED)
            return false;
    }
    return false;
}

CK_RV p11_get_slot_list(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count)
{
    if (!count)
        return CKR_ARGUMENTS_BAD;
    bool attached[P11_MAX_SLOTS] = { false };
    struct card_ctx *ctx;
    char *names = NULL;
    size_t len = 0;
    if (p11_ctx_get(&ctx) == CKR_OK && card_ctx_readers(ctx, &names, &len) == CARD_OK) {
        for (const char *r = names; r && r < names + len && *r; r += strlen(r) + 1) {
            CK_SLOT_ID id;
            if (p11_slot_for_reader(r, &id) == CKR_OK)
                attached[id] = true;
        }
    }
    free(names);

    CK_ULONG n = 0;
    CK_SLOT_ID ids[P11_MAX_SLOTS];
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS; i++) {
        if (!attached[i])
            continue;
        if (present && !token_present(&p11_g.slots[i]))
            continue;
        ids[n++] = i;
    }
    if (!list) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(list, ids, n * sizeof(ids[0]));
    *count = n;
    return CKR_OK;
}

static void pad(CK_UTF8CHAR *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    memset(dst, ' ', n);
    memcpy(dst, src, l < n ? l : n);
}

CK_RV p11_get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO *info)
{
    struct p11_slot *s;
    CK_RV rv = p11_slot_get(id, &s);
    if (rv != CKR_OK)
        return rv;
    if (!info)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    pad(info->slotDescription, sizeof(info->slotDescription), s->reader);
    pad(info->manufacturerID, sizeof(info->manufacturerID), "cardrenew");
    info->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
    if (token_present(s))
        info->flags |= CKF_TOKEN_PRESENT;
    return CKR_OK;
}

static size_t live_sessions(CK_SLOT_ID id, bool rw_only)
{
    size_t n = 0;
    for (size_t i = 0; i < p11_g.nsessions; i++) {
        const struct p11_session *ss = p11_g.sessions[i];
        if (ss->slot == id && ss->slot_gen == p11_g.slots[id].gen &&
            (!rw_only || (ss->flags & CKF_RW_SESSION)))
            n++;
    }
    return n;
}

/* dst = a || b, truncated to fit. */
static void copy_str(char *dst, size_t n, const char *a, const char *b)
{
    size_t la = strnlen(a, n - 1);
    memcpy(dst, a, la);
    size_t lb = strnlen(b, n - 1 - la);
    memcpy(dst + la, b, lb);
    dst[la + lb] = '\0';
}

/* The CN of the first certificate: the label when the card has none. */
static void label_from_cert(const struct p11_slot *s, char *out, size_t n)
{
    for (size_t i = 0; i < s->cont.n; i++) {
        const struct card_container *c = &s->cont.c[i];
        if (c->cert && card_cert_cn(c->cert, c->cert_len, out, n) == CARD_OK && out[0])
            return;
    }
}

CK_RV p11_get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO *info)
{
    struct p11_slot *s;
    CK_RV rv = p11_slot_get(id, &s);
    if (rv != CKR_OK)
        return rv;
    if (!info)
        return CKR_ARGUMENTS_BAD;
    rv = p11_token_begin(s);
    if (rv == CKR_DEVICE_REMOVED)
        rv = p11_token_begin(s);
    if (rv == CKR_DEVICE_REMOVED)
        rv = CKR_TOKEN_NOT_PRESENT;
    if (rv != CKR_OK)
        return rv;
    /* A copy: a removal seen while reading objects closes the card. */
    struct card_info cinfo = *card_get_info(s->card);
    const struct card_info *ci = &cinfo;
    const char *model = ci->model ? ci->model : card_get_driver(s->card)->name;
    int tries = 3;
    int crv = card_pin_status(s->card, &tries);
    char label[33] = "";
    if (ci->label[0])
        copy_str(label, sizeof(label), ci->label, "");
    else if (p11_cache_refresh(s) == CKR_OK)
        label_from_cert(s, label, sizeof(label));
    if (!label[0])
        copy_str(label, sizeof(label), "cardrenew ", ci->serial);
    p11_token_end(s);

    memset(info, 0, sizeof(*info));
    pad(info->label, sizeof(info->label), label);
    pad(info->manufacturerID, sizeof(info->manufacturerID), "cardrenew");
    /* 16 characters: "Series 8 (IAS-ECC)" shows as "Series 8". */
    char shortm[sizeof(info->model) + 1];
    copy_str(shortm, sizeof(shortm), model, "");
    char *paren = strstr(shortm, " (");
    if (strlen(model) > sizeof(info->model) && paren)
        *paren = '\0';
    pad(info->model, sizeof(info->model), shortm);
    pad(info->serialNumber, sizeof(info->serialNumber), ci->serial);
    info->flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
    if (crv == CARD_OK || crv == CARD_E_PIN_LOCKED) {
        if (crv == CARD_E_PIN_LOCKED || tries <= 0)      /* 63 C0: no tries left */
            info->flags |= CKF_USER_PIN_LOCKED;
        else if (tries == 1)
            info->flags |= CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW;
        else if (tries < 3)
            info->flags |= CKF_USER_PIN_COUNT_LOW;
    }
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = live_sessions(id, false);
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = live_sessions(id, true);
    info->ulMaxPinLen = ci->pin_max;
    info->ulMinPinLen = ci->pin_min;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion.major = 1;
    info->firmwareVersion.major = 1;
    return CKR_OK;
}

static CK_RV slot_card(CK_SLOT_ID id, struct p11_slot **out)
{
    CK_RV rv = p11_slot_get(id, out);
    if (rv != CKR_OK)
        return rv;
    if (!(*out)->card && !token_present(*out))
        return CKR_TOKEN_NOT_PRESENT;
    return (*out)->card ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

CK_RV p11_get_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    struct p11_slot *s;
    CK_RV rv = slot_card(id, &s);
    if (rv != CKR_OK)
        return rv;
    if (!count)
        return CKR_ARGUMENTS_BAD;
    CK_MECHANISM_TYPE all[32];
    size_t n = p11_mech_list(card_get_info(s->card), all, 32);
    if (!list) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(list, all, n * sizeof(all[0]));
    *count = n;
    return CKR_OK;
}

CK_RV p11_get_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
    struct p11_slot *s;
    CK_RV rv = slot_card(id, &s);
    if (rv != CKR_OK)
        return rv;
    if (!info)
        return CKR_ARGUMENTS_BAD;
    return p11_mech_info(card_get_info(s->card), card_get_driver(s->card)->decrypt != NULL,
                         type, info);
}
