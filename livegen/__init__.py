"""livegen: a live engine for neural visuals (GAN/VAE latent walks + real-time style transfer)."""

import os

# OpenMP threads that wait by spinning each hold a core. On a show machine where other programs
# (and livegen's own window, camera and control threads) also want the cores, a torch op split
# over two threads then waits for a thread the OS has parked, and frames take many times longer:
# default patch at 640x480 on a loaded 2-core machine, torch on 2 threads, median 271 ms per
# frame spinning against 24 ms passive (2-3 ms dearer on an idle machine). libgomp reads this
# when torch loads it, so it is set before any livegen module imports torch; a value already in
# the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
