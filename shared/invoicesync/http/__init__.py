"""HTTP mechanics shared by the Flask services: the app factory, JSON errors, health."""
