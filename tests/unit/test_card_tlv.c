/* test_card_tlv.c: BER-TLV edge cases and PKCS#15 round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "card/card.h"
#include "card/pkcs15.h"
#include "card/tlv.h"

static void test_tlv_basic(void **state)
{
    (void)state;
    const uint8_t b[] = { 0x7F, 0x49, 0x05, 0x82, 0x03, 0x01, 0x00, 0x01,
                          0xBF, 0x90, 0x01, 0x00, 0x00, 0x00 };
    const uint8_t *p = b, *end = b + sizeof(b);
    struct card_tlv t;
    assert_int_equal(card_tlv_next(&p, end, &t), CARD_OK);
    assert_int_equal(t.tag, 0x7F49);
    assert_true(t.constructed);
    assert_int_equal(t.len, 5);
    struct card_tlv e;
    assert_int_equal(card_tlv_find(t.val, t.len, 0x82, &e), CARD_OK);
    assert_int_equal(e.len, 3);
    assert_int_equal(card_tlv_next(&p, end, &t), CARD_OK);
    assert_int_equal(t.tag, 0xBF9001);
    assert_int_equal(t.len, 0);
    /* 00 padding ends the list. */
    assert_int_equal(card_tlv_next(&p, end, &t), CARD_E_NOT_FOUND);
    assert_int_equal(card_tlv_find(b, sizeof(b), 0x99, &t), CARD_E_NOT_FOUND);
}

static void test_tlv_lengths(void **state)
{
    (void)state;
    uint8_t big[3 + 300] = { 0x04, 0x82, 0x01, 0x2C };
    const uint8_t *p = big, *end = big + 4 + 300;
    struct card_tlv t;
    uint8_t buf[4 + 300];
    memcpy(buf, big, 4);
    memset(buf + 4, 0xAA, 300);
    p = buf;
    end = buf + sizeof(buf);
    assert_int_equal(card_tlv_next(&p, end, &t), CARD_OK);
    assert_int_equal(t.len, 300);
    assert_ptr_equal(p, end);
    /* 81 form */
    const uint8_t b81[] = { 0x04, 0x81, 0x02, 0x01, 0x02 };
    p = b81;
    assert_int_equal(card_tlv_next(&p, b81 + sizeof(b81), &t), CARD_OK);
    assert_int_equal(t.len, 2);
}

static void test_tlv_malformed(void **state)
{
    (void)state;
    struct card_tlv t;
    const uint8_t *p;
    /* Truncated value. */
    const uint8_t trunc[] = { 0x04, 0x05, 0x01, 0x02 };
    p = trunc;
    assert_int_equal(card_tlv_next(&p, trunc + sizeof(trunc), &t), CARD_E_BAD_RESPONSE);
    /* Length past the end, long form. */
    const uint8_t over[] = { 0x04, 0x82, 0xFF, 0xFF, 0x00 };
    p = over;
    assert_int_equal(card_tlv_next(&p, over + sizeof(over), &t), CARD_E_BAD_RESPONSE);
    /* Length bytes missing. */
    const uint8_t nolen[] = { 0x04, 0x82, 0x01 };
    p = nolen;
    assert_int_equal(card_tlv_next(&p, nolen + sizeof(nolen), &t), CARD_E_BAD_RESPONSE);
    /* Indefinite and oversized length forms. */
    const uint8_t indef[] = { 0x30, 0x80, 0x00, 0x00 };
    p = indef;
    assert_int_equal(card_tlv_next(&p, indef + sizeof(indef), &t), CARD_E_BAD_RESPONSE);
    const uint8_t five[] = { 0x04, 0x85, 0, 0, 0, 0, 1, 0 };
    p = five;
    assert_int_equal(card_tlv_next(&p, five + sizeof(five), &t), CARD_E_BAD_RESPONSE);
    /* A multi-byte tag cut short, and one too long. */
    const uint8_t tag[] = { 0x7F };
    p = tag;
    assert_int_equal(card_tlv_next(&p, tag + 1, &t), CARD_E_BAD_RESPONSE);
    const uint8_t longtag[] = { 0x5F, 0x81, 0x81, 0x81, 0x01, 0x00 };
    p = longtag;
    assert_int_equal(card_tlv_next(&p, longtag + sizeof(longtag), &t), CARD_E_BAD_RESPONSE);
    /* Tag with no length at all. */
    const uint8_t nol[] = { 0x04 };
    p = nol;
    assert_int_equal(card_tlv_next(&p, nol + 1, &t), CARD_E_BAD_RESPONSE);
}

