"""Everything the harness reads from one clip: time code, burned-in clock, flashes and audio.

One video pass (time code plus the per-frame probes) and one audio pass; the results hang on the
clip's :class:`ClipAnalysis` so that every later stage handles a single object per file.
"""

from __future__ import annotations

from pathlib import Path

from harness.analysis.audio import analyze_audio
from harness.analysis.clip import ClipAnalysis, analyze_clip
from harness.analysis.mapping import ClipMapping
from harness.analysis.overlay_text import OverlayTextProbe
from harness.analysis.probes import BrightnessProbe, WatermarkProbe
from harness.plan.profile import TextOverlay
from harness.scene.stimulus import event_times

EDGE_MARGIN_S = 0.3  # stimuli this close to a clip's ends are not looked for (may be cut)


def analyse_clip_fully(
    path: Path | str,
    refresh_hz: float = 60.0,
    burned_in: str | TextOverlay | None = None,
    press_at: float | None = None,
    *,
    run_id: int | None = None,
) -> ClipAnalysis:
    """Time code and pts, burned-in clock (if the camera has one), frame brightness, and audio.

    ``burned_in``: how the camera burns in its clock: a reader name ('bits'), or the layout of its
    text overlay (read by OCR; 'text' alone means the default layout); see
    :func:`harness.analysis.overlay_text.burned_in_spec` for a profile's.

    ``run_id``: the run id the rig's display shows; a clip whose time code carries another one was
    filmed in another run, and says so in its ``error`` and ``findings``.
    """
    probes: list = [BrightnessProbe()]
    overlay: OverlayTextProbe | None = None
    unread: str | None = None
    if burned_in == "text":
        burned_in = TextOverlay()
    if isinstance(burned_in, TextOverlay):
        try:
            overlay = OverlayTextProbe(burned_in)
            probes.append(overlay)
        except ValueError as exc:  # a format the reader cannot parse back: said, not raised
            unread = f"overlay clock not read: {exc}"
    elif burned_in:
        probes.append(WatermarkProbe(burned_in))
    clip = analyze_clip(path, refresh_hz, press_at, probes=probes, run_id=run_id)
    clip.brightness = probes[0].levels
    if overlay is not None:
        reading = overlay.finish(clip.frame_period_s)
        clip.camera_utc = reading.samples
        clip.overlay_serial = reading.serial
        clip.findings += reading.findings
    elif unread:
        clip.findings.append(unread)
    elif burned_in:
        clip.camera_utc = probes[1].samples
    if clip.first_ref_s is None or clip.last_ref_s is None:
        return clip
    try:
        mapping = ClipMapping(clip, grid=True)
    except ValueError:
        return clip
    stimuli = event_times(clip.first_ref_s + EDGE_MARGIN_S, clip.last_ref_s - EDGE_MARGIN_S, refresh_hz)
    audio = analyze_audio(path, [(t, mapping.pts_at(t)) for t in stimuli])
    clip.audio = audio
    clip.audio_stream = audio.error != "no audio stream"
    if clip.audio_stream and audio.error is None:
        clip.chirps_expected = len(audio.chirps)
        clip.chirps_found = sum(c.audio_pts_s is not None for c in audio.chirps)
    return clip
