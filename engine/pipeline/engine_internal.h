/*
 * engine_internal.h — the engine's state, shared by the pipeline files, and
 * their functions. Not a public API.
 *
 * The files call one another one way only, lowest first: a file calls only
 * files listed before it (read from the objects: no circle in `nm`).
 *
 *   store.c       Redis: plain hash writes and reads, the outbox (store.h;
 *                 store_config.c: its address and password; store_restore.c:
 *                 a partition rebuilt from the changelog)
 *   load.c        users' states and the on-call index read through store.c
 *                 into the decision model (load.h)
 *   state_cache.c the owned partitions' user hashes in memory (state_cache.h)
 *   kafka_conf.c  extra librdkafka settings (kafka_conf.h)
 *   failpoint.c   crashes on purpose, for the fault tests (failpoint.h)
 *   in_topic.c    input topic names <-> indexes (in_topic.h)
 *   poison.c      bounded dead letters, notices for refused outputs, SHA-256
 *   engine_audit.c  audit records about the engine itself (reloads, stops)
 *   emit.c        outbox -> Kafka (from memory, read back only after a
 *                 claim or a failure), trims, input offset commits; a record
 *                 Kafka refuses for good is replaced by a notice
 *   ledger.c      the changelog topic: each step's record, the check that
 *                 Redis is not behind it, and the restore of a partition
 *   partition.c   claims a partition (then re-sends its outbox via emit.c);
 *                 the input topics' partition count
 *   apply.c       decode -> decide -> apply of a batch, and of a timer
 *   timers.c      due timers -> apply.c
 *   consume.c     the consumer group: assignment claims, revocation flushes
 *   engine.c      the life cycle and the main loop, over all of the above
 */
#ifndef SK_ENGINE_INTERNAL_H
#define SK_ENGINE_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "base/arena.h"
#include "codec/codec.h"
#include "decide/decide.h"
#include "pipeline/engine.h"
#include "pipeline/engine_metrics.h"
#include "pipeline/schema_registry.h"
#include "pipeline/failpoint.h"
#include "pipeline/in_topic.h"
#include "pipeline/store.h"
#include "pipeline/state_cache.h"
#include "rules/rules.h"

#define SK_MAX_PARTITIONS 1024

/* Where an input topic's partition stands. */
typedef struct sk_in_progress {
    int64_t next_offset;    /* next offset, for the Kafka commit */
    int64_t applied_offset; /* last offset known applied in Redis, -1 none */
    bool commit_pending;
} sk_in_progress_t;

/* A topic-partition held back by a record that cannot be decided yet
 * (hold.c): paused and moved back to it until `until`. */
typedef struct sk_hold {
    bool on;        /* paused now */
    bool logged;    /* the outage was logged (once until a record decodes) */
    int backoff_ms; /* the last wait; doubles per hold, 0 after a success */
    int64_t offset; /* the record held */
    sk_ms_t until;  /* resume then */
} sk_hold_t;

/* Records of one partition's outbox produced together (emit.c). */
typedef struct sk_chunk sk_chunk_t;
/* Staged entries of one partition not yet produced, in memory (emit.c). */
typedef struct sk_outq sk_outq_t;

/* A partition of the input topic this instance owns. */
typedef struct sk_held sk_held_t; /* stuck.c */

/* The first member of every opaque the engine gives a produced record
 * (the delivery report's m->_private): whose record it is, so emit.c's
 * report callback routes it (a chunk of an outbox, a held command). */
typedef enum sk_delivery_kind { SK_DELIVERY_CHUNK = 1, SK_DELIVERY_HELD } sk_delivery_kind_t;

