/* failpoint.c — crashes on purpose for the fault tests (see failpoint.h). */
#include "pipeline/failpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"

void sk_failpoint_init(sk_failpoints_t *fp)
{
    const char *v = getenv("SHIFTKEY_FAILPOINT");
    *fp = (sk_failpoints_t){0};
    if (!v || !*v)
        return;
    if (sscanf(v, "crash-after-apply:%ld", &fp->crash_after_apply) == 1 &&
        fp->crash_after_apply > 0)
        SK_WARN("failpoint armed: exit after applied record %ld, before emitting",
                fp->crash_after_apply);
    else if (sscanf(v, "crash-before-trim:%ld", &fp->crash_before_trim) == 1 &&
             fp->crash_before_trim > 0)
        SK_WARN("failpoint armed: exit after outbox flush %ld was produced, before the trim",
                fp->crash_before_trim);
    else if (sscanf(v, "refuse-takeaway:%ld", &fp->refuse_takeaway) == 1 && fp->refuse_takeaway > 0)
        SK_WARN("failpoint armed: the next %ld REVOKE/EXTEND productions are refused for good",
                fp->refuse_takeaway);
    else {
        *fp = (sk_failpoints_t){0}; /* e.g. crash-after-apply:-1 arms nothing */
        SK_WARN("SHIFTKEY_FAILPOINT '%s' not understood; ignored", v);
    }
}

void sk_failpoint_after_apply(const sk_failpoints_t *fp, uint64_t records)
{
    if (fp->crash_after_apply && (long)records >= fp->crash_after_apply) {
        SK_WARN("failpoint: exiting after applied record %ld, outbox not emitted",
                fp->crash_after_apply);
        _exit(137);
    }
}

void sk_failpoint_before_trim(sk_failpoints_t *fp)
{
    if (fp->crash_before_trim && ++fp->flushes >= fp->crash_before_trim) {
        SK_WARN("failpoint: exiting after outbox flush %ld was produced, before the trim",
                fp->crash_before_trim);
        _exit(137);
    }
}
