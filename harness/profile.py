"""Camera profile: what a camera model claims and how its buttons are worked.

A profile is data (scenarios/cameras/*.yaml). The checks take their limits from it and the
emulated camera takes its behaviour from it, so a real camera and its emulation are judged by
the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.config import load_model

if TYPE_CHECKING:
    from harness.devices.rig_controller import Edge


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Gesture(Strict):
    """A button gesture: ``presses`` short presses, or one press held for ``hold_s``."""

    button: str = "event"
    presses: int = Field(1, ge=1, le=5)
    press_s: float = Field(0.15, gt=0, le=2)
    gap_s: float = Field(0.25, gt=0, le=2)
    hold_s: float | None = Field(None, gt=0, le=30)
    release_margin_s: float = Field(0.5, ge=0, le=5, description="how long the rig holds past hold_s")

    @model_validator(mode="after")
    def _one_kind(self) -> "Gesture":
        if self.hold_s is not None and self.presses != 1:
            raise ValueError("a gesture is either several presses or one hold, not both")
        return self

    def schedule(self) -> list[tuple[float, float]]:
        """(start offset, duration) of each press the rig makes, in seconds."""
        if self.hold_s is not None:
            return [(0.0, self.hold_s + self.release_margin_s)]
        return [(i * (self.press_s + self.gap_s), self.press_s) for i in range(self.presses)]

    def effective_time(self, edges: "tuple[Edge, ...]") -> float:
        """The instant the camera acts: the last press going down, or the hold reaching hold_s."""
        downs = [e.t for e in edges if e.down]
        if not downs:
            raise ValueError("gesture produced no press")
        if self.hold_s is not None:
            return downs[0] + self.hold_s
        return downs[-1]


class VideoSpec(Strict):
    width: int = Field(640, ge=64, le=7680)
    height: int = Field(360, ge=64, le=4320)
    fps: float = Field(30.0, gt=0, le=240)
    codec: Literal["h264"] = "h264"
    bitrate_kbps: int = Field(1500, ge=100, le=100000)


class Emulation(Strict):
    """How the emulated camera behaves where a real camera has no setting."""

    exposure_s: float = Field(1 / 60, gt=0, le=0.1, description="exposure per frame; blends display frames")
    frame_phase_seed: int = 0


class CameraProfile(Strict):
    vendor: str
    model: str
    firmware: str
    serial: str
    video: VideoSpec = VideoSpec()
    boot_s: float = Field(8.0, ge=0, le=600, description="power-on to buffering")
    boot_tolerance_s: float = Field(0.0, ge=0, le=60, description="how far a real boot may vary")
    pre_event_buffer_s: float = Field(120.0, ge=0, le=600)
    buffer_after_stop: Literal["refill", "continuous"] = "refill"
    post_record_s: float = Field(0.0, ge=0, le=600)
    buttons: tuple[str, ...] = ("event", "power")
    gestures: dict[str, Gesture]
    clip_suffix: str = ".mp4"
    emulation: Emulation = Emulation()

    @model_validator(mode="after")
    def _gestures(self) -> "CameraProfile":
        for needed in ("start", "stop"):
            if needed not in self.gestures:
                raise ValueError(f"gestures must define '{needed}'")
        for name, g in self.gestures.items():
            if g.button not in self.buttons:
                raise ValueError(f"gesture '{name}' uses button '{g.button}', not one of {list(self.buttons)}")
        return self

    @property
    def frame_period_s(self) -> float:
        return 1.0 / self.video.fps

    @property
    def identity(self) -> dict[str, str]:
        return {"vendor": self.vendor, "model": self.model, "serial": self.serial, "firmware": self.firmware}

    @classmethod
    def load(cls, path: Path | str) -> "CameraProfile":
        return load_model(path, cls)
