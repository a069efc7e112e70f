"""How the emulated camera turns one event into files: frames, segments, audio, clock, metadata.

Everything a defect can touch is decided here, frame by frame, from the camera's
:class:`~harness.emulator.faults.Behaviour`; the ground truth of what was written is kept in
:class:`EventTruth` for tests and benchmarks (the checks never see it).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from harness.analysis.container import drop_index, keep_fragments
from harness.emulator.camera_parts import EventTruth, SegmentTruth, Shot
from harness.emulator.camera_power import BEEP_AMPLITUDE, CameraPower
from harness.emulator.clip_writer import AudioTrack, VideoFrame, fragment_index, write_clip
from harness.emulator.faults import Behaviour
from harness.emulator.overlay import TextOverlayDrawer
from harness.plan.profile import CameraProfile, ReminderTone
from harness.scene.compose import Scene
from harness.scene.stimulus import acoustic_delay_s, chirp, event_times
from harness.scene.watermark import READERS

log = logging.getLogger(__name__)

NOISE_RMS = 0.001  # microphone noise floor, about -60 dBFS


__all__ = ["Recorder", "RecordingCamera", "add_reminder_tones"]


def add_reminder_tones(
    out: np.ndarray, t_heard: np.ndarray, reminder: ReminderTone, since: float, until: float | None
) -> None:
    """Mix the camera's recording reminder into microphone samples ``out`` heard at scene times
    ``t_heard``: ``tones`` beeps every ``every_s`` after the activation at ``since``, while it
    records (until ``until``). The beeper is in the camera, so there is no acoustic delay."""
    if out.size == 0:
        return
    step = reminder.tone_s + reminder.gap_s
    length = reminder.tones * step - reminder.gap_s
    first = max(1, math.ceil((float(t_heard[0]) - length - since) / reminder.every_s))
    k = first
    while (at := since + k * reminder.every_s) <= float(t_heard[-1]) and (until is None or at < until):
        for n in range(reminder.tones):
            rel = t_heard - (at + n * step)
            inside = (rel >= 0) & (rel < reminder.tone_s)
            if inside.any():
                r = rel[inside]
                ramp = np.minimum(1.0, np.minimum(r, reminder.tone_s - r) / 0.005)  # 5 ms edges
                out[inside] += (BEEP_AMPLITUDE * ramp * np.sin(2 * np.pi * reminder.tone_hz * r)).astype(np.float32)
        k += 1


class RecordingCamera(Protocol):
    """What the recorder reads of its camera: settings, sensor, clock, storage and power circuit."""

    @property
    def profile(self) -> CameraProfile: ...
    @property
    def behaviour(self) -> Behaviour: ...
    @property
    def power(self) -> CameraPower: ...
    @property
    def scene(self) -> Scene: ...
    @property
    def storage(self) -> Path: ...
    @property
    def serial(self) -> str: ...

    def frame_times(self, start: float, end: float) -> list[float]: ...

    def capture(self, t: float) -> np.ndarray: ...

    def rtc(self, t: float) -> datetime: ...


class Recorder:
    def __init__(self, camera: RecordingCamera) -> None:
        self.cam = camera
        self.profile = camera.profile
        self.b = camera.behaviour
        self.period = camera.profile.frame_period_s
        video = camera.profile.video
        width, height = camera.profile.written_size  # a 1080p persona may be written smaller in CI
        # the camera's bitrate per pixel, at the size written (an economy size writes fewer bits)
        self.bitrate_kbps = max(100, round(video.bitrate_kbps * width * height / (video.width * video.height)))
        self.watermark = None
        self.overlay = None  # the burned-in text overlay (camera time and serial), when the camera prints one
        clock = self.profile.clock
        if clock.burned_in == "text" and clock.overlay is not None:
            self.overlay = TextOverlayDrawer(clock.overlay)
        elif clock.burned_in:
            self.watermark = READERS[clock.burned_in](width, height)

    # -- frame plan -----------------------------------------------------------------------
    def plan(self, event: EventTruth) -> list[list[Shot]]:
        """The shots of each file of the event, after every defect of the behaviour."""
        assert event.stop_t is not None
        power = self.cam.power
        times = power.thin(
            self.cam.frame_times(event.clip_start_t, event.stop_t), self.profile.segment_s, power.durable_until(event)
        )
        b = self.b
        if b.drop_after_activation:
            at = next((i for i, t in enumerate(times) if t >= event.activation_t), len(times))
            event.dropped += times[at : at + b.drop_after_activation]
            del times[at : at + b.drop_after_activation]
        if b.drop_mid_frames:  # mid-way through the live part: as far from the join as from the end
            live = next((i for i, t in enumerate(times) if t >= event.activation_t), 0)
            at = (live + len(times)) // 2
            event.dropped += times[at : at + b.drop_mid_frames]
            del times[at : at + b.drop_mid_frames]
        mid = len(times) // 2
        if not times:
            return []
        t0 = times[0]
        shots = [Shot(t, t - t0) for t in times]
        if b.hidden_drop_frames:  # the sensor loses frames, the encoder keeps counting regularly
            event.dropped += times[mid : mid + b.hidden_drop_frames]
            kept = times[:mid] + times[mid + b.hidden_drop_frames :]
            shots = [Shot(t, i * self.period) for i, t in enumerate(kept)]
        if b.duplicate_frames:  # the encoder writes one frame again; later pts move one slot on
            m = len(shots) // 2
            extra = [Shot(shots[m].t, shots[m].pts_s + (k + 1) * self.period) for k in range(b.duplicate_frames)]
            later = [Shot(s.t, s.pts_s + b.duplicate_frames * self.period) for s in shots[m + 1 :]]
            event.duplicated += [s.t for s in extra]
            shots = shots[: m + 1] + extra + later
        files = self._segments(shots)
        if self.long_footage(event):
            files = [self._thin_long(f) for f in files]
        return files

    def long_footage(self, event: EventTruth) -> bool:
        """Whether the event is written thinned (``emulation.long_footage_s``): a 4-hour split costs
        seconds. Such an event is written without audio (hours of it would cost minutes to encode),
        unless the camera runs on the battery simulator (whose economy decides its audio)."""
        longest = self.profile.emulation.long_footage_s
        return longest is not None and event.stop_t is not None and event.stop_t - event.clip_start_t > longest

    def _thin_long(self, shots: list[Shot]) -> list[Shot]:
        """Every frame of the file's first and last ``long_footage_edge_s`` (where it starts, ends and
        joins its neighbours reads exactly), none between. The pts keep the hole: a continuity
        check over the file sees it, so no scenario asks one of such an event."""
        edge = self.profile.emulation.long_footage_edge_s
        first, last = shots[0].pts_s, shots[-1].pts_s
        return [s for s in shots if s.pts_s - first < edge or last - s.pts_s < edge]

    def _segments(self, shots: list[Shot]) -> list[list[Shot]]:
        length = self.profile.segment_s
        if not length:
            return [shots]
        files: list[list[Shot]] = []
        for shot in shots:
            index = int((shot.pts_s + 1e-9) // length)
            while len(files) <= index:
                files.append([])
            files[index].append(shot)
        files = [f for f in files if f]
        for i in range(1, len(files)):
            if self.b.segment_gap_frames:
                files[i] = files[i][self.b.segment_gap_frames :]
            if self.b.segment_overlap_frames:
                files[i] = files[i - 1][-self.b.segment_overlap_frames :] + files[i]
        return [f for f in files if f]

    # -- writing --------------------------------------------------------------------------
    def write(self, event: EventTruth, number: int) -> None:
        files = self.plan(event)
        for index, shots in enumerate(files):
            if event.cut_t is not None and index == len(files) - 1:
                self._write_interrupted(event, number, index, len(files), shots)
                continue
            path = self._write_file(event, number, index, len(files), shots)
            event.segments.append(SegmentTruth(path, shots[0].t, shots[-1].t, len(shots)))
        if files and self.b.unfinalised:  # the camera never closed its last file: no index at the end
            last = event.segments[-1].path
            size = last.stat().st_size
            with open(last, "r+b") as fh:
                fh.truncate(int(size * 0.7))
                fh.flush()
                os.fsync(fh.fileno())

    def _write_interrupted(self, event: EventTruth, number: int, index: int, count: int, shots: list[Shot]) -> None:
        """The file open when power was lost: what its durable fragments hold, not finalised.

        Written whole under a scratch name, cut back to the fragments finished before the cut (a
        camera without fragments: to its media data without the index), then given its name.
        """
        fragment_s = self.profile.power.fragment_s
        scratch = self._write_file(event, number, index, count, shots, fragment_s=fragment_s, suffix=".cut")
        path = scratch.with_name(scratch.name[: -len(".cut")])
        if fragment_s is None:
            drop_index(scratch)
            kept: list[Shot] = []
        else:
            durable = self.cam.power.durable_fragments(shots, event)
            keep_fragments(scratch, durable)
            first = shots[0].pts_s
            indices = sorted({fragment_index(s.pts_s - first, fragment_s) for s in shots})[:durable]
            kept = [s for s in shots if fragment_index(s.pts_s - first, fragment_s) in set(indices)]
        os.replace(scratch, path)
        if kept:
            event.segments.append(SegmentTruth(path, kept[0].t, kept[-1].t, len(kept)))
        log.info("power lost: %s keeps %d of %d frames", path.name, len(kept), len(shots))

    def _write_file(
        self,
        event: EventTruth,
        number: int,
        index: int,
        count: int,
        shots: list[Shot],
        fragment_s: float | None = None,
        suffix: str = "",
    ) -> Path:
        first = shots[0]
        start_rtc = self.cam.rtc(first.t)
        name = self.profile.naming.format(self.cam.serial, start_rtc, number, index + 1) + self.profile.clip_suffix
        path = self.cam.storage / (name + suffix)
        metadata = {}
        if self.profile.serial_from.tag:  # the camera names itself in a container tag of its own
            metadata[self.profile.serial_from.tag] = self.cam.serial
        if self.profile.event_marker_key or self.profile.clock.metadata_key:
            marker = None
            if first.t <= event.activation_t <= shots[-1].t:
                marker = event.activation_t - first.t + self.b.marker_delay_s
            info = {
                "camera_start_utc": start_rtc.isoformat(timespec="milliseconds"),
                "event": number,
                "segment": index + 1,
                "segments": count,
                "event_pts_s": marker,
                "serial": self.cam.serial,
            }
            end_t = event.stop_t if index == count - 1 and event.stop_t is not None else shots[-1].t
            power_log = self.cam.power.log_for_file(end_t)
            if power_log:
                info["power_log"] = power_log
            for key in {self.profile.event_marker_key, self.profile.clock.metadata_key}:
                if key is not None:
                    metadata[key] = json.dumps(info)
        write_clip(
            path,
            self._frames(shots),
            self.profile.video.frame_rate,
            self.bitrate_kbps,
            start_rtc,
            audio=self._audio(event, first),
            metadata=metadata,
            fragment_s=fragment_s,
            codec=self.profile.video.codec,
        )
        log.info("camera wrote %s (%d frames)", path.name, len(shots))
        return path

    def _frames(self, shots: list[Shot]) -> Iterator[VideoFrame]:
        pts0 = shots[0].pts_s
        for shot in shots:
            image = self.cam.capture(shot.t)
            if self.watermark is not None:
                image = self.watermark.draw(image, self.cam.rtc(shot.t).timestamp())
            if self.overlay is not None:
                image = self.overlay.draw(image, self.cam.rtc(shot.t), self.cam.serial)
            yield VideoFrame(shot.pts_s - pts0, image)

    def _audio(self, event: EventTruth, first: Shot) -> AudioTrack | None:
        spec = self.profile.audio
        # long footage goes without audio, except on the battery simulator, whose economy has its
        # own audio rule (a recording across a low-battery warning must be heard)
        silent_long = self.long_footage(event) and not self.cam.power.economy
        if not spec.enabled or not self.cam.power.audio_wanted(event) or silent_long:
            return None
        rate = spec.sample_rate
        burst = chirp(rate)
        delay = acoustic_delay_s(self.profile.emulation.speaker_distance_m)
        offset = self.b.av_offset_ms / 1000
        scale = 1.0 - self.b.av_drift_ppm * 1e-6
        refresh = self.cam.scene.refresh_hz
        in_buffer = spec.in_buffer or self.b.audio_in_buffer
        seed = hash((round(first.t * 1000), event.activation_t)) & 0xFFFFFFFF

        def samples(start: int, count: int) -> np.ndarray:
            """Microphone samples for audio pts start/rate ..: chirps of the stimulus, noise, muting."""
            tau = (start + np.arange(count)) / rate
            t_mic = first.t + tau * scale - offset  # scene time heard at each sample
            out = np.random.default_rng((seed, start)).normal(0.0, NOISE_RMS, count).astype(np.float32)
            for e in event_times(t_mic[0] - delay - 0.05, t_mic[-1] + 0.01, refresh):
                rel = np.round((t_mic - e - delay) * rate).astype(np.int64)
                inside = (rel >= 0) & (rel < burst.size)
                out[inside] += burst[rel[inside]]
            self.cam.power.add_beeps(out, t_mic, rate)  # the camera's own beeper (no acoustic delay)
            if spec.reminder is not None:
                add_reminder_tones(out, t_mic, spec.reminder, event.activation_t, event.stop_t)
            if not in_buffer:
                out[t_mic < event.activation_t + self.b.audio_join_delay_s] = 0.0
            if self.b.mute_after_activation:
                out[t_mic >= event.activation_t] = 0.0
            return out

        return AudioTrack(rate, samples)
