"""JSON Schemas of ros-init (language-neutral files; this module only makes them installable as package data)."""
