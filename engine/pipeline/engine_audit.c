/*
 * engine_audit.c — audit records about the engine itself, not about a
 * user: a rules reload accepted or refused, a partition stopped, an output
 * Kafka refused, and (the ledger's) a restore or a fail-closed revocation.
 * They go to the audit topic next to the decisions, keyed "shiftkey-engine",
 * so the SIEM sees what the engine did to itself, not only its log.
 *
 * They are produced at once, not staged in a partition's outbox: some are
 * about no partition (a reload), some about a partition the engine cannot
 * write to (stopped, its epoch gone). At most once; the log line the caller
 * writes says the same.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"

#define ENGINE_KEY "shiftkey-engine"

int sk_engine_audit(sk_engine_t *e, const char *kind, int32_t partition, const char *topic,
                    const char *reason)
{
    sk_arena_t a;
    void *buf = NULL;
    size_t len = 0;
    char seed[96], sha[65];
    int rc;
    if (!e->producer || !e->codec || !e->out_topics[SK_OUT_AUDIT])
        return SK_EIO;
    sk_arena_init(&a, 4096);
    sk_ms_t now = sk_now_ms();
    const char *why = reason ? reason : "";
    size_t n = sk_poison_utf8_cut(why, strlen(why), SK_DL_REASON_MAX);
    sk_audit_t au = {.at_ms = now,
                     .actor = sk_arena_sprintf(&a, "engine:%s", e->cfg.client_id),
                     .user = ENGINE_KEY,
                     .event_id = "",
                     .decision = kind,
                     .reason = sk_arena_strndup(&a, why, n),
                     .rules_version = e->rules ? sk_rules_version(e->rules) : "",
                     .origin = {topic ? topic : "", partition, -1}};
    /* an id of its own: kind, partition, time and reason */
    snprintf(seed, sizeof(seed), "%s|%" PRId32 "|%" PRId64 "|", kind, partition, now);
    char *whole = sk_arena_sprintf(&a, "%s%s", seed, au.reason ? au.reason : "");
    if (!au.actor || !au.reason || !whole) {
        rc = SK_ENOMEM;
        goto out;
    }
    sk_poison_sha256_hex(whole, strlen(whole), sha);
    memcpy(au.audit_id, sha, 32);
    au.audit_id[32] = '\0';
    if ((rc = sk_codec_encode_audit(e->codec, &au, &a, &buf, &len)) != 0)
        goto out;
    if (rd_kafka_produce(e->out_topics[SK_OUT_AUDIT], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                         buf, len, ENGINE_KEY, strlen(ENGINE_KEY), NULL) != 0) {
        SK_WARN("engine audit record %s not produced: %s", kind,
                rd_kafka_err2str(rd_kafka_last_error()));
        rc = SK_EIO;
    }
out:
    if (rc == SK_ENOMEM)
        SK_WARN("engine audit record %s not produced: out of memory", kind);
    sk_arena_fini(&a);
    return rc;
}
