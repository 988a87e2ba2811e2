/* journal.c: the renewal journal and the resume decision.
 * The issued certificate is saved here before the token is touched, so a
 * cut at any point leaves something a rerun can finish. The file ends
 * with its own SHA-256, is never written through a link, and a damaged
 * one is set aside, never overwritten. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include "renew/journal.h"
#include "renew/plat.h"

#define MAGIC "cardrenew-journal 2"
#define FILE_MAX 65536

static const char *names[] = { "none", "keygen", "issued", "written", "done" };

const char *renew_jstate_name(enum renew_jstate s)
{
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

int renew_journal_path(const char *serial, char *out, size_t outlen, struct renew_err *e)
{
    char dir[400], safe[65];
    size_t k = 0;
    int rc = renew_plat_state_dir(dir, sizeof dir, e);
    if (rc)
        return rc;
    /* The serial comes from the token: keep it to a safe file name. */
    for (const char *s = serial; *s && k < sizeof safe - 1; s++)
        safe[k++] = (strchr("/\\. ", *s) || *s < 0x21 || *s > 0x7e) ? '_' : *s;
    safe[k] = '\0';
    if (!k)
        snprintf(safe, sizeof safe, "no-serial");
    snprintf(out, outlen, "%s/%s.journal", dir, safe);
    return 0;
}

/* The journal's directory, made if missing and checked (renew/plat.h). */
static int journal_dir(const char *serial, char *path, size_t pathlen, char *dir,
                       size_t dirlen, struct renew_err *e)
{
    int rc = renew_journal_path(serial, path, pathlen, e);
    if (rc)
        return rc;
    snprintf(dir, dirlen, "%s", path);
    *strrchr(dir, '/') = '\0';
    return renew_plat_dir_ready(dir, e);
}

static void put_hex(char **p, const char *key, const unsigned char *v, size_t n)
{
    *p += sprintf(*p, "%s=", key);
    for (size_t i = 0; i < n; i++)
        *p += sprintf(*p, "%02x", v[i]);
    *p += sprintf(*p, "\n");
}

static int get_hex(const char *s, unsigned char *out, size_t max, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return 0;
}

/* "sum=" and the SHA-256 of everything before it, as hex. */
static void sum_line(const char *text, size_t len, char out[72])
{
    unsigned char md[32];
    SHA256((const unsigned char *)text, len, md);
    int k = sprintf(out, "sum=");
    for (int i = 0; i < 32; i++)
        k += sprintf(out + k, "%02x", md[i]);
}

int renew_journal_save(const char *serial, const struct renew_journal *j, struct renew_err *e)
{
    char path[512], dir[512], sum[72];
    int rc = journal_dir(serial, path, sizeof path, dir, sizeof dir, e);
    if (rc)
        return rc;
    if (j->cert_len > (FILE_MAX - 2600) / 2)     /* room for the rest and a subject */
        return renew_fail(e, RENEW_E_TOKEN, "the new certificate is too large to journal: ask your RA");
    char *text = malloc(FILE_MAX), *p = text;
    if (!text)
        return renew_fail(e, RENEW_E_TOKEN, "out of memory: close other programs and retry");
    p += sprintf(p, "%s\nstate=%s\n", MAGIC, renew_jstate_name(j->state));
    put_hex(&p, "old_id", j->old_id, j->old_id_len);
    put_hex(&p, "new_id", j->new_id, j->new_id_len);
    if (j->cert)
        put_hex(&p, "cert", j->cert, j->cert_len);
    if (j->enroll) {
        p += sprintf(p, "kind=enroll\n");
        if (j->subject && j->subject_len <= 1024)
            put_hex(&p, "subject", j->subject, j->subject_len);
    }
    sum_line(text, (size_t)(p - text), sum);
    p += sprintf(p, "%s\n", sum);

    /* A fresh file (never through a link) made durable, moved over the
     * journal, and the move made durable (renew/plat.h). */
    bool moved;
    int err = renew_plat_replace_durable(path, text, (size_t)(p - text), &moved);
    free(text);
    if (err && !moved)
        return renew_fail(e, RENEW_E_USAGE, "cannot write the renewal journal %s: %s",
                          path, strerror(err));
    if (err)
        return renew_fail(e, RENEW_E_USAGE, "cannot make the renewal journal %s durable: %s",
                          path, strerror(err));
    return 0;
}

