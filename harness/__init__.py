"""Certification harness for body-worn cameras: scene, devices, emulator, analysis, checks, reports."""

__version__ = "0.1.0"
