/* session.c: sessions, and the user's login shared by every session of a
 * token. PINs go through one bounded buffer, wiped on every path, and
 * are traced by length only. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

void p11_opstate_clear(struct p11_opstate *o)
{
    EVP_MD_CTX_free(o->mdctx);
    EVP_PKEY_free(o->pkey);
    if (o->buf) {
        p11_secure_zero(o->buf, o->buflen);
        free(o->buf);
    }
    if (o->result) {
        p11_secure_zero(o->result, o->resultlen);
        free(o->result);
    }
    memset(o, 0, sizeof(*o));
}

CK_RV p11_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
    struct p11_slot *s;
    CK_RV rv = p11_slot_get(id, &s);
    if (rv != CKR_OK)
        return rv;
    if (!out)
        return CKR_ARGUMENTS_BAD;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    rv = p11_token_begin(s);
    if (rv == CKR_DEVICE_REMOVED)
        rv = p11_token_begin(s);        /* a new card in the reader */
    if (rv == CKR_DEVICE_REMOVED)
        rv = CKR_TOKEN_NOT_PRESENT;
    if (rv != CKR_OK)
        return rv;
    p11_token_end(s);

    struct p11_session *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return CKR_HOST_MEMORY;
    ss->slot = id;
    ss->slot_gen = s->gen;
    ss->epoch = s->epoch;
    ss->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    p11_lock();
    if (p11_g.nsessions == p11_g.capsessions) {
        size_t cap = p11_g.capsessions ? p11_g.capsessions * 2 : 8;
        struct p11_session **n = realloc(p11_g.sessions, cap * sizeof(*n));
        if (!n) {
            p11_unlock();
            free(ss);
            return CKR_HOST_MEMORY;
        }
        p11_g.sessions = n;
        p11_g.capsessions = cap;
    }
    ss->handle = p11_g.next_session++;
    p11_g.sessions[p11_g.nsessions++] = ss;
    *out = ss->handle;
    p11_unlock();
    return CKR_OK;
}

/* The security officer's login on a card with a PUK and no SO PIN (profile
 * O): C_Login(CKU_SO) keeps the PUK and C_InitPIN spends it on RESET
 * RETRY COUNTER with the new PIN, which is how OpenSC's PKCS#11 layer
 * serves such cards (pin_unblock_style so_logged_initpin) and what
 * pkcs11-tool --init-pin --login --login-type so expects. The card checks
 * the PUK at C_InitPIN. Nothing else is allowed to the SO. */
static struct so_login {
    bool in;
    unsigned gen;               /* the slot's card it was given for */
    size_t len;
    char puk[P11_PIN_MAX + 1];
} so_logins[P11_MAX_SLOTS];

static struct so_login *so_of(const struct p11_session *ss)
{
    struct so_login *l = &so_logins[ss->slot];
    if (l->in && l->gen != p11_g.slots[ss->slot].gen) {     /* the card went away */
        p11_secure_zero(l, sizeof(*l));
    }
    return l;
}

static bool slot_has_sessions(CK_SLOT_ID id)
{
    for (size_t i = 0; i < p11_g.nsessions; i++)
        if (p11_g.sessions[i]->slot == id && p11_g.sessions[i]->slot_gen == p11_g.slots[id].gen)
            return true;
    return false;
}

/* The last session closed logs the user out of this module (PKCS#11
 * 2.40, 5.6). The card is left as it is: its logout is a reset, which
 * would throw every other process using the card (an identity agent
 * while cardrenew renews) out of its sessions. C_Logout resets it. */
static void logout_if_idle(CK_SLOT_ID id)
{
    struct p11_slot *s = &p11_g.slots[id];
    p11_lock();
    bool idle = !slot_has_sessions(id);
    p11_unlock();
    if (idle) {
        s->logged_in = false;
        p11_secure_zero(&so_logins[id], sizeof(so_logins[id]));
    }
}

