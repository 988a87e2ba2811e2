/* p11.h: the module's internal interfaces, shared by the files of pkcs11/.
 *
 * Every C_* entry point is a one-line shim in entry.c that goes through
 * the wrapper in wrap.c: initialised? -> global lock -> session lookup ->
 * login check -> call -> unlock -> trace. The p11_* functions below run
 * with the global lock held and never call back into the application.
 */
#ifndef CARDRENEW_P11_H
#define CARDRENEW_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

#include "card/card.h"
#include "card/plat.h"

#define P11_MAX_SLOTS 16
#define P11_PIN_MAX 64
#define P11_RAW_MAX 1024        /* largest single-part input we buffer */

/* ---- attributes (attr.c) ---- */

enum p11_attr_kind { P11_A_BYTES, P11_A_ULONG, P11_A_BOOL, P11_A_DATE };

struct p11_attr {
    CK_ATTRIBUTE_TYPE type;
    void *val;
    CK_ULONG len;
    bool sensitive;     /* exists, but never leaves the card */
};

struct p11_attrs {
    struct p11_attr *a;
    size_t n, cap;
};

/* Kind of a known attribute; false when the type is not in the table. */
bool p11_attr_kind(CK_ATTRIBUTE_TYPE type, enum p11_attr_kind *kind);
/* Appends a copy of val; CKR_HOST_MEMORY on failure. */
CK_RV p11_attrs_add(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, const void *val, CK_ULONG len);
CK_RV p11_attrs_add_ulong(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
CK_RV p11_attrs_add_bool(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type, bool v);
CK_RV p11_attrs_add_sensitive(struct p11_attrs *l, CK_ATTRIBUTE_TYPE type);
void p11_attrs_free(struct p11_attrs *l);
const struct p11_attr *p11_attrs_get0(const struct p11_attrs *l, CK_ATTRIBUTE_TYPE type);
/* The C_GetAttributeValue rules over a whole template. */
CK_RV p11_attrs_fill(const struct p11_attrs *l, CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* True when every template element is present with an equal value. */
bool p11_attrs_match(const struct p11_attrs *l, const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Checks a caller's template: known types, sane lengths for fixed-size
 * kinds, no duplicates, pValue non-NULL when ulValueLen > 0. */
CK_RV p11_template_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Lookups in a caller's template. The typed ones give CKR_OK with
 * *found false when the attribute is absent, and
 * CKR_ATTRIBUTE_VALUE_INVALID when its value has the wrong size. */
const CK_ATTRIBUTE *p11_template_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type);
CK_RV p11_template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                         CK_ULONG *out, bool *found);
CK_RV p11_template_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                        bool *out, bool *found);

/* ---- card errors (errors.c) ---- */
CK_RV p11_card_rv(int card_rv);

/* ---- mechanisms (mech.c) ---- */
struct p11_mech {
    CK_MECHANISM_TYPE type;
    const EVP_MD *(*md)(void);      /* host-side hash, or NULL */
    enum card_sign_alg alg;
    bool ec, keygen, pss;
};
/* The mechanisms of a card, in display order; returns how many. */
size_t p11_mech_list(const struct card_info *info, CK_MECHANISM_TYPE *out, size_t max);
/* decrypt_bits: the largest RSA key the card deciphers with, 0 for none
 * (p11_decrypt_bits_max). */
CK_RV p11_mech_info(const struct card_info *info, unsigned decrypt_bits,
                    CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *mi);
unsigned p11_decrypt_bits_max(const struct card *c);
const struct p11_mech *p11_mech_find(CK_MECHANISM_TYPE type);
/* What a profile's APDUs can carry: G has short APDUs only and a
 * 36-byte PKCS#1 input (a SHA-1 DigestInfo); 0 means no limit here. */
struct p11_limits {
    size_t sign_in_max;
    size_t decrypt_in_max;
};
struct p11_limits p11_profile_limits(const struct card_driver *d);
/* PSS parameters for a mechanism: hash chosen (hashed: the data will be
 * hashed with *md on the host), MGF1 of the same hash, sLen = hash length. */
CK_RV p11_pss_check(const CK_MECHANISM *m, const EVP_MD **md);
/* DigestInfo = SEQUENCE { AlgorithmIdentifier, OCTET STRING hash }. */
CK_RV p11_digest_info(const EVP_MD *md, const uint8_t *hash, size_t hlen,
                      uint8_t *out, size_t *outlen);

/* ---- objects (object.c, cache.c) ---- */
enum p11_kind { P11_CERT, P11_PUB, P11_PRIV };

struct p11_object {
    CK_OBJECT_HANDLE handle;
    enum p11_kind kind;
    size_t ci;                  /* index into the slot's containers */
    struct p11_attrs attrs;
};

