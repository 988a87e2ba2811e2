/* ca_http.c: the HTTP request of RFC 6712 (POST, application/pkixcmp,
 * Content-Length), parsed with hard limits; anything else is an HTTP error. */
#include "tests/ca/ca.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *ca_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Error";
    }
}

static const char *find_end(const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r'
            && buf[i + 3] == '\n')
            return buf + i + 4;
    return NULL;
}

/* Header value equal to want, ignoring case, parameters and blanks. */
static int value_is(const char *v, size_t n, const char *want)
{
    size_t w = strlen(want);

    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ';') {
            n = i;
            while (n > 0 && v[n - 1] == ' ')
                n--;
            break;
        }
    return n == w && strncasecmp(v, want, w) == 0;
}

static int parse_len(const char *v, size_t n, size_t *out)
{
    size_t val = 0, digits = 0;

    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 && isdigit((unsigned char)*v)) {
        if (val > CA_HTTP_BODY_MAX)
            return 1;           /* too large: stop before overflow */
        val = val * 10 + (size_t)(*v - '0');
        v++, n--, digits++;
    }
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    if (digits == 0 || n != 0)
        return -1;
    *out = val;
    return val > CA_HTTP_BODY_MAX ? 1 : 0;
}

int ca_http_parse(const char *buf, size_t len, struct ca_http_req *r)
{
    const char *end = find_end(buf, len < CA_HTTP_HDR_MAX ? len : CA_HTTP_HDR_MAX);
    const char *p, *eol, *sp1, *sp2;
    int have_len = 0, type_ok = 0;

    memset(r, 0, sizeof(*r));
    if (end == NULL)
        return len >= CA_HTTP_HDR_MAX ? -431 : 0;
    r->hdr_len = (size_t)(end - buf);

    eol = memchr(buf, '\r', r->hdr_len);
    if (memchr(buf, '\n', (size_t)(eol - buf)) != NULL)
        return -400;
    sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || (size_t)(sp1 - buf) >= sizeof(r->method)
        || (size_t)(sp2 - sp1 - 1) >= sizeof(r->path)
        || (size_t)(eol - sp2 - 1) < 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -400;
    memcpy(r->method, buf, (size_t)(sp1 - buf));
    memcpy(r->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));

    for (p = eol + 2; p < end - 2; p = eol + 2) {
        const char *colon;
        size_t nlen;

        eol = memchr(p, '\r', (size_t)(end - p));
        if (eol == NULL || eol[1] != '\n' || memchr(p, '\n', (size_t)(eol - p)))
            return -400;       /* bare LF: no guessing where a line ends */
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL || colon == p)
            return -400;
        nlen = (size_t)(colon - p);
        colon++;
        if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            int rc = parse_len(colon, (size_t)(eol - colon), &r->body_len);

            if (rc < 0 || have_len)
                return -400;
            if (rc > 0)
                return -413;
            have_len = 1;
        } else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
            type_ok = value_is(colon, (size_t)(eol - colon), "application/pkixcmp");
        } else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
            if (!value_is(colon, (size_t)(eol - colon), "100-continue"))
                return -417;
            r->expect_continue = 1;
        } else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
            return -411;
        }
    }
    if (strcmp(r->method, "POST") != 0)
        return -405;
    if (strcmp(r->path, "/") != 0 && strcmp(r->path, "/.well-known/cmp") != 0)
        return -404;
    if (!have_len)
        return -411;
    if (!type_ok)
        return -415;
    if (r->body_len == 0)
        return -400;
    return 1;
}
