"""pack-fs / recv-fs framing: records of a 40-byte ASCII object id, a uint32 big-endian length
and the stored object bytes, concatenated without count or trailer."""
import struct

from .objects import is_object_id

PACK_HEADER = 44


def encode_record(obj_id, data):
    return obj_id.encode("ascii") + struct.pack(">I", len(data)) + data


def split_records(body):
    """(id text, announced length, data) of each record in order. The data of a record that runs
    past the end of the body is what is left of it; a tail too short for a header comes as
    (None, None, tail)."""
    pos = 0
    while pos < len(body):
        if len(body) - pos < PACK_HEADER:
            yield None, None, body[pos:]
            return
        obj_id = body[pos:pos + 40].decode("ascii", "replace")
        (length,) = struct.unpack(">I", body[pos + 40:pos + PACK_HEADER])
        yield obj_id, length, body[pos + PACK_HEADER:pos + PACK_HEADER + length]
        pos += PACK_HEADER + length


def parse_packed_objects(body):
    """[(id, data)] of a well-formed body (at least one record, valid ids, no record cut short),
    or None."""
    if len(body) < PACK_HEADER:
        return None
    records = []
    for obj_id, length, data in split_records(body):
        if obj_id is None or not is_object_id(obj_id) or len(data) != length:
            return None
        records.append((obj_id, data))
    return records
