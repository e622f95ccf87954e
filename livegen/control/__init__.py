"""Control inputs: everything that moves parameters (OSC, MIDI, keys, recorded shows)."""
