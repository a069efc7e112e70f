"""Protocol and scheduling core of the rig controller (protocol ``BWC-RIG/1``).

This file is the firmware's logic. It is plain Python that MicroPython also runs: no typing
imports at run time, no dataclasses, no f-string tricks beyond ``%`` formatting. The board
layer (or the emulator) supplies four hooks:

* ``ticks_us()``   -> int, a monotonic microsecond counter that never wraps (the board layer
  extends the hardware counter);
* ``schedule(when_us, fn)`` -> run ``fn()`` when ``ticks_us() >= when_us``;
* ``drive(button, down)`` -> energise or release the solenoid of ``button``;
* ``write(line)`` -> send one line (without newline) to the host;
* ``stimulus(on)`` (optional) -> switch the flash LED and the speaker tone together;
* ``switch(relay, on)`` (optional, with ``relays``) -> energise or release a relay (the dock's
  contacts: docked while energised).

With ``light=True`` the board has a photodiode (through a comparator) on the display's
photodiode patch: it calls :meth:`RigControllerCore.light_edge` for every light edge with the
tick it saw it at (the pin IRQ takes the tick), and :meth:`RigControllerCore.poll` from its loop.

The board layer also uses :class:`TickExtender` (wrap-free ticks from the hardware counter),
:class:`Scheduler` (the timed-action queue behind ``schedule``) and :class:`LineAssembler`
(bytes from the serial line to command lines), so that everything but the pins is tested on
the host.

Every edge is timestamped by the controller when it drives the solenoid, so the press times the
checks use come from one timebase, independent of the host's serial latency.

Lines from the host (ASCII, one command per line)::

    ID?                                   -> ID <model>,<firmware>,<serial>
    TIME?                                 -> TIME <ticks_us>
    BUTTONS?                              -> BUTTONS <name>,<name>,...
    PRESS <button> <ms> [AT <ticks_us>]   -> OK <seq>   later: EDGE/DONE lines
    HOLD <button> [AT <ticks_us>]         -> OK <seq>   later: EDGE ... DOWN, DONE
    RELEASE <button> [AT <ticks_us>]      -> OK <seq>   later: EDGE ... UP, DONE
    FLASH <ms> [AT <ticks_us>]            -> OK <seq>   later: EDGE <seq> flash ON/OFF, DONE
    RELAYS?                               -> RELAYS <name>,<name>,...   (none: "RELAYS")
    RELAY <relay> ON|OFF [AT <ticks_us>]  -> OK <seq>   later: EDGE <seq> <relay> ON|OFF, DONE
    PROTO?                                -> PROTO BWC-RIG/1
    LIGHT ON|OFF                          -> LIGHT ON|OFF    (photodiode edges reported / not)
    LIGHT?                                -> LIGHT ON|OFF <lost>   (after sending every edge held back)

Asynchronous lines::

    EDGE <seq> <button> DOWN|UP <ticks_us>
    EDGE <seq> flash ON|OFF <ticks_us>
    EDGE <seq> <relay> ON|OFF <ticks_us>
    DONE <seq>
    LIGHTS <level> <ticks_us> [<dt_us> ...]

``LIGHTS`` batches photodiode edges (up to :data:`LIGHT_BATCH`, or what came within
:data:`LIGHT_FLUSH_US`): the first edge's level (1: light came on) and tick, then each later
edge as microseconds after the one before; the levels alternate within a line (an edge whose
level does not alternate starts a new line). ``<lost>`` counts edges that did not fit the
buffer (:data:`LIGHT_BUFFER`) since ``LIGHT ON``. 120 edges/s (a 60 Hz display) take about
1 kB/s of the line.

Errors: ``ERR <code> <text>`` with codes BADCMD, BADARG, NOBUTTON, NORELAY, PAST, BUSY, NOSTIM,
NOLIGHT. FLASH, PROTO?, RELAY, RELAYS? and LIGHT (protocol BWC-RIG/1.1) are later additions:
every older command and reply is unchanged.
A relay's name is never a button's (their edges share the EDGE line).
"""

