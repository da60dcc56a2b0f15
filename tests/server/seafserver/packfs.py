"""pack-fs / recv-fs framing: records of a 40-byte ASCII object id, a uint32 big-endian length
and the stored object bytes, concatenated without count or trailer."""
import struct

from .objects import is_object_id

PACK_HEADER = 44


def encode_record(obj_id, data):
    return obj_id.encode("ascii") + struct.pack(">I", len(data)) + data


def parse_packed_objects(body):
    """[(id, data)] from recv-fs framing (40-byte ASCII id, uint32 BE length, data), or None."""
    if len(body) < PACK_HEADER:
        return None
    records = []
    pos = 0
    while pos < len(body):
        if len(body) - pos < PACK_HEADER:
            return None
        obj_id = body[pos:pos + 40].decode("ascii", "replace")
        (length,) = struct.unpack(">I", body[pos + 40:pos + PACK_HEADER])
        end = pos + PACK_HEADER + length
        if not is_object_id(obj_id) or end > len(body):
            return None
        records.append((obj_id, body[pos + PACK_HEADER:end]))
        pos = end
    return records