typedef struct sk_owned {
    bool owned;
    int64_t epoch; /* our claim in Redis */
    bool dirty;    /* outbox has entries not yet produced */
    bool stopped;  /* offsets do not fit the topics: no input is consumed */
    sk_in_progress_t in[SK_IN_TOPIC_COUNT];
    sk_chunk_t *chunks, *chunks_tail; /* produced, awaiting acknowledgement, oldest first */
    size_t inflight;                  /* outbox entries covered by those chunks */
    sk_outq_t *outq;  /* the outbox's entries past `inflight`, when outq_valid (emit.c) */
    bool outq_valid;  /* outq is in step with the outbox: no read back needed */
    int64_t seq;      /* the step sequence known applied (Redis must hold at least it) */
    int64_t seq_next; /* the last one given to a step */
    int64_t ledger_off[SK_IN_TOPIC_COUNT]; /* applied offsets the next record states */
    bool lost;                             /* Redis lost its state: restore before any other use */
    bool stale_polled;  /* restored and moved back: records already polled are dropped */
    bool failed_closed; /* lost, not restorable: the ledger's grants were revoked */
    bool due_known;     /* next_due was read since the partition was claimed or fired */
    bool rules_unknown; /* its state's rules mark differs from ours: swept (sweep.c) */
    sk_ms_t next_due;   /* earliest due time of its timers: early, never late (SK_MS_NONE) */
    sk_hold_t hold[SK_IN_TOPIC_COUNT]; /* hold.c */
} sk_owned_t;

/* A step applied in partition p set a user's timer at `wake`: the
 * partition's earliest due time moves up to it (timers.c sleeps until the
 * earliest one). A removed timer leaves next_due early, which costs one
 * read when it comes. */
static inline void sk_timers_note(sk_owned_t *o, sk_ms_t wake)
{
    if (o->due_known && wake < o->next_due)
        o->next_due = wake;
}

/* Where the keep-until sweep is (keep_sweep.c): users' values past their
 * keep-until are deleted by it, not by a timer (a user's timer is its next
 * real wake-up only). */
typedef struct sk_keep_sweep {
    sk_ms_t next_ms;   /* the next chunk not before */
    int32_t partition; /* the partition being swept (from here on: the next owned) */
    uint64_t cursor;   /* its HSCAN cursor, 0: from the start */
    uint64_t swept;    /* states deleted since start */
} sk_keep_sweep_t;

struct sk_engine {
    sk_engine_config_t cfg;
    char *strings[16]; /* copies of cfg strings, freed at destroy */
    sk_rules_t *rules;
    sk_rules_t *sweep_from; /* rules replaced by a reload whose sweep is not done; NULL */
    sk_codec_t *codec;
    sk_store_t *store;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_t *out_topics[SK_OUT_TOPIC_COUNT];
    rd_kafka_t *ledger; /* reads the changelog (no group), ledger.c */
    sk_owned_t parts[SK_MAX_PARTITIONS];
    sk_arena_t arena;        /* per record, reset before each */
    sk_state_cache_t *cache; /* owned partitions' user hashes (state_cache.h) */
    sk_engine_stats_t stats;
    sk_held_t *held;   /* commands that take access away, held (stuck.c) */
    uint64_t held_ids; /* the last id given to a held entry */
    bool redis_down_logged;
    sk_failpoints_t failpoints; /* fault tests only; all zero = off */
    sk_ms_t next_timer_scan;
    sk_keep_sweep_t keep_sweep;     /* keep_sweep.c */
    sk_ms_t next_commit_ms;         /* input offsets are committed then (emit.c) */
    sk_ms_t summary_at;             /* the last INFO summary (engine.c), 0: none yet */
    sk_engine_stats_t summary_last; /* the stats then */
    sk_ms_t campaign_next_scan;     /* campaign_scan.c */
    sk_schema_registry_t *registry; /* NULL without --schema-registry */
    sk_engine_metrics_t m; /* what it reports (engine_metrics.h); all NULL without a registry */
    int32_t n_partitions;  /* of the input topics; 0 = not known yet (consume.c resets) */
    sk_ms_t stop_deadline; /* once stopping: everything is let go by then (0: not stopping) */
};

/* How long stopping may take in all (drain, leave the group, close the
 * producer): well under Kubernetes' 30 s grace, whatever Kafka does. */
#define SK_STOP_BUDGET_MS 6000