PROTOCOL = "BWC-RIG/1.1"
#: photodiode edges per LIGHTS line, the longest they are held back, and the most held at once
LIGHT_BATCH = 8
LIGHT_FLUSH_US = 50000
LIGHT_BUFFER = 256
MAX_LINE = 120
MAX_PRESS_MS = 60000
MAX_FLASH_MS = 5000
#: timed actions waiting at once; a board has little RAM and a host never needs more
MAX_PENDING = 64
STIMULUS = "flash"


class RigControllerCore:
    def __init__(
        self, buttons, ticks_us, schedule, drive, write, identity, stimulus=None, relays=(), switch=None, light=False
    ):
        self.buttons = tuple(buttons)
        self.relays = tuple(relays) if switch is not None else ()
        self.switch = switch
        for r in self.relays:
            if r in self.buttons or r == STIMULUS:
                raise ValueError("relay %s has the name of a button" % r)
        self.ticks_us = ticks_us
        self.schedule = schedule
        self.drive = drive
        self.write = write
        self.identity = identity
        self.stimulus = stimulus
        self.seq = 0
        self.pending = 0
        self.down = {}
        for b in self.buttons:
            self.down[b] = False
        self.light = light
        self.light_on = False
        self.light_lost = 0
        self.light_held = []  # [level, ticks] not yet sent

    # -- host input ---------------------------------------------------------------------
    def feed_line(self, raw):
        """Handle one line from the host. Never raises: bad input is answered with ERR."""
        line = raw.strip()
        if not line:
            return
        if len(line) > MAX_LINE:
            self.write("ERR BADCMD line longer than %d characters" % MAX_LINE)
            return
        words = line.split()
        verb = words[0].upper()
        try:
            if verb == "ID?":
                self.write("ID " + self.identity)
            elif verb == "TIME?":
                self.write("TIME %d" % self.ticks_us())
            elif verb == "BUTTONS?":
                self.write("BUTTONS " + ",".join(self.buttons))
            elif verb == "PROTO?":
                self.write("PROTO " + PROTOCOL)
            elif verb in ("PRESS", "HOLD", "RELEASE"):
                self._action(verb, words[1:])
            elif verb == "FLASH":
                self._flash(words[1:])
            elif verb == "RELAYS?":
                self.write(("RELAYS " + ",".join(self.relays)).strip())
            elif verb == "RELAY":
                self._relay(words[1:])
            elif verb in ("LIGHT", "LIGHT?"):
                self._light(verb, words[1:])
            else:
                self.write("ERR BADCMD unknown command %s" % words[0][:20])
        except ValueError as exc:
            self.write("ERR BADARG %s" % exc)

    def _split_at(self, args):
        """(args without a trailing 'AT <ticks>', the ticks or None)."""
        if len(args) >= 2 and args[-2].upper() == "AT":
            return args[:-2], _parse_int(args[-1], "AT ticks")
        return args, None

    def _when(self, at, actions):
        """The tick to act at, or None after answering ERR (past instant, queue full)."""
        now = self.ticks_us()
        if at is None:
            at = now
        elif at < now:
            self.write("ERR PAST AT %d is %d us in the past" % (at, now - at))
            return None
        if self.pending + actions > MAX_PENDING:
            self.write("ERR BUSY %d timed actions already waiting" % self.pending)
            return None
        return at

    def _later(self, when_us, fn):
        self.pending += 1

        def run():
            self.pending -= 1
            fn()

        self.schedule(when_us, run)

    def _flash(self, args):
        args, at = self._split_at(args)
        if len(args) != 1:
            raise ValueError("usage: FLASH <ms> [AT <us>]")
        ms = _parse_int(args[0], "duration ms")
        if ms <= 0 or ms > MAX_FLASH_MS:
            raise ValueError("duration must be 1..%d ms" % MAX_FLASH_MS)
        if self.stimulus is None:
            self.write("ERR NOSTIM this controller has no flash/beep stimulus")
            return
        at = self._when(at, 2)
        if at is None:
            return
        self.seq += 1
        seq = self.seq
        self._later(at, lambda: self._stim(seq, True))
        self._later(at + ms * 1000, lambda: self._stim(seq, False))
        self.write("OK %d" % seq)  # after scheduling, as for button actions

    def _relay(self, args):
        args, at = self._split_at(args)
        if len(args) != 2 or args[1].upper() not in ("ON", "OFF"):
            raise ValueError("usage: RELAY <relay> ON|OFF [AT <us>]")
        relay = args[0].lower()
        if relay not in self.relays:
            self.write("ERR NORELAY %s" % relay[:20])
            return
        on = args[1].upper() == "ON"
        at = self._when(at, 1)
        if at is None:
            return
        self.seq += 1
        seq = self.seq
        self._later(at, lambda: self._switch(seq, relay, on))
        self.write("OK %d" % seq)

    def _light(self, verb, args):
        if not self.light:
            self.write("ERR NOLIGHT this controller has no photodiode input")
            return
        if verb == "LIGHT?":
            if args:
                raise ValueError("usage: LIGHT?")
            self._send_light()
            self.write("LIGHT %s %d" % ("ON" if self.light_on else "OFF", self.light_lost))
            return
        if len(args) != 1 or args[0].upper() not in ("ON", "OFF"):
            raise ValueError("usage: LIGHT ON|OFF")
        on = args[0].upper() == "ON"
        if on and not self.light_on:
            self.light_lost = 0
            self.light_held = []
        if not on:
            self._send_light()
        self.light_on = on
        self.write("LIGHT %s" % ("ON" if on else "OFF"))

    def light_edge(self, level, ticks):
        """One photodiode edge (``level`` 1: light came on) seen at ``ticks``: held until sent."""
        if not self.light_on:
            return
        if len(self.light_held) >= LIGHT_BUFFER:
            self.light_lost += 1
            return
        self.light_held.append((1 if level else 0, ticks))

    def poll(self):
        """Send held edges once a line's worth is there or the oldest waited LIGHT_FLUSH_US."""
        held = self.light_held
        if held and (len(held) >= LIGHT_BATCH or self.ticks_us() - held[0][1] >= LIGHT_FLUSH_US):
            self.flush_light()

    def flush_light(self):
        """Send every held edge now, in lines of at most LIGHT_BATCH."""
        self._send_light()

    def _send_light(self):
        held, self.light_held = self.light_held, []
        i = 0
        while i < len(held):
            level, first = held[i]
            parts = ["LIGHTS", str(level), str(first)]
            prev_level, prev = level, first
            i += 1
            while i < len(held) and len(parts) < LIGHT_BATCH + 2 and held[i][0] != prev_level:
                prev_level, ticks = held[i]
                parts.append(str(ticks - prev))
                prev = ticks
                i += 1
            self.write(" ".join(parts))

    def _switch(self, seq, relay, on):
        self.switch(relay, on)
        self.write("EDGE %d %s %s %d" % (seq, relay, "ON" if on else "OFF", self.ticks_us()))
        self.write("DONE %d" % seq)

    def _stim(self, seq, on):
        self.stimulus(on)
        self.write("EDGE %d %s %s %d" % (seq, STIMULUS, "ON" if on else "OFF", self.ticks_us()))
        if not on:
            self.write("DONE %d" % seq)

    def _action(self, verb, args):
        args, at = self._split_at(args)
        want = 2 if verb == "PRESS" else 1
        if len(args) != want:
            usage = "PRESS <button> <ms> [AT <us>]" if verb == "PRESS" else verb + " <button> [AT <us>]"
            raise ValueError("usage: " + usage)
        button = args[0].lower()
        if button not in self.down:
            self.write("ERR NOBUTTON %s" % button[:20])
            return
        duration_us = 0
        if verb == "PRESS":
            ms = _parse_int(args[1], "duration ms")
            if ms <= 0 or ms > MAX_PRESS_MS:
                raise ValueError("duration must be 1..%d ms" % MAX_PRESS_MS)
            duration_us = ms * 1000
        at = self._when(at, 2 if verb == "PRESS" else 1)
        if at is None:
            return
        self.seq += 1
        seq = self.seq
        # Schedule first, acknowledge second: once the host reads OK, the edges are queued, so a
        # host that advances (virtual) time straight after OK can never outrun them.
        if verb == "PRESS":
            self._later(at, lambda: self._edge(seq, button, True))
            self._later(at + duration_us, lambda: self._edge(seq, button, False, True))
        elif verb == "HOLD":
            self._later(at, lambda: self._edge(seq, button, True, True))
        else:
            self._later(at, lambda: self._edge(seq, button, False, True))
        self.write("OK %d" % seq)

    def _edge(self, seq, button, down, last=False):
        self.drive(button, down)
        self.down[button] = down
        self.write("EDGE %d %s %s %d" % (seq, button, "DOWN" if down else "UP", self.ticks_us()))
        if last:
            self.write("DONE %d" % seq)


