/* o_fs.c: the IAS-ECC file system of profile O: SELECT in the forms
 * OpenSC's iasecc driver sends, FCPs, READ/UPDATE BINARY, CREATE and
 * DELETE FILE, and the change counter EF 5034. */
#include <stdlib.h>
#include <string.h>

#include "tests/vcard/o_card.h"

int vc_o_file_add(struct o_card *c, uint16_t parent, uint16_t fid, bool df,
                  size_t size, uint8_t acl)
{
    for (int i = 0; i < O_MAX_FILES; i++) {
        struct o_file *f = &c->files[i];
        if (f->used)
            continue;
        memset(f, 0, sizeof *f);
        if (!df && size) {
            f->data = calloc(1, size);
            if (!f->data)
                return -1;
        }
        f->used = true;
        f->is_df = df;
        f->fid = fid;
        f->parent = parent;
        f->size = df ? 0 : size;
        f->update_acl = acl;
        return i;
    }
    return -1;
}

int vc_o_find_child(const struct o_card *c, uint16_t parent, uint16_t fid)
{
    for (int i = 0; i < O_MAX_FILES; i++)
        if (c->files[i].used && c->files[i].parent == parent &&
            c->files[i].fid == fid)
            return i;
    return -1;
}

int vc_o_find(const struct o_card *c, uint16_t fid)
{
    int awp = vc_o_find_child(c, 0, O_FID_AWP);
    int i = awp >= 0 ? vc_o_find_child(c, (uint16_t)awp, fid) : -1;
    return i >= 0 ? i : vc_o_find_child(c, 0, fid);
}

int vc_o_file_set(struct o_card *c, int idx, const uint8_t *d, size_t n)
{
    struct o_file *f = &c->files[idx];
    if (n > f->size)
        return -1;
    memcpy(f->data, d, n);
    memset(f->data + n, 0, f->size - n);
    return 0;
}

void vc_o_file_drop(struct o_card *c, int idx)
{
    struct o_file *f = &c->files[idx];
    if (f->data)
        OPENSSL_cleanse(f->data, f->size);
    free(f->data);
    memset(f, 0, sizeof *f);
    if (c->cur_ef == idx)
        c->cur_ef = O_NONE;
}

size_t vc_o_fs_used(const struct o_card *c)
{
    size_t n = 0;
    for (int i = 0; i < O_MAX_FILES; i++)
        if (c->files[i].used)
            n += c->files[i].size;
    return n;
}

void vc_o_bump(struct o_card *c)
{
    int i = vc_o_find(c, O_FID_COUNTER);
    if (i < 0 || c->files[i].size < 4)
        return;
    uint8_t *p = c->files[i].data;
    for (int k = 3; k >= 0; k--)
        if (++p[k] != 0)
            break;
}

/* FCP: EFs carry size, type, FID, SFI and the access rule whose READ byte
 * is 00 (always); DFs carry the type, FID, name and the CREATE rule. */
static size_t fcp(const struct o_card *c, int idx, uint8_t *o)
{
    const struct o_file *f = &c->files[idx];
    size_t n = 2;
    if (!f->is_df) {
        o[n++] = 0x80; o[n++] = 2;
        o[n++] = (uint8_t)(f->size >> 8); o[n++] = (uint8_t)f->size;
        o[n++] = 0x82; o[n++] = 1; o[n++] = 0x01;
    } else {
        o[n++] = 0x82; o[n++] = 1; o[n++] = 0x38;
    }
    o[n++] = 0x83; o[n++] = 2;
    o[n++] = (uint8_t)(f->fid >> 8); o[n++] = (uint8_t)f->fid;
    if (f->is_df && f->aid_len) {
        o[n++] = 0x84; o[n++] = f->aid_len;
        memcpy(o + n, f->aid, f->aid_len);
        n += f->aid_len;
    }
    if (!f->is_df) {
        o[n++] = 0x88;
        o[n++] = f->sfi ? 1 : 0;
        if (f->sfi)
            o[n++] = f->sfi;
    }
    o[n++] = 0x8A; o[n++] = 1; o[n++] = 0x05;
    o[n++] = 0xA1;
    if (f->is_df) {
        /* delete never, create with the user PIN (SE 2) */
        static const uint8_t df_acl[] = { 0x8C, 0x03, 0x42, 0xFF, 0x12 };
        o[n++] = sizeof df_acl;
        memcpy(o + n, df_acl, sizeof df_acl);
        n += sizeof df_acl;
    } else {
        /* delete, terminate, activate, deactivate, update, read */
        uint8_t w = f->update_acl == O_ACL_PIN ? 0x12 : 0xFF;
        uint8_t ef_acl[] = { 0x8C, 0x07, 0x7B, w, 0xFF, w, w, w, 0x00 };
        o[n++] = sizeof ef_acl;
        memcpy(o + n, ef_acl, sizeof ef_acl);
        n += sizeof ef_acl;
    }
    o[0] = 0x62;
    o[1] = (uint8_t)(n - 2);
    return n;
}

