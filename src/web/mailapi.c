/*
 * mailapi - the mail pages' endpoints (see mailapi.h).
 */
#include "web/mailapi.h"

int mailapi_handle(struct web_state *w, const struct web_request *rq, struct web_reply *r)
{
	(void)w;
	(void)rq;
	(void)r;
	return 0;
}
