/* pcsc.h: the PC/SC functions the card layer calls, as a table.
 *
 * Production uses pcsc-lite's (card_pcsc_default); unit tests put a
 * scripted card behind the same table, so no pcscd is needed.
 */
#ifndef CARDRENEW_CARD_PCSC_H
#define CARDRENEW_CARD_PCSC_H

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

struct pcsc_ops {
    LONG (*establish)(DWORD scope, LPCVOID r1, LPCVOID r2, LPSCARDCONTEXT ctx);
    LONG (*release)(SCARDCONTEXT ctx);
    LONG (*list_readers)(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers,
                         LPDWORD len);
    LONG (*connect)(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protos,
                    LPSCARDHANDLE h, LPDWORD active);
    LONG (*reconnect)(SCARDHANDLE h, DWORD share, DWORD protos, DWORD init,
                      LPDWORD active);
    LONG (*disconnect)(SCARDHANDLE h, DWORD disposition);
    LONG (*begin)(SCARDHANDLE h);
    LONG (*end)(SCARDHANDLE h, DWORD disposition);
    LONG (*transmit)(SCARDHANDLE h, const SCARD_IO_REQUEST *send_pci,
                     LPCBYTE send, DWORD send_len, SCARD_IO_REQUEST *recv_pci,
                     LPBYTE recv, LPDWORD recv_len);
    LONG (*status)(SCARDHANDLE h, LPSTR reader, LPDWORD reader_len,
                   LPDWORD state, LPDWORD proto, LPBYTE atr, LPDWORD atr_len);
    LONG (*get_status_change)(SCARDCONTEXT ctx, DWORD timeout,
                              SCARD_READERSTATE *states, DWORD n);
    LONG (*cancel)(SCARDCONTEXT ctx);
};

#endif