static int by_name(const struct o_card *c, const uint8_t *name, size_t len)
{
    for (int i = 0; i < O_MAX_FILES; i++) {
        const struct o_file *f = &c->files[i];
        if (f->used && f->is_df && f->aid_len && len >= 5 &&
            len <= f->aid_len && memcmp(f->aid, name, len) == 0)
            return i;
    }
    return -1;
}

/* A FID as P1=00 finds it: MF, the current DF, a child of it, or of its
 * parent, or the parent itself. */
static int by_fid(const struct o_card *c, uint16_t fid)
{
    uint16_t df = c->cur_df;
    if (fid == O_FID_MF)
        return 0;
    if (c->files[df].fid == fid)
        return df;
    int i = vc_o_find_child(c, df, fid);
    if (i >= 0)
        return i;
    uint16_t up = c->files[df].parent;
    if (up != O_NONE) {
        if (c->files[up].fid == fid)
            return up;
        return vc_o_find_child(c, up, fid);
    }
    return -1;
}

static int by_path(const struct o_card *c, uint16_t from, const uint8_t *p,
                   size_t len)
{
    int cur = from;
    if (len == 0 || len % 2)
        return -2;
    for (size_t k = 0; k < len; k += 2) {
        uint16_t fid = o_be16(p + k);
        if (k == 0 && fid == O_FID_MF && from == 0) {
            cur = 0;
            continue;
        }
        if (c->files[cur].is_df == false)
            return -1;
        cur = vc_o_find_child(c, (uint16_t)cur, fid);
        if (cur < 0)
            return -1;
    }
    return cur;
}

uint16_t vc_o_select(struct o_card *c, const struct o_apdu *a, struct o_resp *r)
{
    int idx;
    if (a->p2 != 0x00 && a->p2 != 0x04 && a->p2 != 0x0C)
        return SW_BAD_P1P2;
    switch (a->p1) {
    case 0x00:
        if (a->lc == 0) {
            idx = 0;
            break;
        }
        if (a->lc != 2)
            return SW_WRONG_LEN;
        idx = by_fid(c, o_be16(a->data));
        break;
    case 0x01:  /* a child of the current DF (the iasecc driver's EF form) */
    case 0x02:
        if (a->lc != 2)
            return SW_WRONG_LEN;
        idx = vc_o_find_child(c, c->cur_df, o_be16(a->data));
        if (idx >= 0 && a->p1 == 0x02 && c->files[idx].is_df)
            idx = -1;
        break;
    case 0x03:
        if (a->lc)
            return SW_WRONG_LEN;
        idx = c->files[c->cur_df].parent == O_NONE ? -1 : c->files[c->cur_df].parent;
        break;
    case 0x04:
        if (a->lc == 0 || a->lc > 16)
            return SW_WRONG_LEN;
        idx = by_name(c, a->data, a->lc);
        break;
    case 0x08:
    case 0x09:
        idx = by_path(c, a->p1 == 0x08 ? 0 : c->cur_df, a->data, a->lc);
        if (idx == -2)
            return SW_WRONG_LEN;
        break;
    default:
        return SW_BAD_P1P2;
    }
    if (idx < 0)
        return SW_NOT_FOUND;
    if (c->files[idx].is_df) {
        c->cur_df = (uint16_t)idx;
        c->cur_ef = O_NONE;
    } else {
        c->cur_df = c->files[idx].parent;
        c->cur_ef = (uint16_t)idx;
    }
    if (a->p2 == 0x0C)
        return SW_OK;
    r->data = malloc(64);
    if (!r->data)
        return SW_ERROR;
    r->len = fcp(c, idx, r->data);
    return SW_OK;
}

/* The EF a READ/UPDATE BINARY addresses: by SFI (P1 b8 set; the current
 * DF, then the MF) or the current EF. Sets *off. */
static int target(struct o_card *c, const struct o_apdu *a, size_t *off,
                  uint16_t *sw)
{
    if (a->p1 & 0x80) {
        uint8_t sfi = a->p1 & 0x1F;
        if (a->p1 & 0x60) {
            *sw = SW_BAD_P1P2;
            return -1;
        }
        for (int pass = 0; pass < 2; pass++) {
            uint16_t df = pass ? 0 : c->cur_df;
            for (int i = 0; i < O_MAX_FILES; i++) {
                const struct o_file *f = &c->files[i];
                if (f->used && !f->is_df && f->parent == df && f->sfi == sfi) {
                    c->cur_ef = (uint16_t)i;
                    *off = a->p2;
                    return i;
                }
            }
        }
        *sw = SW_NOT_FOUND;
        return -1;
    }
    if (c->cur_ef == O_NONE) {
        *sw = SW_NO_EF;
        return -1;
    }
    *off = (size_t)(a->p1 & 0x7F) << 8 | a->p2;
    return c->cur_ef;
}