/* hold.c — a record that cannot be decided yet (its decoder said
 * SK_EAGAIN: the schema registry did not answer) holds its topic-partition
 * instead of becoming a dead letter. */
/* Holds topic t of partition p at offset (paused, moved back to it) for
 * the next backoff (0.5 s doubling to 30 s); logs the outage once and
 * counts shiftkey_input_records_total{outcome="held"}. Returns 0. */
int sk_hold_start(sk_engine_t *e, int32_t p, int t, int64_t offset, const char *why);
/* True while topic t of partition p is held: its polled records wait. */
bool sk_hold_active(const sk_engine_t *e, int32_t p, int t);
/* A record of topic t of partition p decoded: the backoff starts over. */
void sk_hold_ok(sk_engine_t *e, int32_t p, int t);
/* Resumes every hold whose wait is over (the engine loop, each turn). */
void sk_hold_release_due(sk_engine_t *e, sk_ms_t now);

/* poison.c */
/* Bytes of the original value, and of its key, a dead letter keeps. */
#define SK_DL_PAYLOAD_MAX      8192
#define SK_DL_PAYLOAD_MAX_TEXT "8192"
#define SK_DL_KEY_MAX          1024
#define SK_DL_KEY_MAX_TEXT     "1024"
/* Bytes of reason text in a dead letter or an engine audit record. */
#define SK_DL_REASON_MAX       1024
/* Bytes of the value a notice for a refused output keeps. */
#define SK_NOTICE_PREFIX_MAX   512
/* An encoded output larger than this is never staged: a notice is staged
 * instead (Kafka's default message.max.bytes is 1,000,000). */
#define SK_OUT_RECORD_MAX      (256 * 1024)

/* An output record Kafka refused for good, remembered until its notice is
 * produced. Heap memory (sk_poison_refusal_new, free()). */
typedef struct sk_poison_refusal {
    struct sk_poison_refusal *next;
    const char *topic_name; /* borrowed: the engine's configuration */
    int32_t partition;      /* the input partition whose outbox held it */
    sk_ms_t at_ms;
    size_t key_len, value_len; /* original lengths */
    char sha256[65];           /* of the whole value, hex */
    char error[128];
    size_t prefix_len;
    unsigned char key[SK_DL_KEY_MAX];
    unsigned char prefix[SK_NOTICE_PREFIX_MAX];
} sk_poison_refusal_t;

/* SHA-256 of len bytes as 64 lowercase hex digits and a NUL. */
void sk_poison_sha256_hex(const void *buf, size_t len, char out[65]);
/* The largest n <= max with s[0..n) not ending inside a UTF-8 character
 * (len when len <= max). */
size_t sk_poison_utf8_cut(const char *s, size_t len, size_t max);
/* Bounds a dead letter in place: payload and key cut to their first
 * SK_DL_PAYLOAD_MAX / SK_DL_KEY_MAX bytes, reason rewritten (arena memory,
 * at most SK_DL_REASON_MAX bytes) to add the original value's length and
 * SHA-256 (and the key's when it was cut). Bytes stay borrowed. 0 or
 * SK_ENOMEM. */
int sk_poison_bound_dead_letter(sk_arena_t *a, sk_dead_letter_t *dl);
/* Copies what a notice needs of a refused output record (the SHA-256 of
 * the value, bounded prefixes). NULL when out of memory. */
sk_poison_refusal_t *sk_poison_refusal_new(const char *topic_name, int32_t partition,
                                           const void *key, size_t key_len, const void *value,
                                           size_t value_len, const char *error);
/* Fills *dl with the notice for r (reason in arena memory; bytes borrowed
 * from r). 0 or SK_ENOMEM. */
int sk_poison_notice(sk_arena_t *a, const sk_poison_refusal_t *r, sk_dead_letter_t *dl);
/* True for a Kafka error that refuses this record for good (too large,
 * invalid); false for errors that retrying, or another record, may cure. */
bool sk_poison_permanent(int kafka_err);

