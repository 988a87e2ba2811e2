/* wrap.c: the one wrapper every C_* call goes through:
 * initialised? -> session lookup (global lock) -> the slot's lock ->
 * login check -> call -> unlock -> trace.
 *
 * The global lock is held only to look things up; the slot's lock for the
 * whole call, card I/O included. A card that stops answering so holds up
 * only calls on its own slot, each for at most the card timeout (card/io.c);
 * other slots, C_GetSlotList, C_GetSlotInfo, C_GetSessionInfo and
 * C_Finalize do not wait for it. Sessions of a token that went away are
 * found here (their slot generation is stale) and closed:
 * CKR_SESSION_HANDLE_INVALID. */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

static void session_free(struct p11_session *s)
{
    p11_opstate_clear(&s->sign);
    p11_opstate_clear(&s->verify);
    p11_opstate_clear(&s->decrypt);
    free(s->found);
    free(s);
}

void p11_session_remove(struct p11_session *s)
{
    for (size_t i = 0; i < p11_g.nsessions; i++)
        if (p11_g.sessions[i] == s) {
            p11_g.sessions[i] = p11_g.sessions[--p11_g.nsessions];
            break;
        }
    session_free(s);
}

static struct p11_session *session_find(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < p11_g.nsessions; i++)
        if (p11_g.sessions[i]->handle == h)
            return p11_g.sessions[i];
    return NULL;
}

static bool session_stale(const struct p11_session *s)
{
    return s->slot_gen != p11_g.slots[s->slot].gen;
}

struct p11_session *p11_session_get0(CK_SESSION_HANDLE h)
{
    struct p11_session *s = session_find(h);
    if (s && session_stale(s)) {
        p11_session_remove(s);
        return NULL;
    }
    return s;
}

static CK_RV not_initialized(const char *name)
{
    p11_trace("%s -> CKR_CRYPTOKI_NOT_INITIALIZED", name);
    return CKR_CRYPTOKI_NOT_INITIALIZED;
}

/* The slot of session h, looked up under the global lock. */
static CK_RV session_slot(CK_SESSION_HANDLE h, CK_SLOT_ID *slot)
{
    p11_lock();
    CK_RV rv = CKR_SESSION_HANDLE_INVALID;
    if (!p11_g.initialized) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    } else {
        const struct p11_session *s = session_find(h);
        if (s) {
            *slot = s->slot;
            rv = CKR_OK;
        }
    }
    p11_unlock();
    return rv;
}

CK_RV p11_enter(const char *name, CK_SESSION_HANDLE h, unsigned need,
                struct p11_session **out, CK_SLOT_ID *slot)
{
    if (!p11_is_initialized())
        return not_initialized(name);
    CK_SLOT_ID id = 0;
    CK_RV rv = session_slot(h, &id);
    if (rv == CKR_OK) {
        p11_slot_lock(id);
        /* Looked up again: it may have gone while the lock was awaited. */
        p11_lock();
        struct p11_session *s = p11_g.initialized ? p11_session_get0(h) : NULL;
        if (!p11_g.initialized)
            rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        else if (!s || s->slot != id)
            rv = CKR_SESSION_HANDLE_INVALID;
        else if ((need & P11_NEED_LOGIN) && !p11_g.slots[id].logged_in)
            rv = CKR_USER_NOT_LOGGED_IN;
        else if ((need & P11_NEED_RW) && !(s->flags & CKF_RW_SESSION))
            rv = CKR_SESSION_READ_ONLY;
        p11_unlock();
        if (rv == CKR_OK) {
            *out = s;
            *slot = id;
            return CKR_OK;
        }
        p11_slot_unlock(id);
    }
    p11_trace("%s(session %lu) -> %s", name, (unsigned long)h, p11_rv_name(rv));
    return rv;
}

CK_RV p11_leave(const char *name, CK_SESSION_HANDLE h, CK_SLOT_ID slot, CK_RV rv)
{
    p11_slot_unlock(slot);
    p11_trace("%s(session %lu) -> %s", name, (unsigned long)h, p11_rv_name(rv));
    return rv;
}

CK_RV p11_enter_slot(const char *name, CK_SLOT_ID id)
{
    if (!p11_is_initialized())
        return not_initialized(name);
    if (id >= P11_MAX_SLOTS) {
        p11_trace("%s(slot %lu) -> CKR_SLOT_ID_INVALID", name, (unsigned long)id);
        return CKR_SLOT_ID_INVALID;
    }
    p11_slot_lock(id);
    if (!p11_is_initialized()) {
        p11_slot_unlock(id);
        return not_initialized(name);
    }
    return CKR_OK;
}

CK_RV p11_leave_slot(const char *name, CK_SLOT_ID id, CK_RV rv)
{
    p11_slot_unlock(id);
    p11_trace("%s(slot %lu) -> %s", name, (unsigned long)id, p11_rv_name(rv));
    return rv;
}

CK_RV p11_enter_free(const char *name)
{
    return p11_is_initialized() ? CKR_OK : not_initialized(name);
}

CK_RV p11_leave_free(const char *name, CK_RV rv)
{
    p11_trace("%s -> %s", name, p11_rv_name(rv));
    return rv;
}

/* C_GetSessionInfo while a call holds the slot: from the session, the
 * slot's generation and epoch and its login, all without the card. */
static CK_RV session_info_known(CK_SESSION_HANDLE h, CK_SESSION_INFO *info)
{
    p11_lock();
    CK_RV rv = CKR_OK;
    const struct p11_session *ss = p11_g.initialized ? session_find(h) : NULL;
    if (!p11_g.initialized) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    } else if (!ss || session_stale(ss) || ss->epoch != p11_g.slots[ss->slot].epoch) {
        rv = CKR_SESSION_HANDLE_INVALID;    /* removed by the next call that may */
    } else {
        bool user = p11_g.slots[ss->slot].logged_in;
        bool rw = ss->flags & CKF_RW_SESSION;
        memset(info, 0, sizeof(*info));
        info->slotID = ss->slot;
        info->state = rw ? (user ? CKS_RW_USER_FUNCTIONS : CKS_RW_PUBLIC_SESSION)
                         : (user ? CKS_RO_USER_FUNCTIONS : CKS_RO_PUBLIC_SESSION);
        info->flags = ss->flags;
    }
    p11_unlock();
    return rv;
}

CK_RV p11_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO *info)
{
    const char *name = "C_GetSessionInfo";
    if (!p11_is_initialized())
        return not_initialized(name);
    CK_SLOT_ID id = 0;
    CK_RV rv = session_slot(h, &id);
    if (rv == CKR_OK && !info)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK && !p11_slot_trylock(id)) {
        rv = session_info_known(h, info);
    } else if (rv == CKR_OK) {
        p11_lock();
        struct p11_session *s = p11_g.initialized ? p11_session_get0(h) : NULL;
        if (!p11_g.initialized)
            rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        else if (!s || s->slot != id)
            rv = CKR_SESSION_HANDLE_INVALID;
        p11_unlock();
        if (rv == CKR_OK)
            rv = p11_get_session_info(s, info);
        p11_slot_unlock(id);
    }
    p11_trace("%s(session %lu) -> %s", name, (unsigned long)h, p11_rv_name(rv));
    return rv;
}
