/* uri.h: PKCS#11 URIs (RFC 7512) as --token uses them: which module,
 * slot and token they name. One parser on every platform (p11-kit is not
 * there on Windows), matching as p11-kit's p11_kit_uri_match_* do. */
#ifndef CARDRENEW_RENEW_URI_H
#define CARDRENEW_RENEW_URI_H

#include <stdbool.h>
#include <p11-kit/pkcs11.h>

/* What a URI asks for: each string attribute space-padded to its field's
 * size, as PKCS#11 stores it; the bits say which were given. */
struct renew_uri {
    CK_INFO module;
    CK_SLOT_INFO slot;
    CK_TOKEN_INFO token;
    CK_SLOT_ID slot_id;
    unsigned set;           /* RENEW_URI_* */
    /* An attribute this parser does not know, a value too long for its
     * field or an unknown object type: like p11-kit, nothing matches. */
    bool unrecognized;
};
enum {
    RENEW_URI_LIB_DESC = 1 << 0, RENEW_URI_LIB_MANUF = 1 << 1, RENEW_URI_LIB_VERSION = 1 << 2,
    RENEW_URI_SLOT_DESC = 1 << 3, RENEW_URI_SLOT_MANUF = 1 << 4, RENEW_URI_SLOT_ID = 1 << 5,
    RENEW_URI_TOKEN = 1 << 6, RENEW_URI_MANUF = 1 << 7, RENEW_URI_MODEL = 1 << 8,
    RENEW_URI_SERIAL = 1 << 9,
};

/* Parses s into u: NULL, or why s is not a pkcs11: URI. Object attributes
 * (object, id, type) and queries (pin-source, module-path, ...) are
 * checked for syntax and otherwise ignored: they name no token. */
const char *renew_uri_parse(const char *s, struct renew_uri *u);

/* Does u match? NULL infos are not checked (the slot-id with si). */
bool renew_uri_matches(const struct renew_uri *u, const CK_INFO *mi, CK_SLOT_ID id,
                       const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti);

#endif