/* A slot's fields are its lock's (p11_slot_lock), except the atomic ones,
 * which calls that do not take it read (C_GetSessionInfo while a call on
 * the card holds it), and used and reader, set once under the global lock. */
struct p11_slot {
    _Atomic bool used;
    char reader[128];
    struct card *card;          /* NULL: no supported card open */
    _Atomic bool logged_in;
    bool have_counter;          /* objects cached for (serial, counter) */
    /* ... and checked: the counter read since this handle was opened,
     * and no reset, removal or other writer's notice seen since. */
    bool checked;
    uint64_t counter;
    char serial[33];
    struct card_objects cont;
    struct p11_object *obj;
    size_t nobj;
    CK_OBJECT_HANDLE next_handle;
    _Atomic unsigned gen;       /* bumped when the card goes away */
    /* Bumped when another program changed the card's objects: sessions
     * opened before answer CKR_SESSION_HANDLE_INVALID at their next
     * C_GetSessionInfo (how NSS learns to drop its cached certificates),
     * while the login the card holds stays for new sessions. */
    _Atomic unsigned epoch;
    bool own_change;            /* this process wrote: publish a notice */
    /* A host looked for keys that have no certificate (a search that may
     * find a key the objects do not hold, a certificate for such a key):
     * reads of this card look for them too (card_lazy_pending). */
    bool pending;
    struct plat_stamp notice;   /* the change notice as last looked at */
    /* A card no driver claimed, at this reader event count: not tried
     * again (APDUs every poll) until a card comes or goes. */
    bool refused;
    unsigned refused_events;
    /* One that did not answer in time (or whose transaction another
     * handle, an abandoned one maybe, holds): tried again after
     * P11_MUTE_RETRY_S, or when a card comes or goes. */
    bool refused_mute;
    long long refused_until_ms;
    /* Labels asked for keys that have no certificate yet: the card
     * stores a label with the certificate, so they wait here. */
    struct p11_label {
        uint8_t id[20];
        size_t id_len;
        char label[64];
    } labels[8];
    size_t nlabels;
};

void p11_label_set(struct p11_slot *s, const uint8_t *id, size_t idlen,
                   const void *label, size_t len);
const char *p11_label_get0(const struct p11_slot *s, const uint8_t *id, size_t idlen);

void p11_objects_free(struct p11_slot *s);
/* Rebuilds the object list from s->cont, keeping handles of objects
 * whose (kind, CKA_ID) already existed. */
CK_RV p11_objects_build(struct p11_slot *s);
struct p11_object *p11_object_get0(struct p11_slot *s, CK_OBJECT_HANDLE h, bool logged_in);
CK_RV p11_object_attrs_build(const struct card_container *c, enum p11_kind kind,
                             const char *label, struct p11_attrs *out);
/* Brings the object cache up to date (inside a card transaction); once
 * per transaction: a second call in the same one reads nothing. */
CK_RV p11_cache_refresh(struct p11_slot *s);
/* After p11_cache_refresh: the objects include keys without a
 * certificate even on a card that finds them only when asked (profile
 * G), from now on for this card. */
CK_RV p11_cache_pending(struct p11_slot *s);
/* This process changed the card: the next refresh reads the objects. */
void p11_cache_stale(struct p11_slot *s);
/* This process deleted container ci's certificate, or (whole) the
 * container: the cache follows without reading the card's objects. */
CK_RV p11_cache_deleted(struct p11_slot *s, size_t ci, bool whole);
/* ... made a key: k (a pending key, as card_generate_key gives it) joins
 * the containers (k is taken, and cleared). */
CK_RV p11_cache_added(struct p11_slot *s, struct card_container *k);
/* ... wrote container ci's certificate, with this label. */
CK_RV p11_cache_certified(struct p11_slot *s, size_t ci, const uint8_t *der, size_t len,
                          const char *label);
/* The objects changed under this process (a counter or a notice that is
 * not ours): sessions opened before end at C_GetSessionInfo. */
void p11_cache_foreign(struct p11_slot *s);
/* p11_token_begin + p11_cache_refresh; on CKR_OK a transaction is open. */
CK_RV p11_token_objects(struct p11_slot *s);
/* Public key of a container as an EVP_PKEY. */
EVP_PKEY *p11_container_pkey(const struct card_container *c);

/* ---- change notices shared by this user's processes (notice.c) ---- */
/* After this process changed a card: its serial and new change counter
 * (known false when it could not be read). */
void p11_notice_publish(const char *serial, uint64_t counter, bool known);
/* Records the notice as it is now, so only later ones count. */
void p11_notice_baseline(struct p11_slot *s);
/* Looks at the card's notice (a stat(), no APDU); a change made by
 * another process that this one has not seen calls p11_cache_foreign. */
void p11_notice_poll(struct p11_slot *s);

