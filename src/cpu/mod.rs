//! The CPU renderer: the project's oracle, its system-memory path and its Jetson path.