uint16_t vc_o_read_binary(struct o_card *c, const struct o_apdu *a, struct o_resp *r)
{
    size_t off;
    uint16_t sw;
    if (a->lc)
        return SW_WRONG_LEN;
    if (a->ne == 0)
        return SW_WRONG_LEN;
    int i = target(c, a, &off, &sw);
    if (i < 0)
        return sw;
    const struct o_file *f = &c->files[i];
    if (off >= f->size)
        return SW_BAD_OFFSET;
    /* Past the end: what remains, with 90 00 (the iasecc driver reads
     * 62 82 as an error). */
    size_t n = f->size - off;
    if (n > a->ne)
        n = a->ne;
    if (n > VC_RESP_MAX - 2)
        n = VC_RESP_MAX - 2;
    r->data = malloc(n);
    if (!r->data)
        return SW_ERROR;
    memcpy(r->data, f->data + off, n);
    r->len = n;
    return SW_OK;
}

uint16_t vc_o_update_binary(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    size_t off;
    uint16_t sw;
    if (a->lc == 0)
        return SW_WRONG_LEN;
    int i = target(c, a, &off, &sw);
    if (i < 0)
        return sw;
    struct o_file *f = &c->files[i];
    if (f->update_acl != O_ACL_PIN || !c->pin_ok)
        return SW_SEC_STATUS;
    if (off >= f->size)
        return SW_BAD_OFFSET;
    if (a->lc > f->size - off)
        return SW_WRONG_LEN;
    memcpy(f->data + off, a->data, a->lc);
    vc_o_bump(c);
    *persist = true;
    return SW_OK;
}

uint16_t vc_o_create_file(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (a->lc < 2)
        return SW_WRONG_LEN;
    if (a->data[0] != 0x62 || a->data[1] != a->lc - 2)
        return SW_BAD_DATA;
    long fid = -1, size = -1;
    for (size_t k = 2; k < a->lc;) {
        if (k + 2 > a->lc)
            return SW_BAD_DATA;
        uint8_t tag = a->data[k], len = a->data[k + 1];
        const uint8_t *v = a->data + k + 2;
        if (len >= 0x80 || k + 2 + len > a->lc)
            return SW_BAD_DATA;
        if (tag == 0x83 && len == 2)
            fid = o_be16(v);
        else if (tag == 0x80 && len == 2)
            size = o_be16(v);
        else if (tag == 0x80 && len == 1)
            size = v[0];
        else if (tag == 0x82 && len >= 1 && v[0] != 0x01)
            return SW_BAD_DATA;        /* transparent EFs only */
        else if (tag == 0x83 || tag == 0x80)
            return SW_BAD_DATA;
        k += 2 + (size_t)len;
    }
    if (fid < 0 || size <= 0 || size > 0x7FFF || fid == O_FID_MF ||
        fid == 0xFFFF || fid == 0x3FFF)
        return SW_BAD_DATA;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    if (c->cur_df == 0)
        return SW_SEC_STATUS;          /* nothing is created in the MF */
    if (vc_o_find_child(c, c->cur_df, (uint16_t)fid) >= 0 ||
        c->files[c->cur_df].fid == fid)
        return SW_EXISTS;
    if (vc_o_fs_used(c) + (size_t)size > O_FS_CAPACITY)
        return SW_NO_MEMORY;
    int i = vc_o_file_add(c, c->cur_df, (uint16_t)fid, false, (size_t)size, O_ACL_PIN);
    if (i < 0)
        return SW_NO_MEMORY;
    c->cur_ef = (uint16_t)i;
    vc_o_bump(c);
    *persist = true;
    return SW_OK;
}

uint16_t vc_o_delete_file(struct o_card *c, const struct o_apdu *a, bool *persist)
{
    int i;
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (a->lc == 0) {
        if (c->cur_ef == O_NONE)
            return SW_NO_EF;
        i = c->cur_ef;
    } else {
        if (a->lc != 2)
            return SW_WRONG_LEN;
        i = vc_o_find_child(c, c->cur_df, o_be16(a->data));
        if (i < 0)
            return SW_NOT_FOUND;
    }
    if (c->files[i].is_df || c->files[i].update_acl != O_ACL_PIN)
        return SW_SEC_STATUS;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    vc_o_file_drop(c, i);
    vc_o_bump(c);
    *persist = true;
    return SW_OK;
}