CK_RV p11_close_session(CK_SESSION_HANDLE h)
{
    p11_lock();
    struct p11_session *ss = p11_session_get0(h);
    CK_SLOT_ID id = ss ? ss->slot : 0;
    if (ss)
        p11_session_remove(ss);
    p11_unlock();
    if (!ss)
        return CKR_SESSION_HANDLE_INVALID;
    logout_if_idle(id);
    return CKR_OK;
}

void p11_sessions_close_slot(CK_SLOT_ID id)
{
    for (size_t i = 0; i < p11_g.nsessions;) {
        if (p11_g.sessions[i]->slot == id)
            p11_session_remove(p11_g.sessions[i]);  /* moves the last into i */
        else
            i++;
    }
}

CK_RV p11_close_all_sessions(CK_SLOT_ID id)
{
    struct p11_slot *s;
    CK_RV rv = p11_slot_get(id, &s);
    if (rv != CKR_OK)
        return rv;
    p11_lock();
    p11_sessions_close_slot(id);
    p11_unlock();
    logout_if_idle(id);
    return CKR_OK;
}

/* Hosts poll this once a second to learn whether the token they know
 * is still there (NSS on its default session). It costs no APDU: PC/SC's
 * state of the card and the change notice. A session whose card was
 * pulled or reset, or opened before another program changed the card's
 * objects (a renewal), is closed here: CKR_SESSION_HANDLE_INVALID, and
 * the host reads the token afresh. In the second case the card still
 * holds the login, so new sessions are logged in. */
CK_RV p11_get_session_info(struct p11_session *ss, CK_SESSION_INFO *info)
{
    if (!info)
        return CKR_ARGUMENTS_BAD;
    struct p11_slot *s = &p11_g.slots[ss->slot];
    p11_slot_poll(s);
    if (ss->slot_gen != s->gen || ss->epoch != s->epoch) {
        p11_trace("session %lu closed: the card %s", (unsigned long)ss->handle,
                  ss->slot_gen != s->gen ? "went away" : "was changed by another program");
        p11_lock();
        p11_session_remove(ss);
        p11_unlock();
        return CKR_SESSION_HANDLE_INVALID;
    }
    bool user = s->logged_in;
    bool rw = ss->flags & CKF_RW_SESSION;
    memset(info, 0, sizeof(*info));
    info->slotID = ss->slot;
    info->state = rw ? (user ? CKS_RW_USER_FUNCTIONS : CKS_RW_PUBLIC_SESSION)
                     : (user ? CKS_RO_USER_FUNCTIONS : CKS_RO_PUBLIC_SESSION);
    if (so_of(ss)->in)
        info->state = CKS_RW_SO_FUNCTIONS;
    info->flags = ss->flags;
    return CKR_OK;
}

/* Copies a PIN into a bounded, NUL-terminated buffer after the card's
 * length rules. */
static CK_RV pin_take(const struct card_info *ci, const CK_UTF8CHAR *pin, CK_ULONG len,
                      char buf[P11_PIN_MAX + 1])
{
    if (!pin)
        return CKR_ARGUMENTS_BAD;
    if (len > P11_PIN_MAX || (ci->pin_min && len < ci->pin_min) ||
        (ci->pin_max && len > ci->pin_max))
        return CKR_PIN_LEN_RANGE;
    memcpy(buf, pin, len);
    buf[len] = '\0';
    return CKR_OK;
}

