"""Assisted creation, offline: ``analyze`` (palette, style ranking, suggested settings), ``suggest``
(varied, lively scenes for a patch). The autopilot, which runs inside a show, is a control input
(control/autopilot.py); the palette lock is a stage (stages/palette.py).
"""
