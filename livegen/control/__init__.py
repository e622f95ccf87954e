"""Control inputs: everything that moves parameters (OSC, MIDI, keys, recorded shows).

The data path, in module order: inputs (:mod:`.inputs` starts :mod:`.osc` and :mod:`.midi`;
:mod:`.record` replays shows) push timestamped events onto :mod:`.bus`; the render loop drains
them into :mod:`.mapping` (router), which writes the parameter store and returns
:mod:`.actions`. :mod:`.midikinds` spells every MIDI address, :mod:`.midiclock` lets a MIDI clock
drive the tempo, :mod:`.learn` turns a moved control into a mapping.

Layering: these modules import only ``livegen.config``, ``livegen.paths``, ``livegen.params``,
``livegen.clock`` and each other, never the patch or the app; app-level code unpacks a patch
into the settings they take.
"""
