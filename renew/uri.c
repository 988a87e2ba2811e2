/* uri.c: the pkcs11: URIs of --token (renew/uri.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "renew/uri.h"

#define BAD_SYNTAX "the URI has invalid syntax"
#define BAD_ENCODING "the URI has a bad %-encoding"
#define BAD_VERSION "the URI has a bad version number"

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes [s, end) into out (at most max bytes); its length, -1 for a bad
 * %-escape, or max + 1 when too long. */
static long decode(const char *s, const char *end, unsigned char *out, size_t max)
{
    size_t n = 0;
    while (s < end) {
        int c = (unsigned char)*s++;
        if (c == '%') {
            int hi = end - s >= 2 ? hexval(s[0]) : -1, lo = hi >= 0 ? hexval(s[1]) : -1;
            if (lo < 0)
                return -1;
            c = hi << 4 | lo;
            s += 2;
        }
        if (n < max)
            out[n] = (unsigned char)c;
        n += n <= max;
    }
    return (long)n;
}

/* A string attribute into its space-padded field. */
static const char *put_string(struct renew_uri *u, unsigned bit, unsigned char *field,
                              size_t size, const char *v, const char *end)
{
    unsigned char tmp[64];
    long n = decode(v, end, tmp, sizeof tmp);
    if (n < 0)
        return BAD_ENCODING;
    if ((size_t)n > size) {
        u->unrecognized = true;     /* no token has so long a value */
        return NULL;
    }
    memset(field, ' ', size);
    memcpy(field, tmp, (size_t)n);
    u->set |= bit;
    return NULL;
}

/* Digits only into *out; false when empty, not digits or over max. */
static bool number(const char *s, const char *end, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (s == end)
        return false;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > (max - (unsigned long)(*s - '0')) / 10)
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    *out = v;
    return true;
}

static const char *put_version(struct renew_uri *u, const char *v, const char *end)
{
    const char *dot = memchr(v, '.', (size_t)(end - v));
    unsigned long major, minor = 0;
    if (!number(v, dot ? dot : end, 254, &major) || (dot && !number(dot + 1, end, 254, &minor)))
        return BAD_VERSION;
    u->module.libraryVersion.major = (CK_BYTE)major;
    u->module.libraryVersion.minor = (CK_BYTE)minor;
    u->set |= RENEW_URI_LIB_VERSION;
    return NULL;
}

static bool is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* One path attribute name=value. */
static const char *path_attr(struct renew_uri *u, const char *name, size_t len, const char *v,
                             const char *end)
{
    unsigned char scratch[256];
    static const char *const types[] = { "cert", "public", "private", "secret-key", "secretkey",
                                         "data" };
#define S(bit, st, field) put_string(u, bit, u->st.field, sizeof u->st.field, v, end)
    if (is(name, len, "token"))
        return S(RENEW_URI_TOKEN, token, label);
    if (is(name, len, "manufacturer"))
        return S(RENEW_URI_MANUF, token, manufacturerID);
    if (is(name, len, "model"))
        return S(RENEW_URI_MODEL, token, model);
    if (is(name, len, "serial"))
        return S(RENEW_URI_SERIAL, token, serialNumber);
    if (is(name, len, "slot-description"))
        return S(RENEW_URI_SLOT_DESC, slot, slotDescription);
    if (is(name, len, "slot-manufacturer"))
        return S(RENEW_URI_SLOT_MANUF, slot, manufacturerID);
    if (is(name, len, "library-description"))
        return S(RENEW_URI_LIB_DESC, module, libraryDescription);
    if (is(name, len, "library-manufacturer"))
        return S(RENEW_URI_LIB_MANUF, module, manufacturerID);
#undef S
    if (is(name, len, "library-version"))
        return put_version(u, v, end);
    if (is(name, len, "slot-id")) {
        unsigned long id;
        if (!number(v, end, (unsigned long)-1 >> 1, &id))
            return BAD_SYNTAX;
        u->slot_id = (CK_SLOT_ID)id;
        u->set |= RENEW_URI_SLOT_ID;
        return NULL;
    }
    if (is(name, len, "type") || is(name, len, "object-type") || is(name, len, "objecttype")) {
        bool known = false;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            known |= (size_t)(end - v) == strlen(types[i]) &&
                     memcmp(v, types[i], (size_t)(end - v)) == 0;
        u->unrecognized |= !known;
        return NULL;
    }
    if (is(name, len, "object") || is(name, len, "id") || is(name, len, "pin-source") ||
        is(name, len, "pinfile") || is(name, len, "pin-value"))
        return decode(v, end, scratch, sizeof scratch) < 0 ? BAD_ENCODING : NULL;
    u->unrecognized = true;
    return NULL;
}

