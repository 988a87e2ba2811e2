/* journal.c: the renewal journal and the resume decision.
 * The issued certificate is saved here before the token is touched, so a
 * cut at any point leaves something a rerun can finish. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "renew/journal.h"

#define MAGIC "cardrenew-journal 1"
#define CERT_MAX 16384

static const char *names[] = { "none", "keygen", "issued", "written", "done" };

const char *renew_jstate_name(enum renew_jstate s)
{
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

static int state_dir(char *out, size_t outlen, struct renew_err *e)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(out, outlen, "%s/cardrenew", x);
    else if (home && home[0] == '/')
        n = snprintf(out, outlen, "%s/.local/state/cardrenew", home);
    else
        return renew_fail(e, RENEW_E_USAGE,
                          "cannot find a place for the renewal journal: set HOME or XDG_STATE_HOME");
    if (n < 0 || (size_t)n >= outlen)
        return renew_fail(e, RENEW_E_USAGE, "the state directory path is too long: set a shorter XDG_STATE_HOME");
    return 0;
}

int renew_journal_path(const char *serial, char *out, size_t outlen, struct renew_err *e)
{
    char dir[400], safe[65];
    size_t k = 0;
    int rc = state_dir(dir, sizeof dir, e);
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

static int mkdirs(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

static void put_hex(FILE *f, const char *key, const unsigned char *v, size_t n)
{
    fprintf(f, "%s=", key);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", v[i]);
    fputc('\n', f);
}

static int get_hex(const char *s, unsigned char *out, size_t max, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return 0;
}

int renew_journal_save(const char *serial, const struct renew_journal *j, struct renew_err *e)
{
    char path[512], tmp[520], dir[512];
    int rc = renew_journal_path(serial, path, sizeof path, e);
    if (rc)
        return rc;
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    if (mkdirs(dir) != 0)
        return renew_fail(e, RENEW_E_USAGE, "cannot create the journal directory %s: %s (check XDG_STATE_HOME)", dir, strerror(errno));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return renew_fail(e, RENEW_E_USAGE, "cannot write the renewal journal %s: %s",
                          tmp, strerror(errno));
    }
    fprintf(f, "%s\nstate=%s\n", MAGIC, renew_jstate_name(j->state));
    put_hex(f, "old_id", j->old_id, j->old_id_len);
    put_hex(f, "new_id", j->new_id, j->new_id_len);
    if (j->cert)
        put_hex(f, "cert", j->cert, j->cert_len);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return renew_fail(e, RENEW_E_USAGE, "cannot write the renewal journal %s: %s",
                          path, strerror(err));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int renew_journal_load(const char *serial, struct renew_journal *j, struct renew_err *e)
{
    char path[512];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = renew_journal_path(serial, path, sizeof path, e), lineno = 0;
    memset(j, 0, sizeof *j);
    if (rc)
        return rc;
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 1
               : renew_fail(e, RENEW_E_USAGE, "cannot read %s: %s", path, strerror(errno));
    rc = 0;
    while ((n = getline(&line, &cap, f)) > 0 && rc == 0) {
        line[strcspn(line, "\r\n")] = '\0';
        char *v = strchr(line, '=');
        if (lineno++ == 0) {
            if (strcmp(line, MAGIC) != 0)
                rc = -1;
            continue;
        }
        if (!v)
            continue;
        *v++ = '\0';
        if (strcmp(line, "state") == 0) {
            rc = -1;
            for (unsigned s = 0; s < sizeof names / sizeof names[0]; s++)
                if (strcmp(v, names[s]) == 0) {
                    j->state = s;
                    rc = 0;
                }
        } else if (strcmp(line, "old_id") == 0) {
            rc = get_hex(v, j->old_id, sizeof j->old_id, &j->old_id_len);
        } else if (strcmp(line, "new_id") == 0) {
            rc = get_hex(v, j->new_id, sizeof j->new_id, &j->new_id_len);
        } else if (strcmp(line, "cert") == 0 && !j->cert) {
            j->cert = malloc(CERT_MAX);
            rc = j->cert ? get_hex(v, j->cert, CERT_MAX, &j->cert_len) : -1;
        }
    }
    free(line);
    fclose(f);
    if (rc != 0 || lineno == 0) {
        renew_journal_clear(j);
        return renew_fail(e, RENEW_E_USAGE,
                          "the renewal journal %s is damaged: move it aside and run cardrenew --diagnose",
                          path);
    }
    return 0;
}

void renew_journal_clear(struct renew_journal *j)
{
    free(j->cert);
    memset(j, 0, sizeof *j);
}

int renew_journal_lock(const char *serial, struct renew_err *e)
{
    char path[512], lock[520], dir[512];
    if (renew_journal_path(serial, path, sizeof path, e))
        return -1;
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    if (mkdirs(dir) != 0) {
        renew_fail(e, RENEW_E_USAGE, "cannot create the journal directory %s: %s (check XDG_STATE_HOME)",
                   dir, strerror(errno));
        return -1;
    }
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        renew_fail(e, RENEW_E_USAGE, "cannot open %s: %s (check XDG_STATE_HOME)", lock,
                   strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        renew_fail(e, RENEW_E_TOKEN,
                   "another cardrenew is already renewing this smartcard: let it finish, then run cardrenew --status");
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