/* engine_audit.c */
/*
 * sk_engine_audit — an audit record about the engine itself, on the audit
 * topic, keyed "shiftkey-engine": decision = kind ("rules_reloaded",
 * "rules_refused", "partition_stopped", "output_refused", "state_lost", "restored",
 * "failed_closed", ...), origin = the partition (-1: none) and topic (NULL:
 * ""), reason cut to SK_DL_REASON_MAX bytes, actor "engine:<client id>",
 * the rules version in force. Produced at once, not through an outbox: at
 * most once (the ERROR/INFO log line the caller writes is the other copy).
 * Never blocks; 0, or SK_EIO/SK_ENOMEM (logged) when it cannot be queued.
 */
int sk_engine_audit(sk_engine_t *e, const char *kind, int32_t partition, const char *topic,
                    const char *reason);

/* emit.c */
/* Creates the idempotent producer and the output topics' handles (with the
 * "producer" settings of cfg.kafka_props). 0, or SK_EINVAL with err. */
int sk_emit_open(sk_engine_t *e, char *err, size_t err_len);
/* Forgets every partition's chunks, waits up to 10 s for what is in flight
 * and destroys the producer. Nothing is trimmed: what was not trimmed is
 * re-sent by the next owner. Safe when sk_emit_open failed or never ran. */
void sk_emit_close(sk_engine_t *e);
/* One pass, without blocking: serves delivery reports, produces what was
 * staged since, then trims what was acknowledged, commits the input
 * offsets of all partitions in one request at most once a second (a hint
 * only: Redis holds the applied offsets). 0 or SK_EIO (Redis). */
int sk_emit_pump(sk_engine_t *e);
/* Pumps until everything staged for partition p (or all owned ones) is
 * acknowledged and trimmed, or 30 s passed, committing the input offsets
 * at each pass. 0, SK_EIO. */
int sk_emit_flush_partition(sk_engine_t *e, int32_t p);
int sk_emit_flush_all(sk_engine_t *e);
/* The same for at most timeout_ms (and never past e->stop_deadline). */
int sk_emit_flush_within(sk_engine_t *e, int32_t p, int timeout_ms);
/* Forgets partition p's chunks in flight and everything held in memory for
 * it: its staged entries and its users' cached states (before it is reset
 * or released, and after any doubt). */
void sk_emit_forget(sk_engine_t *e, int32_t p);
/*
 * sk_emit_staged — partition p's step, applied by Redis, appended these n
 * entries to its outbox: kept in memory (copies) and produced from there
 * while the memory copy is in step with the outbox; otherwise (after a
 * claim, a failed chunk, more than 4 MiB waiting) the outbox is
 * read back from Redis until its end.
 */
void sk_emit_staged(sk_engine_t *e, int32_t p, const sk_outbox_entry_t *out, size_t n);
/* The outbox of p is read back from Redis from here on (a new claim). */
void sk_emit_reread(sk_engine_t *e, int32_t p);
/* Another instance owns partition p now (SK_EFENCED, found by any path):
 * logs `why`, forgets its chunks (their trims are the new owner's), stops
 * owning it and counts it in stats.fenced. The one way to let go. */
void sk_emit_let_go(sk_engine_t *e, int32_t p, const char *why);

/* ledger.c */
/* Creates the changelog reader. 0, or SK_EINVAL with err. */
int sk_ledger_open(sk_engine_t *e, char *err, size_t err_len);
void sk_ledger_close(sk_engine_t *e);
/*
 * sk_ledger_stage — the changelog record of one step of partition p: the
 * user's whole state `st` (user and st NULL: a step without a user, key
 * ""), its timer and
 * expiry, and the applied offsets parts[p].ledger_off; *out becomes its
 * outbox entry (arena memory) and *seq its new step sequence. 0 or an
 * encoder's error.
 */
int sk_ledger_stage(sk_engine_t *e, int32_t p, const char *user, const sk_user_state_t *st,
                    sk_ms_t next_wake_ms, sk_ms_t keep_until_ms, sk_outbox_entry_t *out,
                    int64_t *seq);
