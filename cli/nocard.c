/* nocard.c: when the module shows no smartcard, the cause in plain words:
 * the smartcard service not running, no reader, or no card in the reader.
 * The module speaks PKCS#11 only; PC/SC itself is asked here, through the
 * platform seam, and only then. */
#include <stdio.h>
#include "cli/cli.h"

int cli_no_card_explain(struct renew_err *e, enum cli_pcsc_state pcsc)
{
    if (e->code != RENEW_E_NO_TOKEN || e->absent == RENEW_ABSENT_NONE)
        return e->code;
    /* Slots with nothing in them: readers the module sees, no card. */
    if (e->absent == RENEW_ABSENT_SLOT && pcsc == CLI_PCSC_NO_SERVICE)
        return renew_fail(e, RENEW_E_NO_SERVICE,
                          "the smartcard service (pcscd) is not running, so no smartcard "
                          "reader can be used: start it (systemctl start pcscd.socket, as "
                          "root), or contact your local IT support team");
    if (e->absent == RENEW_ABSENT_SLOT && pcsc == CLI_PCSC_NO_READER)
        return renew_fail(e, RENEW_E_NO_READER,
                          "no smartcard reader found: connect your smartcard reader and try "
                          "again, or contact your local IT support team");
    if (e->absent == RENEW_ABSENT_SLOT && pcsc == CLI_PCSC_CARD)
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "a smartcard is in the reader but the PKCS#11 module shows none: "
                          "check --module (or the module setting)");
    if (e->absent == RENEW_ABSENT_TOKEN || pcsc == CLI_PCSC_NO_CARD)
        return renew_fail(e, RENEW_E_NO_TOKEN,
                          "no smartcard in the reader: insert your smartcard and try again");
    return e->code;
}

int cli_explain(struct renew_err *e)
{
    if (e->code != RENEW_E_NO_TOKEN || e->absent == RENEW_ABSENT_NONE)
        return e->code;
    return cli_no_card_explain(e, e->absent == RENEW_ABSENT_SLOT ? cli_plat_pcsc_probe()
                                                                 : CLI_PCSC_UNKNOWN);
}

int cli_fail_err(struct renew_err *e)
{
    return cli_fail(cli_explain(e), e->msg);
}
