/*
 * mailapi - the API of the mail pages: quarantine (list, release, delete), stuck mail at the
 * central location, message tracking, suspected new viruses and signatures. Their data belongs
 * to the queue and scan modules; this file only reads and calls them.
 */
#ifndef MX_WEB_MAILAPI_H
#define MX_WEB_MAILAPI_H

#include "web/api.h"

/* 1 if rq was one of ours (r is filled), 0 if not. */
int mailapi_handle(struct web_state *w, const struct web_request *rq, struct web_reply *r);
/* Close the queue and tracking handles w keeps (at exit). */
void mailapi_close(struct web_state *w);

#endif