static void test_tlv_build(void **state)
{
    (void)state;
    uint8_t out[400], val[300];
    memset(val, 0x5A, sizeof(val));
    assert_int_equal(card_tlv_put(out, sizeof(out), 0x7F49, val, 3), 6);
    assert_memory_equal(out, "\x7F\x49\x03\x5A\x5A\x5A", 6);
    assert_int_equal(card_tlv_put(out, sizeof(out), 0x04, val, 200), 203);
    assert_memory_equal(out, "\x04\x81\xC8", 3);
    assert_int_equal(card_tlv_put(out, sizeof(out), 0x04, val, 300), 304);
    assert_memory_equal(out, "\x04\x82\x01\x2C", 4);
    assert_int_equal(card_tlv_put(out, sizeof(out), 0xBF9001, NULL, 0), 4);
    assert_memory_equal(out, "\xBF\x90\x01\x00", 4);
    /* Size asked without a buffer; a tag that cannot be encoded. */
    assert_int_equal(card_tlv_put(NULL, 0, 0x04, val, 300), 304);
    assert_int_equal(card_tlv_put(out, sizeof(out), 0, val, 1), 0);
    /* Round trip. */
    size_t n = card_tlv_put(out, sizeof(out), 0x5F20, val, 130);
    const uint8_t *p = out;
    struct card_tlv t;
    assert_int_equal(card_tlv_next(&p, out + n, &t), CARD_OK);
    assert_int_equal(t.tag, 0x5F20);
    assert_int_equal(t.len, 130);
}

static void obj(struct card_p15_obj *o, enum card_p15_kind kind, bool ec,
                const char *label, uint8_t idb, int ref)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->ec = ec;
    strcpy(o->label, label);
    memset(o->id, idb, 20);
    o->id_len = 20;
    o->key_ref = ref;
    o->bits = ec ? 0 : 2048;
    if (kind == P15_PRKEY) {
        o->usage = P15_USAGE_SIGN | P15_USAGE_DECRYPT | P15_USAGE_NONREP;
        o->access = P15_ACCESS_SENSITIVE | P15_ACCESS_NEVER_EXTRACTABLE | P15_ACCESS_LOCAL;
        o->auth_id[0] = 1;
        o->auth_id_len = 1;
    } else if (kind == P15_PUBKEY) {
        o->usage = P15_USAGE_VERIFY;
    }
    if (kind == P15_CERT) {
        o->path[0] = 0x34;
        o->path[1] = (uint8_t)ref;
        o->path_len = 2;
        o->key_ref = -1;
    }
}

static void roundtrip(enum card_p15_kind kind, bool ec)
{
    struct card_p15_obj in[3], out[3];
    obj(&in[0], kind, ec, "Signing key", 0x11, 0x81);
    obj(&in[1], kind, false, "", 0x22, 0x82);
    obj(&in[2], kind, ec, "A label of some length for the third entry", 0x33, 0x8C);
    uint8_t buf[960] = { 0 };
    size_t used = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = card_p15_encode(&in[i], buf + used, sizeof(buf) - used);
        assert_true(n > 0);
        used += n;
    }
    size_t n = 0;
    assert_int_equal(card_p15_decode(kind, buf, sizeof(buf), out, 3, &n), CARD_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(out[i].label, in[i].label);
        assert_int_equal(out[i].id_len, 20);
        assert_memory_equal(out[i].id, in[i].id, 20);
        assert_int_equal(out[i].ec, kind == P15_CERT ? false : in[i].ec);
        assert_int_equal(out[i].key_ref, in[i].key_ref);
        assert_int_equal(out[i].usage, in[i].usage);
        assert_int_equal(out[i].access, in[i].access);
        assert_int_equal(out[i].path_len, in[i].path_len);
        if (kind != P15_CERT && !in[i].ec)
            assert_int_equal(out[i].bits, 2048);
        if (kind == P15_PRKEY)
            assert_int_equal(out[i].auth_id_len, 1);
    }
    /* Truncated: cut the second entry short. */
    size_t first = card_p15_encode(&in[0], NULL, 0);
    assert_int_equal(card_p15_decode(kind, buf, first + 5, out, 3, &n),
                     CARD_E_BAD_RESPONSE);
    /* An entry missing its type attributes. */
    const uint8_t bad[] = { 0x30, 0x08, 0x30, 0x00, 0x30, 0x04, 0x04, 0x02, 0x01, 0x02 };
    assert_int_equal(card_p15_decode(kind, bad, sizeof(bad), out, 3, &n),
                     CARD_E_BAD_RESPONSE);
}

