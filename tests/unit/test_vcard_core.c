/* The profile-agnostic core: card images, faults, the one-APDU step with
 * persistence and tearing, trace masking. Profile G is the card under it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/core.h"

#define PIN_OK "0020000108123456FFFFFFFFFF"
#define SEL_EF "00A4080C0416000004"

struct fx {
    char dir[64], img[96];
    struct vc_card card;
    struct vc_faults f;
};

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = 0;

    for (; s[0] && s[1]; s += 2)
        sscanf(s, "%2hhx", &out[n++]);
    return n;
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    struct vc_new n = { .pin = "123456" };
    char err[256];

    strcpy(x->dir, "/tmp/test_vcard_core.XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->img, sizeof x->img, "%s/card.img", x->dir);
    x->card.prof = vc_profile_find("g");
    assert_non_null(x->card.prof);
    x->card.st = x->card.prof->create(&n);
    assert_non_null(x->card.st);
    assert_int_equal(vc_image_save(x->img, &x->card, err, sizeof err), 0);
    vc_faults_clear(&x->f);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    char tmp[128];

    vc_card_free(&x->card);
    unlink(x->img);
    snprintf(tmp, sizeof tmp, "%s/trace", x->dir);
    unlink(tmp);
    rmdir(x->dir);
    free(x);
    return 0;
}

/* One APDU through vc_step; returns the step result, SW in *sw. */
static enum vc_step step(struct fx *x, const char *hex, unsigned *sw)
{
    uint8_t a[300], r[VC_RESP_MAX];
    size_t rl;
    bool pin;
    enum vc_step s = vc_step(&x->card, x->img, &x->f, a, unhex(hex, a), r,
                             &rl, &pin);

    *sw = rl >= 2 ? (unsigned)r[rl - 2] << 8 | r[rl - 1] : 0;
    return s;
}

static unsigned ok(struct fx *x, const char *hex)
{
    unsigned sw;

    assert_int_equal(step(x, hex, &sw), VC_ANSWER);
    return sw;
}

static void reload(struct fx *x)
{
    char err[256];

    vc_card_free(&x->card);
    assert_int_equal(vc_image_load(x->img, &x->card, err, sizeof err), 0);
}

