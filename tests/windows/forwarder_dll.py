"""Write a PE32+ DLL that holds only export forwarders (a Wine gap filler for the test tier).

Wine 8.0 has no bcryptprimitives.dll, whose ProcessPrng pydantic-core's Rust runtime imports.
A DLL that forwards `ProcessPrng` to `advapi32.SystemFunction036` (RtlGenRandom, the same
contract: fill a buffer with random bytes) lets the loader resolve the import. The file has one
section with the export directory and no code: forwarders are export addresses that point back
into the export directory, where the loader reads "dll.function".
"""

from __future__ import annotations

import struct
from pathlib import Path

FILE_ALIGN = 0x200
SECTION_RVA = 0x1000
IMAGE_BASE = 0x1_8000_0000
MACHINE_AMD64 = 0x8664
# EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE | DLL
CHARACTERISTICS = 0x0002 | 0x0020 | 0x2000
# INITIALIZED_DATA | MEM_READ
SECTION_FLAGS = 0x0000_0040 | 0x4000_0000
OPTIONAL_HEADER_SIZE = 240  # PE32+ fields (112 bytes) + 16 data directories (8 bytes each)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _export_section(dll_name: str, forwards: dict[str, str]) -> bytes:
    """The export directory, its three tables and the strings, laid out from SECTION_RVA."""
    names = sorted(forwards)  # the loader binary-searches the name table
    count = len(names)
    functions_at = SECTION_RVA + 40
    names_at = functions_at + 4 * count
    ordinals_at = names_at + 4 * count
    strings = bytearray()
    strings_at = ordinals_at + 2 * count

    def add(text: str) -> int:
        rva = strings_at + len(strings)
        strings.extend(text.encode("ascii") + b"\0")
        return rva

    name_rva = add(dll_name)
    name_rvas = [add(name) for name in names]
    target_rvas = [add(forwards[name]) for name in names]
    directory = struct.pack(
        "<IIHHIIIIIII",
        0,  # Characteristics
        0,  # TimeDateStamp
        0,  # MajorVersion
        0,  # MinorVersion
        name_rva,
        1,  # ordinal base
        count,  # NumberOfFunctions
        count,  # NumberOfNames
        functions_at,
        names_at,
        ordinals_at,
    )
    tables = (
        struct.pack(f"<{count}I", *target_rvas)
        + struct.pack(f"<{count}I", *name_rvas)
        + struct.pack(f"<{count}H", *range(count))
    )
    return directory + tables + bytes(strings)


def forwarder_dll(dll_name: str, forwards: dict[str, str]) -> bytes:
    """The bytes of a DLL named `dll_name` exporting each key as a forwarder to its value."""
    section = _export_section(dll_name, forwards)
    raw_size = _align(len(section), FILE_ALIGN)
    image_size = SECTION_RVA + _align(len(section), 0x1000)
    dos = b"MZ" + bytes(0x3A) + struct.pack("<I", 0x40)
    coff = struct.pack("<HHIIIHH", MACHINE_AMD64, 1, 0, 0, 0, OPTIONAL_HEADER_SIZE, CHARACTERISTICS)
    optional = struct.pack(
        "<HBBIIIII",
        0x20B,  # PE32+
        14,  # linker major
        0,  # linker minor
        0,  # SizeOfCode
        raw_size,  # SizeOfInitializedData
        0,  # SizeOfUninitializedData
        0,  # AddressOfEntryPoint: no DllMain
        SECTION_RVA,  # BaseOfCode
    )
    optional += struct.pack(
        "<QIIHHHHHHIIIIHHQQQQII",
        IMAGE_BASE,
        0x1000,  # SectionAlignment
        FILE_ALIGN,
        6,  # OS major
        0,
        0,  # image version
        0,
        6,  # subsystem major
        0,
        0,  # Win32VersionValue
        image_size,
        FILE_ALIGN,  # SizeOfHeaders
        0,  # CheckSum
        3,  # IMAGE_SUBSYSTEM_WINDOWS_CUI
        0x0100,  # DllCharacteristics: NX_COMPAT
        0x100000,  # stack reserve
        0x1000,  # stack commit
        0x100000,  # heap reserve
        0x1000,  # heap commit
        0,  # LoaderFlags
        16,  # NumberOfRvaAndSizes
    )
    directories = [(SECTION_RVA, len(section))] + [(0, 0)] * 15
    optional += b"".join(struct.pack("<II", rva, size) for rva, size in directories)
    assert len(optional) == OPTIONAL_HEADER_SIZE
    header = struct.pack(
        "<8sIIIIIIHHI",
        b".edata",
        len(section),  # VirtualSize
        SECTION_RVA,
        raw_size,
        FILE_ALIGN,  # PointerToRawData
        0,
        0,
        0,
        0,
        SECTION_FLAGS,
    )
    headers = dos + b"PE\0\0" + coff + optional + header
    return headers.ljust(FILE_ALIGN, b"\0") + section.ljust(raw_size, b"\0")


def write_bcryptprimitives(directory: Path) -> Path:
    """bcryptprimitives.dll with ProcessPrng → advapi32.SystemFunction036, in `directory`."""
    path = directory / "bcryptprimitives.dll"
    data = forwarder_dll("bcryptprimitives.dll", {"ProcessPrng": "advapi32.SystemFunction036"})
    path.write_bytes(data)
    return path
