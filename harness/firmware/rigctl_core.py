"""Protocol and scheduling core of the rig controller (protocol ``BWC-RIG/1``).

This file is the firmware's logic. It is plain Python that MicroPython also runs: no typing
imports at run time, no dataclasses, no f-string tricks beyond ``%`` formatting. The board
layer (or the emulator) supplies four hooks:

* ``ticks_us()``   -> int, a monotonic microsecond counter that never wraps (the board layer
  extends the hardware counter);
* ``schedule(when_us, fn)`` -> run ``fn()`` when ``ticks_us() >= when_us``;
* ``drive(button, down)`` -> energise or release the solenoid of ``button``;
* ``write(line)`` -> send one line (without newline) to the host.

Every edge is timestamped by the controller when it drives the solenoid, so the press times the
checks use come from one timebase, independent of the host's serial latency.

Lines from the host (ASCII, one command per line)::

    ID?                                   -> ID <model>,<firmware>,<serial>
    TIME?                                 -> TIME <ticks_us>
    BUTTONS?                              -> BUTTONS <name>,<name>,...
    PRESS <button> <ms> [AT <ticks_us>]   -> OK <seq>   later: EDGE/DONE lines
    HOLD <button> [AT <ticks_us>]         -> OK <seq>   later: EDGE ... DOWN, DONE
    RELEASE <button> [AT <ticks_us>]      -> OK <seq>   later: EDGE ... UP, DONE

Asynchronous lines::

    EDGE <seq> <button> DOWN|UP <ticks_us>
    DONE <seq>

Errors: ``ERR <code> <text>`` with codes BADCMD, BADARG, NOBUTTON, PAST, BUSY.
"""

PROTOCOL = "BWC-RIG/1"
MAX_LINE = 120
MAX_PRESS_MS = 60000


class RigControllerCore:
    def __init__(self, buttons, ticks_us, schedule, drive, write, identity):
        self.buttons = tuple(buttons)
        self.ticks_us = ticks_us
        self.schedule = schedule
        self.drive = drive
        self.write = write
        self.identity = identity
        self.seq = 0
        self.down = {}
        for b in self.buttons:
            self.down[b] = False

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
            elif verb in ("PRESS", "HOLD", "RELEASE"):
                self._action(verb, words[1:])
            else:
                self.write("ERR BADCMD unknown command %s" % words[0][:20])
        except ValueError as exc:
            self.write("ERR BADARG %s" % exc)

    def _action(self, verb, args):
        at = None
        if len(args) >= 2 and args[-2].upper() == "AT":
            at = _parse_int(args[-1], "AT ticks")
            args = args[:-2]
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
        now = self.ticks_us()
        if at is None:
            at = now
        elif at < now:
            self.write("ERR PAST AT %d is %d us in the past" % (at, now - at))
            return
        self.seq += 1
        seq = self.seq
        self.write("OK %d" % seq)
        if verb == "PRESS":
            self.schedule(at, lambda: self._edge(seq, button, True))
            self.schedule(at + duration_us, lambda: self._edge(seq, button, False, True))
        elif verb == "HOLD":
            self.schedule(at, lambda: self._edge(seq, button, True, True))
        else:
            self.schedule(at, lambda: self._edge(seq, button, False, True))

    def _edge(self, seq, button, down, last=False):
        self.drive(button, down)
        self.down[button] = down
        self.write("EDGE %d %s %s %d" % (seq, button, "DOWN" if down else "UP", self.ticks_us()))
        if last:
            self.write("DONE %d" % seq)


def _parse_int(text, what):
    try:
        return int(text)
    except ValueError:
        raise ValueError("%s must be an integer, got %s" % (what, text[:20]))
