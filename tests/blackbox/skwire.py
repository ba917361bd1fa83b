"""skwire — shiftkey's wire format, read and written with python3-avro only.

A black-box counterpart of engine/codec/codec.c written without any of its code:
it loads the schema files (../../schemas/*.avsc, relative to this module)
and applies the framing of engine/codec/codec.h: one magic byte 0x00, the schema
id as a 4-byte big-endian integer, then the Avro binary body.

    data = encode("schedule_event", {...})     # framed bytes
    name, record = decode(data)                 # ("schedule_event", {...})

Times are plain integers (milliseconds since the Unix epoch): the
`logicalType: timestamp-millis` annotations are dropped when the schemas are
loaded, because python-avro would otherwise turn them into datetime objects,
which cannot hold every long (shiftkey uses INT64_MAX for "never"). The
bytes on the wire are the same either way. Enums are their symbol strings,
Avro bytes are Python bytes, a null union branch is None.
"""

import io
import json
import os
import struct

import avro.io
import avro.schema

SCHEMA_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas"))

# Fixed schema ids: SK_SCHEMA_ID_* in engine/codec/codec.h.
SCHEMA_IDS = {
    "schedule_event": 1001,
    "command": 1002,
    "audit_record": 1003,
    "dead_letter": 1004,
    "access_request_event": 1010,
    "task_event": 1011,
    "provisioning_result": 1012,
}
NAMES_BY_ID = {v: k for k, v in SCHEMA_IDS.items()}

MAGIC = 0
HEADER_LEN = 5


class WireError(ValueError):
    """Bytes that are not one framed shiftkey record."""


def _strip_logical_types(node):
    if isinstance(node, dict):
        return {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


def _load(name):
    with open(os.path.join(SCHEMA_DIR, name + ".avsc"), encoding="utf-8") as f:
        doc = json.load(f)
    return avro.schema.parse(json.dumps(_strip_logical_types(doc)))


_SCHEMAS = {}


def schema(name):
    """The parsed avro.schema of schemas/NAME.avsc (loaded once)."""
    if name not in SCHEMA_IDS:
        raise KeyError("unknown shiftkey schema %r (known: %s)" % (name, ", ".join(SCHEMA_IDS)))
    if name not in _SCHEMAS:
        _SCHEMAS[name] = _load(name)
    return _SCHEMAS[name]


def encode(schema_name, record):
    """Framed bytes of `record` (a dict) written with schemas/SCHEMA_NAME.avsc.

    Raises avro.errors.AvroTypeException (or a subclass of ValueError) when
    the record does not match the schema. A top-level field the record
    lacks takes the schema's default when it has one (a writer that predates
    the field), so callers written for an earlier version keep working."""
    sch = schema(schema_name)
    if isinstance(record, dict):
        missing = {f.name: f.default for f in sch.fields
                   if f.name not in record and f.has_default}
        if missing:
            record = dict(record, **missing)
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", MAGIC, SCHEMA_IDS[schema_name]))
    avro.io.DatumWriter(sch).write(record, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def schema_id(data):
    """Schema id of framed bytes; WireError if they are not framed."""
    if len(data) == 0:
        raise WireError("empty record (0 bytes)")
    if data[0] != MAGIC:
        raise WireError("not shiftkey framing: first byte 0x%02x, expected 0x00" % data[0])
    if len(data) < HEADER_LEN:
        raise WireError("truncated record: %d bytes, the header alone is %d"
                        % (len(data), HEADER_LEN))
    return struct.unpack(">I", data[1:HEADER_LEN])[0]


def decode(data):
    """(schema_name, record dict) of one framed record.

    Checks the framing, picks the schema by its id, and refuses bytes left
    over after the record. Raises WireError (a ValueError) on bad framing, an
    unknown schema id, truncation or trailing bytes."""
    data = bytes(data)
    sid = schema_id(data)
    if sid not in NAMES_BY_ID:
        raise WireError("unknown schema id %d (known: %s)"
                        % (sid, ", ".join(str(i) for i in sorted(NAMES_BY_ID))))
    name = NAMES_BY_ID[sid]
    body = io.BytesIO(data[HEADER_LEN:])
    try:
        record = avro.io.DatumReader(schema(name)).read(avro.io.BinaryDecoder(body))
    except (EOFError, struct.error, UnicodeDecodeError, IndexError) as e:
        raise WireError("not a valid %s: %s" % (name, e)) from e
    except Exception as e:  # python-avro raises assorted errors on bad data
        if type(e).__module__.startswith("avro"):
            raise WireError("not a valid %s: %s" % (name, e)) from e
        raise
    left = len(data) - HEADER_LEN - body.tell()
    if left:
        raise WireError("%d trailing bytes after the %s record" % (left, name))
    return name, record
