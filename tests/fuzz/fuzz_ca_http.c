/* fuzz_ca_http.c: the test CA's HTTP request parser (tests/ca/ca_http.c)
 * on any bytes, given in a buffer of exactly their length (no NUL after
 * them, as read(2) leaves it). A complete request's header length, body
 * length, method and path stay within what was read and the limits. */
#include <stdlib.h>
#include <string.h>

#include "tests/ca/ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    struct ca_http_req r;
    int rc = ca_http_parse(buf, size, &r);
    if (rc == 1) {
        if (r.hdr_len > size || r.hdr_len > CA_HTTP_HDR_MAX || r.body_len == 0 ||
            r.body_len > CA_HTTP_BODY_MAX || strcmp(r.method, "POST") ||
            (strcmp(r.path, "/") && strcmp(r.path, "/.well-known/cmp")))
            abort();
    } else if (rc != 0) {
        if (rc > -400 || rc < -599 || !ca_http_reason(-rc))
            abort();
    }
    free(buf);
    return 0;
}
