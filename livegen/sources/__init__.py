"""Live image inputs of the frame loop: cameras, video files and the procedural test pattern."""