static CK_RV so_login(struct p11_session *ss, const CK_UTF8CHAR *puk, CK_ULONG len)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    struct so_login *l = so_of(ss);
    if (!puk)
        return CKR_ARGUMENTS_BAD;
    if (l->in)
        return CKR_USER_ALREADY_LOGGED_IN;
    if (s->logged_in)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    CK_RV rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv;
    bool has_puk = card_get_info(s->card)->has_puk;
    p11_token_end(s);
    if (!has_puk)
        return CKR_USER_TYPE_INVALID;
    if (!(ss->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY_EXISTS;
    if (len == 0 || len > P11_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    memcpy(l->puk, puk, len);
    l->len = len;
    l->gen = s->gen;
    l->in = true;
    return CKR_OK;
}

CK_RV p11_login(struct p11_session *ss, CK_USER_TYPE type, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    char buf[P11_PIN_MAX + 1];
    p11_trace("C_Login: user type %lu, PIN length %lu", (unsigned long)type, (unsigned long)len);
    if (type == CKU_CONTEXT_SPECIFIC)
        return CKR_OPERATION_NOT_INITIALIZED;   /* no key needs it */
    if (type == CKU_SO)
        return so_login(ss, pin, len);
    if (type != CKU_USER)
        return CKR_USER_TYPE_INVALID;
    if (so_of(ss)->in)
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if (s->logged_in)
        return CKR_USER_ALREADY_LOGGED_IN;
    CK_RV rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv;
    rv = pin_take(card_get_info(s->card), pin, len, buf);
    if (rv == CKR_OK) {
        int crv = card_pin_verify(s->card, buf, len);
        rv = p11_card_result(s, crv);
        if (rv == CKR_OK) {
            s->logged_in = true;
            /* A log-in is when a change made without this module (no
             * notice) is looked for: the next use reads the counter. */
            s->checked = false;
        }
    }
    p11_secure_zero(buf, sizeof(buf));
    p11_token_end(s);
    return rv;
}

CK_RV p11_logout(struct p11_session *ss)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    struct so_login *l = so_of(ss);
    if (l->in) {
        p11_secure_zero(l, sizeof(*l));
        return CKR_OK;
    }
    if (!s->logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    s->logged_in = false;
    CK_RV rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv == CKR_DEVICE_REMOVED ? CKR_OK : rv;
    int crv = card_logout(s->card);
    p11_token_end(s);
    if (crv == CARD_E_UNSUPPORTED)
        return CKR_OK;
    return p11_card_result(s, crv);
}

CK_RV p11_set_pin(struct p11_session *ss, const CK_UTF8CHAR *old, CK_ULONG oldlen,
                  const CK_UTF8CHAR *neu, CK_ULONG newlen)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    char o[P11_PIN_MAX + 1], n[P11_PIN_MAX + 1];
    p11_trace("C_SetPIN: old PIN length %lu, new PIN length %lu",
              (unsigned long)oldlen, (unsigned long)newlen);
    if (!(ss->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    CK_RV rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv;
    const struct card_info *ci = card_get_info(s->card);
    rv = pin_take(ci, old, oldlen, o);
    if (rv == CKR_OK)
        rv = pin_take(ci, neu, newlen, n);
    if (rv == CKR_OK)
        rv = p11_card_result(s, card_pin_change(s->card, o, oldlen, n, newlen));
    p11_secure_zero(o, sizeof(o));
    p11_secure_zero(n, sizeof(n));
    p11_token_end(s);
    return rv;
}

CK_RV p11_init_pin(struct p11_session *ss, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct p11_slot *s = &p11_g.slots[ss->slot];
    struct so_login *l = so_of(ss);
    char buf[P11_PIN_MAX + 1];
    p11_trace("C_InitPIN: new PIN length %lu", (unsigned long)len);
    /* Only the security officer may: a card with a PUK, logged in with it. */
    if (!l->in)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = p11_token_begin(s);
    if (rv != CKR_OK)
        return rv;
    rv = pin_take(card_get_info(s->card), pin, len, buf);
    if (rv == CKR_OK) {
        rv = p11_card_result(s, card_pin_unblock(s->card, l->puk, l->len, buf, len));
        /* A wrong PUK is not tried again unasked: log in again. */
        if (rv != CKR_OK)
            p11_secure_zero(l, sizeof(*l));
    }
    p11_secure_zero(buf, sizeof(buf));
    p11_token_end(s);
    return rv;
}

/* The cards' RNG is not offered (no CKF_RNG): after the session and the
 * arguments, the answer the spec gives. */
CK_RV p11_no_rng(const CK_BYTE *buf, CK_ULONG len)
{
    if (!buf && len)
        return CKR_ARGUMENTS_BAD;
    return CKR_RANDOM_NO_RNG;
}
