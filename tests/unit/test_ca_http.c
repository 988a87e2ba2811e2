/* RFC 6712 request parsing: what is accepted, and every limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/ca/ca.h"

static int parse(const char *s, struct ca_http_req *r)
{
    return ca_http_parse(s, strlen(s), r);
}

static void test_good_request(void **state)
{
    static const char req[] =
        "POST /.well-known/cmp HTTP/1.1\r\nHost: 127.0.0.1:1234\r\n"
        "Content-Type: application/pkixcmp\r\nContent-Length: 42\r\n"
        "Connection: keep-alive\r\n\r\nBODY";
    struct ca_http_req r;

    (void)state;
    assert_int_equal(parse(req, &r), 1);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/.well-known/cmp");
    assert_int_equal(r.body_len, 42);
    assert_int_equal(r.hdr_len, strlen(req) - 4);
}

static void test_root_path_and_header_spelling(void **state)
{
    struct ca_http_req r;

    (void)state;
    assert_int_equal(parse("POST / HTTP/1.0\r\ncontent-type:  Application/PKIXCMP ; x=y\r\n"
                           "content-length:7 \r\n\r\n", &r), 1);
    assert_int_equal(r.body_len, 7);
}

static void test_expect_continue(void **state)
{
    struct ca_http_req r;

    (void)state;
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
                           "Expect: 100-continue\r\nContent-Length: 9\r\n\r\n", &r), 1);
    assert_int_equal(r.expect_continue, 1);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
                           "Expect: teapot\r\nContent-Length: 9\r\n\r\n", &r), -417);
}

static void test_incomplete_needs_more(void **state)
{
    struct ca_http_req r;

    (void)state;
    assert_int_equal(parse("", &r), 0);
    assert_int_equal(parse("POST /.well-known/cmp HTTP/1.1\r\nContent-Len", &r), 0);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\n", &r), 0);
}

static void test_http_errors(void **state)
{
    struct ca_http_req r;

    (void)state;
    assert_int_equal(parse("GET /.well-known/cmp HTTP/1.1\r\n\r\n", &r), -405);
    assert_int_equal(parse("POST /other HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
                           "Content-Length: 3\r\n\r\n", &r), -404);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n\r\n", &r),
                     -411);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n", &r), -411);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 3\r\n\r\n", &r), -415);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmpx\r\n"
                           "Content-Length: 3\r\n\r\n", &r), -415);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", &r), -415);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
                           "Content-Length: 0\r\n\r\n", &r), -400);
}

static void test_malformed(void **state)
{
    struct ca_http_req r;

    (void)state;
    assert_int_equal(parse("POST\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / FTP/1.1\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nno colon here\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\n: empty name\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                           &r), -400);
    assert_int_equal(parse("POST / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", &r), -400);
}

static void test_body_limit(void **state)
{
    struct ca_http_req r;
    char req[256];

    (void)state;
    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
             "Content-Length: %d\r\n\r\n", CA_HTTP_BODY_MAX);
    assert_int_equal(parse(req, &r), 1);
    snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
             "Content-Length: %d\r\n\r\n", CA_HTTP_BODY_MAX + 1);
    assert_int_equal(parse(req, &r), -413);
    /* digits that would overflow size_t stop early as too large */
    assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Type: application/pkixcmp\r\n"
                           "Content-Length: 99999999999999999999999999999999\r\n\r\n", &r),
                     -413);
}

static void test_header_limit(void **state)
{
    struct ca_http_req r;
    size_t n = CA_HTTP_HDR_MAX + 100;
    char *big = malloc(n + 1);

    (void)state;
    memset(big, 'a', n);
    memcpy(big, "POST / HTTP/1.1\r\nX: ", 20);
    big[n] = 0;
    assert_int_equal(ca_http_parse(big, CA_HTTP_HDR_MAX - 1, &r), 0);
    assert_int_equal(ca_http_parse(big, n, &r), -431);
    /* a terminator past the limit does not count */
    memcpy(big + n - 4, "\r\n\r\n", 4);
    assert_int_equal(ca_http_parse(big, n, &r), -431);
    free(big);
}

static void test_long_path_and_method(void **state)
{
    struct ca_http_req r;
    char req[1024];

    (void)state;
    snprintf(req, sizeof(req), "POST /%0300d HTTP/1.1\r\n\r\n", 0);
    assert_int_equal(parse(req, &r), -400);
    assert_int_equal(parse("POSTPOSTPOSTPOSTPOST / HTTP/1.1\r\n\r\n", &r), -400);
}

static void test_misbehave_flags(void **state)
{
    struct ca_mis m;

    (void)state;
    assert_int_equal(ca_mis_parse("refuse", &m), 0);
    assert_int_equal(m.mode, CA_MODE_REFUSE);
    assert_int_equal(ca_mis_parse("delay:250", &m), 0);
    assert_int_equal(m.mode, CA_MODE_DELAY);
    assert_int_equal(m.delay_ms, 250);
    assert_int_equal(ca_mis_parse("drop", &m), 0);
    assert_int_equal(m.mode, CA_MODE_DROP);
    assert_int_equal(ca_mis_parse("wrongkey", &m), 0);
    assert_int_equal(m.mode, CA_MODE_WRONGKEY);
    assert_int_equal(ca_mis_parse("garbage", &m), 0);
    assert_int_equal(m.mode, CA_MODE_GARBAGE);
    assert_int_equal(ca_mis_parse("none", &m), 0);
    assert_int_equal(m.mode, CA_MODE_NORMAL);
    assert_int_equal(ca_mis_parse("delay:", &m), -1);
    assert_int_equal(ca_mis_parse("delay:-5", &m), -1);
    assert_int_equal(ca_mis_parse("delay:5x", &m), -1);
    assert_int_equal(ca_mis_parse("explode", &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_request),
        cmocka_unit_test(test_root_path_and_header_spelling),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_incomplete_needs_more),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_long_path_and_method),
        cmocka_unit_test(test_misbehave_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
