/* entry.c: the C_* entry points, each a one-line shim over the wrapper
 * (wrap.c) and a function of the file that owns its group, plus the
 * function lists: PKCS#11 2.40 and the 3.0 interface ("PKCS 11"), which
 * NSS asks for first. p11-kit's header predates 3.0, so the 3.0 types
 * are declared here as OASIS defines them. */
#include <string.h>

#include "pkcs11/p11.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct CK_INTERFACE {
    CK_UTF8CHAR *pInterfaceName;
    CK_VOID_PTR pFunctionList;
    CK_FLAGS flags;
} CK_INTERFACE;

/* A call that needs a session: s_ is the session inside `call`, which
 * runs holding the session's slot lock. */
#define SESSION_CALL(name, need, h, call)                                    \
    do {                                                                     \
        struct p11_session *s_;                                              \
        CK_SLOT_ID sl_;                                                      \
        CK_RV rv_ = p11_enter(name, h, need, &s_, &sl_);                     \
        return rv_ == CKR_OK ? p11_leave(name, h, sl_, (call)) : rv_;        \
    } while (0)
/* A call on a slot id, holding the slot's lock. */
#define SLOT_CALL(name, id, call)                                            \
    do {                                                                     \
        CK_RV rv_ = p11_enter_slot(name, id);                                \
        return rv_ == CKR_OK ? p11_leave_slot(name, id, (call)) : rv_;       \
    } while (0)
/* A call that takes the locks it needs itself and never waits for a
 * call on a card. */
#define FREE_CALL(name, call)                                                \
    do {                                                                     \
        CK_RV rv_ = p11_enter_free(name);                                    \
        return rv_ == CKR_OK ? p11_leave_free(name, (call)) : rv_;           \
    } while (0)
#define NOT_SUPPORTED(name)                                                  \
    do {                                                                     \
        if (!p11_is_initialized())                                           \
            return CKR_CRYPTOKI_NOT_INITIALIZED;                             \
        p11_trace("%s -> CKR_FUNCTION_NOT_SUPPORTED", name);                 \
        return CKR_FUNCTION_NOT_SUPPORTED;                                   \
    } while (0)


#define NONE P11_NEED_NONE
#define USER P11_NEED_LOGIN
#define RW P11_NEED_RW

static CK_RV traced(const char *name, CK_RV rv)
{
    p11_trace("%s -> %s", name, p11_rv_name(rv));
    return rv;
}