const char *renew_uri_parse(const char *s, struct renew_uri *u)
{
    unsigned char scratch[256];
    memset(u, 0, sizeof *u);
    /* Whitespace is not part of a URI (RFC 3986 appendix C): dropped. */
    size_t n = strlen(s), k = 0;
    char *copy = malloc(n + 1);
    if (!copy)
        return "out of memory";
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            copy[k++] = s[i];
    copy[k] = '\0';
    const char *why = NULL, *p = copy + 7;
    bool scheme = k >= 7;       /* a scheme's case does not matter (RFC 3986 3.1) */
    for (size_t i = 0; scheme && i < 7; i++)
        scheme = tolower((unsigned char)copy[i]) == "pkcs11:"[i];
    if (!scheme) {
        free(copy);
        return "it does not start with pkcs11:";
    }
    /* The path: name=value;... up to '?'. */
    while (!why && *p && *p != '?') {
        const char *end = p + strcspn(p, ";?"), *eq = memchr(p, '=', (size_t)(end - p));
        if (end == p)
            ;                               /* an empty attribute: none */
        else if (!eq || eq == p)
            why = BAD_SYNTAX;
        else
            why = path_attr(u, p, (size_t)(eq - p), eq + 1, end);
        p = *end == ';' ? end + 1 : end;
    }
    /* The query: name=value&...; pin-source, module-name and the like. */
    if (!why && *p == '?')
        p++;
    while (!why && *p) {
        const char *end = p + strcspn(p, "&"), *eq = memchr(p, '=', (size_t)(end - p));
        if (end != p && (!eq || eq == p))
            why = BAD_SYNTAX;
        else if (end != p && decode(eq + 1, end, scratch, sizeof scratch) < 0)
            why = BAD_ENCODING;
        p = *end ? end + 1 : end;
    }
    free(copy);
    return why;
}

static bool same(bool set, const unsigned char *want, const unsigned char *have, size_t n)
{
    return !set || memcmp(want, have, n) == 0;
}

bool renew_uri_matches(const struct renew_uri *u, const CK_INFO *mi, CK_SLOT_ID id,
                       const CK_SLOT_INFO *si, const CK_TOKEN_INFO *ti)
{
    unsigned s = u->set;
#define F(bit, st, info, field) same(s & (bit), u->st.field, (info)->field, sizeof u->st.field)
    if (u->unrecognized)
        return false;
    if (ti && !(F(RENEW_URI_TOKEN, token, ti, label) && F(RENEW_URI_MANUF, token, ti, manufacturerID) &&
                F(RENEW_URI_MODEL, token, ti, model) && F(RENEW_URI_SERIAL, token, ti, serialNumber)))
        return false;
    if (mi && !(F(RENEW_URI_LIB_DESC, module, mi, libraryDescription) &&
                F(RENEW_URI_LIB_MANUF, module, mi, manufacturerID) &&
                (!(s & RENEW_URI_LIB_VERSION) ||
                 (u->module.libraryVersion.major == mi->libraryVersion.major &&
                  u->module.libraryVersion.minor == mi->libraryVersion.minor))))
        return false;
    if (si && !(F(RENEW_URI_SLOT_DESC, slot, si, slotDescription) &&
                F(RENEW_URI_SLOT_MANUF, slot, si, manufacturerID) &&
                (!(s & RENEW_URI_SLOT_ID) || u->slot_id == id)))
        return false;
#undef F
    return true;
}