/* ---- sessions (session.c) ---- */
struct p11_opstate {
    const struct p11_mech *mech;
    CK_OBJECT_HANDLE key;
    EVP_MD_CTX *mdctx;          /* hashing mechanisms */
    EVP_PKEY *pkey;             /* verify: the public key */
    const EVP_MD *pss_md;       /* PSS: the parameters' hash */
    uint8_t *buf;               /* raw mechanisms: collected input */
    size_t buflen;
    bool multipart;
    uint8_t *result;            /* decrypt: kept for a BUFFER_TOO_SMALL retry */
    size_t resultlen;
};

struct p11_session {
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slot;
    unsigned slot_gen;
    unsigned epoch;             /* the slot's epoch when it opened */
    CK_FLAGS flags;
    /* The objects were checked against the card at this session's
     * C_FindObjectsInit (or its key generation, its C_CreateObject):
     * C_GetAttributeValue answers from them without the card. */
    bool view;
    /* the active operations */
    CK_OBJECT_HANDLE *found;
    size_t nfound, foundpos;
    bool finding;
    struct p11_opstate sign, verify, decrypt;
    bool signing, verifying, decrypting;
};

void p11_opstate_clear(struct p11_opstate *o);
/* An operation's key object and its container (sign.c). */
CK_RV p11_op_key(struct p11_slot *s, CK_OBJECT_HANDLE h, bool priv,
                 const struct card_container **c);
/* Signature (and RSA block) length of a key. */
size_t p11_sig_len(const struct card_container *c);

/* ---- global state (init.c, wrap.c) ----
 * The global lock guards the session table, next_session, ctx's creation
 * and the slots' attachment; it is held briefly and never across card I/O.
 * A slot's lock guards its card, objects and login, and the operations of
 * its sessions: it is held for a whole call on the slot. Order: a slot's
 * lock, then the global one (a call never waits for a slot's lock while
 * holding the global one). */
struct p11_state {
    _Atomic bool initialized;
    struct card_ctx *ctx;       /* created on first use: C_Initialize does no I/O */
    struct p11_slot slots[P11_MAX_SLOTS];
    struct p11_session **sessions;
    size_t nsessions, capsessions;
    CK_SESSION_HANDLE next_session;
};
extern struct p11_state p11_g;

/* Locking over the application's callbacks or pthreads (init.c). */
void p11_lock(void);
void p11_unlock(void);
void p11_slot_lock(CK_SLOT_ID id);
/* Takes the slot's lock only if no call holds or awaits it. */
bool p11_slot_trylock(CK_SLOT_ID id);
void p11_slot_unlock(CK_SLOT_ID id);
bool p11_is_initialized(void);      /* false in a forked child */

/* The wrapper (wrap.c). */
enum p11_need { P11_NEED_NONE = 0, P11_NEED_LOGIN = 1, P11_NEED_RW = 2 };
/* A call on a session: its slot's lock held on CKR_OK (*slot says which). */
CK_RV p11_enter(const char *name, CK_SESSION_HANDLE h, unsigned need,
                struct p11_session **out, CK_SLOT_ID *slot);
/* Unlocks the slot and traces. */
CK_RV p11_leave(const char *name, CK_SESSION_HANDLE h, CK_SLOT_ID slot, CK_RV rv);
/* A call on a slot id: its lock held on CKR_OK. */
CK_RV p11_enter_slot(const char *name, CK_SLOT_ID id);
CK_RV p11_leave_slot(const char *name, CK_SLOT_ID id, CK_RV rv);
/* A call that takes what locks it needs itself. */
CK_RV p11_enter_free(const char *name);
CK_RV p11_leave_free(const char *name, CK_RV rv);
/* C_GetSessionInfo: the session's slot is polled when its lock is free;
 * while a call holds it (a mute card, for up to the card timeout) the
 * answer comes from what is known, without waiting. */
CK_RV p11_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO *info);
/* Removes a session; the global lock and the session's slot lock held. */
void p11_session_remove(struct p11_session *s);

/* Slots (slot.c). */
CK_RV p11_slot_get(CK_SLOT_ID id, struct p11_slot **out);
/* Opens the card if needed and checks it is still the same one:
 * CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED (state dropped) or CKR_OK,
 * with a card transaction begun when CKR_OK (end it with p11_token_end). */
CK_RV p11_token_begin(struct p11_slot *s);
void p11_token_end(struct p11_slot *s);
/* Forget the card: close it, drop objects, login, and its sessions. */
void p11_slot_drop(struct p11_slot *s, bool close_card);
/* What a poll costs: PC/SC's word on the card handle and the change
 * notice, no APDU and no transaction. A card pulled or reset is dropped
 * (its sessions end); a change by another program bumps the epoch. */
