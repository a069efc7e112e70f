"""The code itself: the Gray-coded 24-bit display counter with its CRC-8, the coarse (run id, UTC
second) word with its CRC-16, and the resolution of per-bit decisions into a :class:`Reading` (clean,
blended into a bracket of two neighbours, or undecodable). Pure arithmetic, no pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

COUNTER_BITS = 24
CRC_BITS = 8
CODE_BITS = COUNTER_BITS + CRC_BITS
COUNTER_MODULUS = 1 << COUNTER_BITS
CRC_POLY = 0x07
RUN_ID_BITS = 16
UTC_BITS = 32
COARSE_CRC_BITS = 16
COARSE_BITS = RUN_ID_BITS + UTC_BITS + COARSE_CRC_BITS
RUN_ID_MODULUS = 1 << RUN_ID_BITS
UTC_MODULUS = 1 << UTC_BITS

ReadingKind = Literal["clean", "blended", "undecodable"]
#: reason of a clean reading taken from an exposure over three refreshes (n - 1, n, n + 1)
THREE_REFRESHES = "dominant of a three-refresh exposure"


# --------------------------------------------------------------------------- code arithmetic


def gray_encode(n: int) -> int:
    """Gray code of ``n``: consecutive values differ in one bit, so a blend smears one bit."""
    if n < 0:
        raise ValueError("n must be non-negative")
    return n ^ (n >> 1)


def gray_decode(g: int) -> int:
    """Inverse of :func:`gray_encode` (prefix XOR from the MSB down, for up to 64 bits)."""
    if g < 0:
        raise ValueError("g must be non-negative")
    n = g
    for shift in (1, 2, 4, 8, 16, 32):
        n ^= n >> shift
    return n


def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return tuple(table)


_CRC8_TABLE = _crc_table(CRC_POLY, 8)
_CRC16_TABLE = _crc_table(0x1021, 16)


def crc8(data: bytes) -> int:
    """CRC-8, poly 0x07, init 0x00, no reflection, no final XOR (a.k.a. CRC-8/SMBUS)."""
    crc = 0
    for byte in data:
        crc = _CRC8_TABLE[crc ^ byte]
    return crc


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): guards the coarse word."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16_TABLE[(crc >> 8) ^ byte]
    return crc


def _gray_crc(g: int) -> int:
    """CRC over the 3 big-endian bytes of the *Gray* counter, i.e. over the bits as drawn."""
    return crc8(g.to_bytes(3, "big"))


_SHIFTS_64 = np.arange(63, -1, -1, dtype=np.uint64)


def code_bits(n: int) -> np.ndarray:
    """The 32 payload bits for counter ``n`` (mod 2**24): Gray counter MSB first, then its CRC."""
    g = gray_encode(n % COUNTER_MODULUS)
    word = (g << CRC_BITS) | _gray_crc(g)
    return np.unpackbits(np.frombuffer(word.to_bytes(4, "big"), np.uint8)).astype(bool)


def coarse_word(run_id: int, utc_s: int) -> int:
    """The 64-bit coarse word: run id (16), UTC seconds mod 2**32 (32), CRC-16 of both (16)."""
    payload = ((run_id % RUN_ID_MODULUS) << UTC_BITS) | (utc_s % UTC_MODULUS)
    return (payload << COARSE_CRC_BITS) | crc16(payload.to_bytes(6, "big"))


def coarse_bits(run_id: int, utc_s: int) -> np.ndarray:
    """The 64 bits of :func:`coarse_word`, MSB first."""
    return ((np.uint64(coarse_word(run_id, utc_s)) >> _SHIFTS_64) & np.uint64(1)).astype(bool)


def slot_seconds(utc_s: float) -> tuple[int, int]:
    """(slot A, slot B) seconds shown at UTC ``utc_s``: the latest even and the latest odd second."""
    whole = int(np.floor(utc_s))
    even = whole - (whole % 2)
    odd = whole - 1 + (whole % 2)
    return even, odd


def _pack(states: np.ndarray) -> int:
    return int.from_bytes(np.packbits(states.astype(bool)).tobytes(), "big")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Coarse:
    """The absolute data of one frame: run id and the current UTC second (mod 2**32).

    ``exact`` is True when both slots were read (then ``utc_s`` is the current second); with
    one slot only, the current second is ``utc_s`` or ``utc_s + 1``.
    """

    run_id: int
    utc_s: int
    exact: bool


@dataclass(frozen=True)
class Reading:
    """What one camera frame says about the display counter.

    ``value`` is the counter for ``clean`` and the LOWER of the two refreshes for ``blended``;
    ``None`` when ``undecodable`` (then ``reason`` says why). ``coarse`` (run id, UTC second) and
    ``contrast`` (median |d| of the fine bits) ride along and take no part in equality.
    """

    kind: ReadingKind
    value: int | None = None
    reason: str | None = None
    coarse: Coarse | None = field(default=None, compare=False)
    contrast: float | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """True when the frame yields a counter or a bracket of two neighbouring counters."""
        return self.kind != "undecodable"

    @property
    def bracket(self) -> tuple[int, int] | None:
        """``(n, n)`` for clean, ``(m, m + 1)`` for blended, else ``None``.

        The upper end of a blend is ``m + 1`` unreduced (``2**24`` at the wrap) so the bracket
        is always an increasing interval; reduce modulo ``2**24`` to get the displayed counter.
        """
        if self.value is None or self.kind == "undecodable":
            return None
        if self.kind == "clean":
            return (self.value, self.value)
        return (self.value, self.value + 1)


def undecodable(reason: str) -> Reading:
    return Reading("undecodable", None, reason)


def code_word(n: int) -> int:
    """The 32 payload bits of :func:`code_bits` as one integer (Gray counter << 8 | CRC)."""
    g = gray_encode(n % COUNTER_MODULUS)
    return (g << CRC_BITS) | _gray_crc(g)


_WORD_MASK = (1 << CODE_BITS) - 1


def resolve_states(states: np.ndarray) -> Reading:
    """Turn 32 per-bit decisions (1, 0, or -1 = ambiguous) into a :class:`Reading`.

    Kept separate from pixel sampling so the rules can be tested exhaustively.
    """
    states = np.asarray(states, dtype=np.int8)
    if states.shape != (CODE_BITS,):
        raise ValueError(f"expected {CODE_BITS} states")
    return resolve_word(_pack(states < 0), _pack(states == 1))


def resolve_word(amb: int, ones: int) -> Reading:
    """:func:`resolve_states` on 32-bit integers: ``amb`` marks the ambiguous bits, ``ones`` the
    bits decided 1 (MSB = bit 0)."""
    if not amb:
        g = ones >> CRC_BITS
        if ones & 0xFF != _gray_crc(g):
            return undecodable("crc mismatch")
        return Reading("clean", gray_decode(g))
    amb_counter = amb >> CRC_BITS
    count = amb_counter.bit_count()
    if count == 2:
        return _three_refreshes(amb, ones)
    if count > 1:
        return undecodable(f"{count} ambiguous counter bits")
    if count == 1:
        g0 = (ones >> CRC_BITS) & ~amb_counter
        lo, hi = sorted((gray_decode(g0), gray_decode(g0 | amb_counter)))
        if hi - lo == 1:
            candidates = [lo]
        elif lo == 0 and hi == COUNTER_MODULUS - 1:
            candidates = [hi]  # the wrap 2**24-1 -> 0; report the lower (older) value
        else:
            return undecodable("ambiguous counter bit does not separate neighbouring values")
    else:
        n0 = gray_decode(ones >> CRC_BITS)
        candidates = [(n0 - 1) % COUNTER_MODULUS, n0]
    decided = ~amb & _WORD_MASK
    consistent = []
    for m in candidates:
        wa = code_word(m)
        differ = wa ^ code_word(m + 1)
        if amb & ~differ:
            continue  # an ambiguous bit where the two neighbours agree
        if decided & ~differ & (ones ^ wa):
            continue  # a decided bit that neither neighbour has
        consistent.append(m)
    if len(consistent) == 1:
        return Reading("blended", consistent[0])
    if not consistent:
        return undecodable("ambiguous bits match no neighbouring pair")
    # Both (n-1, n) and (n, n+1) explain the frame: an exposure over three refreshes. When every
    # decided bit (both counter steps included) is that of n, n held most of the exposure on both
    # sides of its midpoint: report n clean, as the frame saw it, with the reason saying why.
    n0 = consistent[1]
    if not decided & (ones ^ code_word(n0)):
        return Reading("clean", n0, THREE_REFRESHES)
    return undecodable("ambiguous bits match two neighbouring pairs")


def _three_refreshes(amb: int, ones: int) -> Reading:
    """Two ambiguous counter bits: clean ``n`` only if they are exactly the steps n-1 -> n and
    n -> n+1 and every decided bit is that of ``n`` (an exposure over three refreshes, n between)."""
    counter_amb = amb >> CRC_BITS
    bit_i = counter_amb & -counter_amb
    bit_j = counter_amb ^ bit_i
    g0 = (ones >> CRC_BITS) & ~counter_amb
    decided = ~amb & _WORD_MASK
    for g in (g0, g0 | bit_i, g0 | bit_j, g0 | bit_i | bit_j):
        n = gray_decode(g)
        if {gray_decode(g ^ bit_i), gray_decode(g ^ bit_j)} != {(n - 1) % COUNTER_MODULUS, (n + 1) % COUNTER_MODULUS}:
            continue
        wn = code_word(n)
        spread = (wn ^ code_word((n - 1) % COUNTER_MODULUS)) | (wn ^ code_word(n + 1))
        if not decided & (ones ^ wn) and not amb & ~spread:
            return Reading("clean", n, THREE_REFRESHES)
    return undecodable("2 ambiguous counter bits")


def resolve_coarse(states: np.ndarray) -> tuple[int, int] | None:
    """(run id, UTC second) from one slot's 64 decisions, or None unless every bit is decided and the CRC holds."""
    if states.shape != (COARSE_BITS,):
        return None
    return resolve_coarse_word(_pack(states < 0), _pack(states == 1))


def resolve_coarse_word(amb: int, word: int) -> tuple[int, int] | None:
    """:func:`resolve_coarse` on 64-bit integers (ambiguous bits, bits decided 1)."""
    if amb:
        return None
    payload, crc = word >> COARSE_CRC_BITS, word & 0xFFFF
    if crc16(payload.to_bytes(6, "big")) != crc:
        return None
    return payload >> UTC_BITS, payload & (UTC_MODULUS - 1)
