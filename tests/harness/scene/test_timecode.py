"""Tests for the display time code: the decoder must never report a counter the frame does not show."""

from __future__ import annotations

import io
import itertools
from fractions import Fraction

import cv2
import numpy as np
import pytest

from harness.scene.timecode import (
    ANCHOR_MIN_CONTRAST,
    ANCHOR_MIN_DIFFERENCE,
    CODE_BITS,
    COUNTER_BITS,
    CRC_BITS,
    DEFAULT_LAYOUT,
    GREY,
    Coarse,
    CodeLayout,
    Reading,
    SceneRenderer,
    TimecodeDecoder,
    anchor_visible,
    bit_decisions,
    coarse_bits,
    code_bits,
    crc8,
    crc16,
    gray_decode,
    gray_encode,
    resolve_coarse,
    resolve_states,
    resolve_word,
    slot_seconds,
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


def test_crc_known_values() -> None:
    assert crc8(b"123456789") == 0xF4  # CRC-8/SMBUS check value
    assert crc8(b"") == 0
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value


def test_crc_of_neighbours_always_differs() -> None:
    """Gray(n) ^ Gray(n+1) is one bit; the CRC of a single bit is never 0, so a row tear is caught."""
    for k in range(COUNTER_BITS):
        assert crc8((1 << k).to_bytes(3, "big")) != 0


def test_any_three_misread_cells_are_rejected() -> None:
    """The CRC covers the bits as drawn (Gray): every 1-, 2- and 3-bit error of a codeword fails it."""
    rng = np.random.default_rng(10)
    for n in [int(v) for v in rng.integers(0, MOD, 60)]:
        good = code_bits(n).astype(np.int8)
        for flips in (1, 2, 3):
            for _ in range(40):
                states = good.copy()
                states[rng.choice(CODE_BITS, flips, replace=False)] ^= 1
                assert resolve_states(states).kind == "undecodable"


def test_code_bits_layout() -> None:
    for n in (0, 1, 123456, MOD - 1, MOD + 5):
        bits = code_bits(n)
        assert bits.shape == (CODE_BITS,) == (32,)
        assert bits.dtype == bool
        m = n % MOD
        gray = int("".join("1" if b else "0" for b in bits[:COUNTER_BITS]), 2)
        crc = int("".join("1" if b else "0" for b in bits[COUNTER_BITS:]), 2)
        assert gray == gray_encode(m)
        assert crc == crc8(gray.to_bytes(3, "big"))
    assert CRC_BITS == 8


def test_coarse_word_round_trip_and_slot_seconds() -> None:
    bits = coarse_bits(4321, 1_767_225_601)
    assert bits.shape == (64,)
    assert resolve_coarse(bits.astype(np.int8)) == (4321, 1_767_225_601)
    bits[5] = not bits[5]
    assert resolve_coarse(bits.astype(np.int8)) is None
    ambiguous = coarse_bits(1, 2).astype(np.int8)
    ambiguous[40] = -1
    assert resolve_coarse(ambiguous) is None
    assert slot_seconds(100.4) == (100, 99) and slot_seconds(101.0) == (100, 101)


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
    assert anchors.shape == (6, 4)
    for block in ("fine", "A", "B"):
        boxes = DEFAULT_LAYOUT.cell_boxes(w, h, block)
        assert anchors[0::2, 2].max() < boxes[:, 0].min() and anchors[1::2, 0].min() > boxes[:, 2].max()
    slot_a, slot_b = DEFAULT_LAYOUT.cell_boxes(w, h, "A"), DEFAULT_LAYOUT.cell_boxes(w, h, "B")
    assert slot_a[:, 3].max() <= cells[:, 1].min() and cells[:, 3].max() <= slot_b[:, 1].min()


@pytest.mark.parametrize("change", [{"text_baseline_y": 0.45}, {"band_y0": 0.34}, {"slot_y0": (0.10, 0.61)}])
def test_layout_rejects_overlaps(change: dict) -> None:
    with pytest.raises(ValueError):
        CodeLayout(**change)


def test_text_and_decorations_stay_out_of_the_quiet_zone() -> None:
    w, h = 640, 360
    r = SceneRenderer(w, h)
    lay = DEFAULT_LAYOUT
    qy0, qy1 = round(lay.quiet_y0 * h), round(lay.quiet_y1 * h)
    code = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in np.vstack([lay.cell_boxes(w, h, b) for b in ("fine", "A", "B")] + [lay.anchor_boxes(w, h)]):
        code[y0:y1, x0:x1] = True
    for n in (0, 59, 123456, MOD - 1, 10**8 + 12345):
        img = r.render(n, refresh_hz=60.0 if n % 2 else 59.94)
        zone = img[qy0:qy1][~code[qy0:qy1]]
        assert np.all(zone == GREY)
        assert np.all(img[: round(0.08 * h)] == GREY)  # the scene's flash strip is left alone


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
    r, _d = scene640
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
        x0, y0, x1, y1 = DEFAULT_LAYOUT.anchor_boxes(640, 360)[3]  # right anchor of the fine band
        img[y0:y1, x0:x1] = GREY
    reading = TimecodeDecoder(640, 360).decode(img)
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


def _cell_means(bits: np.ndarray, white: float, black: float) -> list[float]:
    """Bit cell then complement cell, as the fine band lays them out."""
    return [v for b in bits for v in ((white, black) if b else (black, white))]


@pytest.mark.parametrize("white, black", [(200.0, 30.0), (60.0, 12.0)], ids=["bright", "dim"])
def test_bit_decisions_follow_the_frame_contrast(white: float, black: float) -> None:
    """Every bit of a plain frame is decided at any gain; a bit whose cells sit near each
    other (a blend) is ambiguous; the word then resolves as :func:`resolve_states` would."""
    bits = code_bits(4242)
    amb, ones, contrast = bit_decisions(_cell_means(bits, white, black))
    assert amb == 0 and contrast == pytest.approx((white - black) / (white + black + 1.0))
    assert resolve_word(amb, ones) == resolve_states(_states_from(bits)) == Reading("clean", 4242)
    means = _cell_means(bits, white, black)
    means[0:2] = [(white + black) / 2 + 1.0, (white + black) / 2]  # bit 0 (MSB): cells 1 apart
    amb, ones, _ = bit_decisions(means)
    assert amb == 1 << (CODE_BITS - 1) and ones & amb == 0


def test_anchor_visible_needs_relative_and_absolute_contrast() -> None:
    floor, relative = ANCHOR_MIN_DIFFERENCE, ANCHOR_MIN_CONTRAST
    assert anchor_visible(200.0, 20.0)
    assert not anchor_visible(200.0, 150.0)  # a grey anchor: relative contrast 0.14
    assert anchor_visible(2.0 + floor, 2.0)  # dark, but at the absolute floor and well above relative
    assert not anchor_visible(1.9 + floor, 2.0)  # just below the floor
    ring = 100.0 * (1 + relative) / (1 - relative)  # relative contrast exactly at the limit (plus the +1 guard)
    assert not anchor_visible(ring, 100.0) and anchor_visible(ring + 2.0, 100.0)


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


# --------------------------------------------------------------------------- three-refresh exposures


def test_three_refresh_exposure_reads_dominant_frame_or_nothing() -> None:
    """Weights (a, b, c) over n-1, n, n+1: a reading names n (or a bracket holding it), never another value."""
    rng = np.random.default_rng(11)
    for n in [int(v) for v in rng.integers(1, MOD - 2, 40)]:
        f = [code_bits(n + k).astype(np.float64) for k in (-1, 0, 1)]
        for a, c in ((0.15, 0.15), (0.2, 0.1), (0.1, 0.25), (0.3, 0.3), (0.05, 0.4)):
            mix = a * f[0] + (1 - a - c) * f[1] + c * f[2]
            d = 2 * mix - 1  # bit cell minus complement, normalised
            states = np.full(CODE_BITS, -1, np.int8)
            states[d > 0.35] = 1
            states[d < -0.35] = 0
            reading = resolve_states(states)
            if reading.kind == "clean":
                assert reading.value == n, (n, a, c, reading)
            elif reading.kind == "blended":
                assert reading.value in (n - 1, n), (n, a, c, reading)
    # the common case, a centred exposure of 1.6 refreshes, is read clean as the middle frame, also
    # when a check bit that differs from both neighbours is ambiguous
    hits = 0
    for n in range(1000, 1064):
        f = [code_bits(n + k).astype(np.float64) for k in (-1, 0, 1)]
        d = 2 * (0.2 * f[0] + 0.6 * f[1] + 0.2 * f[2]) - 1
        states = np.where(d > 0.35, 1, np.where(d < -0.35, 0, -1)).astype(np.int8)
        reading = resolve_states(states)
        assert (reading.kind, reading.value) == ("clean", n)
        hits += reading.reason == "dominant of a three-refresh exposure"
    assert hits > 0


# --------------------------------------------------------------------------- coarse slots


def test_coarse_slots_carry_run_id_and_utc_second() -> None:
    r = SceneRenderer(640, 360, run_id=4242, utc_origin=1_767_225_600.25)
    d = TimecodeDecoder(640, 360)
    n = 60 * 100 + 12  # scene time 100.2 s: UTC 1_767_225_700.45
    reading = d.decode(r.render(n))
    assert reading == Reading("clean", n)
    assert reading.coarse == Coarse(4242, 1_767_225_700, True)


def test_a_blend_across_a_slot_change_still_reads_the_other_slot() -> None:
    """At a UTC second one slot changes; a frame blending across it reads the stable slot only."""
    r = SceneRenderer(640, 360, run_id=7, utc_origin=0.0)
    d = TimecodeDecoder(640, 360)
    n = 60 * 37 - 1  # display frames n and n+1 straddle UTC second 37 (slot B changes 35 -> 37)
    reading = d.decode(blend(r.render(n), r.render(n + 1), 0.5))
    assert reading == Reading("blended", n)
    assert reading.coarse == Coarse(7, 36, False)  # slot A (36) only: the second is 36 or 37


def test_coarse_is_none_without_readable_slots() -> None:
    r = SceneRenderer(640, 360, run_id=1)
    img = r.render(5000)
    for block in ("A", "B"):
        x0, y0, x1, y1 = DEFAULT_LAYOUT.cell_boxes(640, 360, block)[0]
        img[y0:y1, x0:x1] = GREY  # one cell of each slot covered
    reading = TimecodeDecoder(640, 360).decode(img)
    assert reading == Reading("clean", 5000) and reading.coarse is None


# --------------------------------------------------------------------------- locate, then track


def _filmed(img: np.ndarray, quad: np.ndarray, size: tuple[int, int] = (1280, 720), blur: float = 1.0) -> np.ndarray:
    """The display image seen through a homography onto ``quad`` in a dark room, slightly blurred."""
    h, w = img.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, np.float32(quad))
    out = cv2.warpPerspective(img, m, size, flags=cv2.INTER_AREA, borderValue=25)
    return cv2.GaussianBlur(out, (0, 0), blur)