static void test_image_roundtrip(void **state)
{
    struct fx *x = *state;

    assert_int_equal(ok(x, "0020000108999999FFFFFFFFFF"), 0x63C2);
    reload(x);
    assert_string_equal(x->card.prof->name, "G");
    /* the wrong PIN was written before the answer */
    assert_int_equal(ok(x, "00200001"), 0x63C2);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc(65536);

    assert_non_null(f);
    *len = fread(b, 1, 65536, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void test_image_malformed(void **state)
{
    struct fx *x = *state;
    struct vc_card c;
    char err[256];
    size_t len;
    uint8_t *b = slurp(x->img, &len);

    assert_int_equal(vc_image_parse(b, len, &c, err, sizeof err), 0);
    vc_card_free(&c);
    for (size_t cut = 0; cut < len; cut += 97) {
        assert_int_equal(vc_image_parse(b, cut, &c, err, sizeof err), -1);
        assert_null(c.st);
    }
    assert_int_equal(vc_image_parse(b, len - 1, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
    b[100] ^= 1;
    assert_int_equal(vc_image_parse(b, len, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "checksum"));
    b[100] ^= 1;
    b[0] = 'X';
    assert_int_equal(vc_image_parse(b, len, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "magic"));
    b[0] = 'C';
    b[11] = 7;
    assert_int_equal(vc_image_parse(b, len, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "version"));
    b[11] = 1;
    b[13] = 'Z';            /* profile name */
    assert_int_equal(vc_image_parse(b, len, &c, err, sizeof err), -1);
    b[13] = 'G';
    spit(x->img, b, len / 2);
    assert_int_equal(vc_image_load(x->img, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, x->img));
    assert_int_equal(vc_image_load("/nonexistent/card.img", &c, err,
                                   sizeof err), -1);
    free(b);
}

static void test_tear(void **state)
{
    struct fx *x = *state;
    unsigned sw;
    char w1[32], w2[32];

    ok(x, PIN_OK);
    ok(x, SEL_EF);
    x->f.tear_after = 4;
    strcpy(w1, "00D6006E03AABBCC");      /* 3 bytes: written */
    strcpy(w2, "00D6007102DDEE");        /* crosses 4: torn */
    assert_int_equal(ok(x, w1), 0x9000);
    assert_int_equal(x->f.tear_after, 1);
    assert_int_equal(step(x, w2, &sw), VC_VANISH);
    assert_int_equal(sw, 0);
    assert_true(x->f.vanished);
    assert_int_equal(x->f.tear_after, -1);
    /* in memory and on disk: the first write, not the second */
    ok(x, SEL_EF);
    {
        uint8_t a[8], r[VC_RESP_MAX];
        size_t rl;
        bool pin;

        vc_step(&x->card, x->img, &x->f, a, unhex("00B0006E05", a), r, &rl,
                &pin);
        assert_int_equal(rl, 7);
        assert_memory_equal(r, "\xAA\xBB\xCC\x00\x00\x90\x00", 7);
        reload(x);
        ok(x, SEL_EF);
        vc_step(&x->card, x->img, &x->f, a, unhex("00B0006E05", a), r, &rl,
                &pin);
        assert_memory_equal(r, "\xAA\xBB\xCC\x00\x00\x90\x00", 7);
    }
    /* the reloaded card starts after a power loss: PIN not verified */
    assert_int_equal(ok(x, "00D6006E01AA"), 0x6982);
}

static void test_tear_zero_and_reads(void **state)
{
    struct fx *x = *state;
    unsigned sw;

    x->f.tear_after = 0;
    /* reads do not persist: not counted, not torn */
    assert_int_equal(ok(x, "80CADF0308"), 0x9000);
    assert_int_equal(ok(x, "00200001"), 0x63C3);
    /* a wrong PIN persists its counter: torn, so the try is not lost */
    assert_int_equal(step(x, "0020000108999999FFFFFFFFFF", &sw), VC_VANISH);
    reload(x);
    x->f.vanished = false;
    assert_int_equal(ok(x, "00200001"), 0x63C3);
}

static void test_vanish_and_mute(void **state)
{
    struct fx *x = *state;
    unsigned sw;

    x->f.vanish_after = 2;
    assert_int_equal(ok(x, "80CADF0308"), 0x9000);
    assert_int_equal(ok(x, "80CADF0308"), 0x9000);
    assert_int_equal(step(x, "80CADF0308", &sw), VC_VANISH);
    assert_true(x->f.vanished);
    assert_int_equal(x->f.vanish_after, -1);
    x->f.vanished = false;
    x->f.mute = true;
    assert_int_equal(step(x, "80CADF0308", &sw), VC_SILENT);
    x->f.mute = false;
    assert_int_equal(ok(x, "80CADF0308"), 0x9000);
}

static void test_save_failure_answers_6581(void **state)
{
    struct fx *x = *state;
    char blocker[160], bad[160];
    uint8_t a[16], r[VC_RESP_MAX];
    size_t rl;
    bool pin;

    ok(x, PIN_OK);
    ok(x, SEL_EF);
    /* A directory where the temporary image goes: the save fails, the
     * card goes back to the saved image and says memory failure. */
    snprintf(blocker, sizeof blocker, "%s.tmp.%ld", x->img, (long)getpid());
    assert_int_equal(mkdir(blocker, 0700), 0);
    assert_int_equal(ok(x, "00D6006E01AA"), 0x6581);
    rmdir(blocker);
    ok(x, SEL_EF);
    vc_step(&x->card, x->img, &x->f, a, unhex("00B0006E01", a), r, &rl, &pin);
    assert_memory_equal(r, "\x00\x90\x00", 3);
    /* and with no image to go back to, the step is fatal */
    ok(x, PIN_OK);
    ok(x, SEL_EF);
    snprintf(bad, sizeof bad, "%s/gone/card.img", x->dir);
    assert_int_equal(vc_step(&x->card, bad, &x->f, a, unhex("00D6006E01AA", a),
                             r, &rl, &pin), VC_FATAL);
}

static void test_faults_commands(void **state)
{
    struct vc_faults f;
    char ans[200];

    (void)state;
    vc_faults_clear(&f);
    vc_faults_command(&f, "vanish 3\n", ans, sizeof ans);
    assert_string_equal(ans, "ok");
    assert_int_equal(f.vanish_after, 3);
    vc_faults_command(&f, "vanish", ans, sizeof ans);
    assert_int_equal(f.vanish_after, 0);
    vc_faults_command(&f, "vanish now", ans, sizeof ans);
    assert_string_equal(ans, "ok");
    assert_true(f.vanished);
    vc_faults_command(&f, "tear 100", ans, sizeof ans);
    assert_int_equal(f.tear_after, 100);
    vc_faults_command(&f, "mute", ans, sizeof ans);
    assert_true(f.mute);
    vc_faults_command(&f, "unmute", ans, sizeof ans);
    assert_false(f.mute);
    vc_faults_command(&f, "latency 5000", ans, sizeof ans);
    assert_int_equal(f.latency_us, 5000);
    f.vanished = true;
    vc_faults_command(&f, "back", ans, sizeof ans);
    assert_false(f.vanished);
    vc_faults_command(&f, "status", ans, sizeof ans);
    assert_non_null(strstr(ans, "ok vanish_after=0 tear_after=100"));
    vc_faults_command(&f, "clear", ans, sizeof ans);
    assert_int_equal(f.tear_after, -1);
    assert_int_equal(f.latency_us, 0);
    assert_int_equal(f.vanish_after, -1);
    vc_faults_command(&f, "tear", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    vc_faults_command(&f, "tear -1", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    vc_faults_command(&f, "latency 99999999999", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    vc_faults_command(&f, "mute now", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    vc_faults_command(&f, "vanish 1 2", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    vc_faults_command(&f, "", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    vc_faults_command(&f, "explode", ans, sizeof ans);
    assert_int_equal(strncmp(ans, "err", 3), 0);
    assert_int_equal(f.tear_after, -1);
}

static void test_data_len(void **state)
{
    (void)state;
    assert_int_equal(vc_apdu_data_len((const uint8_t *)"\x00\xA4\x04\x00", 4), 0);
    assert_int_equal(vc_apdu_data_len((const uint8_t *)"\x00\xB0\x00\x00\x10", 5), 0);
    assert_int_equal(vc_apdu_data_len((const uint8_t *)"\x00\xD6\x00\x00\x02\xAA\xBB", 7), 2);
    assert_int_equal(vc_apdu_data_len((const uint8_t *)"\x00\xD6\x00\x00\x00\x01\x00", 7), 7);
    assert_int_equal(vc_apdu_data_len((const uint8_t *)"\x00\xD6\x00\x00\x00\x00\x02\xAA\xBB", 9), 2);
}

static void test_trace_masks_pin(void **state)
{
    struct fx *x = *state;
    char path[128], text[1024] = "";
    uint8_t cmd[13], resp[2] = { 0x90, 0x00 };
    FILE *f;

    snprintf(path, sizeof path, "%s/trace", x->dir);
    f = fopen(path, "w");
    unhex("0020000108123456FFFFFFFFFF", cmd);
    vc_trace_apdu(f, cmd, sizeof cmd, resp, 2, true);
    vc_trace_apdu(f, (const uint8_t *)"\x80\xCA\xDF\x03\x08", 5, NULL, 0, false);
    vc_trace_note(f, "power on");
    fclose(f);
    f = fopen(path, "r");
    assert_true(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    assert_null(strstr(text, "12 34 56"));
    assert_non_null(strstr(text, "> 00 20 00 01 08 [8 bytes masked]"));
    assert_non_null(strstr(text, "< 90 00"));
    assert_non_null(strstr(text, "> 80 CA DF 03 08"));
    assert_non_null(strstr(text, "(no answer)"));
    assert_non_null(strstr(text, "# power on"));
}

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(vc_profile_find("G"), &vc_profile_g);
    assert_ptr_equal(vc_profile_find("o"), &vc_profile_o);
    assert_null(vc_profile_find("X"));
    assert_null(vc_profile_find(NULL));
}

/* The real-card clock charges what each command did, on profile G's
 * model: wire bytes and overhead always, a PIN check, EEPROM bytes. */
static long clocked(struct fx *x, const char *hex, size_t rlen)
{
    long model, card;

    vc_clock_begin();
    ok(x, hex);
    vc_clock_end(strlen(hex) / 2, rlen, &model, &card);
    assert_true(card >= 0);
    return model;
}

static void test_real_clock(void **state)
{
    struct fx *x = *state;
    const struct vc_clock_model *g = vc_clock_model("G");

    assert_non_null(g);
    assert_null(vc_clock_model("X"));
    vc_clock_use(NULL);
    assert_int_equal(clocked(x, SEL_EF, 2), 0);
    vc_clock_use(g);
    assert_true(vc_clock_on());
    /* A select: overhead and bytes only. */
    assert_int_equal(clocked(x, SEL_EF, 2),
                     g->apdu_us + (9 + 2 + 8) * g->byte_us);
    /* VERIFY: a PIN check; a wrong one writes the try counter (the
     * command's 8 data bytes), a right one at full tries writes nothing. */
    assert_int_equal(clocked(x, "0020000108654321FFFFFFFFFF", 2),
                     g->apdu_us + (13 + 2 + 8) * g->byte_us + g->pin_us +
                     8 * g->eeprom_byte_us);
    clocked(x, PIN_OK, 2);
    assert_int_equal(clocked(x, PIN_OK, 2),
                     g->apdu_us + (13 + 2 + 8) * g->byte_us + g->pin_us);
    /* UPDATE BINARY of 3 bytes after the PIN: 3 EEPROM bytes. */
    ok(x, SEL_EF);
    assert_int_equal(clocked(x, "00D6006E03AABBCC", 2),
                     g->apdu_us + (8 + 2 + 8) * g->byte_us +
                     3 * g->eeprom_byte_us);
    vc_clock_use(NULL);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_image_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tear_zero_and_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanish_and_mute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_failure_answers_6581, setup, teardown),
        cmocka_unit_test(test_faults_commands),
        cmocka_unit_test(test_data_len),
        cmocka_unit_test_setup_teardown(test_trace_masks_pin, setup, teardown),
        cmocka_unit_test(test_registry),
        cmocka_unit_test_setup_teardown(test_real_clock, setup, teardown),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
