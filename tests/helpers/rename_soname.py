#!/usr/bin/env python3
"""rename_soname.py IN OUT NAME: a copy of the ELF64 shared library IN whose
DT_SONAME is NAME, as a vendor ships its own OpenSSL under a name of its
own (libvsl.so.1.1 for libssl.so.1.1).  NAME may not be longer than the
old name: it is written over it in the dynamic string table, NUL-padded.
"""
import struct
import sys

SHT_DYNAMIC, DT_SONAME = 6, 14


def main(src, dst, name):
    data = bytearray(open(src, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("rename_soname.py: %s is not a little-endian ELF64 file" % src)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        off = shoff + i * shentsize
        sh_type, = struct.unpack_from("<I", data, off + 4)
        if sh_type != SHT_DYNAMIC:
            continue
        sh_offset, sh_size, sh_link = struct.unpack_from("<QQI", data, off + 0x18)
        strtab = struct.unpack_from("<Q", data, shoff + sh_link * shentsize + 0x18)[0]
        for k in range(sh_size // 16):
            tag, val = struct.unpack_from("<qQ", data, sh_offset + k * 16)
            if tag == DT_SONAME:
                at = strtab + val
                old = data[at:data.index(b"\0", at)]
                new = name.encode()
                if len(new) > len(old):
                    sys.exit("rename_soname.py: %s is longer than %s" % (name, old.decode()))
                data[at:at + len(old)] = new + b"\0" * (len(old) - len(new))
                open(dst, "wb").write(data)
                return
    sys.exit("rename_soname.py: %s has no DT_SONAME" % src)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: rename_soname.py IN OUT NAME")
    main(sys.argv[1], sys.argv[2], sys.argv[3])
