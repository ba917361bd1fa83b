/*
 * store.h — shiftkey's state in Redis, through hiredis (one connection,
 * one thread). Every key of a Kafka partition shares the hash tag {p<N>}, so
 * one Lua script can change a user's state, record the applied offset and
 * stage the outputs atomically, and the layout works on Redis Cluster:
 *
 *   <prefix>:{p<N>}:epoch      owner epoch (INCR on every assignment)
 *   <prefix>:{p<N>}:offsets    hash: input topic -> last applied offset,
 *                              "#seq" -> the last step sequence applied
 *                              (the ledger's, see pipeline/ledger.c), and
 *                              "#layout" -> "2", the layout below (a
 *                              partition without it is refused as lost and
 *                              rebuilt from the changelog: see the fence)
 *   <prefix>:{p<N>}:outbox     list: staged output records, oldest first
 *   <prefix>:{p<N>}:timers     sorted set: user -> due time (ms) of its
 *                              next wake-up; none for the time its state
 *                              may be dropped alone
 *   <prefix>:{p<N>}:users      hash: user -> the user's state, packed
 *                              (codec/state_pack.h); no TTL: a value past
 *                              its keep-until reads as empty and the
 *                              engine's sweep deletes it (keep_sweep.c)
 *   <prefix>:{p<N>}:oncall     hash: the partition's on-call index, field
 *                              "<rotation> <field>" (decide/oncall_index.h)
 *
 * On a Redis Cluster (sk_store_config_t.cluster) each partition's
 * commands go to the master of its slot (store_route.h); every function
 * below works the same there, and an unreachable master is SK_EIO like a
 * server down (the store is then disconnected, and reconnected whole).
 *
 * The store moves bytes, not meaning: it writes and reads a user's packed
 * value whole, and knows nothing of the decision model. What the packed
 * fields mean is decide/state.h's (packed by codec/state_pack.h); what the
 * on-call index holds is decide/oncall_index.h's; load.h reads both back
 * into that model, and apply.c turns a decision into an sk_store_writes_t.
 *
 * Errors: SK_EIO means the connection failed (it is closed; call
 * sk_store_connect again, with backoff); SK_EFENCED means another instance
 * claimed the partition since our epoch; SK_ENOTFOUND means the partition's
 * state is lost: no epoch at all in Redis (its data was lost or flushed), an
 * epoch below ours or a step sequence below the ledger's (Redis went back
 * in time: a failover to a replica that lagged) — restore it from the
 * changelog.
 */
#ifndef SK_STORE_H
#define SK_STORE_H

#include <stdbool.h>

#include "base/arena.h"
#include "base/sk.h"
#include "codec/state_pack.h"

typedef struct sk_store_config {
    const char *host;      /* default 127.0.0.1 */
    int port;              /* default 6379 */
    const char *unix_path; /* used instead of host:port when set */
    const char *cluster;   /* "HOST:PORT[,…]": Redis Cluster seed nodes (store_route.h);
                              NULL: one server at host:port or unix_path */
    const char *user;      /* ACL user for AUTH; NULL = "default" */
    const char *password;  /* NULL = no AUTH */
    const char *prefix;    /* key prefix, default "sk" */
    int timeout_ms;        /* per command, default 2000 */
} sk_store_config_t;

typedef struct sk_store sk_store_t;

/* Output topics an outbox entry can go to. */
typedef enum sk_out_topic {
    SK_OUT_COMMANDS = 0,
    SK_OUT_AUDIT = 1,
    SK_OUT_DEADLETTER = 2,
    SK_OUT_TASKS = 3,
    SK_OUT_CHANGELOG = 4, /* to the partition of the outbox, not by key */
    SK_OUT_TOPIC_COUNT
} sk_out_topic_t;

/* One staged output record. Bytes are borrowed (or arena-owned when read). */
typedef struct sk_outbox_entry {
    sk_out_topic_t topic;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
} sk_outbox_entry_t;

/* One field of a user's state: name and value as bytes (not
 * NUL-terminated), the unit codec/state_pack.h packs. */
typedef sk_packed_field_t sk_store_field_t;

/* A user's value as read: the packed bytes (codec/state_pack.h) in arena
 * memory; len 0 when the user has none. */
typedef struct sk_store_value {
    const void *bytes;
    size_t len;
} sk_store_value_t;

