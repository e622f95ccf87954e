"""Muxing a render's music into its video file, so a rendered clip plays in sync with its audio.

After ``livegen render --audio song.wav`` has written and checked the video, the video packets
are copied unchanged (no re-encode) into a new container next to it, together with the audio
encoded as AAC and cut at the video's length; the new file then replaces the old one. Both start
at t = 0, the time of frame 0, which is what the lockstep analysis of the audio assumed.

PyAV (``pip install 'livegen[av]'``) is optional: its wheels bundle FFmpeg with GPL parts (such
as libx264), so livegen does not depend on it unless a user wants audio in renders.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

MUX_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv")


def check_muxable(out: str | Path) -> None:
    """ValueError before rendering when ``out`` cannot take an audio track; ImportError without PyAV."""
    ext = Path(out).suffix.lower()
    if ext not in MUX_EXTENSIONS:
        raise ValueError(f"--audio needs a video file ending in {', '.join(MUX_EXTENSIONS)} (got {out!r})")
    import av  # noqa: F401 — fail before the render, not after it


def mux_audio(video: str | Path, audio: str | Path, seconds: float) -> None:
    """Add ``audio`` (its first ``seconds``) to ``video`` in place; OSError if either cannot be read."""
    import av

    video, audio = Path(video), Path(audio)
    tmp = video.with_name(f".{video.stem}.mux{video.suffix}")
    try:
        with av.open(str(video)) as vin, av.open(str(audio)) as ain, av.open(str(tmp), "w") as out:
            vin_stream = vin.streams.video[0]
            ain_stream = ain.streams.audio[0]
            v_out = out.add_stream_from_template(vin_stream)
            a_out = out.add_stream("aac", rate=ain_stream.rate, layout="stereo")
            packets = _interleave(_video_packets(vin, vin_stream),
                                  _audio_packets(ain, ain_stream, a_out, seconds))
            for kind, packet in packets:
                packet.stream = v_out if kind == "v" else a_out
                out.mux(packet)
        os.replace(tmp, video)
    except (av.error.FFmpegError, IndexError) as e:
        raise OSError(f"{video}: could not add the audio of {audio}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _video_packets(container, stream):  # noqa: ANN001, ANN202 — PyAV objects
    for packet in container.demux(stream):
        if packet.dts is not None:
            yield float(packet.dts * packet.time_base), packet


def _audio_packets(container, stream, encoder, seconds: float):  # noqa: ANN001, ANN202 — PyAV objects
    for frame in container.decode(stream):
        if frame.time is not None and frame.time >= seconds:
            break
        frame.pts = None  # let the encoder count samples from 0
        for packet in encoder.encode(frame):
            yield _stamp(packet), packet
    for packet in encoder.encode(None):
        yield _stamp(packet), packet


def _stamp(packet) -> float:  # noqa: ANN001 — a PyAV packet
    return float((packet.dts or 0) * (packet.time_base or Fraction(1)))


def _interleave(video, audio):  # noqa: ANN001, ANN202 — two (time, packet) iterators
    """Packets of both streams in time order, so the muxer never buffers a whole stream."""
    v = next(video, None)
    a = next(audio, None)
    while v is not None or a is not None:
        if a is None or (v is not None and v[0] <= a[0]):
            yield "v", v[1]
            v = next(video, None)
        else:
            yield "a", a[1]
            a = next(audio, None)
