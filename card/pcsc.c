/* pcsc.c: pcsc-lite behind struct pcsc_ops. */
#include "card/card.h"
#include "card/pcsc.h"

static const struct pcsc_ops pcsclite_ops = {
    .establish = SCardEstablishContext,
    .release = SCardReleaseContext,
    .list_readers = SCardListReaders,
    .connect = SCardConnect,
    .reconnect = SCardReconnect,
    .disconnect = SCardDisconnect,
    .begin = SCardBeginTransaction,
    .end = SCardEndTransaction,
    .transmit = SCardTransmit,
    .status = SCardStatus,
    .get_status_change = SCardGetStatusChange,
    .cancel = SCardCancel,
};

const struct pcsc_ops *card_pcsc_default(void)
{
    return &pcsclite_ops;
}
