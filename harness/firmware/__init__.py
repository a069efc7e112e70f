"""Rig controller firmware: the protocol core runs unchanged on the board and in the emulator."""