OFF_AXIS = np.array([[400, 250], [820, 200], [830, 470], [395, 430]])  # ~25 degrees of yaw, small roll


def test_decoder_locates_the_code_off_axis_then_tracks() -> None:
    r = SceneRenderer(640, 360, run_id=3)
    d = TimecodeDecoder(1280, 720)
    for n in range(20000, 20040):
        assert d.decode(_filmed(r.render(n), OFF_AXIS)) == Reading("clean", n)
    assert d.searches == 1  # located once, tracked after
    assert d.sampler is not None and d.sampler.cell_px < 12


def test_decoder_relocates_when_the_display_moves() -> None:
    r = SceneRenderer(640, 360)
    d = TimecodeDecoder(1280, 720)
    assert d.decode(_filmed(r.render(10), OFF_AXIS)) == Reading("clean", 10)
    moved = OFF_AXIS + np.array([180, 60])
    assert d.decode(_filmed(r.render(11), moved)) == Reading("clean", 11)
    assert d.searches == 2


def test_searches_are_spaced_out_when_no_code_is_in_view() -> None:
    """A clip with no code costs few searches: after eight failures they are spaced up to 32 frames."""
    d = TimecodeDecoder(640, 360)
    room = np.full((360, 640), 40, np.uint8)
    for _ in range(300):
        reading = d.decode(room)
        assert reading.kind == "undecodable" and "no code" in reading.reason
    assert d.searches < 25