def chirp_hz(elapsed_us, f0_hz, f1_hz, duration_us, steps=8):
    """Speaker frequency ``elapsed_us`` into a stepped linear chirp, or 0 once it is over.

    A PWM pin cannot sweep smoothly; ``steps`` equal frequency steps over ``duration_us``
    keep the burst sharp under cross-correlation with the analysis' reference chirp.
    """
    if elapsed_us < 0 or elapsed_us >= duration_us:
        return 0
    k = elapsed_us * steps // duration_us
    return f0_hz + (f1_hz - f0_hz) * k // (steps - 1)


def _parse_int(text, what):
    try:
        return int(text)
    except ValueError:
        raise ValueError("%s must be an integer, got %s" % (what, text[:20])) from None


class TickExtender:
    """Wrap-free microsecond ticks from a hardware counter that wraps every ``period`` ticks.

    MicroPython's ``time.ticks_us()`` wraps (2**30 us, about 17.9 minutes, on the RP2040 port);
    the protocol promises ticks that never wrap. Call :meth:`now` at least once per period
    (the board's main loop calls it thousands of times a second).
    """

    def __init__(self, raw, period):
        self.raw = raw
        self.period = period
        self.last = raw()
        self.total = 0

    def now(self):
        value = self.raw()
        self.total += (value - self.last) % self.period
        self.last = value
        return self.total