static CK_RV f_Initialize(CK_VOID_PTR a) { return traced("C_Initialize", p11_initialize(a)); }
static CK_RV f_Finalize(CK_VOID_PTR r) { return traced("C_Finalize", p11_finalize(r)); }
static CK_RV f_GetInfo(CK_INFO_PTR i)
{ if (!p11_is_initialized()) return CKR_CRYPTOKI_NOT_INITIALIZED; return traced("C_GetInfo", p11_get_info(i)); }
/* Through the 3.0 interface the library reports Cryptoki 3.0. */
static CK_RV f_GetInfo3(CK_INFO_PTR i)
{
    CK_RV rv = f_GetInfo(i);
    if (rv == CKR_OK) {
        i->cryptokiVersion.major = 3;
        i->cryptokiVersion.minor = 0;
    }
    return rv;
}
static CK_RV f_GetSlotList(CK_BBOOL p, CK_SLOT_ID_PTR l, CK_ULONG_PTR c)
{ FREE_CALL("C_GetSlotList", p11_get_slot_list(p, l, c)); }
static CK_RV f_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR i)
{ FREE_CALL("C_GetSlotInfo", p11_get_slot_info(id, i)); }
static CK_RV f_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR i)
{ SLOT_CALL("C_GetTokenInfo", id, p11_get_token_info(id, i)); }
static CK_RV f_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR l, CK_ULONG_PTR c)
{ SLOT_CALL("C_GetMechanismList", id, p11_get_mechanism_list(id, l, c)); }
static CK_RV f_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO_PTR i)
{ SLOT_CALL("C_GetMechanismInfo", id, p11_get_mechanism_info(id, t, i)); }
static CK_RV f_InitToken(CK_SLOT_ID id, CK_UTF8CHAR_PTR p, CK_ULONG l, CK_UTF8CHAR_PTR lab)
{ (void)id; (void)p; (void)l; (void)lab; NOT_SUPPORTED("C_InitToken"); }
static CK_RV f_InitPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR p, CK_ULONG l)
{ SESSION_CALL("C_InitPIN", RW, h, p11_init_pin(s_, p, l)); }
static CK_RV f_SetPIN(CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR o, CK_ULONG ol, CK_UTF8CHAR_PTR n, CK_ULONG nl)
{ SESSION_CALL("C_SetPIN", NONE, h, p11_set_pin(s_, o, ol, n, nl)); }
static CK_RV f_OpenSession(CK_SLOT_ID id, CK_FLAGS f, CK_VOID_PTR app, CK_NOTIFY n, CK_SESSION_HANDLE_PTR h)
{ (void)app; (void)n; SLOT_CALL("C_OpenSession", id, p11_open_session(id, f, h)); }
static CK_RV f_CloseSession(CK_SESSION_HANDLE h)
{ SESSION_CALL("C_CloseSession", NONE, h, p11_close_session(h)); }
static CK_RV f_CloseAllSessions(CK_SLOT_ID id)
{ SLOT_CALL("C_CloseAllSessions", id, p11_close_all_sessions(id)); }
static CK_RV f_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR i)
{ return p11_session_info(h, i); }
static CK_RV f_GetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG_PTR l)
{ (void)h; (void)s; (void)l; NOT_SUPPORTED("C_GetOperationState"); }
static CK_RV f_SetOperationState(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG l, CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a)
{ (void)h; (void)s; (void)l; (void)e; (void)a; NOT_SUPPORTED("C_SetOperationState"); }
static CK_RV f_Login(CK_SESSION_HANDLE h, CK_USER_TYPE t, CK_UTF8CHAR_PTR p, CK_ULONG l)
{ SESSION_CALL("C_Login", NONE, h, p11_login(s_, t, p, l)); }
static CK_RV f_Logout(CK_SESSION_HANDLE h)
{ SESSION_CALL("C_Logout", NONE, h, p11_logout(s_)); }
static CK_RV f_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o)
{ SESSION_CALL("C_CreateObject", NONE, h, p11_create_object(s_, t, n, o)); }
static CK_RV f_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR no)
{ (void)h; (void)o; (void)t; (void)n; (void)no; NOT_SUPPORTED("C_CopyObject"); }
static CK_RV f_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{ SESSION_CALL("C_DestroyObject", RW, h, p11_destroy_object(s_, o)); }
static CK_RV f_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ULONG_PTR s)
{ SESSION_CALL("C_GetObjectSize", NONE, h, p11_get_object_size(s_, o, s)); }
static CK_RV f_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{ SESSION_CALL("C_GetAttributeValue", NONE, h, p11_get_attribute_value(s_, o, t, n)); }
static CK_RV f_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{ SESSION_CALL("C_SetAttributeValue", NONE, h, p11_set_attribute_value(s_, o, t, n)); }
static CK_RV f_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{ SESSION_CALL("C_FindObjectsInit", NONE, h, p11_find_init(s_, t, n)); }
static CK_RV f_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR o, CK_ULONG m, CK_ULONG_PTR c)
{ SESSION_CALL("C_FindObjects", NONE, h, p11_find(s_, o, m, c)); }
static CK_RV f_FindObjectsFinal(CK_SESSION_HANDLE h)
{ SESSION_CALL("C_FindObjectsFinal", NONE, h, p11_find_final(s_)); }
static CK_RV f_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ (void)h; (void)m; (void)k; NOT_SUPPORTED("C_EncryptInit"); }
static CK_RV f_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l, CK_BYTE_PTR e, CK_ULONG_PTR el)
{ (void)h; (void)d; (void)l; (void)e; (void)el; NOT_SUPPORTED("C_Encrypt"); }
static CK_RV f_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l, CK_BYTE_PTR e, CK_ULONG_PTR el)
{ (void)h; (void)d; (void)l; (void)e; (void)el; NOT_SUPPORTED("C_EncryptUpdate"); }
static CK_RV f_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG_PTR el)
{ (void)h; (void)e; (void)el; NOT_SUPPORTED("C_EncryptFinal"); }
static CK_RV f_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ SESSION_CALL("C_DecryptInit", USER, h, p11_decrypt_init(s_, m, k)); }
static CK_RV f_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG el, CK_BYTE_PTR d, CK_ULONG_PTR dl)
{ SESSION_CALL("C_Decrypt", NONE, h, p11_decrypt(s_, e, el, d, dl)); }
static CK_RV f_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG el, CK_BYTE_PTR d, CK_ULONG_PTR dl)
{ (void)h; (void)e; (void)el; (void)d; (void)dl; NOT_SUPPORTED("C_DecryptUpdate"); }
static CK_RV f_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG_PTR dl)
{ (void)h; (void)d; (void)dl; NOT_SUPPORTED("C_DecryptFinal"); }
static CK_RV f_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{ (void)h; (void)m; NOT_SUPPORTED("C_DigestInit"); }
static CK_RV f_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{ (void)h; (void)d; (void)l; (void)o; (void)ol; NOT_SUPPORTED("C_Digest"); }
static CK_RV f_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l)
{ (void)h; (void)d; (void)l; NOT_SUPPORTED("C_DigestUpdate"); }
static CK_RV f_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{ (void)h; (void)k; NOT_SUPPORTED("C_DigestKey"); }
static CK_RV f_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{ (void)h; (void)o; (void)ol; NOT_SUPPORTED("C_DigestFinal"); }
static CK_RV f_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ SESSION_CALL("C_SignInit", USER, h, p11_sign_init(s_, m, k)); }
static CK_RV f_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l, CK_BYTE_PTR s, CK_ULONG_PTR sl)
{ SESSION_CALL("C_Sign", NONE, h, p11_sign(s_, d, l, s, sl)); }
static CK_RV f_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l)
{ SESSION_CALL("C_SignUpdate", NONE, h, p11_sign_update(s_, d, l)); }
static CK_RV f_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG_PTR sl)
{ SESSION_CALL("C_SignFinal", NONE, h, p11_sign_final(s_, s, sl)); }
static CK_RV f_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ (void)h; (void)m; (void)k; NOT_SUPPORTED("C_SignRecoverInit"); }
static CK_RV f_SignRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l, CK_BYTE_PTR s, CK_ULONG_PTR sl)
{ (void)h; (void)d; (void)l; (void)s; (void)sl; NOT_SUPPORTED("C_SignRecover"); }
static CK_RV f_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ SESSION_CALL("C_VerifyInit", NONE, h, p11_verify_init(s_, m, k)); }
static CK_RV f_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l, CK_BYTE_PTR s, CK_ULONG sl)
{ SESSION_CALL("C_Verify", NONE, h, p11_verify(s_, d, l, s, sl)); }
static CK_RV f_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG l)
{ SESSION_CALL("C_VerifyUpdate", NONE, h, p11_verify_update(s_, d, l)); }
static CK_RV f_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sl)
{ SESSION_CALL("C_VerifyFinal", NONE, h, p11_verify_final(s_, s, sl)); }
static CK_RV f_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ (void)h; (void)m; (void)k; NOT_SUPPORTED("C_VerifyRecoverInit"); }
static CK_RV f_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sl, CK_BYTE_PTR d, CK_ULONG_PTR dl)
{ (void)h; (void)s; (void)sl; (void)d; (void)dl; NOT_SUPPORTED("C_VerifyRecover"); }
static CK_RV f_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b, CK_BYTE_PTR c, CK_ULONG_PTR d)
{ (void)h; (void)a; (void)b; (void)c; (void)d; NOT_SUPPORTED("C_DigestEncryptUpdate"); }
static CK_RV f_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b, CK_BYTE_PTR c, CK_ULONG_PTR d)
{ (void)h; (void)a; (void)b; (void)c; (void)d; NOT_SUPPORTED("C_DecryptDigestUpdate"); }
static CK_RV f_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b, CK_BYTE_PTR c, CK_ULONG_PTR d)
{ (void)h; (void)a; (void)b; (void)c; (void)d; NOT_SUPPORTED("C_SignEncryptUpdate"); }
static CK_RV f_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR a, CK_ULONG b, CK_BYTE_PTR c, CK_ULONG_PTR d)
{ (void)h; (void)a; (void)b; (void)c; (void)d; NOT_SUPPORTED("C_DecryptVerifyUpdate"); }
static CK_RV f_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k)
{ (void)h; (void)m; (void)t; (void)n; (void)k; NOT_SUPPORTED("C_GenerateKey"); }
static CK_RV f_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,
                               CK_ATTRIBUTE_PTR vt, CK_ULONG vn, CK_OBJECT_HANDLE_PTR pk, CK_OBJECT_HANDLE_PTR vk)
{ SESSION_CALL("C_GenerateKeyPair", USER | RW, h, p11_generate_key_pair(s_, m, pt, pn, vt, vn, pk, vk)); }
static CK_RV f_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE w, CK_OBJECT_HANDLE k, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{ (void)h; (void)m; (void)w; (void)k; (void)o; (void)ol; NOT_SUPPORTED("C_WrapKey"); }
static CK_RV f_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE u, CK_BYTE_PTR w, CK_ULONG wl,
                         CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k)
{ (void)h; (void)m; (void)u; (void)w; (void)wl; (void)t; (void)n; (void)k; NOT_SUPPORTED("C_UnwrapKey"); }
static CK_RV f_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k)
{ (void)h; (void)m; (void)b; (void)t; (void)n; (void)k; NOT_SUPPORTED("C_DeriveKey"); }
static CK_RV f_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG l)
{ SESSION_CALL("C_SeedRandom", NONE, h, p11_no_rng(s, l)); }
static CK_RV f_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR r, CK_ULONG l)
{ SESSION_CALL("C_GenerateRandom", NONE, h, p11_no_rng(r, l)); }
static CK_RV f_GetFunctionStatus(CK_SESSION_HANDLE h)
{ (void)h; if (!p11_is_initialized()) return CKR_CRYPTOKI_NOT_INITIALIZED; return CKR_FUNCTION_NOT_PARALLEL; }
static CK_RV f_CancelFunction(CK_SESSION_HANDLE h)
{ (void)h; if (!p11_is_initialized()) return CKR_CRYPTOKI_NOT_INITIALIZED; return CKR_FUNCTION_NOT_PARALLEL; }
static CK_RV f_WaitForSlotEvent(CK_FLAGS f, CK_SLOT_ID_PTR s, CK_VOID_PTR r)
{ return traced("C_WaitForSlotEvent", p11_wait_for_slot_event(f, s, r)); }

