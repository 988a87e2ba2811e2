/* slot.c: one slot per reader; the token is there when card_open
 * succeeds. A slot id is its reader's for the process's life. Polls
 * (C_GetSlotInfo, C_GetSessionInfo) cost no APDU: PC/SC's state of the
 * card handle and the change notice say whether anything happened. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "card/x509.h"
#include "card/plat.h"
#include "pkcs11/p11.h"

CK_RV p11_ctx_get(struct card_ctx **out)
{
    CK_RV rv = CKR_OK;
    p11_lock();
    if (!p11_g.ctx) {
        int crv = card_ctx_new(card_pcsc_default(), &p11_g.ctx);
        if (crv != CARD_OK) {
            p11_g.ctx = NULL;
            p11_trace("PC/SC unavailable: %s", card_rv_name(crv));
            rv = CKR_DEVICE_ERROR;
        }
    }
    *out = p11_g.ctx;
    p11_unlock();
    return rv;
}

/* Reader names by slot id for the life of the process, kept across
 * C_Finalize/C_Initialize (and into a forked child): a slot id stays its
 * reader's, and one got before C_Finalize is valid after the next
 * C_Initialize without a new C_GetSlotList, as in SoftHSM2 and OpenSC. */
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static char slot_names[P11_MAX_SLOTS][sizeof(p11_g.slots[0].reader)];

static void slot_attach(CK_SLOT_ID id)
{
    struct p11_slot *s = &p11_g.slots[id];
    if (s->used)
        return;
    p11_lock();
    if (!s->used) {
        pthread_mutex_lock(&names_lock);
        snprintf(s->reader, sizeof(s->reader), "%s", slot_names[id]);
        pthread_mutex_unlock(&names_lock);
        s->next_handle = 1;
        s->used = true;         /* last: the name is there for whoever sees it */
    }
    p11_unlock();
}

CK_RV p11_slot_for_reader(const char *reader, CK_SLOT_ID *id)
{
    if (strlen(reader) >= sizeof(slot_names[0]))
        return CKR_HOST_MEMORY;
    CK_SLOT_ID found = P11_MAX_SLOTS;
    pthread_mutex_lock(&names_lock);
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS && found == P11_MAX_SLOTS; i++)
        if (strcmp(slot_names[i], reader) == 0)
            found = i;
    for (CK_SLOT_ID i = 0; i < P11_MAX_SLOTS && found == P11_MAX_SLOTS; i++)
        if (!slot_names[i][0]) {
            snprintf(slot_names[i], sizeof(slot_names[i]), "%s", reader);
            found = i;
        }
    pthread_mutex_unlock(&names_lock);
    if (found == P11_MAX_SLOTS)
        return CKR_HOST_MEMORY;
    slot_attach(found);
    *id = found;
    return CKR_OK;
}

/* Gives every attached reader its id, in PC/SC's order. */
static void readers_register(void)
{
    struct card_ctx *ctx;
    char *names = NULL;
    size_t len = 0;
    CK_SLOT_ID id;
    if (p11_ctx_get(&ctx) != CKR_OK || card_ctx_readers(ctx, &names, &len) != CARD_OK)
        return;
    for (const char *r = names; r && r < names + len && *r; r += strlen(r) + 1)
        (void)p11_slot_for_reader(r, &id);
    free(names);
}

static bool slot_named(CK_SLOT_ID id)
{
    pthread_mutex_lock(&names_lock);
    bool named = slot_names[id][0] != '\0';
    pthread_mutex_unlock(&names_lock);
    return named;
}

CK_RV p11_slot_get(CK_SLOT_ID id, struct p11_slot **out)
{
    if (id >= P11_MAX_SLOTS)
        return CKR_SLOT_ID_INVALID;
    if (!p11_g.slots[id].used) {
        /* A reader this process never listed: PC/SC gives the same order
         * to every process, so the id a host kept still names it. */
        if (!slot_named(id))
            readers_register();
        if (!slot_named(id))
            return CKR_SLOT_ID_INVALID;
        slot_attach(id);
    }
    *out = &p11_g.slots[id];
    return CKR_OK;
}

