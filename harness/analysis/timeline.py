"""Clip timeline reconstruction: a robust fit of scene reference time against the camera's frames.

Each decoded frame says, through the time code, where its exposure midpoint lies in scene time:

* clean ``n``: inside display frame ``n``, i.e. in ``[n, n + 1] / refresh``. This holds for any
  exposure length and any monotone camera response: both Gray steps around ``n`` were decided
  for ``n``, so more than half of the exposure lay on each side of the midpoint inside ``n``;
* blended ``(n, n + 1)``: the exposure straddled the switch at ``(n + 1) / refresh``; its midpoint
  is within half a refresh of it.

The camera's sensor runs on a regular grid, ``midpoint(k) = t0 + T k``. The fit finds the grid:
each frame's sensor index ``k`` (so gaps and repeats show even when the camera writes perfectly
regular pts over frames its sensor lost), the sensor period ``T`` in scene time (its ratio to the
pts period is the camera frame clock's error in ppm), and ``t0`` as the region where the most
frame intervals overlap once moved onto the grid. As the camera's phase wanders against the
display, clean and blended frames pin ``t0`` down to far better than one frame period; the width
of that region is the reported uncertainty. Outliers (misread or torn frames) simply fail to
join the overlap, so they cannot drag the fit.

The intervals assume each display frame was up for one refresh, on time. On a bench whose present
times are measured at the panel (a photodiode), the same readings are fitted again with every
interval where the panel really held the frame (``fit(present=...)``, see
harness/analysis/present.py).

Memory: three numbers a frame (pts, kind, counter) in growable arrays; no images.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.scene.timecode import COUNTER_MODULUS, THREE_REFRESHES, Reading

KIND_CODE = {"undecodable": 0, "clean": 1, "blended": 2}
WIDE_CLEAN = 3  # clean from a three-refresh exposure: its midpoint may sit a little outside n
#: how far outside display frame n such a frame's midpoint may lie (refreshes)
WIDE_CLEAN_MARGIN = 0.5
#: a blended frame's midpoint lies within this many refreshes of the switch it straddles
BLEND_HALF_WIDTH = 0.5
#: point-estimate residuals beyond this (refreshes) mark a frame as inconsistent with the grid
OUTLIER_REFRESHES = 0.8
#: every interval is widened by this (refreshes): the code band's rows are exposed over a little
#: readout time, and cells near a decision edge may tip either way
INTERVAL_MARGIN = 0.05
BEAT_TOLERANCE = 0.01  # refreshes: a run of frames this close to whole refreshes sweeps every phase


class _Growable:
    """A numpy array that doubles when full (amortised O(1) appends, compact storage)."""

    def __init__(self, dtype: type, capacity: int = 1024) -> None:
        self._data: np.ndarray = np.empty(capacity, dtype=dtype)
        self.size = 0

    def append(self, value: float | int) -> None:
        if self.size == self._data.size:
            self._data = np.resize(self._data, 2 * self._data.size)
        self._data[self.size] = value
        self.size += 1

    @property
    def array(self) -> np.ndarray:
        return self._data[: self.size]


@dataclass
class TimelineFit:
    """What the fit says about one clip (times in seconds of scene reference time)."""

    first_ref_s: float | None = None
    first_ref_uncertainty_s: float | None = None
    last_ref_s: float | None = None
    sensor_period_s: float | None = None
    pts_period_s: float | None = None
    drift_ppm: float | None = None
    drift_ppm_uncertainty: float | None = None
    # standard error of the frame grid's rate (least squares on the readings), in ppm: what a
    # slope measured against video instants inherits from the time code's quantisation
    drift_ppm_standard_error: float | None = None
    gaps: list[tuple[float, int]] = field(default_factory=list)  # (after ref s, missing frames)
    duplicates: list[tuple[float, int]] = field(default_factory=list)  # (ref s, extra copies)
    backwards: list[tuple[float, float, float]] = field(default_factory=list)  # (pts s, from ref s, to ref s)
    inconsistent_frames: int = 0
    # per frame: scene time on the fitted sensor grid (NaN off the grid or undecodable). A frame's
    # own reading is quantised to the display refresh, and when the frame rate beats slowly against
    # the refresh (29.97 fps on 60 Hz) that error drifts for seconds; the grid averages it away
    grid_ref_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counter_wraps: int = 0
    run_ids: dict[int, int] = field(default_factory=dict)
    run_id_changes: int = 0
    utc_origin_s: float | None = None  # UTC of scene time 0, from the coarse slots
    utc_origin_uncertainty_s: float | None = None
    utc_conflict: bool = False
    findings: list[str] = field(default_factory=list)
    error: str | None = None


class TimelineBuilder:
    """Streams (pts, reading) pairs in; :meth:`fit` reconstructs the clip's timeline at the end."""

    def __init__(self, refresh_hz: float) -> None:
        self.refresh_hz = refresh_hz
        self._pts = _Growable(np.float64)
        self._kind = _Growable(np.int8)
        self._value = _Growable(np.int64)
        self._wrap_offset = 0
        self._last_mod: int | None = None
        self.counter_wraps = 0
        self.run_ids: Counter[int] = Counter()
        self._last_run: int | None = None
        self.run_id_changes = 0
        self._utc_lo = -np.inf
        self._utc_hi = np.inf
        self._utc_seen = False
        self.utc_conflict = False

    def __len__(self) -> int:
        return self._pts.size

    def add(self, pts_s: float, reading: Reading) -> float | None:
        """Record one frame; returns its point estimate of reference time (None if undecodable)."""
        self._pts.append(pts_s)
        self._kind.append(WIDE_CLEAN if reading.reason == THREE_REFRESHES else KIND_CODE[reading.kind])
        if reading.value is None or reading.kind == "undecodable":
            self._value.append(-1)
            return None
        value = self._unwrap(reading.value)
        self._value.append(value)
        if reading.coarse is not None:
            self._coarse(value, reading)
        return (value + (1.0 if reading.kind == "blended" else 0.5)) / self.refresh_hz

    def _unwrap(self, mod_value: int) -> int:
        """The counter made monotone across its 2**24 wrap (about 78 hours at 60 Hz)."""
        if self._last_mod is not None:
            step = mod_value - self._last_mod
            if step < -COUNTER_MODULUS // 2:
                self._wrap_offset += COUNTER_MODULUS
                self.counter_wraps += 1
            elif step > COUNTER_MODULUS // 2 and self._wrap_offset:
                self._wrap_offset -= COUNTER_MODULUS  # a frame from just before a wrap, after it
        self._last_mod = mod_value
        return mod_value + self._wrap_offset

    def _coarse(self, value: int, reading: Reading) -> None:
        coarse = reading.coarse
        assert coarse is not None
        self.run_ids[coarse.run_id] += 1
        if self._last_run is not None and coarse.run_id != self._last_run:
            self.run_id_changes += 1
        self._last_run = coarse.run_id
        if not coarse.exact:
            return
        # the slots show floor(utc_origin + n / refresh) for the display frame n they were drawn in
        shown = value / self.refresh_hz
        lo, hi = coarse.utc_s - shown, coarse.utc_s + 1 - shown
        if reading.kind == "blended":
            lo -= 1 / self.refresh_hz
        self._utc_seen = True
        self._utc_lo, self._utc_hi = max(self._utc_lo, lo), min(self._utc_hi, hi)
        if self._utc_lo > self._utc_hi + 1e-6:
            self.utc_conflict = True

    # -- the fit ----------------------------------------------------------------------------
    def fit(self, present: Callable[[np.ndarray], np.ndarray] | None = None) -> TimelineFit:
        """The clip's timeline in nominal scene time (display frame ``n`` up from ``n / refresh``
        for one refresh), or with ``present`` (nominal times -> the times the panel showed them,
        e.g. a photodiode's present log) in present time: each frame's interval is then where the
        display really held the frames it read, so a late, held or dropped refresh neither
        misplaces the frames that saw it nor widens the fit. The UTC origin stays nominal."""
        fit = TimelineFit(
            counter_wraps=self.counter_wraps,
            run_ids=dict(self.run_ids),
            run_id_changes=self.run_id_changes,
            utc_conflict=self.utc_conflict,
        )
        pts, kind, value = self._pts.array, self._kind.array, self._value.array
        if pts.size == 0:
            fit.error = "clip holds no video frames"
            return fit
        steps = np.diff(pts)
        steps = steps[steps > 0]
        t_nom = float(np.median(steps)) if steps.size else None
        fit.pts_period_s = t_nom
        dec = np.flatnonzero(kind > 0)
        if dec.size == 0:
            fit.error = "no frame carries a readable time code (is the display in view?)"
            return fit
        refresh = self.refresh_hz
        v = value[dec].astype(np.float64)
        blended = kind[dec] == 2
        # when display frame v came up and when v + 1 replaced it
        start, end = v / refresh, (v + 1) / refresh
        if present is not None:
            start, end = present(start), present(end)
        r = np.where(blended, end, 0.5 * (start + end))
        wide = np.where(kind[dec] == WIDE_CLEAN, WIDE_CLEAN_MARGIN, 0.0) / refresh
        lo = np.where(blended, end - BLEND_HALF_WIDTH / refresh, start - wide)
        hi = np.where(blended, end + BLEND_HALF_WIDTH / refresh, end + wide)
        period = t_nom if t_nom is not None else 1.0 / refresh
        k, slope, inliers = _sensor_grid(r, period, refresh)
        # the file's first and last frames on the grid (extrapolated by pts over undecodable ends)
        k_first = k[0] - (round((pts[dec[0]] - pts[0]) / period) if dec[0] > 0 else 0)
        k_last = k[-1] + (round((pts[-1] - pts[dec[-1]]) / period) if dec[-1] < pts.size - 1 else 0)
        rel = (k - k_first).astype(np.float64)
        lo, hi = lo - INTERVAL_MARGIN / refresh, hi + INTERVAL_MARGIN / refresh
        # robust first pass: the LS slope, t0 where the most intervals overlap; frames whose
        # interval misses that overlap (by more than the slope's own uncertainty) are off the grid
        slope_se = _slope_se(r[inliers], k[inliers], slope)
        widen = 4 * slope_se * np.abs(rel)
        a, b = _deepest(lo - slope * rel - widen, hi - slope * rel + widen)
        inliers &= (lo - slope * rel - widen <= b) & (hi - slope * rel + widen >= a)
        fit.inconsistent_frames = int((~inliers).sum())
        # exact pass: every (t0, T) that puts every inlier frame inside its interval
        region = _feasible(lo[inliers], hi[inliers], rel[inliers], slope, a, b)
        if region is not None:
            (a, b), (slope_lo, slope_hi) = region
            slope = min(max(slope, slope_lo), slope_hi)  # least squares, kept inside the guaranteed bounds
        else:
            slope_lo, slope_hi = slope - 4 * slope_se, slope + 4 * slope_se
        fit.sensor_period_s = slope
        fit.first_ref_s = 0.5 * (a + b)
        fit.first_ref_uncertainty_s = 0.5 * (b - a)
        fit.last_ref_s = fit.first_ref_s + slope * (k_last - k_first)

        def at(kk: int) -> float:
            return float(fit.first_ref_s + slope * (kk - k_first))

        fit.grid_ref_s = np.full(pts.size, np.nan)
        fit.grid_ref_s[dec[inliers]] = fit.first_ref_s + slope * (k[inliers] - k_first)

        # frames off the grid (torn or misread) count as undecodable for gaps and repeats
        self._events(fit, dec[inliers], k[inliers], pts, at)
        self._drift(fit, dec[inliers], k[inliers], pts, slope, slope_lo, slope_hi)
        if fit.drift_ppm is not None and fit.pts_period_s:
            fit.drift_ppm_standard_error = _slope_se(r[inliers], k[inliers], slope) / fit.pts_period_s * 1e6
        if self._utc_seen and not self.utc_conflict:
            fit.utc_origin_s = 0.5 * (self._utc_lo + self._utc_hi)
            fit.utc_origin_uncertainty_s = 0.5 * (self._utc_hi - self._utc_lo)
        return fit

    @staticmethod
    def _events(fit: TimelineFit, dec: np.ndarray, k: np.ndarray, pts: np.ndarray, at: Callable[[int], float]) -> None:
        """Gaps, repeats and backward jumps between consecutive decoded frames."""
        dk = np.diff(k)
        steps = np.diff(dec)
        runs: list[tuple[float, int, int]] = []  # (ref s, extra copies, index of the run's last step)
        for i in np.flatnonzero((dk != steps) | (dk <= 0)):
            ka, kb = int(k[i]), int(k[i + 1])
            if dk[i] < 0:
                fit.backwards.append((float(pts[dec[i + 1]]), at(ka), at(kb)))
            elif dk[i] == 0:
                if runs and runs[-1][0] == at(ka) and runs[-1][2] == i - 1:
                    ref, count, _ = runs[-1]
                    runs[-1] = (ref, count + 1, int(i))
                else:
                    runs.append((at(ka), 1, int(i)))
            elif dk[i] > steps[i]:
                fit.gaps.append((at(ka), int(dk[i] - steps[i])))
        fit.duplicates += [(ref, count) for ref, count, _ in runs]

    @staticmethod
    def _drift(
        fit: TimelineFit,
        dec: np.ndarray,
        k: np.ndarray,
        pts: np.ndarray,
        slope: float,
        slope_lo: float,
        slope_hi: float,
    ) -> None:
        """The camera frame clock's rate error: sensor period in scene time over period in pts."""
        if fit.pts_period_s is None:
            return
        dk = np.diff(k).astype(np.float64)
        dp = np.diff(pts[dec])
        honest = (dk >= 1) & (np.abs(dp / np.maximum(dk, 1) - fit.pts_period_s) < 0.25 * fit.pts_period_s)
        if dk[honest].sum() < 2:
            return
        t_pts = float(dp[honest].sum() / dk[honest].sum())
        fit.pts_period_s = t_pts
        fit.drift_ppm = (slope / t_pts - 1.0) * 1e6
        fit.drift_ppm_uncertainty = max(slope_hi - slope, slope - slope_lo) / t_pts * 1e6


