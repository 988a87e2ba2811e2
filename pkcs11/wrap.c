/* wrap.c: the one wrapper every C_* call goes through:
 * initialised? -> lock -> session lookup -> login check -> call ->
 * unlock -> trace. Sessions of a token that went away are found here
 * (their slot generation is stale) and closed: CKR_SESSION_HANDLE_INVALID. */
#include <stdlib.h>

#include "pkcs11/p11.h"

static void session_free(struct p11_session *s)
{
    p11_opstate_clear(&s->sign);
    p11_opstate_clear(&s->verify);
    p11_opstate_clear(&s->decrypt);
    free(s->found);
    free(s);
}

/* Removes the session from the table and frees it. */
void p11_session_remove(struct p11_session *s)
{
    for (size_t i = 0; i < p11_g.nsessions; i++)
        if (p11_g.sessions[i] == s) {
            p11_g.sessions[i] = p11_g.sessions[--p11_g.nsessions];
            break;
        }
    session_free(s);
}

struct p11_session *p11_session_get0(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < p11_g.nsessions; i++) {
        struct p11_session *s = p11_g.sessions[i];
        if (s->handle != h)
            continue;
        if (s->slot_gen != p11_g.slots[s->slot].gen) {
            p11_session_remove(s);
            return NULL;
        }
        return s;
    }
    return NULL;
}

CK_RV p11_enter_global(const char *name)
{
    if (!p11_is_initialized()) {
        p11_trace("%s -> CKR_CRYPTOKI_NOT_INITIALIZED", name);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    p11_lock();
    if (!p11_g.initialized) {
        /* C_Finalize ran while this call waited for the lock. */
        p11_unlock();
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    return CKR_OK;
}

CK_RV p11_enter(const char *name, CK_SESSION_HANDLE h, unsigned need, struct p11_session **out)
{
    CK_RV rv = p11_enter_global(name);
    if (rv != CKR_OK)
        return rv;
    struct p11_session *s = p11_session_get0(h);
    if (!s)
        rv = CKR_SESSION_HANDLE_INVALID;
    else if ((need & P11_NEED_LOGIN) && !p11_g.slots[s->slot].logged_in)
        rv = CKR_USER_NOT_LOGGED_IN;
    else if ((need & P11_NEED_RW) && !(s->flags & CKF_RW_SESSION))
        rv = CKR_SESSION_READ_ONLY;
    if (rv != CKR_OK) {
        p11_unlock();
        p11_trace("%s(session %lu) -> %s", name, (unsigned long)h, p11_rv_name(rv));
        return rv;
    }
    *out = s;
    return CKR_OK;
}

CK_RV p11_leave(const char *name, CK_SESSION_HANDLE h, CK_RV rv)
{
    p11_unlock();
    if (h)
        p11_trace("%s(session %lu) -> %s", name, (unsigned long)h, p11_rv_name(rv));
    else
        p11_trace("%s -> %s", name, p11_rv_name(rv));
    return rv;
}
