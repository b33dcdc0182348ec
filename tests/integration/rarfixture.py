"""rarfixture - tiny RAR 4 and RAR 5 archives built from RARLAB's published format descriptions
(no free tool writes RAR), for the heuristics' tests and the fuzz seeds. The files hold stored
(or, when "encrypted", random) data: only the headers matter to a lister. `7z l -slt` (Debian's
7-Zip reads both formats) lists them with the same names and "Encrypted = +" flags, which the
tests check, so the generator is held to a real reader.

  rar4([(name, data, encrypted), ...], hide_names=False) -> bytes
  rar5([(name, data, encrypted), ...], hide_names=False) -> bytes

hide_names: the archive's headers are encrypted (rar -hp): RAR 4 sets the main header's
"block headers are encrypted" flag (0x0080) and the rest is ciphertext; RAR 5 puts an archive
encryption header (type 4) first.
"""
import os
import struct
import zlib


def _crc16(b):
    return zlib.crc32(b) & 0xffff


def _rar4_block(htype, flags, body):
    head = struct.pack("<BHH", htype, flags, 7 + len(body)) + body
    return struct.pack("<H", _crc16(head)) + head


def rar4(entries, hide_names=False):
    out = b"Rar!\x1a\x07\x00"
    out += _rar4_block(0x73, 0x0080 if hide_names else 0, b"\0" * 6)
    if hide_names:
        return out + os.urandom(16 * (1 + len(entries)))
    for name, data, enc in entries:
        if enc:
            data = os.urandom((len(data) + 15) // 16 * 16)
        nb = name.encode()
        flags = 0x8000 | (0x0004 if enc else 0)
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 2, zlib.crc32(data), 0x5a7c0000,
                           29, 0x30, len(nb), 0x20) + nb
        out += _rar4_block(0x74, flags, body) + data
    return out + _rar4_block(0x7b, 0x4000, b"")


def _vint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _rar5_block(htype, flags, body, extra=b"", data=b""):
    hflags = flags | (1 if extra else 0) | (2 if data else 0)
    h = _vint(htype) + _vint(hflags)
    if extra:
        h += _vint(len(extra))
    if data:
        h += _vint(len(data))
    h += body + extra
    size = _vint(len(h))
    return struct.pack("<I", zlib.crc32(size + h)) + size + h + data


def rar5(entries, hide_names=False):
    out = b"Rar!\x1a\x07\x01\x00"
    if hide_names:
        # archive encryption header: version 0, flags 0, KDF count 15, salt
        out += _rar5_block(4, 0, _vint(0) + _vint(0) + b"\x0f" + os.urandom(16))
        return out + os.urandom(32 * (1 + len(entries)))
    out += _rar5_block(1, 0, _vint(0))
    for name, data, enc in entries:
        nb = name.encode()
        extra = b""
        if enc:
            data = os.urandom((len(data) + 15) // 16 * 16)
            # file encryption record (type 1): version 0, flags 0, KDF count, salt, IV
            rec = _vint(1) + _vint(0) + _vint(0) + b"\x0f" + os.urandom(16) + os.urandom(16)
            extra = _vint(len(rec)) + rec
        body = (_vint(0x04) + _vint(len(data)) + _vint(0x20) + struct.pack("<I", zlib.crc32(data))
                + _vint(0) + _vint(0) + _vint(len(nb)) + nb)
        out += _rar5_block(2, 0, body, extra, data)
    return out + _rar5_block(5, 0, _vint(0))
