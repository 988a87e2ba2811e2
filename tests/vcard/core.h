/* core.h: the profile-agnostic parts of the virtual card, shared by
 * main.c and the unit tests. */
#ifndef CARDRENEW_VCARD_CORE_H
#define CARDRENEW_VCARD_CORE_H

#include "tests/vcard/vcard.h"

/* Profiles known to this build, by name ("G", "O"); NULL if unknown. */
const struct vc_profile *vc_profile_find(const char *name);

/* Card image: header (magic, version, profile name, blob length), the
 * profile's blob, then a SHA-256 of all that. */
struct vc_card {
    const struct vc_profile *prof;
    void *st;
};

/* Both return 0, or -1 with a one-line reason in err. */
int vc_image_load(const char *path, struct vc_card *card, char *err,
                  size_t errlen);
int vc_image_save(const char *path, const struct vc_card *card, char *err,
                  size_t errlen);
/* Same as load, from memory (for tests and the tear path). */
int vc_image_parse(const uint8_t *buf, size_t len, struct vc_card *card,
                   char *err, size_t errlen);
void vc_card_free(struct vc_card *card);

/* Data length of a command APDU (Lc, short or extended), for tear counts. */
size_t vc_apdu_data_len(const uint8_t *apdu, size_t len);

/* One trace line pair; command data masked when pin_data. */
void vc_trace_apdu(FILE *f, const uint8_t *cmd, size_t clen,
                   const uint8_t *resp, size_t rlen, bool pin_data);
void vc_trace_note(FILE *f, const char *what);

/* Fault state, changed by flags at start and by control lines. */
struct vc_faults {
    long vanish_after;      /* APDUs still answered before vanishing; -1 off */
    long tear_after;        /* bytes of persisting data left; -1 off */
    bool mute;
    long latency_us;
    bool vanished;          /* disconnected, not reconnecting until "back" */
    long silenced;          /* APDUs received and left unanswered while muted */
};
void vc_faults_clear(struct vc_faults *f);
/* Applies one control line; writes "ok" or "err ..." into ans. */
void vc_faults_command(struct vc_faults *f, const char *line, char *ans,
                       size_t anslen);

/* One APDU: VC_ANSWER (resp/rlen hold the answer), VC_SILENT (muted: no
 * answer), VC_VANISH (drop the connection unanswered; a torn command has
 * been undone), VC_FATAL (the image could not be reloaded). */
enum vc_step { VC_ANSWER, VC_SILENT, VC_VANISH, VC_FATAL };
enum vc_step vc_step(struct vc_card *card, const char *image,
                     struct vc_faults *f, const uint8_t *cmd, size_t len,
                     uint8_t *resp, size_t *rlen, bool *pin_data);

struct vc_run_opts {
    const char *image;
    const char *host;
    int port;
    const char *trace;
    const char *control;
    const char *clock;      /* "real": the real-card clock; NULL: off */
    struct vc_faults faults;
};
int vc_run(const struct vc_run_opts *o);

/* Client side of the control channel: sends line, prints the answer. */
int vc_ctl_send(const char *path, const char *line);

/* Waits until nreaders PC/SC readers each hold a card; 0 or -1. */
int vc_wait_ready(int nreaders, int timeout_ms);

/* APDUs in hex, one a line, from in, over PC/SC reader number reader;
 * responses to out. 0, or 1 at the first failure (printed "ERR ..."). */
int vc_send_apdus(int reader, FILE *in, FILE *out);

#endif
