"""Reading a config repository from a directory or a Git revision; bundled resources."""