def test_two_anchors_alone_are_not_taken_for_the_code() -> None:
    """Acquiring needs five of six anchors: a picture with only the fine band's anchors is not the code."""
    r = SceneRenderer(640, 360)
    img = np.random.default_rng(12).integers(0, 256, (360, 640), dtype=np.uint8)
    full = r.render(777)
    for box in DEFAULT_LAYOUT.anchor_boxes(640, 360)[2:4]:
        x0, y0, x1, y1 = box
        img[y0:y1, x0:x1] = full[y0:y1, x0:x1]
    d = TimecodeDecoder(640, 360)
    reading = d.decode(img)
    assert reading.kind == "undecodable" and "no code" in reading.reason and d.sampler is None


def test_tracking_is_dropped_when_nothing_reads_for_a_while() -> None:
    """Anchors still in place but the cells unreadable for eight frames: the decoder searches again."""
    r = SceneRenderer(640, 360)
    d = TimecodeDecoder(640, 360)
    assert d.decode(r.render(50)).kind == "clean" and d.sampler is not None
    smeared = r.render(51)
    for x0, y0, x1, y1 in DEFAULT_LAYOUT.cell_boxes(640, 360):
        smeared[y0:y1, x0:x1] = GREY
    for _ in range(8):
        assert d.decode(smeared).kind == "undecodable"
    assert d.sampler is None
    assert d.decode(r.render(52)) == Reading("clean", 52)