void p11_slot_poll(struct p11_slot *s);
CK_RV p11_ctx_get(struct card_ctx **out);
CK_RV p11_slot_for_reader(const char *reader, CK_SLOT_ID *id);
/* Session helpers for slot and session code; the global lock held (and
 * the slot's lock, to remove sessions). */
void p11_sessions_close_slot(CK_SLOT_ID id);
/* A session by handle; one whose card went away is removed (NULL). */
struct p11_session *p11_session_get0(CK_SESSION_HANDLE h);
/* A token-level call inside a transaction, mapping card removal: the
 * slot state is dropped and CKR_DEVICE_REMOVED returned. */
CK_RV p11_card_result(struct p11_slot *s, int card_rv);

/* ---- trace (trace.c) ---- */
bool p11_trace_on(void);
void p11_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *p11_rv_name(CK_RV rv);

/* ---- C_* bodies, one file per group ---- */
CK_RV p11_initialize(void *args);
CK_RV p11_finalize(void *reserved);
CK_RV p11_get_info(CK_INFO *info);
CK_RV p11_get_slot_list(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count);
CK_RV p11_get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO *info);
CK_RV p11_get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO *info);
CK_RV p11_get_mechanism_list(CK_SLOT_ID id, CK_MECHANISM_TYPE *list, CK_ULONG *count);
CK_RV p11_get_mechanism_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info);
CK_RV p11_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved);
void p11_event_cancel(void);
void p11_event_forget(void);

CK_RV p11_open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE *out);
CK_RV p11_close_session(CK_SESSION_HANDLE h);
CK_RV p11_close_all_sessions(CK_SLOT_ID id);
CK_RV p11_get_session_info(struct p11_session *s, CK_SESSION_INFO *info);
CK_RV p11_login(struct p11_session *s, CK_USER_TYPE type, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV p11_logout(struct p11_session *s);
CK_RV p11_set_pin(struct p11_session *s, const CK_UTF8CHAR *old, CK_ULONG oldlen,
                  const CK_UTF8CHAR *neu, CK_ULONG newlen);
CK_RV p11_init_pin(struct p11_session *s, const CK_UTF8CHAR *pin, CK_ULONG len);
CK_RV p11_no_rng(const CK_BYTE *buf, CK_ULONG len);

CK_RV p11_get_attribute_value(struct p11_session *s, CK_OBJECT_HANDLE h,
                              CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11_get_object_size(struct p11_session *s, CK_OBJECT_HANDLE h, CK_ULONG *size);
CK_RV p11_find_init(struct p11_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV p11_find(struct p11_session *s, CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *count);
CK_RV p11_find_final(struct p11_session *s);

CK_RV p11_sign_init(struct p11_session *s, CK_MECHANISM *m, CK_OBJECT_HANDLE key);
CK_RV p11_sign(struct p11_session *s, const CK_BYTE *data, CK_ULONG len,
               CK_BYTE *sig, CK_ULONG *siglen);
CK_RV p11_sign_update(struct p11_session *s, const CK_BYTE *data, CK_ULONG len);
CK_RV p11_sign_final(struct p11_session *s, CK_BYTE *sig, CK_ULONG *siglen);
CK_RV p11_verify_init(struct p11_session *s, CK_MECHANISM *m, CK_OBJECT_HANDLE key);
CK_RV p11_verify(struct p11_session *s, const CK_BYTE *data, CK_ULONG len,
                 const CK_BYTE *sig, CK_ULONG siglen);
CK_RV p11_verify_update(struct p11_session *s, const CK_BYTE *data, CK_ULONG len);
CK_RV p11_verify_final(struct p11_session *s, const CK_BYTE *sig, CK_ULONG siglen);
CK_RV p11_decrypt_init(struct p11_session *s, CK_MECHANISM *m, CK_OBJECT_HANDLE key);
CK_RV p11_decrypt(struct p11_session *s, const CK_BYTE *in, CK_ULONG inlen,
                  CK_BYTE *out, CK_ULONG *outlen);

CK_RV p11_generate_key_pair(struct p11_session *s, CK_MECHANISM *m,
                            CK_ATTRIBUTE *pub, CK_ULONG npub,
                            CK_ATTRIBUTE *priv, CK_ULONG npriv,
                            CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv);
CK_RV p11_create_object(struct p11_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE *out);
CK_RV p11_destroy_object(struct p11_session *s, CK_OBJECT_HANDLE h);
CK_RV p11_set_attribute_value(struct p11_session *s, CK_OBJECT_HANDLE h,
                              CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Checks a certificate template; on CKR_OK der and len borrow the value. */
CK_RV p11_cert_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, const uint8_t **der,
                        size_t *len, const CK_ATTRIBUTE **id, const CK_ATTRIBUTE **label);

void p11_secure_zero(void *p, size_t n);

#endif