/* Why a journal's text is not a journal, or NULL. Fills j. */
static const char *parse(char *text, size_t len, struct renew_journal *j)
{
    char sum[72], *end = text + len, *line = text;
    bool have_state = false;
    if (len < sizeof MAGIC || memcmp(text, MAGIC "\n", sizeof MAGIC) != 0)
        return "it is not a cardrenew journal of this version";
    char *last = NULL;
    for (size_t i = len >= 2 ? len - 1 : 0; !last && i-- > 0;)
        if (text[i] == '\n')
            last = text + i;
    if (!last || end[-1] != '\n')
        return "it is cut short";
    sum_line(text, (size_t)(last + 1 - text), sum);
    if ((size_t)(end - last - 2) != strlen(sum) || memcmp(last + 1, sum, strlen(sum)) != 0)
        return "its checksum does not match";
    *last = '\0';
    for (line = text + sizeof MAGIC; line < last;) {
        char *nl = strchr(line, '\n'), *v;
        if (nl)
            *nl = '\0';
        if (!(v = strchr(line, '=')))
            return "a line is not key=value";
        *v++ = '\0';
        int bad = 0;
        if (strcmp(line, "state") == 0) {
            bad = 1;
            for (unsigned s = 0; s < sizeof names / sizeof names[0]; s++)
                if (strcmp(v, names[s]) == 0) {
                    j->state = s;
                    have_state = true;
                    bad = 0;
                }
        } else if (strcmp(line, "old_id") == 0) {
            bad = get_hex(v, j->old_id, sizeof j->old_id, &j->old_id_len);
        } else if (strcmp(line, "new_id") == 0) {
            bad = get_hex(v, j->new_id, sizeof j->new_id, &j->new_id_len);
        } else if (strcmp(line, "kind") == 0) {
            bad = strcmp(v, "enroll") != 0;
            j->enroll = !bad;
        } else if (strcmp(line, "subject") == 0 && !j->subject) {
            j->subject = malloc(strlen(v) / 2 + 1);
            bad = !j->subject || get_hex(v, j->subject, strlen(v) / 2 + 1, &j->subject_len);
        } else if (strcmp(line, "cert") == 0 && !j->cert) {
            j->cert = malloc(strlen(v) / 2 + 1);
            bad = !j->cert || get_hex(v, j->cert, strlen(v) / 2 + 1, &j->cert_len);
        }
        if (bad)
            return "a value is malformed";
        line = nl ? nl + 1 : last;
    }
    if (!have_state)
        return "it has no state";
    if (j->state == RENEW_J_NONE || j->state == RENEW_J_DONE)
        return NULL;
    if (j->enroll && (!j->new_id_len || !j->subject))
        return "it does not name the new key and the subject";
    if (!j->enroll && (!j->old_id_len || !j->new_id_len))
        return "it does not name both keys";
    if (j->old_id_len == j->new_id_len && memcmp(j->old_id, j->new_id, j->old_id_len) == 0)
        return "it names one key as both the old and the new";
    if (j->state >= RENEW_J_ISSUED) {
        const unsigned char *q = j->cert;
        X509 *x = j->cert ? d2i_X509(NULL, &q, (long)j->cert_len) : NULL;
        bool whole = x && q == j->cert + j->cert_len;
        X509_free(x);
        if (!whole)
            return "its certificate is missing or damaged";
    }
    return NULL;
}