/* ---- PKCS#11 3.0 additions: message-based functions are not offered ---- */
static CK_RV f_GetInterfaceList(CK_INTERFACE *l, CK_ULONG_PTR c);
static CK_RV f_GetInterface(CK_UTF8CHAR_PTR n, CK_VERSION_PTR v, CK_INTERFACE **i, CK_FLAGS f);
static CK_RV f_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE t, CK_UTF8CHAR_PTR p, CK_ULONG l,
                         CK_UTF8CHAR_PTR u, CK_ULONG ul)
{ (void)u; (void)ul; SESSION_CALL("C_LoginUser", NONE, h, p11_login(s_, t, p, l)); }
static CK_RV f_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS f)
{ (void)h; (void)f; NOT_SUPPORTED("C_SessionCancel"); }
static CK_RV f_MsgInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{ (void)h; (void)m; (void)k; NOT_SUPPORTED("C_Message*Init"); }
static CK_RV f_MsgCrypt(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al,
                        CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{ (void)h; (void)p; (void)pl; (void)a; (void)al; (void)i; (void)il; (void)o; (void)ol; NOT_SUPPORTED("C_*Message"); }
static CK_RV f_MsgCryptBegin(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al)
{ (void)h; (void)p; (void)pl; (void)a; (void)al; NOT_SUPPORTED("C_*MessageBegin"); }
static CK_RV f_MsgCryptNext(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR i, CK_ULONG il,
                            CK_BYTE_PTR o, CK_ULONG_PTR ol, CK_FLAGS f)
{ (void)h; (void)p; (void)pl; (void)i; (void)il; (void)o; (void)ol; (void)f; NOT_SUPPORTED("C_*MessageNext"); }
static CK_RV f_MsgFinal(CK_SESSION_HANDLE h)
{ (void)h; NOT_SUPPORTED("C_Message*Final"); }
static CK_RV f_SignMsg(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,
                       CK_BYTE_PTR s, CK_ULONG_PTR sl)
{ (void)h; (void)p; (void)pl; (void)d; (void)dl; (void)s; (void)sl; NOT_SUPPORTED("C_SignMessage"); }
static CK_RV f_MsgBegin(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl)
{ (void)h; (void)p; (void)pl; NOT_SUPPORTED("C_*MessageBegin"); }
static CK_RV f_VerifyMsg(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,
                         CK_BYTE_PTR s, CK_ULONG sl)
{ (void)h; (void)p; (void)pl; (void)d; (void)dl; (void)s; (void)sl; NOT_SUPPORTED("C_VerifyMessage"); }

#define LIST_2_40 f_Initialize, f_Finalize, f_GetInfo, LIST_AFTER_INFO
#define LIST_AFTER_INFO                                                      \
    C_GetFunctionList, f_GetSlotList,                                        \
    f_GetSlotInfo, f_GetTokenInfo, f_GetMechanismList, f_GetMechanismInfo,   \
    f_InitToken, f_InitPIN, f_SetPIN, f_OpenSession, f_CloseSession,         \
    f_CloseAllSessions, f_GetSessionInfo, f_GetOperationState,               \
    f_SetOperationState, f_Login, f_Logout, f_CreateObject, f_CopyObject,    \
    f_DestroyObject, f_GetObjectSize, f_GetAttributeValue,                   \
    f_SetAttributeValue, f_FindObjectsInit, f_FindObjects,                   \
    f_FindObjectsFinal, f_EncryptInit, f_Encrypt, f_EncryptUpdate,           \
    f_EncryptFinal, f_DecryptInit, f_Decrypt, f_DecryptUpdate,               \
    f_DecryptFinal, f_DigestInit, f_Digest, f_DigestUpdate, f_DigestKey,     \
    f_DigestFinal, f_SignInit, f_Sign, f_SignUpdate, f_SignFinal,            \
    f_SignRecoverInit, f_SignRecover, f_VerifyInit, f_Verify,                \
    f_VerifyUpdate, f_VerifyFinal, f_VerifyRecoverInit, f_VerifyRecover,     \
    f_DigestEncryptUpdate, f_DecryptDigestUpdate, f_SignEncryptUpdate,       \
    f_DecryptVerifyUpdate, f_GenerateKey, f_GenerateKeyPair, f_WrapKey,      \
    f_UnwrapKey, f_DeriveKey, f_SeedRandom, f_GenerateRandom,                \
    f_GetFunctionStatus, f_CancelFunction, f_WaitForSlotEvent

static CK_FUNCTION_LIST list_2_40 = { { 2, 40 }, LIST_2_40 };

typedef CK_RV (*msg_init_t)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
typedef CK_RV (*msg_crypt_t)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
                             CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*msg_crypt_begin_t)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG);
