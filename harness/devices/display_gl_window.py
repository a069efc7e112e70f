"""The OpenGL presenter process: shows scene frames locked to the monitor's vertical blank and
reports when each buffer swap completed.

Run by :class:`harness.devices.display_gl.GLDisplay` as ``python -m harness.devices.display_gl_window``.
A process of its own for the same reasons as the OpenCV window (harness/devices/display_window.py):
the harness has loaded PyAV's bundled FFmpeg/XCB libraries, and a window binds to one thread.

The window is a borderless GLFW window with swap interval 1: ``glfwSwapBuffers`` then returns
once the frame went out on a vertical blank, and ``glFinish`` after it makes sure the swap really
completed. The process paces itself: before each swap it draws the scene frame due at the coming
blank, after it stamps the completion on the monotonic clock, shifted onto the harness clock by
the offset the parent passes (both processes read the same ``CLOCK_MONOTONIC``).

Some servers ignore the swap interval (Xvfb and Mesa's software rasteriser: a swap returns at
once). The first swaps find out: when they come back much faster than a refresh, the process
paces its frames by sleeping until each is due, like the OpenCV window, and says so (``paced``):
the refresh phase is then unknown and its present times are worth less.

Protocol, one ASCII line each way:

    child at start: READY <w> <h> <x> <y> <vsync|paced> <renderer...>   or   ERROR <reason>
    child per frame: SWAP <n> <submit_s> <present_s>   (frame n swapped; harness-clock seconds)
    parent: SCENE <v>   show scene variant v from the next frame
    parent: STALL <s>   sleep s seconds before the next swap (a test of missed-refresh detection)
    parent: QUIT        child exits
"""

from __future__ import annotations

import itertools
import math
import queue
import statistics
import sys
import threading
import time

import numpy as np

from harness.devices.display import window_arguments
from harness.plan.scenario import SCENE_VARIANTS
from harness.scene.compose import Scene

#: swaps that decide whether the server honours the swap interval
PROBE_SWAPS = 12
#: a median swap interval below this fraction of the refresh period means no vertical-blank lock
VSYNC_FRACTION = 0.5

VERTEX = """
#version 330
in vec2 pos;
out vec2 uv;
void main() {
    uv = vec2((pos.x + 1.0) / 2.0, (1.0 - pos.y) / 2.0);  // image row 0 at the top
    gl_Position = vec4(pos, 0.0, 1.0);
}
"""
FRAGMENT = """
#version 330
uniform sampler2D image;
in vec2 uv;
out vec4 colour;
void main() {
    float g = texture(image, uv).r;
    colour = vec4(g, g, g, 1.0);
}
"""


class Window:
    """The GLFW window, its GL context and the one texture every frame is uploaded into."""

    def __init__(self, width: int, height: int, left: int, top: int) -> None:
        import glfw
        import moderngl

        self.glfw = glfw
        if not glfw.init():
            raise RuntimeError(f"GLFW cannot start ({glfw.get_error()[1] or 'no display'})")
        glfw.window_hint(glfw.DECORATED, glfw.FALSE)
        glfw.window_hint(glfw.RESIZABLE, glfw.FALSE)
        glfw.window_hint(glfw.FLOATING, glfw.TRUE)
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        self.window = glfw.create_window(width, height, "bwc-scene", None, None)
        if not self.window:
            reason = glfw.get_error()[1]
            glfw.terminate()
            text = reason.decode() if isinstance(reason, bytes) else reason
            raise RuntimeError(f"no OpenGL 3.3 window ({text or 'unknown reason'})")
        glfw.set_window_pos(self.window, left, top)
        glfw.make_context_current(self.window)
        glfw.swap_interval(1)
        self.ctx = moderngl.create_context()
        self.texture = self.ctx.texture((width, height), 1, dtype="f1")
        self.texture.filter = (moderngl.NEAREST, moderngl.NEAREST)  # one texel per pixel: no scaling
        self.texture.swizzle = "RRR1"
        program = self.ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
        quad = self.ctx.buffer(np.array([-1, -1, 1, -1, -1, 1, 1, 1], dtype="f4").tobytes())
        self.vao = self.ctx.vertex_array(program, [(quad, "2f", "pos")])
        self.renderer = str(self.ctx.info.get("GL_RENDERER", "unknown renderer"))
        glfw.poll_events()

    def geometry(self) -> tuple[int, int, int, int]:
        w, h = self.glfw.get_framebuffer_size(self.window)
        x, y = self.glfw.get_window_pos(self.window)
        return int(w), int(h), int(x), int(y)

    def draw(self, image: np.ndarray) -> None:
        self.texture.write(np.ascontiguousarray(image, dtype=np.uint8))
        self.ctx.clear(0.5, 0.5, 0.5)
        self.texture.use(0)
        self.vao.render(mode=self.ctx.TRIANGLE_STRIP)

    def swap(self) -> None:
        """Swap on the vertical blank; return once the swap completed."""
        self.glfw.swap_buffers(self.window)
        self.ctx.finish()
        self.glfw.poll_events()

    def close(self) -> None:
        self.glfw.destroy_window(self.window)
        self.glfw.terminate()