def _sensor_grid(r: np.ndarray, period: float, refresh: float) -> tuple[np.ndarray, float, np.ndarray]:
    """Sensor index of each decoded frame, the sensor period (scene s) and the inlier mask.

    A first pass rounds consecutive differences (robust to a slightly wrong period); a
    least-squares line through the inliers then re-rounds every frame against the line.
    """
    if r.size == 1:
        return np.zeros(1, dtype=np.int64), period, np.ones(1, dtype=bool)
    k = _step_indices(r, period)
    # robust start (Theil-Sen on frames half a clip apart), then least squares on the inliers
    half = r.size // 2
    dk = (k[half : half * 2] - k[:half]).astype(np.float64)
    ok = dk != 0
    slope = float(np.median((r[half : half * 2] - r[:half])[ok] / dk[ok])) if ok.any() else period
    intercept = float(np.median(r - slope * k))
    inliers = np.ones(r.size, dtype=bool)
    for _ in range(3):
        k = np.rint((r - intercept) / slope).astype(np.int64)
        inliers = np.abs(r - (intercept + slope * k)) <= OUTLIER_REFRESHES / refresh
        if inliers.sum() < 2 or np.ptp(k[inliers]) == 0:
            break
        slope, intercept = np.polyfit(k[inliers].astype(np.float64), r[inliers], 1)
    return k, _whole_beats_slope(r[inliers], k[inliers], float(slope), period * refresh), inliers


