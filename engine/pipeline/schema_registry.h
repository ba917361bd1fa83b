/*
 * schema_registry.h — where the engine finds writer schemas beyond those
 * it was built with (codec.h, "Schema evolution"): a directory of schema
 * files, and an HTTP schema registry with the Confluent API
 * (GET /schemas/ids/{id}), asked for ids nothing else knows.
 */
#ifndef SK_SCHEMA_REGISTRY_H
#define SK_SCHEMA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"

/*
 * sk_schema_dir_load — registers with the codec every writer schema file
 * of dir and of its subdirectories (one level): files named ID.avsc or
 * ID_anything.avsc, ID the schema id. A file that does not parse or cannot
 * be resolved is logged (its records will be dead letters saying why) and
 * counted in *refused. Returns the number of files read, or -1 with the
 * reason in err when dir cannot be read.
 */
int sk_schema_dir_load(sk_codec_t *codec, const char *dir, size_t *refused, char *err,
                       size_t err_len);

typedef struct sk_schema_registry sk_schema_registry_t;

/* A client of the registry at base_url (http[s]://host:port[/path]; user
 * and password, if any, in the URL). NULL when out of memory. */
sk_schema_registry_t *sk_schema_registry_new(const char *base_url);
void sk_schema_registry_destroy(sk_schema_registry_t *r);

/*
 * sk_schema_registry_lookup — an sk_codec_lookup_fn (ctx: the registry):
 * GET <base>/schemas/ids/<id> with a 2 s timeout. 0 with *json the schema
 * (malloc'd); SK_ENOTFOUND on 404 (a definite answer: its records are dead
 * letters); SK_EIO with the reason otherwise — connect error, timeout, 5xx,
 * a body that is not a schema: an outage, whose records wait (hold.c).
 */
int sk_schema_registry_lookup(void *ctx, int32_t id, char **json, char *reason, size_t reason_len);

#endif
