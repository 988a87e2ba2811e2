/* reader.c: a PC/SC context, its readers, and waiting for card events. */
#include <stdlib.h>
#include <string.h>

#include "card/card_int.h"

int card_ctx_new(const struct pcsc_ops *ops, struct card_ctx **out)
{
    if (!ops || !out)
        return CARD_E_ARGS;
    *out = NULL;
    struct card_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return CARD_E_HOST_MEMORY;
    ctx->ops = ops;
    LONG rv = ops->establish(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx->h);
    if (rv != SCARD_S_SUCCESS) {
        free(ctx);
        return card_pcsc_rv(NULL, rv);
    }
    *out = ctx;
    return CARD_OK;
}

void card_ctx_free(struct card_ctx *ctx)
{
    if (!ctx)
        return;
    ctx->ops->release(ctx->h);
    free(ctx->rs);
    free(ctx);
}

int card_ctx_readers(struct card_ctx *ctx, char **names, size_t *len)
{
    if (!ctx || !names || !len)
        return CARD_E_ARGS;
    *names = NULL;
    *len = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        DWORD n = 0;
        LONG rv = ctx->ops->list_readers(ctx->h, NULL, NULL, &n);
        if (rv == SCARD_E_NO_READERS_AVAILABLE || (rv == SCARD_S_SUCCESS && n == 0)) {
            char *empty = calloc(1, 2);
            if (!empty)
                return CARD_E_HOST_MEMORY;
            *names = empty;
            *len = 2;
            return CARD_OK;
        }
        if (rv != SCARD_S_SUCCESS)
            return card_pcsc_rv(NULL, rv);
        char *buf = calloc(1, (size_t)n + 2);
        if (!buf)
            return CARD_E_HOST_MEMORY;
        DWORD got = n;
        rv = ctx->ops->list_readers(ctx->h, NULL, buf, &got);
        if (rv == SCARD_E_INSUFFICIENT_BUFFER) {
            free(buf);      /* a reader appeared in between */
            continue;
        }
        if (rv == SCARD_E_NO_READERS_AVAILABLE) {
            memset(buf, 0, 2);
            got = 2;
        } else if (rv != SCARD_S_SUCCESS) {
            free(buf);
            return card_pcsc_rv(NULL, rv);
        }
        /* Guarantee the double NUL even from a sloppy implementation. */
        buf[n] = buf[n + 1] = 0;
        *names = buf;
        *len = got < 2 ? 2 : got;
        return CARD_OK;
    }
    return CARD_E_COMM;
}

static struct card_rstate *rstate(struct card_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->nrs; i++)
        if (!strcmp(ctx->rs[i].name, name))
            return &ctx->rs[i];
    if (strlen(name) >= CARD_READER_MAX)
        return NULL;
    struct card_rstate *rs = realloc(ctx->rs, (ctx->nrs + 1) * sizeof(*rs));
    if (!rs)
        return NULL;
    ctx->rs = rs;
    rs = &ctx->rs[ctx->nrs++];
    memset(rs, 0, sizeof(*rs));
    strcpy(rs->name, name);
    rs->state = SCARD_STATE_UNAWARE;
    rs->was_absent = true;
    return rs;
}

int card_ctx_wait(struct card_ctx *ctx, long timeout_ms, char *reader,
                  size_t reader_len)
{
    if (!ctx)
        return CARD_E_ARGS;
    if (reader && reader_len)
        reader[0] = 0;
    char *names = NULL;
    size_t len = 0;
    int rv = card_ctx_readers(ctx, &names, &len);
    if (rv != CARD_OK)
        return rv;
    size_t n = 0;
    for (const char *p = names; *p; p += strlen(p) + 1)
        n++;
    /* One more slot: pcsc-lite's pseudo reader for readers coming and going. */
    SCARD_READERSTATE *st = calloc(n + 1, sizeof(*st));
    if (!st) {
        free(names);
        return CARD_E_HOST_MEMORY;
    }
    /* Every reader's record first: adding one may move the others. */
    for (const char *p = names; *p; p += strlen(p) + 1)
        rstate(ctx, p);
    size_t i = 0;
    for (const char *p = names; *p; p += strlen(p) + 1) {
        struct card_rstate *rs = rstate(ctx, p);
        if (!rs)
            continue;
        st[i].szReader = rs->name;
        st[i].dwCurrentState = rs->state;
        i++;
    }
    st[i].szReader = "\\\\?PnP?\\Notification";
    st[i].dwCurrentState = (DWORD)n << 16;
    size_t total = i + 1;

    DWORD to = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    /* The first call with UNAWARE states returns at once with the current
     * states; keep waiting until something really changes. */
    for (;;) {
        LONG prv = ctx->ops->get_status_change(ctx->h, to, st, (DWORD)total);
        if (prv == SCARD_E_TIMEOUT) {
            rv = CARD_E_NO_CARD;
            break;
        }
        if (prv == SCARD_E_CANCELLED) {
            rv = CARD_E_ARGS;
            break;
        }
        if (prv != SCARD_S_SUCCESS) {
            rv = card_pcsc_rv(NULL, prv);
            break;
        }
        bool changed = false;
        for (size_t k = 0; k + 1 < total; k++) {
            DWORD was = st[k].dwCurrentState;
            DWORD now = st[k].dwEventState & ~SCARD_STATE_CHANGED;
            struct card_rstate *rs = rstate(ctx, st[k].szReader);
            bool was_present = (was & SCARD_STATE_PRESENT) != 0;
            bool is_present = (now & SCARD_STATE_PRESENT) != 0;
            if (rs) {
                if (!is_present)
                    rs->was_absent = true;
                rs->state = now;
            }
            /* pcsc-lite counts events in the high word: a card pulled and
             * put back between two calls changes only that. */
            bool swapped = (was >> 16) != (now >> 16) && is_present;
            if (was != SCARD_STATE_UNAWARE && (was_present != is_present || swapped) &&
                !changed) {
                changed = true;
                if (reader && reader_len) {
                    strncpy(reader, st[k].szReader, reader_len - 1);
                    reader[reader_len - 1] = 0;
                }
            }
            st[k].dwCurrentState = now;
        }
        if (st[total - 1].dwEventState & SCARD_STATE_CHANGED) {
            changed = true;     /* a reader came or went */
        }
        if (changed) {
            rv = CARD_OK;
            break;
        }
        st[total - 1].dwCurrentState = st[total - 1].dwEventState & ~SCARD_STATE_CHANGED;
    }
    free(st);
    free(names);
    return rv;
}

void card_ctx_cancel(struct card_ctx *ctx)
{
    if (ctx)
        ctx->ops->cancel(ctx->h);
}

bool card_ctx_present(struct card_ctx *ctx, const char *reader)
{
    if (!ctx || !reader)
        return false;
    SCARD_READERSTATE st = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };
    if (ctx->ops->get_status_change(ctx->h, 0, &st, 1) != SCARD_S_SUCCESS)
        return false;
    struct card_rstate *rs = rstate(ctx, reader);
    bool present = (st.dwEventState & SCARD_STATE_PRESENT) &&
                   !(st.dwEventState & SCARD_STATE_MUTE);
    if (!rs)
        return present;
    bool fresh = present && rs->was_absent;
    rs->was_absent = !present;
    return fresh;
}
