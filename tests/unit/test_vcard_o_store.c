/* Profile O: personalisation (keys with their PrKDF/PuKDF entries, a
 * certificate with its CDF entry), damaged states, and save/load: the
 * state survives, and truncated or altered blobs are refused. */
#include <openssl/x509.h>

#include "tests/vcard/o_test.h"

static X509 *cert_for(EVP_PKEY *pub, const char *cn)
{
    EVP_PKEY *ca = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(ca);
    assert_non_null(x);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pub);
    assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
    X509_NAME_free(name);
    EVP_PKEY_free(ca);
    return x;
}

static size_t df_used(void *st, const char *fid)
{
    uint8_t d[VC_RESP_MAX];
    size_t n, used = 0;
    ot_select(st, fid);
    assert_int_equal(ot_tx(st, "00 B0 00 00 00 00 00", d, &n), 0x9000);
    while (used < n && d[used] != 0)
        used++;           /* entries are followed by 00 padding */
    return used;
}

static void perso(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = NULL, *other = NULL;
    uint8_t d[VC_RESP_MAX];
    size_t n;
    assert_int_equal(vc_profile_o.perso_generate(st, "rsa4096", &pub), -1);
    assert_null(pub);
    uint32_t c0 = ot_counter(st);
    assert_int_equal(vc_profile_o.perso_generate(st, "rsa1024", &pub), 0);
    assert_true(ot_counter(st) > c0);
    assert_true(df_used(st, "70 02") > 0);
    assert_true(df_used(st, "70 04") > 0);
    assert_int_equal(df_used(st, "70 05"), 0);
    /* a certificate for a key the card does not hold is refused */
    assert_int_equal(vc_profile_o.perso_generate(st, "p256", &other), 0);
    EVP_PKEY *foreign = EVP_EC_gen("P-256");
    X509 *bad = cert_for(foreign, "Nobody");
    assert_int_equal(vc_profile_o.perso_install_cert(st, bad), -1);
    X509 *good = cert_for(pub, "Jane Example");
    assert_int_equal(vc_profile_o.perso_install_cert(st, good), 0);
    assert_true(df_used(st, "70 05") > 0);
    ot_select(st, "34 01");
    assert_int_equal(ot_tx(st, "00 B0 00 00 00 00 00", d, &n), 0x9000);
    uint8_t *der = NULL;
    int dl = i2d_X509(good, &der);
    assert_int_equal(n, (size_t)dl);
    assert_memory_equal(d, der, n);
    OPENSSL_free(der);
    /* the EC key's certificate goes to 34 02 */
    X509 *ec = cert_for(other, "Jane EC");
    assert_int_equal(vc_profile_o.perso_install_cert(st, ec), 0);
    ot_select(st, "34 02");
    /* OpenSC's iasecc view: the PrKDF key reference is 81 */
    ot_select(st, "70 02");
    assert_int_equal(ot_tx(st, "00 B0 00 00 00 00 00", d, &n), 0x9000);
    assert_non_null(memmem(d, n, "\x02\x02\x00\x81", 4));
    assert_non_null(memmem(d, n, "\x30\x02\x04\x00", 4));
    X509_free(bad);
    X509_free(good);
    X509_free(ec);
    EVP_PKEY_free(foreign);
    EVP_PKEY_free(other);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

static void full_directories(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = NULL;
    int made = 0;
    /* public keys held directly fill the 960-byte PuKDF */
    while (made < 12 && vc_profile_o.perso_generate(st, "rsa1024", &pub) == 0) {
        EVP_PKEY_free(pub);
        pub = NULL;
        made++;
    }
    assert_true(made >= 3 && made < 12);
    assert_int_equal(vc_profile_o.perso_generate(st, "rsa1024", &pub), -1);
    /* the failed generation left no key behind */
    char get[64];
    snprintf(get, sizeof get, "00 CB 3F FF 0B 4D 09 70 07 BF A0 %02X 03 7F 49 80 00", made + 1);
    assert_int_equal(ot_tx(st, get, NULL, NULL), 0x6A88);
    vc_profile_o.free(st);
}

static void damage(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = NULL;
    uint8_t d[VC_RESP_MAX];
    size_t n;
    assert_int_equal(vc_profile_o.damage(st, "mismatch"), -1);   /* nothing to break */
    assert_int_equal(vc_profile_o.damage(st, "bogus"), -1);
    assert_int_equal(vc_profile_o.perso_generate(st, "rsa1024", &pub), 0);
    X509 *x = cert_for(pub, "Jane Example");
    assert_int_equal(vc_profile_o.perso_install_cert(st, x), 0);
    ot_tx(st, "00 CB 3F FF 0B 4D 09 70 07 BF A0 01 03 7F 49 80 00", d, &n);
    uint8_t before[200];
    memcpy(before, d, n);
    assert_int_equal(vc_profile_o.damage(st, "mismatch"), 0);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0B 4D 09 70 07 BF A0 01 03 7F 49 80 00", d, &n), 0x9000);
    assert_memory_not_equal(d, before, n);
    assert_int_equal(vc_profile_o.damage(st, "dangling"), 0);
    assert_int_equal(ot_tx(st, "00 A4 01 0C 02 34 01", NULL, NULL), 0x6A82);
    assert_true(df_used(st, "70 05") > 0);
    assert_int_equal(vc_profile_o.damage(st, "empty"), 0);
    assert_int_equal(df_used(st, "70 02"), 0);
    assert_int_equal(df_used(st, "70 05"), 0);
    assert_int_equal(ot_tx(st, "00 CB 3F FF 0B 4D 09 70 07 BF A0 01 03 7F 49 80 00", d, &n), 0x6A88);
    /* dangling on an empty card adds an entry for a missing file */
    assert_int_equal(vc_profile_o.damage(st, "dangling"), 0);
    assert_true(df_used(st, "70 05") > 0);
    assert_int_equal(ot_tx(st, "00 A4 01 0C 02 34 0C", NULL, NULL), 0x6A82);
    X509_free(x);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st);
}

