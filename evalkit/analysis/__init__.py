"""Analysis: frames in, frames out. Never fetches, never draws."""
