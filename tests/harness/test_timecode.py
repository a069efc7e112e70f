"""Tests for the display time code: the decoder must never report a counter the frame does not show."""

from __future__ import annotations

import io
import itertools
from fractions import Fraction

import cv2
import numpy as np
import pytest

from harness.timecode import (
    CODE_BITS,
    COUNTER_BITS,
    CRC_BITS,
    DEFAULT_LAYOUT,
    GREY,
    CodeLayout,
    Reading,
    SceneRenderer,
    TimecodeDecoder,
    code_bits,
    crc8,
    gray_decode,
    gray_encode,
    resolve_states,
)

MOD = 1 << COUNTER_BITS
WEIGHTS = np.round(np.arange(0.0, 1.0001, 0.05), 2)
SIZES = [(640, 360), (1280, 720)]


@pytest.fixture(scope="module")
def scene640() -> tuple[SceneRenderer, TimecodeDecoder]:
    return SceneRenderer(640, 360), TimecodeDecoder(640, 360)


def blend(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """What an exposure spanning two display frames records: (1-w)*a + w*b, rounded to uint8."""
    mixed = (1.0 - w) * a.astype(np.float32) + w * b.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def is_wrong_for_pair(reading: Reading, n: int) -> bool:
    """A reading of a frame showing n and/or n+1 (mod 2**24) is wrong unless it names exactly those."""
    nxt = (n + 1) % MOD
    if reading.kind == "undecodable":
        return reading.value is not None
    if reading.kind == "clean":
        return reading.value not in (n, nxt)
    return reading.value != n


def test_gray_round_trip_and_adjacency() -> None:
    rng = np.random.default_rng(1)
    values = list(range(4096)) + [int(v) for v in rng.integers(0, MOD, 2000)] + [MOD - 1]
    for n in values:
        assert gray_decode(gray_encode(n)) == n
        nxt = (n + 1) % MOD
        assert bin(gray_encode(n) ^ gray_encode(nxt)).count("1") == 1
    with pytest.raises(ValueError):
        gray_encode(-1)


def test_crc8_known_values() -> None:
    assert crc8(b"123456789") == 0xF4  # CRC-8/SMBUS check value
    assert crc8(b"") == 0
    assert crc8(b"\x00\x00\x00") == 0


def test_crc_of_neighbours_always_differs() -> None:
    """n ^ (n+1) = 2**k - 1; a non-zero CRC of those means a row tear between n and n+1 is caught."""
    for k in range(1, COUNTER_BITS + 1):
        assert crc8(((1 << k) - 1).to_bytes(3, "big")) != 0


def test_code_bits_layout() -> None:
    for n in (0, 1, 123456, MOD - 1, MOD + 5):
        bits = code_bits(n)
        assert bits.shape == (CODE_BITS,) == (32,)
        assert bits.dtype == bool
        m = n % MOD
        gray = int("".join("1" if b else "0" for b in bits[:COUNTER_BITS]), 2)
        crc = int("".join("1" if b else "0" for b in bits[COUNTER_BITS:]), 2)
        assert gray == gray_encode(m)
        assert crc == crc8(m.to_bytes(3, "big"))
    assert CRC_BITS == 8


def test_reading_properties() -> None:
    assert Reading("clean", 7).bracket == (7, 7) and Reading("clean", 7).ok
    assert Reading("blended", 7).bracket == (7, 8)
    assert Reading("blended", MOD - 1).bracket == (MOD - 1, MOD)
    bad = Reading("undecodable", None, "x")
    assert bad.bracket is None and not bad.ok


@pytest.mark.parametrize("size", SIZES + [(1920, 1080)])
def test_layout_geometry(size: tuple[int, int]) -> None:
    w, h = size
    cells = DEFAULT_LAYOUT.cell_boxes(w, h)
    assert cells.shape == (2 * CODE_BITS, 4)
    assert (cells[:, 2] - cells[:, 0]).min() >= 16 * w / 640 - 1
    # bit cell and its complement are horizontal neighbours on the same rows
    assert np.array_equal(cells[0::2, 2], cells[1::2, 0])
    assert np.array_equal(cells[0::2, 1], cells[1::2, 1])
    anchors = DEFAULT_LAYOUT.anchor_boxes(w, h)
    assert anchors[0, 2] < cells[:, 0].min() and anchors[1, 0] > cells[:, 2].max()
    # samples stay inside their cells
    samples = DEFAULT_LAYOUT.sample_boxes(w, h)[4:]
    assert np.all(samples[:, :2] > cells[:, :2]) and np.all(samples[:, 2:] < cells[:, 2:])


def test_layout_rejects_overlapping_text() -> None:
    with pytest.raises(ValueError):
        CodeLayout(text_baseline_y=0.45)


def test_text_and_decorations_stay_out_of_the_quiet_zone() -> None:
    w, h = 640, 360
    r = SceneRenderer(w, h)
    lay = DEFAULT_LAYOUT
    qy0, qy1 = round(lay.quiet_y0 * h), round(lay.quiet_y1 * h)
    code = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in np.vstack([lay.cell_boxes(w, h), lay.anchor_boxes(w, h)]):
        code[y0:y1, x0:x1] = True
    for n in (0, 59, 123456, MOD - 1, 10**8 + 12345):
        img = r.render(n, refresh_hz=60.0 if n % 2 else 59.94)
        zone = img[qy0:qy1][~code[qy0:qy1]]
        assert np.all(zone == GREY)


@pytest.mark.parametrize("size", SIZES)
def test_clean_frames_decode_exactly(size: tuple[int, int]) -> None:
    w, h = size
    r, d = SceneRenderer(w, h), TimecodeDecoder(w, h)
    rng = np.random.default_rng(2)
    values = [0, 1, 2, MOD - 2, MOD - 1, 0x7FFFFF, 0x800000] + [int(v) for v in rng.integers(0, MOD, 150)]
    for n in values:
        assert d.decode(r.render(n)) == Reading("clean", n)


def test_counter_above_modulus_is_reduced(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    r, d = scene640
    assert d.decode(r.render(MOD + 41)) == Reading("clean", 41)


@pytest.mark.parametrize("size", SIZES)
def test_blends_are_never_wrong(size: tuple[int, int]) -> None:
    w, h = size
    r, d = SceneRenderer(w, h), TimecodeDecoder(w, h)
    rng = np.random.default_rng(3)
    count = 30 if w == 640 else 8
    values = [0, MOD - 1, 0x7FFFFF] + [int(v) for v in rng.integers(0, MOD, count)]
    wrong = 0
    kinds: dict[str, int] = {}
    for n in values:
        a, b = r.render(n), r.render(n + 1)
        for wt in WEIGHTS:
            reading = d.decode(blend(a, b, float(wt)))
            wrong += is_wrong_for_pair(reading, n)
            kinds[reading.kind] = kinds.get(reading.kind, 0) + 1
            if wt == 0.5:
                assert reading == Reading("blended", n), (n, reading)
            if wt == 0.0:
                assert reading == Reading("clean", n)
            if wt == 1.0:
                assert reading == Reading("clean", (n + 1) % MOD)
    assert wrong == 0
    assert kinds.get("blended", 0) >= len(values)


def test_wrap_blend_reports_lower_value(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    r, d = scene640
    reading = d.decode(blend(r.render(MOD - 1), r.render(MOD), 0.5))
    assert reading == Reading("blended", MOD - 1)
    assert reading.bracket == (MOD - 1, MOD)


_NOISE = [np.random.default_rng(40 + k).normal(0.0, 4.0, (360, 640)).astype(np.float32) for k in range(4)]


def degrade(img: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
    """Exposure gain plus Gaussian sensor noise (sigma 4, fields pre-drawn to keep the test fast)."""
    noise = np.roll(_NOISE[int(rng.integers(len(_NOISE)))], int(rng.integers(640)), axis=1)
    out = img.astype(np.float32) * gain + noise
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def jpeg(img: np.ndarray, quality: int = 40) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def test_gain_noise_and_jpeg(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    r, d = scene640
    rng = np.random.default_rng(4)
    wrong = 0
    blended = 0
    for n in [MOD - 1] + [int(v) for v in rng.integers(0, MOD, 40)]:
        gain = float(rng.uniform(0.35, 1.0))
        a, b = r.render(n), r.render(n + 1)
        clean = degrade(a, gain, rng)
        assert d.decode(clean) == Reading("clean", n)
        assert d.decode(jpeg(clean)) == Reading("clean", n)
        for wt in WEIGHTS[1:-1]:
            frame = degrade(blend(a, b, float(wt)), gain, rng)
            for variant in (frame, jpeg(frame)):
                reading = d.decode(variant)
                wrong += is_wrong_for_pair(reading, n)
                blended += reading.kind == "blended"
    assert wrong == 0
    assert blended > 0


def test_h264_round_trip(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    av = pytest.importorskip("av")
    r, d = scene640
    rng = np.random.default_rng(5)
    fps = 30
    base = int(rng.integers(0, MOD - 100))
    plan: list[tuple[int, float]] = []  # (n, weight of n+1)
    frames = []
    for i in range(36):
        n = base + 2 * i
        wt = 0.0 if i % 2 == 0 else float(rng.choice(WEIGHTS[1:-1]))
        plan.append((n, wt))
        frames.append(blend(r.render(n), r.render(n + 1), wt))

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast", "threads": "1"}
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.stack([img] * 3, axis=-1), format="rgb24").reformat(format="yuv420p")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)

    buf.seek(0)
    seen = set()
    wrong = 0
    with av.open(buf, mode="r") as inp:
        for frame in inp.decode(video=0):
            i = round(float(frame.time) * fps)
            seen.add(i)
            n, wt = plan[i]
            reading = d.decode(frame.to_ndarray(format="gray"))
            if wt == 0.0:
                assert reading == Reading("clean", n), (i, reading)
            wrong += is_wrong_for_pair(reading, n)
    assert seen == set(range(len(frames)))
    assert wrong == 0


@pytest.mark.parametrize("kind", ["grey", "black", "white", "noise", "half"])
def test_no_code_in_view(kind: str, scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    r, d = scene640
    rng = np.random.default_rng(6)
    if kind == "grey":
        img = np.full((360, 640), GREY, np.uint8)
    elif kind == "black":
        img = np.zeros((360, 640), np.uint8)
    elif kind == "white":
        img = np.full((360, 640), 255, np.uint8)
    elif kind == "noise":
        img = rng.integers(0, 256, (360, 640), dtype=np.uint8)
    else:  # the scene with one anchor covered
        img = r.render(1234)
        x0, y0, x1, y1 = DEFAULT_LAYOUT.anchor_boxes(640, 360)[1]
        img[y0:y1, x0:x1] = GREY
    reading = d.decode(img)
    assert reading.kind == "undecodable"
    assert "no code" in reading.reason


def test_decoder_rejects_wrong_frame_size(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    _, d = scene640
    with pytest.raises(ValueError):
        d.decode(np.zeros((720, 1280), np.uint8))


def _splice_rows(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Top code row from one frame, bottom row from another: a rolling-shutter tear."""
    cells = DEFAULT_LAYOUT.cell_boxes(640, 360)
    split = int(cells[:, 3].min())
    out = bottom.copy()
    out[:split] = top[:split]
    return out


def test_rolling_shutter_tear_between_neighbours(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    r, d = scene640
    rng = np.random.default_rng(7)
    for n in [MOD - 1, 255, 0xFFFF] + [int(v) for v in rng.integers(0, MOD, 60)]:
        a, b = r.render(n), r.render(n + 1)
        for top, bottom in ((a, b), (b, a)):
            assert not is_wrong_for_pair(d.decode(_splice_rows(top, bottom)), n)


def test_mixed_non_adjacent_values_are_never_misread(scene640: tuple[SceneRenderer, TimecodeDecoder]) -> None:
    r, d = scene640
    rng = np.random.default_rng(8)

    def acceptable(reading: Reading, n: int, m: int) -> bool:
        return reading.kind == "undecodable" or (reading.kind == "clean" and reading.value in (n, m))

    wrong = 0
    # Gray codes one bit apart but values far apart: the single ambiguous bit is not a neighbour step.
    for n in [int(v) for v in rng.integers(0, MOD, 20)]:
        for bit in (3, 11, 23):
            m = gray_decode(gray_encode(n) ^ (1 << bit))
            if (m - n) % MOD in (1, MOD - 1):
                continue  # this bit happens to be the n -> n±1 step: a real neighbour
            a, b = r.render(n), r.render(m)
            for wt in WEIGHTS:
                reading = d.decode(blend(a, b, float(wt)))
                wrong += not acceptable(reading, n, m)
            mid = d.decode(blend(a, b, 0.5))
            assert mid.kind == "undecodable", (n, m, mid)
    # Random far-apart pairs blended, and whole code rows torn between them.
    for _ in range(40):
        n, m = (int(v) for v in rng.integers(0, MOD, 2))
        if abs(n - m) <= 1:
            continue
        a, b = r.render(n), r.render(m)
        for wt in (0.3, 0.4, 0.5, 0.6, 0.7):
            wrong += not acceptable(d.decode(blend(a, b, wt)), n, m)
        # A hard tear of unrelated values leaves only the CRC as defence (residual 2**-8 per frame).
        wrong += not acceptable(d.decode(_splice_rows(a, b)), n, m)
    assert wrong == 0


def _states_from(bits: np.ndarray) -> np.ndarray:
    return bits.astype(np.int8)


def test_resolve_clean_and_crc_mismatch() -> None:
    bits = code_bits(4242)
    assert resolve_states(_states_from(bits)) == Reading("clean", 4242)
    bits[-1] = not bits[-1]
    reading = resolve_states(_states_from(bits))
    assert reading.kind == "undecodable" and "crc" in reading.reason


def test_resolve_every_mixture_of_neighbours_is_never_wrong() -> None:
    """Each bit where code(n) and code(n+1) differ may read as either value or as ambiguous."""
    rng = np.random.default_rng(9)
    for n in [MOD - 1, 0, 0x7FFFFF] + [int(v) for v in rng.integers(0, MOD, 40)]:
        ca, cb = code_bits(n), code_bits(n + 1)
        differ = np.flatnonzero(ca != cb)
        full_blend = None
        for choice in itertools.product((0, 1, -1), repeat=len(differ)):
            states = _states_from(ca)
            states[differ] = choice
            reading = resolve_states(states)
            assert not is_wrong_for_pair(reading, n), (n, choice, reading)
            if all(c == -1 for c in choice):
                full_blend = reading
        assert full_blend == Reading("blended", n)


def test_resolve_rejects_two_ambiguous_counter_bits() -> None:
    states = _states_from(code_bits(1000))
    states[[5, 9]] = -1
    reading = resolve_states(states)
    assert reading.kind == "undecodable" and "counter" in reading.reason


def test_resolve_rejects_non_neighbour_ambiguity() -> None:
    states = _states_from(code_bits(1000))
    states[0] = -1  # MSB: resolving gives values 2**23 apart
    reading = resolve_states(states)
    assert reading.kind == "undecodable"


def test_renderer_rejects_bad_input() -> None:
    r = SceneRenderer(640, 360)
    with pytest.raises(ValueError):
        r.render(-1)
    with pytest.raises(ValueError):
        r.render(1, refresh_hz=0)
    with pytest.raises(ValueError):
        SceneRenderer(64, 36)
