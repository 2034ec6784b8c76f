"""Fuzzing the checkpoint reader: damaged files load equal or raise CheckpointError, nothing else.

Two kinds of damage: raw (truncations, byte and bit flips, insertions, deletions -- caught by
the JSON parser or the checksum) and structural (a random value of the parsed document
replaced by another JSON value, the checksum recomputed so the decoder itself is exercised).
Whatever loads is compared with what was saved: a raw-damaged file that loads must give back
exactly ``PAYLOAD``; a structurally damaged one must give back exactly the damaged document
(saved again, it is the same JSON).
"""
import copy
import hashlib
import json
import random
import time

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from nnpy.errors import CheckpointError
from nnpy.io.checkpoint import dumps_checkpoint, loads_checkpoint

from .test_checkpoint import assert_same

PAYLOAD = {
    "params": {"dense.W": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
               "dense.b": np.zeros(4, np.float64), "mask": np.array([True, False, True])},
    "buffers": {"idx": np.arange(5, dtype=np.int64), "u8": np.array([0, 255], np.uint8),
                "half": np.array(1.5, np.float16)},
    "optimizer": {"step": 3, "lr": 0.001, "history": [1.5, float("nan"), float("-inf")]},
    "meta": {"name": "run", "epoch": 2, "done": False, "note": None},
}
GOOD = dumps_checkpoint(PAYLOAD).encode("ascii")


def test_the_undamaged_file_loads_what_was_saved():
    assert_same(PAYLOAD, loads_checkpoint(GOOD))
JSON_VALUES = [None, True, False, 0, -1, 2**40, 1.5, -0.0, "", "x", "float32", "bool", "<U10",
               "object", "AAAA", [], [1], [-1], [2**62, 2**62], ["a"], {}, {"__float__": "nan"},
               {"__ndarray__": True}, [[[[[]]]]]]


def try_load(raw: bytes):
    """Load ``raw``; return the payload or the CheckpointError. Anything else fails the test."""
    start = time.perf_counter()
    try:
        result = loads_checkpoint(raw, "fuzz.json")
    except CheckpointError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json: ") and "\n" not in message, message
        result = exc
    assert time.perf_counter() - start < 2
    return result


def damage(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data) + 1)
        if op == 0:
            del data[pos:]
        elif op == 1 and pos < len(data):
            data[pos] = rng.randrange(256)
        elif op == 2 and pos < len(data):
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 3:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        else:
            del data[pos:pos + rng.randint(1, 8)]
    return bytes(data)


def test_raw_damage_seeded():
    """2000 damaged copies, loaded in well under the time limit."""
    rng = random.Random(42)
    loaded = 0
    start = time.perf_counter()
    for _ in range(2000):
        result = try_load(damage(rng, GOOD))
        if not isinstance(result, CheckpointError):
            assert_same(PAYLOAD, result)
            loaded += 1
    assert time.perf_counter() - start < 20
    assert loaded < 2000


def _containers(node, found):
    """Every (container, key) pair of a parsed JSON document."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        found.append((node, key))
        if isinstance(value, (dict, list)):
            _containers(value, found)
    return found


def resealed(doc: dict) -> bytes:
    """``doc`` with its checksum recomputed, so that damage gets past the checksum.

    The document is parsed JSON with JSON values put in, so it always serializes."""
    if isinstance(doc.get("payload"), dict):
        canonical = json.dumps(doc["payload"], sort_keys=True, separators=(",", ":"), allow_nan=False)
        doc["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(doc).encode()


def saved_again(payload: dict):
    """The JSON payload a checkpoint of ``payload`` holds (to compare with what was loaded)."""
    return json.loads(dumps_checkpoint(payload))["payload"]


def test_structural_damage_seeded():
    """1500 documents with one value replaced and a valid checksum: decoded or refused."""
    rng = random.Random(7)
    base = json.loads(GOOD)
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(1500):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 2)):
            node, key = rng.choice(_containers(doc, []))
            choice = rng.random()
            if choice < 0.7:
                node[key] = copy.deepcopy(rng.choice(JSON_VALUES))
            elif choice < 0.85 and isinstance(node, dict):
                del node[key]
            elif isinstance(node, dict):
                node[rng.choice(["__ndarray__", "__float__", "extra", "dtype"])] = 1
        result = try_load(resealed(doc))
        if isinstance(result, CheckpointError):
            outcomes["refused"] += 1
        else:
            assert saved_again(result) == doc["payload"], "the loaded payload is not the saved one"
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 300 and outcomes["loaded"] > 100, outcomes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(GOOD)), pos=st.integers(0, len(GOOD) - 1),
       byte=st.integers(0, 255), insert=st.binary(max_size=8))
def test_raw_damage_hypothesis(cut, pos, byte, insert):
    data = bytearray(GOOD)
    data[pos] = byte
    data = bytes(data[:pos]) + insert + bytes(data[pos:cut])
    result = try_load(data)
    if not isinstance(result, CheckpointError):
        assert_same(PAYLOAD, result)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "ignore")))
def test_random_bytes_are_refused(raw):
    assert isinstance(try_load(raw), CheckpointError)
