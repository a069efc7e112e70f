"""The display window process: shows scene frames on command, full screen, and acknowledges each.

Run by :class:`harness.devices.display.OpenCVDisplay` as ``python -m harness.devices.display_window``.
Why a separate process: OpenCV's Qt window hangs in a process that loaded PyAV's bundled
FFmpeg/XCB libraries first (the harness always has), and Qt binds to one thread for good. A
fresh process owns the window cleanly, renders in parallel with the harness, and if the X
server goes away only this process dies.

Protocol on stdin/stdout, one ASCII line each way:

    parent: SHOW <n>   child: SHOWN <n>      (frame n was handed to the window system)
    parent: SCENE <v>  (no answer)           (show scene variant v, standard or busy, from the next frame)
    parent: QUIT       child exits
    child at start: READY <w> <h> <x> <y>  or  ERROR <reason>

The child never reads a clock: the parent stamps every line against the harness Clock.
"""

from __future__ import annotations

import sys

import cv2  # first, before anything that could load another copy of FFmpeg or XCB
import numpy as np

from harness.devices.display import window_arguments
from harness.plan.scenario import SCENE_VARIANTS
from harness.scene.compose import Scene

WINDOW = "bwc-scene"


def _open(scene: Scene, left: int, top: int) -> tuple[int, int, int, int]:
    cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
    cv2.moveWindow(WINDOW, left, top)
    cv2.imshow(WINDOW, np.full((scene.height, scene.width), 128, np.uint8))  # no code until the first SHOW
    cv2.setWindowProperty(WINDOW, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
    cv2.waitKey(1)
    return tuple(int(v) for v in cv2.getWindowImageRect(WINDOW))  # type: ignore[return-value]


def serve(
    width: int, height: int, refresh_hz: float, left: int, top: int, run_id: int = 0, utc_origin: float = 0.0
) -> int:
    out = sys.stdout
    scene = Scene(width, height, refresh_hz, run_id=run_id, utc_origin=utc_origin)
    try:
        x, y, w, h = _open(scene, left, top)
    except Exception as exc:  # no X server, no Qt platform plugin
        out.write(f"ERROR cannot open a window: {exc}\n".replace("\n", " ").rstrip() + "\n")
        out.flush()
        return 1
    out.write(f"READY {w} {h} {x} {y}\n")
    out.flush()
    ahead: tuple[int, np.ndarray] | None = None
    try:
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] == "QUIT":
                break
            if words[0] == "SCENE" and len(words) == 2 and words[1] in SCENE_VARIANTS:
                scene.variant = words[1]  # checked against SCENE_VARIANTS
                ahead = None
                continue
            if words[0] != "SHOW" or len(words) != 2:
                out.write(f"ERROR bad command {line.strip()[:40]!r}\n")
                out.flush()
                continue
            n = int(words[1])
            image = ahead[1] if ahead is not None and ahead[0] == n else scene.frame(n)
            cv2.imshow(WINDOW, image)
            cv2.waitKey(1)
            out.write(f"SHOWN {n}\n")
            out.flush()
            ahead = (n + 1, scene.frame(n + 1))  # render the likely next frame while the parent waits
    finally:
        cv2.destroyAllWindows()
        cv2.waitKey(1)
    return 0


def main(argv: list[str] | None = None) -> int:
    a = window_arguments(__doc__.splitlines()[0]).parse_args(argv)
    return serve(a.width, a.height, a.refresh, a.left, a.top, a.run_id, a.utc_origin)


if __name__ == "__main__":
    sys.exit(main())