def _commands(inbox: queue.Queue[str]) -> None:
    for line in sys.stdin:
        inbox.put(line)
    inbox.put("QUIT")


def serve(
    width: int,
    height: int,
    refresh_hz: float,
    left: int,
    top: int,
    clock_offset: float,
    run_id: int = 0,
    utc_origin: float = 0.0,
) -> int:
    out = sys.stdout
    period = 1.0 / refresh_hz

    def now() -> float:
        return time.monotonic() + clock_offset

    scene = Scene(width, height, refresh_hz, run_id=run_id, utc_origin=utc_origin)
    try:
        win = Window(width, height, left, top)
        blank = np.full((height, width), 128, np.uint8)  # no code until the first frame
        stamps = []
        for _ in range(PROBE_SWAPS):
            win.draw(blank)
            win.swap()
            stamps.append(now())
    except Exception as exc:  # no X server, no GL 3.3, no GLFW library
        out.write(f"ERROR cannot open an OpenGL window: {exc}\n".replace("\n", " ").rstrip() + "\n")
        out.flush()
        return 1
    intervals = [b - a for a, b in itertools.pairwise(stamps)]
    vsync = statistics.median(intervals) > VSYNC_FRACTION * period
    w, h, x, y = win.geometry()
    out.write(f"READY {w} {h} {x} {y} {'vsync' if vsync else 'paced'} {win.renderer}\n")
    out.flush()
    inbox: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_commands, args=(inbox,), daemon=True).start()
    last_present = stamps[-1]
    n = -1
    try:
        while True:
            stall = 0.0
            while not inbox.empty():
                words = inbox.get().split()
                if not words or words[0] == "QUIT":
                    return 0
                if words[0] == "SCENE" and len(words) == 2 and words[1] in SCENE_VARIANTS:
                    scene.variant = words[1]  # checked against SCENE_VARIANTS
                elif words[0] == "STALL" and len(words) == 2:
                    stall = float(words[1])
            if stall > 0:
                time.sleep(stall)
            if vsync:  # the frame due at the coming blank (never one already shown)
                n = max(n + 1, round((max(last_present, now()) + period) * refresh_hz))
            else:  # the next frame due, or the one due now when the loop fell behind
                n = max(n + 1, math.floor(now() * refresh_hz + 1e-9) + 1)
            win.draw(scene.frame(n))
            if not vsync:
                wait = n * period - now()
                if wait > 0:
                    time.sleep(wait)
            submit = now()
            win.swap()
            last_present = now()
            out.write(f"SWAP {n} {submit:.6f} {last_present:.6f}\n")
            out.flush()
    except (BrokenPipeError, OSError):
        return 0
    finally:
        win.close()


def main(argv: list[str] | None = None) -> int:
    p = window_arguments(__doc__.splitlines()[0])
    p.add_argument("--clock-offset", type=float, default=0.0, help="harness clock minus CLOCK_MONOTONIC (s)")
    a = p.parse_args(argv)
    return serve(a.width, a.height, a.refresh, a.left, a.top, a.clock_offset, a.run_id, a.utc_origin)


if __name__ == "__main__":
    sys.exit(main())