int renew_journal_load(const char *serial, struct renew_journal *j, struct renew_err *e)
{
    char path[512], *text;
    size_t n;
    int rc = renew_journal_path(serial, path, sizeof path, e);
    memset(j, 0, sizeof *j);
    if (rc)
        return rc;
    int err = renew_plat_read_own(path, FILE_MAX, &text, &n);
    const char *why = err == EPERM ? "it is not a file of yours"
                      : err == EFBIG ? "it is too large"
                      : err == EIO ? "it cannot be read whole" : NULL;
    if (err == ENOENT)
        return 1;
    if (err == ELOOP)
        return renew_fail(e, RENEW_E_JOURNAL,
                          "the renewal journal %s is a link, not a file: remove it, then run cardrenew --diagnose", path);
    if (err && !why)
        return renew_fail(e, RENEW_E_USAGE, "cannot read %s: %s", path, strerror(err));
    if (!why)
        why = parse(text, n, j);
    free(text);
    if (why) {
        renew_journal_clear(j);
        return renew_fail(e, RENEW_E_JOURNAL, "the renewal journal %s is damaged (%s)", path, why);
    }
    return 0;
}

int renew_journal_set_aside(const char *serial, char *to, size_t tolen, struct renew_err *e)
{
    char path[512], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int rc = renew_journal_path(serial, path, sizeof path, e);
    if (rc)
        return rc;
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    snprintf(to, tolen, "%s.damaged-%s", path, stamp);
    /* Never replaces a journal set aside before. */
    int err = renew_plat_move_new(path, to);
    if (err)
        return renew_fail(e, RENEW_E_JOURNAL, "cannot move the damaged renewal journal %s aside: %s",
                          path, strerror(err));
    return 0;
}

int renew_journal_keep_cert(const char *serial, const char *what, X509 *cert, char *to,
                            size_t tolen, struct renew_err *e)
{
    char path[512], dir[512], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int rc = journal_dir(serial, path, sizeof path, dir, sizeof dir, e);
    if (rc)
        return rc;
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    int fd = -1;
    for (int i = 0; fd < 0 && i < 100; i++) {   /* never over an earlier one */
        snprintf(to, tolen, "%.*s.%s-%s%s%.0d.pem", (int)(strlen(path) - strlen(".journal")),
                 path, what, stamp, i ? "-" : "", i);
        int err = renew_plat_create_new(to, &fd);
        if (err && err != EEXIST) {
            errno = err;
            break;
        }
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f && PEM_write_X509(f, cert) && fflush(f) == 0 && renew_plat_sync(fd) == 0;
    if (f)
        ok &= fclose(f) == 0;
    else if (fd >= 0)
        close(fd);
    if (!ok)
        return renew_fail(e, RENEW_E_USAGE, "cannot keep the certificate in %s: %s", to,
                          strerror(errno));
    return 0;
}

void renew_journal_clear(struct renew_journal *j)
{
    free(j->cert);
    free(j->subject);
    memset(j, 0, sizeof *j);
}

int renew_journal_lock(const char *serial, struct renew_err *e)
{
    char path[512], lock[520], dir[512];
    if (journal_dir(serial, path, sizeof path, dir, sizeof dir, e))
        return -1;
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd, err = renew_plat_lock(lock, &fd);
    if (err == EWOULDBLOCK) {
        renew_fail(e, RENEW_E_TOKEN,
                   "another cardrenew is already renewing this smartcard: let it finish, then run cardrenew --status");
        return -1;
    }
    if (err) {
        renew_fail(e, RENEW_E_USAGE, "cannot open %s: %s (check XDG_STATE_HOME)", lock,
                   strerror(err));
        return -1;
    }
    return fd;
}

void renew_journal_unlock(int fd)
{
    if (fd >= 0)
        close(fd);      /* releases the lock */
}

enum renew_action renew_resume_decide(const struct renew_seen *s)
{
    if (s->other_pending)
        return RENEW_DO_REMOVE_PENDING;
    if (!s->journal || s->jstate == RENEW_J_NONE || s->jstate == RENEW_J_DONE || !s->new_key)
        return RENEW_DO_FRESH;
    if (s->new_cert)
        return s->old_cred ? RENEW_DO_RETIRE_OLD : RENEW_DO_FINISH;
    return s->jstate >= RENEW_J_ISSUED ? RENEW_DO_WRITE_CERT : RENEW_DO_REUSE_KEY;
}

const char *renew_action_name(enum renew_action a)
{
    static const char *n[] = { "fresh", "remove-pending", "reuse-key", "write-cert",
                               "retire-old", "finish" };
    return (unsigned)a < sizeof n / sizeof n[0] ? n[a] : "?";
}