/* The last step sequence in changelog partition p (0 when it is empty).
 * 0, or SK_EIO when Kafka does not answer (logged). */
int sk_ledger_tail(sk_engine_t *e, int32_t p, int64_t *seq);
/* The same for n partitions at once (their last records read in one pass,
 * not one after the other): seqs[i] for ps[i]. 0 or SK_EIO. */
int sk_ledger_tail_many(sk_engine_t *e, const int32_t *ps, size_t n, int64_t *seqs);
/*
 * sk_ledger_restore — rebuilds partition p in Redis from the changelog read
 * from its beginning to its end, under the new epoch `epoch`: users, their
 * timers and expiries, the on-call index, the applied offsets; then the
 * partition resumes from there (with `seek`, the consumer is moved back to
 * the restored offsets and what was already polled of p is dropped). Logs
 * and counts it. 0, or SK_EIO (Kafka or Redis; the partition stays lost).
 */
int sk_ledger_restore(sk_engine_t *e, int32_t p, int64_t epoch, bool seek);
/* Checks every owned partition at once (sk_store_check_many): one whose
 * state was lost is marked so (restored by sk_partition_ensure), one
 * fenced is left. 0 or SK_EIO. */
int sk_ledger_check(sk_engine_t *e);

/* partition.c */
/* Claims partition p in Redis (a new epoch) and marks its outbox to be
 * re-sent by the next pumps (without waiting for Kafka); when Redis is
 * behind the changelog (its step sequence below the ledger's), restores
 * the partition from it first. 0, or the store's or the ledger's error (the
 * epoch is then 0: claim again before first use). */
int sk_partition_take(sk_engine_t *e, int32_t p);
/* Takes n partitions at once, as sk_partition_take each, with their
 * changelogs read in one pass (the assignment: recovery time). rcs[i] for
 * ps[i]. */
void sk_partition_take_many(sk_engine_t *e, const int32_t *ps, size_t n, int *rcs);
/* Takes partition p unless we hold a claim already (the claim could not be
 * made at assignment if Redis was down then) and its state is not lost; a
 * lost state is restored from the changelog (the consumer moved back).
 * Same return codes. */
int sk_partition_ensure(sk_engine_t *e, int32_t p);
/* The partition count of the input topics (from the cluster's metadata,
 * cached until the next assignment): the on-call index is read from every
 * partition, owned or not. 0, or SK_EIO when the metadata cannot be had. */
int sk_partition_count(sk_engine_t *e, int32_t *n);

/* apply.c: decode + decide + apply a batch of input records, with one
 * pipelined state load and one pipelined apply. 0; SK_EIO (reconnect, then
 * retry the same batch: what was applied is skipped); SK_EAGAIN (a
 * partition was claimed again: retry now); other codes: retry later. */
int sk_apply_batch(sk_engine_t *e, rd_kafka_message_t *const *msgs, size_t n);
/* Decides + applies the timer of one user. Same return codes, and
 * SK_EFENCED when the partition was left to its new owner. */
int sk_apply_timer(sk_engine_t *e, int32_t partition, const char *user, sk_ms_t now);
/* The same for any input without a record (SK_INPUT_TIMER, SK_INPUT_RULES). */
int sk_apply_redecide(sk_engine_t *e, int32_t partition, const char *user, sk_ms_t now,
                      sk_input_kind_t kind);

/* sweep.c: after the rules changed from `old` to e->rules, decides again,
 * now, every user of the owned partitions whose state names an entitlement
 * or rotation the change altered or removed (rules.h,
 * sk_rules_entitlement_same). 0, or the first error (SK_EIO, SK_ENOMEM):
 * then the caller keeps `old` and sweeps again later. */
int sk_sweep_rules(sk_engine_t *e, const sk_rules_t *old, sk_ms_t now);

/* sweep.c: decides again, now, every user of each owned partition whose
 * state was decided with other rules than e->rules (rules_unknown, set by
 * the claim: a partition claimed after a rebalance, a restart with new
 * rules or a restore from the changelog), then records the rules version
 * with the partition (fenced). 0, or the first error: the partitions left
 * keep rules_unknown and are swept again at the next turn. */