class Scheduler:
    """Timed actions in tick order; the board's main loop runs the due ones.

    Actions due at the same tick run in the order they were scheduled. ``run_due`` spins on the
    tick counter for an action due within ``spin_us`` so that it fires on its tick rather than
    whenever the loop next comes round.
    """

    def __init__(self, ticks_us):
        self.ticks_us = ticks_us
        self.queue = []  # [when_us, order, fn], sorted
        self.order = 0

    def schedule(self, when_us, fn):
        self.order += 1
        item = [when_us, self.order, fn]
        i = len(self.queue)
        while i > 0 and self.queue[i - 1][0] > when_us:
            i -= 1
        self.queue.insert(i, item)

    def next_due(self):
        return self.queue[0][0] if self.queue else None

    def run_due(self, spin_us=0):
        """Run every action due now (or within ``spin_us``, waiting for its tick). Returns the count."""
        ran = 0
        while self.queue:
            when = self.queue[0][0]
            now = self.ticks_us()
            if when - now > spin_us:
                break
            while self.ticks_us() < when:
                pass
            fn = self.queue.pop(0)[2]
            fn()
            ran += 1
        return ran


class LineAssembler:
    """Characters from the serial line to complete command lines.

    A ``\r`` is dropped; a line that grows past the protocol limit is cut and handed on
    over-long, so the core answers it with ``ERR BADCMD`` instead of buffering without bound.
    """

    def __init__(self, on_line, limit=MAX_LINE):
        self.on_line = on_line
        self.limit = limit
        self.buf = []
        self.overflow = False

    def feed(self, text):
        for ch in text:
            if ch == "\n":
                line = "".join(self.buf)
                self.buf = []
                self.overflow = False
                self.on_line(line)
            elif ch == "\r":
                continue
            elif len(self.buf) <= self.limit:
                self.buf.append(ch)
            elif not self.overflow:
                self.overflow = True  # keep limit+1 characters: enough to be refused as too long
