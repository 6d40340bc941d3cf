"""Built-in profiles (TOML files in this folder)."""
