"""Figures from tidy frames (matplotlib/seaborn are imported inside the functions)."""