static void round_trip(void **state)
{
    (void)state;
    void *st = ot_card();
    EVP_PKEY *pub = NULL;
    uint8_t *blob = NULL, *blob2 = NULL, sig[VC_RESP_MAX];
    size_t len, len2, n;
    assert_int_equal(vc_profile_o.perso_generate(st, "p256", &pub), 0);
    X509 *x = cert_for(pub, "Jane Example");
    assert_int_equal(vc_profile_o.perso_install_cert(st, x), 0);
    assert_int_equal(ot_tx(st, "00 20 00 81 04 39 39 39 39", NULL, NULL), 0x63C2);
    ot_login(st);
    ot_tx(st, "00 DB 3F FF 0E 70 0C BF A0 03 08 7F 49 05 82 03 01 00 01", NULL, NULL);
    ot_tx(st, "00 20 00 81 04 39 39 39 39", NULL, NULL);
    uint32_t counter = ot_counter(st);
    assert_int_equal(vc_profile_o.save(st, &blob, &len), 0);
    void *st2 = vc_profile_o.load(blob, len);
    assert_non_null(st2);
    assert_int_equal(vc_profile_o.save(st2, &blob2, &len2), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(blob, blob2, len);
    /* counters, files, keys and pending parameters survive; the login not */
    assert_int_equal(ot_tx(st2, "00 20 00 81", NULL, NULL), 0x63C2);
    assert_int_equal(ot_counter(st2), counter);
    ot_login(st2);
    assert_int_equal(ot_tx(st2, "00 47 00 00 05 70 03 BF 90 03", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st2, "00 22 41 B6 06 84 01 81 80 01 44", NULL, NULL), 0x9000);
    assert_int_equal(ot_tx(st2, "00 2A 9E 9A 20 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
                                " 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 00", sig, &n), 0x9000);
    assert_int_equal(n, 64);
    ot_select(st2, "34 01");

    /* every truncation is refused, as are trailing bytes and a new magic */
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97))
        assert_null(vc_profile_o.load(blob, cut));
    assert_null(vc_profile_o.load(blob, len - 1));
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, blob, len);
    longer[len] = 0;
    assert_null(vc_profile_o.load(longer, len + 1));
    longer[3] = 2;
    assert_null(vc_profile_o.load(longer, len));
    memcpy(longer, blob, len);
    longer[5] = 'x';                      /* a PIN digit that is not one */
    assert_null(vc_profile_o.load(longer, len));
    free(longer);
    static const uint8_t junk[] = "not a card";
    assert_null(vc_profile_o.load(junk, sizeof junk));

    free(blob);
    free(blob2);
    X509_free(x);
    EVP_PKEY_free(pub);
    vc_profile_o.free(st2);
    vc_profile_o.free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perso),
        cmocka_unit_test(full_directories),
        cmocka_unit_test(damage),
        cmocka_unit_test(round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
