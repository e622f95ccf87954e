"""Neural networks of the frame loop: generators (GAN, VAE), style nets, loss nets, weight I/O."""
