/*
 * auth_dnsbl - the dnsbl scanner's answer judgement, apart for tests and fuzzing.
 */
#ifndef MX_SCAN_AUTH_DNSBL_H
#define MX_SCAN_AUTH_DNSBL_H

#include "scan/auth_dns.h"

/*
 * Judge one DNSBL answer against a bitmap of accepted 127.0.0.x last octets (32 bytes):
 * 1 listed (the code in *code), 0 not listed, -1 an error (refused with 127.255.255.x, an
 * answer outside 127/8, a failed lookup), with why set.
 */
int dnsbl_judge(const struct dns_answer *ans, const unsigned char *codes, unsigned char *code,
                char *why, size_t whysz);

#endif