/* What a step does to the user's value. */
typedef enum sk_store_value_op {
    SK_STORE_VALUE_KEEP = 0, /* unchanged: not written */
    SK_STORE_VALUE_SET = 1,  /* written whole (value, value_len) */
    SK_STORE_VALUE_DEL = 2   /* the state is empty (or may be dropped): deleted */
} sk_store_value_op_t;

/* One field of the on-call index of a rotation, stored in the partition's
 * hash <prefix>:{p<N>}:oncall as "<rotation> <field>" (NUL-terminated
 * strings). As a write, a NULL value deletes the field; read
 * back, value is never NULL. */
typedef struct sk_store_oncall_field {
    const char *rotation; /* which rotation */
    const char *field;
    const char *value;
} sk_store_oncall_field_t;

/*
 * Everything one input changes in its partition, applied atomically by
 * sk_store_apply: the user's packed value whole, built by the caller
 * (apply.c) from a decision. Every pointer is borrowed for the duration of
 * the call.
 */
typedef struct sk_store_writes {
    int32_t partition;
    int64_t epoch;                /* our claim; the writes are refused under another */
    const char *topic;            /* input topic; NULL for a timer */
    int64_t offset;               /* input offset; ignored for timers */
    const char *user;             /* NULL: no user value or timer is touched (dead letters) */
    sk_store_value_op_t value_op; /* what happens to the user's value */
    const void *value;            /* SK_STORE_VALUE_SET: the packed state */
    size_t value_len;
    sk_ms_t next_wake_ms; /* the user's timer; SK_MS_NONE removes it */
    size_t n_oncall;      /* on-call index writes, in order */
    const sk_store_oncall_field_t *oncall;
    size_t n_out; /* records appended to the outbox, in order */
    const sk_outbox_entry_t *out;
    int64_t seq_floor; /* the step sequence the ledger has reached: a Redis below it
                            lost state (refused, SK_ENOTFOUND) */
    int64_t seq;       /* this step's sequence (its changelog record is in out); 0 none */
} sk_store_writes_t;

/* One user as the changelog has it, for sk_store_restore. */
typedef struct sk_store_restore_user {
    const char *user;
    const void *value; /* the packed state; value_len 0: none (a timer alone is still set) */
    size_t value_len;
    sk_ms_t next_wake_ms; /* SK_MS_NONE: no timer */
} sk_store_restore_user_t;

/* A partition's state rebuilt from the changelog. Pointers borrowed. */
typedef struct sk_store_restore {
    int32_t partition;
    int64_t epoch; /* our new claim, set last */
    int64_t seq;   /* the ledger's last step sequence */
    size_t n_users;
    const sk_store_restore_user_t *users;
    size_t n_oncall; /* on-call index fields to set */
    const sk_store_oncall_field_t *oncall;
    size_t n_offsets; /* applied offsets: topics[i] -> offsets[i] */
    const char *const *topics;
    const int64_t *offsets;
} sk_store_restore_t;

/*
 * sk_store_config_address — fills cfg's host/port or unix_path from
 * "HOST:PORT", "HOST" (port 6379) or "unix:PATH", or its cluster seeds from
 * "redis-cluster://HOST:PORT[,HOST:PORT…]" (host/port then name the first
 * seed, for messages). The host is copied into host_buf (host_len bytes);
 * unix_path and cluster point into address: both must outlive cfg. 0, or
 * SK_EINVAL for an empty host, a host too long or a port outside 1..65535.
 */
int sk_store_config_address(sk_store_config_t *cfg, const char *address, char *host_buf,
                            size_t host_len);

/*
 * sk_store_password — the Redis password: the first line of `file` when it
 * is given (NULL when it cannot be read), else $SHIFTKEY_REDIS_PASSWORD, else
 * NULL (no AUTH). Never from the command line, which others can read. The
 * caller frees the result.
 */
char *sk_store_password(const char *file);

/* Copies cfg (strings too). Does not connect. NULL on allocation failure. */
sk_store_t *sk_store_new(const sk_store_config_t *cfg);
void sk_store_destroy(sk_store_t *store);

/* (Re)connects, authenticates and loads the scripts. 0, or SK_EIO with a
 * reason readable through sk_store_last_error. */
int sk_store_connect(sk_store_t *store);
bool sk_store_connected(const sk_store_t *store);

/* The last error text (never NULL; "" when none). Owned by the store. */
const char *sk_store_last_error(const sk_store_t *store);

