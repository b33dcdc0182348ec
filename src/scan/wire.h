/*
 * scan wire - the framed messages between the scan client (smtpd, qmgr) and a scan worker on
 * <home>/run/scan.sock (SOCK_SEQPACKET: one datagram is one message, boundaries kept).
 *
 * A connection carries one request and one reply. The request travels with the spool's fd in
 * an SCM_RIGHTS control message; the worker reads bytes [off, off+len) of it. A malformed
 * message is fatal to the connection (the worker closes it; the client treats the message as
 * unscanned). Both ends run the same binary, so the structs go over as they are in memory.
 */
#ifndef MX_SCAN_WIRE_H
#define MX_SCAN_WIRE_H

#include "scan/scan.h"

#include <stdint.h>

#define SCAN_WIRE_MAGIC 0x6d787363u /* "mxsc" */
#define SCAN_WIRE_VERSION 1u

struct scan_wire_req {
	uint32_t magic, version;
	uint64_t off, len;
	struct scan_envelope env;
};

struct scan_wire_rep {
	uint32_t magic, version;
	struct scan_result res;
};

#endif
