"""Mapping: control events (source addresses) in, parameter writes and engine actions out.

- :mod:`.schema`: the patch's ``[[mappings]]`` entries (:class:`~.schema.MappingConfig`) and their
  validation against the parameter registry;
- :mod:`.curves`: how a raw value becomes a parameter value (ranges, named curves, steps,
  relative encoders);
- :mod:`.router`: the :class:`~.router.Mapper` the render loop feeds each drained event;
- :mod:`.scheduler`: beat-quantised moves waiting for their beat or bar.

MIDI clock following is tempo, not mapping: see :mod:`livegen.control.midiclock`.
"""
