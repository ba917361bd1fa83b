/*
 * target_send.c — grant and revoke of the targets that hand each operation
 * over to something else to do (target_exec.c: a program; target_webhook.c:
 * an HTTP endpoint), in one copy: what their answers mean is the same.
 */
#include <stdio.h>

#include "prov.h"

int sk_prov_send_grant(sk_prov_send_fn send, void *ctx, const sk_prov_op_t *op, char *member,
                       size_t member_len, char *msg, size_t msg_len)
{
    int rc = send(ctx, op, op->action, msg, msg_len);
    if (rc == 0) /* the member is the principal as given: nothing else names it */
        snprintf(member, member_len, "%s", op->principal);
    return rc;
}

int sk_prov_send_revoke(sk_prov_send_fn send, void *ctx, const sk_prov_op_t *op, char *msg,
                        size_t msg_len)
{
    int rc = send(ctx, op, "REVOKE", msg, msg_len);
    return rc == SK_PROV_WONT ? SK_EINVAL : rc; /* a revoke is never refused for good: failed */
}
