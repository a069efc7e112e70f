"""rig: a rig file turned into open parts (see docs/architecture.md).

specs (the rig file's models) -> kinds (one builder per rig kind: emulated, bench) -> parts (the
resolved settings of each part and how it is opened) -> factory (``open_rig``, the :class:`Rig`)
and check (``bwc rig check``), which open the parts the same way.
"""
