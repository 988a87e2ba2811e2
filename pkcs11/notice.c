/* notice.c: a change notice per card, shared by this user's processes.
 *
 * A process that changes a card's objects through this module (a
 * renewal by cardrenew, pkcs11-tool writing a certificate) writes the
 * card's new change counter to a small file named after the card's
 * serial, in $XDG_RUNTIME_DIR/cardrenew (or /tmp/cardrenew-<uid>), a
 * directory only this user can write. A host that polls (a browser asks
 * C_GetSlotInfo and C_GetSessionInfo every second) stat()s that file:
 * no APDU. Only when the file changed does it read the counter in it,
 * and only a counter it has not seen ends its older sessions. Changes
 * made without this module are seen when the card's own counter is next
 * read (cache.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkcs11/p11.h"

static pthread_once_t dir_once = PTHREAD_ONCE_INIT;
static char dir[256];           /* "" when no safe directory */

static void dir_find(void)
{
    const char *x = secure_getenv("XDG_RUNTIME_DIR");
    int n;
    if (x && x[0] == '/')
        n = snprintf(dir, sizeof(dir), "%s/cardrenew", x);
    else
        n = snprintf(dir, sizeof(dir), "/tmp/cardrenew-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= sizeof(dir) - 40) {
        dir[0] = '\0';
        return;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        p11_trace("change notices off: cannot make %s", dir);
        dir[0] = '\0';
        return;
    }
    /* Ours alone, or someone else could forge or hide notices. */
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
        (st.st_mode & 077)) {
        p11_trace("change notices off: %s is not a private directory", dir);
        dir[0] = '\0';
    }
}

/* The notice file of a card, or false when there is none to use. */
static bool notice_path(const char *serial, char *out, size_t n)
{
    pthread_once(&dir_once, dir_find);
    if (!dir[0] || !serial[0])
        return false;
    for (const char *p = serial; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') || (*p >= 'a' && *p <= 'f')))
            return false;
    int len = snprintf(out, n, "%s/%s", dir, serial);
    return len > 0 && (size_t)len < n;
}

void p11_notice_publish(const char *serial, uint64_t counter, bool known)
{
    char path[320], tmp[340];
    if (!notice_path(serial, path, sizeof(path)))
        return;
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    char line[64];
    int len = snprintf(line, sizeof(line), "%016llx %s %ld\n", (unsigned long long)counter,
                       known ? "known" : "unknown", (long)getpid());
    bool ok = write(fd, line, (size_t)len) == len;
    ok = close(fd) == 0 && ok;
    /* rename: a reader sees the old notice or the new, never half. */
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

static void stamp(const struct stat *st, struct p11_notice_seen *out)
{
    out->exists = true;
    out->dev = st->st_dev;
    out->ino = st->st_ino;
    out->size = (unsigned long long)st->st_size;
    out->mtime_s = st->st_mtim.tv_sec;
    out->mtime_ns = st->st_mtim.tv_nsec;
    out->ctime_s = st->st_ctim.tv_sec;
    out->ctime_ns = st->st_ctim.tv_nsec;
}

static bool same(const struct p11_notice_seen *a, const struct p11_notice_seen *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
           a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* true when the notice is not the one last seen; *seen is updated. */
static bool notice_moved(const char *path, struct p11_notice_seen *seen)
{
    struct stat st;
    struct p11_notice_seen now;
    memset(&now, 0, sizeof(now));
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        stamp(&st, &now);
    bool moved = !same(&now, seen);
    *seen = now;
    return moved && now.exists;
}

void p11_notice_baseline(struct p11_slot *s)
{
    char path[320];
    memset(&s->notice, 0, sizeof(s->notice));
    if (notice_path(s->serial, path, sizeof(path)))
        (void)notice_moved(path, &s->notice);
}

void p11_notice_poll(struct p11_slot *s)
{
    char path[320];
    if (!s->card || !notice_path(s->serial, path, sizeof(path)))
        return;
    if (!notice_moved(path, &s->notice))
        return;
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    unsigned long long counter = 0;
    char how[16] = "";
    long pid = 0;
    int got = fscanf(f, "%16llx %15s %ld", &counter, how, &pid);
    fclose(f);
    if (got != 3)
        return;
    bool known = strcmp(how, "known") == 0;
    /* Nothing cached yet, or this counter already seen (our own write,
     * or read from the card since): nothing has gone stale. */
    if (!s->have_counter || (known && counter == s->counter))
        return;
    if (pid == (long)getpid())
        return;
    p11_trace("reader \"%s\": the card was changed by process %ld", s->reader, pid);
    p11_cache_foreign(s);
}
