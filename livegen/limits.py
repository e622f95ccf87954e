"""Every bound livegen puts on what it reads: one table, checked before anything is allocated.

A show file, a model manifest, a show log or a network message that exceeds one of these is
refused with a message naming the file (or sender), the key and the limit; nothing is silently
cut. The README's "What livegen promises" section lists the same numbers.
"""

from __future__ import annotations

# Patch files (TOML)
PATCH_BYTES = 1 << 20  # 1 MiB: hand-written show files are a few KB
PATCH_DEPTH = 16  # nesting of tables and arrays
SCENE_FADE_S = 600.0  # a scene crossfade of up to ten minutes
SEED_MAX = 2**31 - 1

# Model manifests (JSON beside the safetensors weights)
MANIFEST_BYTES = 1 << 20
MANIFEST_DEPTH = 16
MODEL_BYTES = 4 << 30  # one weights file
MODEL_TENSORS = 4096
CHANNELS_MAX = 1024  # any conv width a manifest names
STYLE_RES_BLOCKS_MAX = 32
STYLES_MAX = 256
LATENT_DIM_MAX = 4096
GENERATOR_SIZES = (32, 64, 128, 256, 512, 1024)

# Show logs and MIDI files read for replay
CONTROL_FILE_BYTES = 1 << 30
REPLAY_EVENTS_MAX = 50_000_000  # ~ a week of ten moving controls at 30 fps
TEXT_VALUE_CHARS = 256  # a string control value (scene name, enum) longer than this is refused

# Control inputs
OSC_RECV_BUFFER_MAX = 1 << 28  # [osc] recv_buffer: 256 MiB; the kernel takes an int (2 GiB crashes)
FRAME_EVENTS_MAX = 1_000  # control events one frame applies; the rest wait for the next frame
CONTROL_QUEUE_MAX = 1_000_000  # events live inputs may have waiting; past it they are dropped and counted

# Renders
RENDER_FPS_MAX = 1000.0
FRAME_SPACING_MIN_S = 1e-4  # frame times closer than this are a broken log, not a show

# Offline assist tools (livegen analyze / suggest)
ANALYZE_FRAMES = 8  # frames of a video a palette and style analysis reads
SUGGEST_MAX = 8  # suggested scenes: the window's number keys 1-8
SUGGEST_CANDIDATES = 256  # candidates rendered while looking for varied, lively scenes
