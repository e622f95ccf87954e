"""OSC in and out: one job per module.

- :mod:`.config`: the patch's ``[osc]`` section (where to listen, who may send, feedback target);
- :mod:`.wire`: OSC bytes (encoding replies and feedback, the fast parser for plain messages);
- :mod:`.schema`: the address space: what each address means (:class:`~.schema.AddressBook`) and
  its description as JSON (``livegen osc-schema``);
- :mod:`.server`: the receive thread (transport) and what it does with each message (dispatch
  and policy: allow-list, types, coalescing, queries);
- :mod:`.feedback`: the client that sends values and status back to a controller.
"""