static void test_p15_prkdf(void **state) { (void)state; roundtrip(P15_PRKEY, false); roundtrip(P15_PRKEY, true); }
static void test_p15_pukdf(void **state) { (void)state; roundtrip(P15_PUBKEY, false); roundtrip(P15_PUBKEY, true); }
static void test_p15_cdf(void **state) { (void)state; roundtrip(P15_CERT, false); }

static void test_p15_odf_tokeninfo(void **state)
{
    (void)state;
    struct card_p15_odf odf = { 0 }, back;
    memcpy(odf.prkdf, "\x3F\x00\x50\x15\x70\x02", 6);
    odf.prkdf_len = 6;
    memcpy(odf.pukdf, "\x70\x04", 2);
    odf.pukdf_len = 2;
    memcpy(odf.cdf, "\x70\x05", 2);
    odf.cdf_len = 2;
    memcpy(odf.aodf, "\x70\x01", 2);
    odf.aodf_len = 2;
    uint8_t buf[256];
    size_t n = card_p15_encode_odf(&odf, buf, sizeof(buf));
    assert_true(n > 0 && n < sizeof(buf));
    assert_int_equal(card_p15_decode_odf(buf, n, &back), CARD_OK);
    assert_memory_equal(&back, &odf, sizeof(odf));
    assert_int_equal(card_p15_decode_odf(buf, n - 1, &back), CARD_E_BAD_RESPONSE);

    struct card_p15_tokeninfo ti = { 0 }, tb;
    memcpy(ti.serial, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    ti.serial_len = 8;
    strcpy(ti.manufacturer, "Oberthur");
    strcpy(ti.label, "DR JANE SMITH");
    n = card_p15_encode_tokeninfo(&ti, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(card_p15_decode_tokeninfo(buf, n, &tb), CARD_OK);
    assert_string_equal(tb.label, "DR JANE SMITH");
    assert_string_equal(tb.manufacturer, "Oberthur");
    assert_int_equal(tb.serial_len, 8);
    assert_int_equal(card_p15_decode_tokeninfo(buf, n - 3, &tb), CARD_E_BAD_RESPONSE);
}

static void test_p15_aodf(void **state)
{
    (void)state;
    /* A PIN object as OpenSC's iasecc profile writes one. */
    const uint8_t a[] = {
        0x30, 0x2B,
          0x30, 0x0A, 0x0C, 0x04, 'U', 'S', 'E', 'R', 0x03, 0x02, 0x06, 0xC0,
          0x30, 0x03, 0x04, 0x01, 0x01,
          0xA1, 0x18, 0x30, 0x16,
            0x03, 0x02, 0x02, 0x0C, 0x0A, 0x01, 0x01,
            0x02, 0x01, 0x04, 0x02, 0x01, 0x08, 0x02, 0x01, 0x08,
            0x80, 0x01, 0x81, 0x04, 0x01, 0xFF,
    };
    struct card_p15_obj o;
    size_t n = 0;
    assert_int_equal(card_p15_decode(P15_AUTH, a, sizeof(a), &o, 1, &n), CARD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(o.label, "USER");
    assert_int_equal(o.key_ref, 0x81);
    assert_int_equal(o.pin_min, 4);
    assert_int_equal(o.pin_stored, 8);
    assert_int_equal(o.pin_max, 8);
    /* The AODF is read only. */
    assert_int_equal(card_p15_encode(&o, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlv_basic),
        cmocka_unit_test(test_tlv_lengths),
        cmocka_unit_test(test_tlv_malformed),
        cmocka_unit_test(test_tlv_build),
        cmocka_unit_test(test_p15_prkdf),
        cmocka_unit_test(test_p15_pukdf),
        cmocka_unit_test(test_p15_cdf),
        cmocka_unit_test(test_p15_odf_tokeninfo),
        cmocka_unit_test(test_p15_aodf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