int sk_sweep_claimed(sk_engine_t *e, sk_ms_t now);

/*
 * stuck.c — commands that take access away are never dropped:
 * sk_held_wanted: true for a commands-topic record that is not a GRANT
 * (or cannot be read), which must be held rather than dropped when refused.
 * sk_held_keep: holds a copy of the record of partition p; persist writes
 * it to the partition's held list in Redis first (fenced: 0, SK_EFENCED,
 * SK_EIO, SK_ENOMEM), as for a refusal (ERROR line and audit
 * `output_held`); without persist it is only queued to be produced at the
 * next pump (the fail-closed REVOKEs). An identical entry is kept once.
 * sk_held_load: the held list of a partition just claimed, into memory.
 * sk_held_pump: produces the entries due (backoff 1 s -> 60 s) and removes
 * those Kafka took (fenced; a Redis error is returned, retried next pump).
 * sk_held_report: the delivery report of a held record (its ticket, the
 * opaque it was produced with, is freed; err 0 or a Kafka error).
 * sk_held_refuse_by_failpoint: true when the refuse-takeaway failpoint
 * (failpoint.h) refuses this record (a command that takes access away).
 * sk_held_count: entries Kafka refused and has not yet taken.
 * sk_held_destroy: frees every entry (at engine destroy).
 */
bool sk_held_wanted(sk_engine_t *e, int topic, const void *value, size_t value_len);
int sk_held_keep(sk_engine_t *e, int32_t p, int topic, const void *key, size_t key_len,
                 const void *value, size_t value_len, const char *why, bool persist);
int sk_held_load(sk_engine_t *e, int32_t p);
int sk_held_pump(sk_engine_t *e, sk_ms_t now);
void sk_held_report(sk_engine_t *e, void *ticket, int err);
bool sk_held_refuse_by_failpoint(sk_engine_t *e, int topic, const void *value, size_t len);
size_t sk_held_count(const sk_engine_t *e);
void sk_held_destroy(sk_engine_t *e);

/* timers.c: the scan, every --timer-interval-ms: checks the owned
 * partitions against the ledger (restoring a lost one), claims those that
 * need it and fires every timer due at `now`. 0, or the first other error
 * of the store or apply (what is left waits for the next scan). */
int sk_timers_fire(sk_engine_t *e, sk_ms_t now);
/* Between scans: fires the timers due at `now` of the owned partitions
 * whose earliest due time has come (reading it first where it is not
 * known: one pipelined round trip). Same return codes. */
int sk_timers_fire_due(sk_engine_t *e, sk_ms_t now);
/* The earliest due time over the owned partitions as known (SK_MS_NONE:
 * none; a partition whose due time is unknown counts as due now). */
sk_ms_t sk_timers_next_due(const sk_engine_t *e);

/* keep_sweep.c: one chunk of the sweep of states past their keep-until,
 * when its time has come (a no-op otherwise); never fails the loop. */
void sk_keep_sweep(sk_engine_t *e, sk_ms_t now);

/* consume.c */
/* Creates the consumer (manual commits, range assignment, the "consumer"
 * settings of cfg.kafka_props) and subscribes to the input topics;
 * partitions are claimed as they are assigned. 0, or SK_EINVAL with err. */
/* Loads cfg->schema_dir into the codec and sets the schema registry
 * lookup (schema_registry.c). 0, or SK_EINVAL with the reason in err. */
int sk_engine_schemas_open(sk_engine_t *e, const sk_engine_config_t *cfg, char *err,
                           size_t err_len);

/* Samples the engine's state into its metrics, at most once a second. */
void sk_engine_metrics_sample(sk_engine_t *e, sk_ms_t now);

int sk_consume_open(sk_engine_t *e, char *err, size_t err_len);
/* Leaves the group (the revocation flushes what is staged and commits) and
 * destroys the consumer. Safe when sk_consume_open failed or never ran. */
void sk_consume_close(sk_engine_t *e);

#endif