typedef CK_RV (*msg_crypt_next_t)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
                                  CK_BYTE_PTR, CK_ULONG_PTR, CK_FLAGS);
typedef CK_RV (*msg_final_t)(CK_SESSION_HANDLE);
typedef CK_RV (*msg_sign_t)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
                            CK_BYTE_PTR, CK_ULONG_PTR);
typedef CK_RV (*msg_begin_t)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG);
typedef CK_RV (*msg_verify_t)(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG,
                              CK_BYTE_PTR, CK_ULONG);

/* CK_FUNCTION_LIST_3_0: the 2.40 list, then the 3.0 functions in order. */
typedef struct {
    CK_VERSION version;
    CK_C_Initialize C_Initialize;
    CK_C_Finalize C_Finalize;
    CK_C_GetInfo C_GetInfo;
    CK_C_GetFunctionList C_GetFunctionList;
    CK_C_GetSlotList C_GetSlotList;
    CK_C_GetSlotInfo C_GetSlotInfo;
    CK_C_GetTokenInfo C_GetTokenInfo;
    CK_C_GetMechanismList C_GetMechanismList;
    CK_C_GetMechanismInfo C_GetMechanismInfo;
    CK_C_InitToken C_InitToken;
    CK_C_InitPIN C_InitPIN;
    CK_C_SetPIN C_SetPIN;
    CK_C_OpenSession C_OpenSession;
    CK_C_CloseSession C_CloseSession;
    CK_C_CloseAllSessions C_CloseAllSessions;
    CK_C_GetSessionInfo C_GetSessionInfo;
    CK_C_GetOperationState C_GetOperationState;
    CK_C_SetOperationState C_SetOperationState;
    CK_C_Login C_Login;
    CK_C_Logout C_Logout;
    CK_C_CreateObject C_CreateObject;
    CK_C_CopyObject C_CopyObject;
    CK_C_DestroyObject C_DestroyObject;
    CK_C_GetObjectSize C_GetObjectSize;
    CK_C_GetAttributeValue C_GetAttributeValue;
    CK_C_SetAttributeValue C_SetAttributeValue;
    CK_C_FindObjectsInit C_FindObjectsInit;
    CK_C_FindObjects C_FindObjects;
    CK_C_FindObjectsFinal C_FindObjectsFinal;
    CK_C_EncryptInit C_EncryptInit;
    CK_C_Encrypt C_Encrypt;
    CK_C_EncryptUpdate C_EncryptUpdate;
    CK_C_EncryptFinal C_EncryptFinal;
    CK_C_DecryptInit C_DecryptInit;
    CK_C_Decrypt C_Decrypt;
    CK_C_DecryptUpdate C_DecryptUpdate;
    CK_C_DecryptFinal C_DecryptFinal;
    CK_C_DigestInit C_DigestInit;
    CK_C_Digest C_Digest;
    CK_C_DigestUpdate C_DigestUpdate;
    CK_C_DigestKey C_DigestKey;
    CK_C_DigestFinal C_DigestFinal;
    CK_C_SignInit C_SignInit;
    CK_C_Sign C_Sign;
    CK_C_SignUpdate C_SignUpdate;
    CK_C_SignFinal C_SignFinal;
    CK_C_SignRecoverInit C_SignRecoverInit;
    CK_C_SignRecover C_SignRecover;
    CK_C_VerifyInit C_VerifyInit;
    CK_C_Verify C_Verify;
    CK_C_VerifyUpdate C_VerifyUpdate;
    CK_C_VerifyFinal C_VerifyFinal;
    CK_C_VerifyRecoverInit C_VerifyRecoverInit;
    CK_C_VerifyRecover C_VerifyRecover;
    CK_C_DigestEncryptUpdate C_DigestEncryptUpdate;
    CK_C_DecryptDigestUpdate C_DecryptDigestUpdate;
    CK_C_SignEncryptUpdate C_SignEncryptUpdate;
    CK_C_DecryptVerifyUpdate C_DecryptVerifyUpdate;
    CK_C_GenerateKey C_GenerateKey;
    CK_C_GenerateKeyPair C_GenerateKeyPair;
    CK_C_WrapKey C_WrapKey;
    CK_C_UnwrapKey C_UnwrapKey;
    CK_C_DeriveKey C_DeriveKey;
    CK_C_SeedRandom C_SeedRandom;
    CK_C_GenerateRandom C_GenerateRandom;
    CK_C_GetFunctionStatus C_GetFunctionStatus;
    CK_C_CancelFunction C_CancelFunction;
    CK_C_WaitForSlotEvent C_WaitForSlotEvent;
    CK_RV (*C_GetInterfaceList)(CK_INTERFACE *, CK_ULONG_PTR);
    CK_RV (*C_GetInterface)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE **, CK_FLAGS);
    CK_RV (*C_LoginUser)(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR_PTR, CK_ULONG,
                         CK_UTF8CHAR_PTR, CK_ULONG);
    CK_RV (*C_SessionCancel)(CK_SESSION_HANDLE, CK_FLAGS);
    /* Message-based encrypt, decrypt, sign, verify: none offered. */
    msg_init_t C_MessageEncryptInit;
    msg_crypt_t C_EncryptMessage;
    msg_crypt_begin_t C_EncryptMessageBegin;
    msg_crypt_next_t C_EncryptMessageNext;
    msg_final_t C_MessageEncryptFinal;
    msg_init_t C_MessageDecryptInit;
    msg_crypt_t C_DecryptMessage;
    msg_crypt_begin_t C_DecryptMessageBegin;
    msg_crypt_next_t C_DecryptMessageNext;
    msg_final_t C_MessageDecryptFinal;
    msg_init_t C_MessageSignInit;
    msg_sign_t C_SignMessage;
    msg_begin_t C_SignMessageBegin;
    msg_sign_t C_SignMessageNext;
    msg_final_t C_MessageSignFinal;
    msg_init_t C_MessageVerifyInit;
    msg_verify_t C_VerifyMessage;
    msg_begin_t C_VerifyMessageBegin;
    msg_verify_t C_VerifyMessageNext;
    msg_final_t C_MessageVerifyFinal;
} list_3_0_t;

