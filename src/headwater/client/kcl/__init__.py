"""Running amazon_kclpy record processors under the Python consumer (no Java)."""