void p11_slot_drop(struct p11_slot *s, bool close_card)
{
    p11_objects_free(s);
    card_objects_clear(&s->cont);
    s->have_counter = s->checked = false;
    s->logged_in = false;
    s->own_change = false;
    s->pending = false;
    memset(&s->notice, 0, sizeof(s->notice));
    s->gen++;           /* its sessions are now stale (wrap.c closes them) */
    if (close_card && s->card) {
        card_close(s->card);
        s->card = NULL;
    }
}

#define P11_MUTE_RETRY_S 30
/* How long a failed transfer waits for PC/SC to confirm a removal: pcscd
 * polls some readers every 400 ms, and is slower on a loaded machine. */
#define P11_GONE_WAIT_MS 2000

static long long now_ms(void)
{
    struct timespec t;
    plat_now(&t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static CK_RV slot_open(struct p11_slot *s)
{
    struct card_ctx *ctx;
    CK_RV rv = p11_ctx_get(&ctx);
    if (rv != CKR_OK)
        return CKR_TOKEN_NOT_PRESENT;
    unsigned events = 0;
    bool present = true, counted = card_ctx_reader_events(ctx, s->reader, &events, &present) == CARD_OK;
    if (counted && !present)
        return CKR_TOKEN_NOT_PRESENT;
    if (counted && s->refused && s->refused_events == events &&
        (!s->refused_mute || now_ms() < s->refused_until_ms))
        return CKR_TOKEN_NOT_PRESENT;       /* the card no driver claimed */
    int crv = card_open(ctx, s->reader, &s->card);
    if (crv != CARD_OK) {
        s->card = NULL;
        if (crv != CARD_E_NO_CARD)
            p11_trace("reader \"%s\": %s", s->reader, card_rv_name(crv));
        /* A mute one is tried again later: each try waits the card
         * timeout, and leaves a thread until the card answers. */
        s->refused = counted && (crv == CARD_E_UNSUPPORTED || crv == CARD_E_MUTE);
        s->refused_mute = crv == CARD_E_MUTE;
        s->refused_until_ms = now_ms() + P11_MUTE_RETRY_S * 1000LL;
        s->refused_events = events;
        return crv == CARD_E_HOST_MEMORY ? CKR_HOST_MEMORY : CKR_TOKEN_NOT_PRESENT;
    }
    s->refused = false;
    snprintf(s->serial, sizeof(s->serial), "%s", card_get_info(s->card)->serial);
    /* Notices written before this card was opened are no news. */
    p11_notice_baseline(s);
    return CKR_OK;
}

void p11_slot_poll(struct p11_slot *s)
{
    if (!s->card)
        return;
    int crv = card_check(s->card);
    if (crv == CARD_E_MUTE)
        return;         /* a call on it has not come back: kept, and present */
    if (crv != CARD_OK) {
        p11_trace("reader \"%s\": card %s", s->reader,
                  crv == CARD_E_REMOVED ? "pulled or reset" : card_rv_name(crv));
        p11_slot_drop(s, true);
        return;
    }
    p11_notice_poll(s);
}

CK_RV p11_token_begin(struct p11_slot *s)
{
    if (!s->card) {
        CK_RV rv = slot_open(s);
        if (rv != CKR_OK)
            return rv;
    }
    int crv = card_begin(s->card);
    if (crv == CARD_OK) {
        /* The cache stays checked across transactions: no other process
         * can have changed the card unseen while this handle shows no
         * reset or removal and the change notice no other writer (stat
         * only: no APDU). Changes made without this module are the
         * exception (README.md). */
        p11_notice_poll(s);
        return CKR_OK;
    }
    s->checked = false;
    p11_trace("reader \"%s\": %s", s->reader, card_rv_name(crv));
    /* A card that does not answer within the card timeout (or whose last
     * command has not come back) is kept: CKR_DEVICE_ERROR at once until
     * it answers or goes. */
    if (crv == CARD_E_MUTE)
        return CKR_DEVICE_ERROR;
    /* A handle that cannot even begin a transaction is lost (a pulled
     * card shows as a transfer failure first): forget it; the next call
     * opens the card again if it is there. */
    if (crv == CARD_E_REMOVED || crv == CARD_E_NO_CARD || crv == CARD_E_COMM) {
        p11_slot_drop(s, true);
        return CKR_DEVICE_REMOVED;
    }
    return p11_card_rv(crv);
}

void p11_token_end(struct p11_slot *s)
{
    if (s->card)
        card_end(s->card);
}

CK_RV p11_card_result(struct p11_slot *s, int crv)
{
    if (crv != CARD_OK)
        p11_trace("card: %s", card_rv_name(crv));
    /* A mute card (CARD_E_MUTE) is no removal: CKR_DEVICE_ERROR. */
    if (crv == CARD_E_COMM && s->card) {
        /* A card pulled between or during APDUs first shows as a failed
         * transfer, while pcscd, which polls the reader, still has it
         * present: PC/SC is asked until it says removed (at most
         * P11_GONE_WAIT_MS), so that this call answers CKR_DEVICE_REMOVED
         * and the slot is dropped only once the reader's state agrees
         * (a poll that reopened it sooner would find the card again).
         * A card still there is a passing fault if a new transaction
         * begins; it is left open for the caller's p11_token_end. */
        s->checked = false;
        if (card_check_gone(s->card, P11_GONE_WAIT_MS) != CARD_OK) {
            crv = CARD_E_REMOVED;
        } else {
            card_end(s->card);
            if (card_begin(s->card) != CARD_OK)
                crv = CARD_E_REMOVED;
        }
    }
    if (crv == CARD_E_REMOVED || crv == CARD_E_NO_CARD) {
        p11_slot_drop(s, true);
        return CKR_DEVICE_REMOVED;
    }
    if (crv == CARD_E_SECURITY)
        s->logged_in = false;   /* the card forgot the PIN: another reset */
    return p11_card_rv(crv);
}

/* Present now? A card we hold is asked of PC/SC (pulled or reset: it is
 * dropped); otherwise one is opened if the reader has one. */
static bool token_present(struct p11_slot *s)
{
    p11_slot_poll(s);
    return s->card || slot_open(s) == CKR_OK;
}

/* The same for C_GetSlotList and C_GetSlotInfo, which never wait for a
 * call on the card (it may be a mute one, for up to the card timeout):
 * while one holds the slot, PC/SC's word on the reader answers. */
static bool slot_present(CK_SLOT_ID id)
{
    struct p11_slot *s = &p11_g.slots[id];
    if (p11_slot_trylock(id)) {
        bool present = token_present(s);
        p11_slot_unlock(id);
        return present;
    }
    struct card_ctx *ctx;
    unsigned events;
    bool present = false;
    return p11_ctx_get(&ctx) == CKR_OK &&
           card_ctx_reader_events(ctx, s->reader, &events, &present) == CARD_OK && present;
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
        if (present && !slot_present(i))
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
    if (slot_present(id))
        info->flags |= CKF_TOKEN_PRESENT;
    return CKR_OK;
}

static size_t live_sessions(CK_SLOT_ID id, bool rw_only)
{
    size_t n = 0;
    p11_lock();
    for (size_t i = 0; i < p11_g.nsessions; i++) {
        const struct p11_session *ss = p11_g.sessions[i];
        if (ss->slot == id && ss->slot_gen == p11_g.slots[id].gen &&
            (!rw_only || (ss->flags & CKF_RW_SESSION)))
            n++;
    }
    p11_unlock();
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
    return p11_mech_info(card_get_info(s->card), p11_decrypt_bits_max(s->card),
                         type, info);
}
