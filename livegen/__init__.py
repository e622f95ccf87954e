"""livegen: a live engine for neural visuals (GAN/VAE latent walks + real-time style transfer)."""

__version__ = "0.1.0"
