/* notice.c: a change notice per card, shared by this user's processes.
 *
 * A process that changes a card's objects through this module (a
 * renewal by cardrenew, pkcs11-tool writing a certificate) writes the
 * card's new change counter to a small file named after the card's
 * serial, in $XDG_RUNTIME_DIR/cardrenew (or /tmp/cardrenew-<uid>;
 * %LOCALAPPDATA%\cardrenew on Windows), a directory only this user can
 * write (card/plat.h). A host that polls (a browser asks
 * C_GetSlotInfo and C_GetSessionInfo every second) looks at that file:
 * no APDU. Only when the file changed does it read the counter in it,
 * and only a counter it has not seen ends its older sessions. Changes
 * made without this module are seen when the card's own counter is next
 * read (cache.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/plat.h"
#include "pkcs11/p11.h"

static pthread_once_t dir_once = PTHREAD_ONCE_INIT;
static char dir[256];           /* "" when no safe directory */

static void dir_find(void)
{
    /* Ours alone, or someone else could forge or hide notices. */
    const char *why = NULL;
    if (!plat_private_dir("cardrenew", dir, sizeof(dir) - 40, &why)) {
        if (why)
            p11_trace("change notices off: %s", why);
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
    char path[320];
    if (!notice_path(serial, path, sizeof(path)))
        return;
    char line[64];
    int len = snprintf(line, sizeof(line), "%016llx %s %ld\n", (unsigned long long)counter,
                       known ? "known" : "unknown", plat_pid());
    (void)plat_replace_file(path, line, (size_t)len);
}

static bool same(const struct plat_stamp *a, const struct plat_stamp *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
           a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* true when the notice is not the one last seen; *seen is updated. */
static bool notice_moved(const char *path, struct plat_stamp *seen)
{
    struct plat_stamp now;
    plat_stamp_of(path, &now);
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
    FILE *f = plat_fopen_read(path);
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
    if (pid == plat_pid())
        return;
    p11_trace("reader \"%s\": the card was changed by process %ld", s->reader, pid);
    p11_cache_foreign(s);
}