/* Claims a partition: INCR of its epoch; *epoch gets the new value. */
int sk_store_claim(sk_store_t *store, int32_t partition, int64_t *epoch);

/*
 * sk_store_claim_above — the same, with an epoch of at least min_epoch (an
 * epoch that went back after a data loss must not fence us out), and
 * *seq the partition's last step sequence in Redis (0 when none). 0 or
 * SK_EIO.
 */
int sk_store_claim_above(sk_store_t *store, int32_t partition, int64_t min_epoch, int64_t *epoch,
                         int64_t *seq);

/*
 * sk_store_check_many — the fence of the scripts alone, for n partitions
 * pipelined: rcs[i] is 0 (Redis holds epochs[i] and a step sequence of at
 * least seq_floors[i]), SK_EFENCED, SK_ENOTFOUND (state lost) or SK_EIO.
 * Returns SK_EIO when the connection failed, SK_ENOMEM, else 0.
 */
int sk_store_check_many(sk_store_t *store, size_t n, const int32_t *partitions,
                        const int64_t *epochs, const int64_t *seq_floors, int *rcs);

/*
 * sk_store_restore — rebuilds a partition: deletes its epoch, then every
 * key of it but the outbox (whatever is staged is still re-sent), writes
 * the users' values and timers, the on-call index, the applied offsets,
 * the step sequence and the layout mark, and sets the epoch last, so a restore cut
 * short reads as lost and is made again. 0, SK_EIO or SK_ENOMEM.
 */
int sk_store_restore(sk_store_t *store, const sk_store_restore_t *restore);

/* Last applied offset of topic in partition, or -1 when none. */
int sk_store_applied_offset(sk_store_t *store, int32_t partition, const char *topic,
                            int64_t *offset);

/*
 * sk_store_apply — one atomic step: checks the epoch and the step
 * sequence (seq_floor), skips the input if its
 * offset was applied already (*applied = false), else writes the user's
 * value (or deletes it), the on-call index fields, the timer, the
 * applied offset, the step sequence (seq, when not 0), and appends the
 * outbox entries (*applied = true). Returns
 * 0, SK_EFENCED (another owner's epoch), SK_ENOTFOUND (no epoch in Redis),
 * or SK_EIO (the connection failed, or the script cache was lost twice in a
 * row). Nothing is written unless 0 is returned with *applied.
 */
int sk_store_apply(sk_store_t *store, const sk_store_writes_t *w, bool *applied);

/*
 * sk_store_apply_many — the same for n inputs, in order: one script call
 * per partition taking all of its inputs (pipelined: one round trip for
 * the batch), which writes each kind once for all of them (one HSET of the
 * users' last values and one HDEL, one ZADD and one ZREM of the timers, one
 * HSET and one HDEL of the on-call index, the offsets, the outbox). applied[i] and rcs[i] (0, SK_EFENCED, SK_ENOTFOUND or SK_EIO)
 * tell each one's fate. When Redis lost its script cache, the scripts are
 * loaded again and the refused inputs sent once more, in order; refused
 * again, they stay SK_EIO. Returns SK_EIO when the connection failed or the
 * retry was refused (inputs whose reply was not read are marked SK_EIO:
 * they may or may not have run, which the offset check makes harmless to
 * retry), SK_ENOMEM, else 0.
 */
int sk_store_apply_many(sk_store_t *store, const sk_store_writes_t *w, size_t n, bool *applied,
                        int *rcs);

/* Reads n users' packed values pipelined (one HMGET per partition, one round trip):
 * out[i] for users[i] in partitions[i] (len 0 when the user has none),
 * copied into arena. A users key of another type is SK_EIO. 0, SK_EIO or
 * SK_ENOMEM. */
int sk_store_read_users(sk_store_t *store, size_t n, const int32_t *partitions,
                        const char *const *users, sk_arena_t *arena, sk_store_value_t *out);

/*
 * sk_store_scan_users — every user with state, or only `user` when not NULL,
 * found with SCAN (the partitions' users hashes) and HSCAN (for operators'
 * tools, not the hot path): their partitions and ids, in arena memory. 0,
 * SK_EIO or SK_ENOMEM.
 */
int sk_store_scan_users(sk_store_t *store, const char *user, sk_arena_t *arena,
                        int32_t **partitions, const char ***users, size_t *n);

/*
 * The rules version a partition's state was decided with (store_marks.c):
 * sk_store_rules_mark_get copies it into buf ("" when none was recorded, or
 * it does not fit len), 0 or SK_EIO; sk_store_rules_mark_set records it
 * while `epoch` still owns the partition: 0, SK_EFENCED or SK_EIO.
 */
