#!/usr/bin/env python3
"""unversion.py IN OUT: a copy of the ELF64 shared library IN without
OpenSSL's symbol versions, as a vendor's OpenSSL built without a version
script is: its symbols are defined unversioned, and so are its references
to libcrypto; those to glibc keep the versions they were linked with.

Three edits, nothing moved:
  - every defined dynamic symbol's .gnu.version entry becomes 1 (global),
    and so does every reference's to a version libcrypto.so.* defined;
  - DT_VERDEF and DT_VERDEFNUM leave the dynamic section (the entries
    after them move up; DT_NULL fills the end): the dynamic loader then
    sees no version definitions;
  - the .gnu.version_d section becomes SHT_PROGBITS: the link editor then
    records no versions in programs linked against the copy.
"""
import struct
import sys

SHT_DYNSYM, SHT_DYNAMIC, SHT_PROGBITS = 11, 6, 1
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD


def main(src, dst):
    data = bytearray(open(src, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit("unversion.py: %s is not a little-endian ELF64 file" % src)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = []
    for i in range(shnum):
        off = shoff + i * shentsize
        sh_type, = struct.unpack_from("<I", data, off + 4)
        sh_offset, sh_size, sh_link = struct.unpack_from("<QQI", data, off + 0x18)
        sections.append((off, sh_type, sh_offset, sh_size, sh_link))
    by_type = {}
    for s in sections:
        by_type.setdefault(s[1], s)
    if SHT_GNU_VERDEF not in by_type:
        sys.exit("unversion.py: %s defines no versions" % src)

    # The version indexes of the references to libcrypto (.gnu.version_r).
    openssl_needs = set()
    if SHT_GNU_VERNEED in by_type:
        _, _, vn_off, _, strtab_index = by_type[SHT_GNU_VERNEED]
        strtab_off = sections[strtab_index][2]
        off = vn_off
        while True:
            _, cnt, file_name, aux, nxt = struct.unpack_from("<HHIII", data, off)
            end = data.index(b"\0", strtab_off + file_name)
            name = bytes(data[strtab_off + file_name:end])
            a = off + aux
            for _ in range(cnt):
                _, _, other, _, anext = struct.unpack_from("<IHHII", data, a)
                if name.startswith(b"libcrypto.so"):
                    openssl_needs.add(other)
                a += anext
            if nxt == 0:
                break
            off += nxt

    _, _, dynsym_off, dynsym_size, _ = by_type[SHT_DYNSYM]
    _, _, versym_off, _, _ = by_type[SHT_GNU_VERSYM]
    for i in range(1, dynsym_size // 24):
        shndx, = struct.unpack_from("<H", data, dynsym_off + i * 24 + 6)
        version, = struct.unpack_from("<H", data, versym_off + i * 2)
        if shndx != 0 or (version & 0x7FFF) in openssl_needs:
            struct.pack_into("<H", data, versym_off + i * 2, 1)

    _, _, dyn_off, dyn_size, _ = by_type[SHT_DYNAMIC]
    entries = [struct.unpack_from("<qQ", data, dyn_off + i * 16) for i in range(dyn_size // 16)]
    kept = [e for e in entries if e[0] not in (DT_VERDEF, DT_VERDEFNUM)]
    kept += [(0, 0)] * (len(entries) - len(kept))
    for i, (tag, val) in enumerate(kept):
        struct.pack_into("<qQ", data, dyn_off + i * 16, tag, val)

    verdef_hdr = by_type[SHT_GNU_VERDEF][0]
    struct.pack_into("<I", data, verdef_hdr + 4, SHT_PROGBITS)
    open(dst, "wb").write(data)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: unversion.py IN OUT")
    main(sys.argv[1], sys.argv[2])
