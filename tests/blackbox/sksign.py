"""sksign — shiftkey's signature envelope, written with python3-nacl only.

The black-box counterpart of engine/codec/envelope.c, written from the byte
format documented in engine/codec/envelope.h without any of its code: one
Kafka header "sk-sig" whose value is

    u8 version (1) | u8 L | signer id (L bytes) | i64 issued_at (ms, BE) | 64-byte signature

and the Ed25519 signature covers

    b"shiftkey.sig.v1" | u32 len(topic) topic | u32 len(key) key |
    u32 len(value) value | u8 L signer | i64 issued_at          (BE integers)

Also: reading a key file written by `shiftkey keygen`, and making a copy of
a rule set with `signers:` for a set of people (their keys made by the CLI),
so black-box tests run the engine with signatures on.
"""

import base64
import os
import shutil
import struct
import subprocess
import time

import nacl.exceptions
import nacl.signing

HEADER = "sk-sig"
DOMAIN = b"shiftkey.sig.v1"


def _b(x):
    if x is None:
        return b""
    return x.encode() if isinstance(x, str) else bytes(x)


def message(topic, key, value, signer, issued_at):
    """The bytes an envelope's signature covers."""
    topic, key, value, signer = _b(topic), _b(key), _b(value), _b(signer)
    return (DOMAIN + struct.pack(">I", len(topic)) + topic + struct.pack(">I", len(key)) + key +
            struct.pack(">I", len(value)) + value + bytes([len(signer)]) + signer +
            struct.pack(">q", issued_at))


def envelope(signing_key, signer, topic, key, value, issued_at=None):
    """The "sk-sig" header value of (topic, key, value) signed by signing_key."""
    if issued_at is None:
        issued_at = int(time.time() * 1000)
    s = _b(signer)
    sig = signing_key.sign(message(topic, key, value, s, issued_at)).signature
    return bytes([1, len(s)]) + s + struct.pack(">q", issued_at) + sig


def parse(env):
    """(signer, issued_at, signature) of an envelope; ValueError if malformed."""
    if len(env) < 2 or env[0] != 1 or env[1] == 0 or len(env) != 2 + env[1] + 8 + 64:
        raise ValueError("malformed envelope of %d bytes" % len(env))
    n = env[1]
    signer = env[2:2 + n].decode("ascii")
    (issued_at,) = struct.unpack(">q", env[2 + n:10 + n])
    return signer, issued_at, env[10 + n:]


def verify(public_key_b64, env, topic, key, value):
    """(signer, issued_at) when env verifies; raises nacl BadSignatureError if not."""
    signer, issued_at, sig = parse(env)
    vk = nacl.signing.VerifyKey(base64.b64decode(public_key_b64))
    vk.verify(message(topic, key, value, signer, issued_at), sig)
    return signer, issued_at


def read_key(path):
    """(signer, nacl SigningKey) of a key file written by `shiftkey keygen`."""
    with open(path, encoding="ascii") as f:
        magic, signer, seed = f.read().split()
    if magic != "shiftkey-ed25519-v1":
        raise ValueError("%s: not a shiftkey key file" % path)
    return signer, nacl.signing.SigningKey(base64.b64decode(seed))


def public_b64(signing_key):
    return base64.b64encode(bytes(signing_key.verify_key)).decode()


def keygen(cli, key_dir, ident):
    """Runs `shiftkey keygen` for ident into key_dir; returns the printed public key."""
    out = subprocess.run([cli, "keygen", ident, "--key-dir", key_dir], capture_output=True,
                         text=True, timeout=10, check=True)
    return out.stdout.strip()


def people_of(rules_dir):
    """The person ids of a rules directory (the `- id:` entries under `people:`)."""
    ids = []
    for name in sorted(os.listdir(rules_dir)):
        if not name.endswith((".yaml", ".yml")):
            continue
        section = None
        with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
            for line in f:
                if line[:1].isalpha():
                    section = line.split(":")[0]
                elif section == "people" and line.lstrip().startswith("- id:"):
                    ids.append(line.split("id:", 1)[1].split("#")[0].strip().strip("'\""))
    return ids


def signed_rules(cli, src, dst, key_dir, people, fronts=None, window=None):
    """Copies the rules directory src to dst and adds dst/signers.yaml declaring a key
    (made by the CLI into key_dir) for each person, plus fronts: {id: (pub_b64,
    [vouches_for...])}. Returns {id: public key}."""
    shutil.copytree(src, dst)
    os.makedirs(key_dir, mode=0o700, exist_ok=True)
    pubs = {}
    lines = ["# written by tests/blackbox/sksign.py", "signers:"]
    for p in people:
        if not os.path.exists(os.path.join(key_dir, p + ".key")):
            pubs[p] = keygen(cli, key_dir, p)
        else:
            pubs[p] = public_b64(read_key(os.path.join(key_dir, p + ".key"))[1])
        lines += ["  - id: %s" % p, "    public_keys: [\"%s\"]" % pubs[p]]
    for fid, (pub, vouches) in (fronts or {}).items():
        pubs[fid] = pub
        lines += ["  - id: %s" % fid, "    front: true", "    public_keys: [\"%s\"]" % pub,
                  "    vouches_for: [%s]" % ", ".join(vouches)]
    if window:
        lines.append("signing_window: %s" % window)
    with open(os.path.join(dst, "signers.yaml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return pubs