int sk_store_rules_mark_get(sk_store_t *store, int32_t partition, char *buf, size_t len);
int sk_store_rules_mark_set(sk_store_t *store, int32_t partition, int64_t epoch,
                            const char *version);

/*
 * sk_store_keep_sweep — one chunk of partition p's users hash (HSCAN from
 * *cursor, about `count` fields), deleting the values whose packed
 * keep-until is at or before `now` (store_keep.c), only while `epoch` owns
 * the partition. *cursor becomes the next one (0: the scan is done); the
 * users deleted go to *users (*n, NUL-terminated copies in arena). 0,
 * SK_EFENCED, SK_EIO or SK_ENOMEM.
 */
int sk_store_keep_sweep(sk_store_t *store, int32_t partition, int64_t epoch, uint64_t *cursor,
                        size_t count, sk_ms_t now, sk_arena_t *arena, char ***users, size_t *n);

/*
 * A partition's held commands (store_held.c, see pipeline/stuck.c):
 * sk_store_held_add appends a packed record unless the list has it,
 * sk_store_held_del removes it, both only while `epoch` owns the partition
 * (0, SK_EFENCED or SK_EIO); sk_store_held_read copies every record into
 * arena memory (*blobs, *lens, *n): 0, SK_EIO or SK_ENOMEM.
 */
int sk_store_held_add(sk_store_t *store, int32_t partition, int64_t epoch, const void *blob,
                      size_t len);
int sk_store_held_del(sk_store_t *store, int32_t partition, int64_t epoch, const void *blob,
                      size_t len);
int sk_store_held_read(sk_store_t *store, int32_t partition, sk_arena_t *arena, void ***blobs,
                       size_t **lens, size_t *n);

/*
 * sk_store_oncall_read — the on-call index of the given rotations in
 * partitions 0..n_partitions-1 (all of them, owned or not), one HGETALL
 * of each partition's index hash, pipelined in one round trip, keeping the
 * fields of those rotations. *out gets every field (rotation
 * borrowed from `rotations`, field and value copied), in arena memory.
 * 0, SK_EIO or SK_ENOMEM.
 */
int sk_store_oncall_read(sk_store_t *store, int32_t n_partitions, const char *const *rotations,
                         size_t n_rotations, sk_arena_t *arena, sk_store_oncall_field_t **out,
                         size_t *n);

/*
 * sk_store_seen_once — the replay memory of signed input: *first = true
 * when (partition, user, event_id) was not seen in the last ttl_ms, or was
 * seen only as this very record (tag, e.g. "topic@offset": a record read
 * again after a crash is not a replay of itself); false for a replay.
 * Remembers it for ttl_ms. 0 or SK_EIO.
 */
int sk_store_seen_once(sk_store_t *store, int32_t partition, const char *user, const char *event_id,
                       const char *tag, sk_ms_t ttl_ms, bool *first);

/* Reads up to max staged entries, oldest first, into arena memory. */
int sk_store_outbox_read(sk_store_t *store, int32_t partition, size_t max, sk_arena_t *arena,
                         sk_outbox_entry_t **out, size_t *n);

/* The same from the start-th entry (0 = the oldest). */
int sk_store_outbox_read_from(sk_store_t *store, int32_t partition, size_t start, size_t max,
                              sk_arena_t *arena, sk_outbox_entry_t **out, size_t *n);

/* Drops the n oldest staged entries, if epoch still owns the partition and
 * its state is not lost (the fence of sk_store_apply, same codes). */
int sk_store_outbox_trim(sk_store_t *store, int32_t partition, int64_t epoch, int64_t seq_floor,
                         size_t n);

/*
 * sk_store_next_due_many — the earliest due time of each of n partitions'
 * timer sets (ZRANGE 0 0 WITHSCORES, pipelined: one round trip): due[i]
 * for partitions[i], SK_MS_NONE when the set is empty. 0 or SK_EIO.
 */
int sk_store_next_due_many(sk_store_t *store, size_t n, const int32_t *partitions, sk_ms_t *due);

/* Users whose timer is due at `now`, at most max, into arena memory. */
int sk_store_due_users(sk_store_t *store, int32_t partition, sk_ms_t now, size_t max,
                       sk_arena_t *arena, const char ***users, size_t *n);

#endif