def _whole_beats_slope(r: np.ndarray, k: np.ndarray, slope: float, refreshes_per_frame: float) -> float:
    """The slope between the mean reading of the first whole beat of frames and that of the last.

    A reading's error is a function of the frame's phase on the refresh. At 29.97 fps on 60 Hz that
    phase sweeps the refresh once every 500 frames (at 25 fps every 5), so the error is a slow
    sawtooth that tilts a least-squares line by tens of ppm. Over a run of frames that sweeps whole
    refreshes every phase counts alike, so the mean error of the first run equals that of the last
    and cancels. Without such a run in the first half of the clip, or with a rate locked to the
    refresh (a constant error): the least-squares slope.
    """
    if r.size < 3 or abs(refreshes_per_frame - round(refreshes_per_frame)) < 1e-9:
        return slope
    kk = (k - k.min()).astype(np.float64)
    lengths = np.arange(2, int(kk.max() // 2) + 1)
    if lengths.size == 0:
        return slope
    sweep = lengths * refreshes_per_frame
    miss = np.abs(sweep - np.round(sweep))
    if miss.min() > BEAT_TOLERANCE:
        return slope
    beat = int(lengths[np.flatnonzero(miss <= miss.min() + 1e-6)[0]])  # the shortest run nearest whole
    run = beat * max(1, int(kk.max() // (4 * beat)))  # about a quarter of the clip
    first, last = kk < run, kk > kk.max() - run
    dk = float(kk[last].mean() - kk[first].mean())
    return float((r[last].mean() - r[first].mean()) / dk) if dk > 0 else slope


def _step_indices(r: np.ndarray, period: float) -> np.ndarray:
    """Sensor indices by stepping from the last frame that sat squarely on the grid.

    A frame half-way between two grid slots (a misread or torn frame) gets an index but does not
    become the reference for the next one, so it cannot shift every later index by one.
    """
    k = np.zeros(r.size, dtype=np.int64)
    ref, doubtful = 0, 0
    for i in range(1, r.size):
        x = (r[i] - r[ref]) / period
        step = round(x)
        k[i] = k[ref] + step
        if abs(x - step) < 0.35 or doubtful >= 5:  # after five doubtful frames the reference was the odd one
            ref, doubtful = i, 0
        else:
            doubtful += 1
    return k


def _deepest(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """The span where the most intervals [lo, hi] overlap (its outer ends if the maximum recurs)."""
    events = np.concatenate([lo, hi])
    delta = np.concatenate([np.ones(lo.size, np.int64), -np.ones(hi.size, np.int64)])
    order = np.lexsort((-delta, events))  # at equal positions, openings before closings
    depth = np.cumsum(delta[order])
    best = depth.max()
    at_best = np.flatnonzero(depth == best)
    start = float(events[order][at_best[0]])
    end = float(events[order][at_best[-1] + 1])
    return start, end


def _slope_se(r: np.ndarray, k: np.ndarray, slope: float) -> float:
    """Standard error of the least-squares slope (at least a quantisation floor)."""
    if r.size < 3 or np.ptp(k) == 0:
        return 0.0
    kk = k.astype(np.float64)
    resid = r - np.polyval(np.polyfit(kk, r, 1), kk)
    sxx = float(((kk - kk.mean()) ** 2).sum())
    return float(max(resid.std(), 1e-6) / np.sqrt(sxx))


def _feasible(
    lo: np.ndarray, hi: np.ndarray, rel: np.ndarray, slope: float, a: float, b: float
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The (t0, T) region where lo <= t0 + T rel <= hi for every frame, projected on each axis.

    For a fixed T the feasible t0 run from f(T) = max(lo - T rel) to g(T) = min(hi - T rel); f is
    convex and g concave, so the slack g - f is concave and the feasible T form one interval:
    found by ternary search for the widest slack and bisection for its two ends.
    """
    if rel.size < 2 or np.ptp(rel) == 0:
        return None

    def f(t: float) -> float:
        return float(np.max(lo - t * rel))

    def g(t: float) -> float:
        return float(np.min(hi - t * rel))

    span = float(np.ptp(rel))
    reach = max(4 * (b - a), float(np.max(hi - lo))) / span  # slopes beyond this cannot fit
    left, right = slope - reach, slope + reach
    for _ in range(80):
        m1, m2 = left + (right - left) / 3, right - (right - left) / 3
        if g(m1) - f(m1) < g(m2) - f(m2):
            left = m1
        else:
            right = m2
    best = 0.5 * (left + right)
    if g(best) - f(best) < 0:
        return None  # no grid fits every frame: keep the robust first pass

    def edge(inside: float, outside: float) -> float:
        for _ in range(60):
            mid = 0.5 * (inside + outside)
            if g(mid) - f(mid) >= 0:
                inside = mid
            else:
                outside = mid
        return inside

    t_lo, t_hi = edge(best, slope - 2 * reach), edge(best, slope + 2 * reach)

    def extreme(fn, sign: float) -> float:
        left, right = t_lo, t_hi
        for _ in range(60):
            m1, m2 = left + (right - left) / 3, right - (right - left) / 3
            if sign * fn(m1) < sign * fn(m2):
                right = m2
            else:
                left = m1
        return fn(0.5 * (left + right))

    return (extreme(f, 1.0), extreme(g, -1.0)), (t_lo, t_hi)
