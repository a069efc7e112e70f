"""Board layer of the rig controller firmware: MicroPython on an RP2040 board (e.g. Raspberry Pi Pico).

Copy this file and ``rigctl_core.py`` to the board's root (see lab_setup.md, "Flashing the
firmware"); MicroPython runs ``main.py`` at boot. Everything that can be wrong in a protocol
(parsing, timing, scheduling, tick extension, line assembly) lives in ``rigctl_core.py``, which
CI runs inside the emulated controller. This file only binds it to pins, the hardware tick
counter and the USB serial line, so it stays small enough to review by eye.

Wiring (GPIO numbers, change them here and in lab_setup.md together):

    GP2  -> solenoid driver input, button "event"   (high = solenoid energised)
    GP3  -> solenoid driver input, button "power"
    GP4  -> flash LED driver (high = on)
    GP5  -> speaker amplifier input (PWM tone while the flash is on)
    GP6  -> relay driver input, relay "dock" (high = energised = the camera's dock contacts connected)
    GP7  <- photodiode comparator output (high = light on the display's photodiode patch)
    GP25 -> on-board LED, toggled on every host line (a sign of life)
"""

import select
import sys
import time

import machine
import micropython
from array import array

from rigctl_core import MAX_LINE, LineAssembler, RigControllerCore, Scheduler, TickExtender, chirp_hz

FIRMWARE = "1.3"
BUTTON_PINS = (("event", 2), ("power", 3))  # a tuple: MicroPython dicts keep no order
FLASH_PIN = 4
SPEAKER_PIN = 5
RELAY_PINS = (("dock", 6),)
LIGHT_PIN = 7
#: light edges the pin IRQ can hold before the main loop takes them (a power of two)
LIGHT_RING = 64
STATUS_PIN = 25
#: Chirp swept by the speaker while the flash is on (matches harness/stimulus.py: 1 to 4 kHz).
CHIRP_F0_HZ = 1000
CHIRP_F1_HZ = 4000
CHIRP_US = 40000
#: Due actions closer than this are waited for by spinning on the counter (fires on its tick).
SPIN_US = 1500


def _serial_number():
    return "".join("%02X" % b for b in machine.unique_id())


class Board:
    """Pins and the hardware counter; every method is called from the main loop, never from an IRQ."""

    def __init__(self):
        self.solenoids = {}
        for name, gpio in BUTTON_PINS:
            self.solenoids[name] = machine.Pin(gpio, machine.Pin.OUT, value=0)
        self.relays = {}
        for name, gpio in RELAY_PINS:
            self.relays[name] = machine.Pin(gpio, machine.Pin.OUT, value=0)
        self.flash = machine.Pin(FLASH_PIN, machine.Pin.OUT, value=0)
        self.speaker = machine.PWM(machine.Pin(SPEAKER_PIN))
        self.speaker.duty_u16(0)
        self.status = machine.Pin(STATUS_PIN, machine.Pin.OUT, value=0)
        # time.ticks_us() wraps at ticks_add(0, -1) + 1 (2**30 on this port); the core extends it.
        self.ticks = TickExtender(time.ticks_us, time.ticks_add(0, -1) + 1)
        self.flash_since = None
        # photodiode: the hard IRQ only stores the raw tick and the level in preallocated rings
        self.light_pin = machine.Pin(LIGHT_PIN, machine.Pin.IN)
        self.ring_ticks = array("i", [0] * LIGHT_RING)
        self.ring_level = bytearray(LIGHT_RING)
        self.ring_in = 0
        self.ring_out = 0
        self.light_pin.irq(self._light_irq, machine.Pin.IRQ_RISING | machine.Pin.IRQ_FALLING, hard=True)

    @micropython.native
    def _light_irq(self, pin):
        i = self.ring_in
        self.ring_ticks[i & (LIGHT_RING - 1)] = time.ticks_us()
        self.ring_level[i & (LIGHT_RING - 1)] = pin.value()
        self.ring_in = i + 1

    def light_edges(self, core):
        """Hand the edges the IRQ stored to the core, each on the extended (wrap-free) ticks."""
        now_raw = time.ticks_us()
        now = self.ticks.now()
        while self.ring_out != self.ring_in:
            i = self.ring_out & (LIGHT_RING - 1)
            core.light_edge(self.ring_level[i], now - time.ticks_diff(now_raw, self.ring_ticks[i]))
            self.ring_out += 1

    def drive(self, button, down):
        self.solenoids[button].value(1 if down else 0)

    def switch(self, relay, on):
        self.relays[relay].value(1 if on else 0)

    def stimulus(self, on):
        self.flash.value(1 if on else 0)
        self.flash_since = self.ticks.now() if on else None
        if on:
            self.speaker.freq(CHIRP_F0_HZ)
            self.speaker.duty_u16(32768)
        else:
            self.speaker.duty_u16(0)

    def safe(self):
        """All solenoids and relays released (the camera out of its dock), flash and tone off (boot,
        and after any crash of the loop)."""
        for pin in self.solenoids.values():
            pin.value(0)
        for pin in self.relays.values():
            pin.value(0)
        self.flash.value(0)
        self.speaker.duty_u16(0)


def write(line):
    sys.stdout.write(line + "\n")


def main():
    board = Board()
    board.safe()
    sched = Scheduler(board.ticks.now)
    core = RigControllerCore(
        buttons=tuple(name for name, _ in BUTTON_PINS),
        ticks_us=board.ticks.now,
        schedule=sched.schedule,
        drive=board.drive,
        write=write,
        identity="BWC-RIG-RP2040,%s,%s" % (FIRMWARE, _serial_number()),
        stimulus=board.stimulus,
        relays=tuple(name for name, _ in RELAY_PINS),
        switch=board.switch,
        light=True,
    )

    def on_line(line):
        board.status.toggle()
        core.feed_line(line)

    lines = LineAssembler(on_line, MAX_LINE)
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    try:
        while True:
            while poll.poll(0):
                lines.feed(sys.stdin.read(1))
            board.ticks.now()  # at least once per counter wrap (17.9 min), even when idle
            sched.run_due(SPIN_US)
            board.light_edges(core)
            core.poll()
            if board.flash_since is not None:  # sweep the tone up at the start of a flash
                hz = chirp_hz(board.ticks.now() - board.flash_since, CHIRP_F0_HZ, CHIRP_F1_HZ, CHIRP_US)
                if hz:
                    board.speaker.freq(hz)
    finally:
        board.safe()


main()