static list_3_0_t list_3_0 = {
    { 3, 0 }, f_Initialize, f_Finalize, f_GetInfo3, LIST_AFTER_INFO,
    f_GetInterfaceList, f_GetInterface, f_LoginUser, f_SessionCancel,
    f_MsgInit, f_MsgCrypt, f_MsgCryptBegin, f_MsgCryptNext, f_MsgFinal,
    f_MsgInit, f_MsgCrypt, f_MsgCryptBegin, f_MsgCryptNext, f_MsgFinal,
    f_MsgInit, f_SignMsg, f_MsgBegin, f_SignMsg, f_MsgFinal,
    f_MsgInit, f_VerifyMsg, f_MsgBegin, f_VerifyMsg, f_MsgFinal,
};

/* Not CKF_INTERFACE_FORK_SAFE: that promises a child keeps its parent's
 * sessions and logins; here a child starts again with C_Initialize. */
static CK_INTERFACE interfaces[] = {
    { (CK_UTF8CHAR *)"PKCS 11", &list_3_0, 0 },
    { (CK_UTF8CHAR *)"PKCS 11", &list_2_40, 0 },
};
#define NIFACES (sizeof(interfaces) / sizeof(interfaces[0]))

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (!out)
        return CKR_ARGUMENTS_BAD;
    *out = &list_2_40;
    return CKR_OK;
}

static CK_RV f_GetInterfaceList(CK_INTERFACE *l, CK_ULONG_PTR c)
{
    if (!c)
        return CKR_ARGUMENTS_BAD;
    if (!l) {
        *c = NIFACES;
        return CKR_OK;
    }
    if (*c < NIFACES) {
        *c = NIFACES;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(l, interfaces, sizeof(interfaces));
    *c = NIFACES;
    return CKR_OK;
}

static CK_RV f_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR v, CK_INTERFACE **out, CK_FLAGS f)
{
    if (!out)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < NIFACES; i++) {
        const CK_VERSION *iv = interfaces[i].pFunctionList;
        if (name && strcmp((const char *)name, (const char *)interfaces[i].pInterfaceName))
            continue;
        if (v && (v->major != iv->major || v->minor != iv->minor))
            continue;
        if ((interfaces[i].flags & f) != f)
            continue;
        *out = &interfaces[i];
        return CKR_OK;
    }
    return CKR_FUNCTION_FAILED;
}

EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE *l, CK_ULONG_PTR c)
{
    return f_GetInterfaceList(l, c);
}

EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR v, CK_INTERFACE **out, CK_FLAGS f)
{
    return f_GetInterface(name, v, out, f);
}
