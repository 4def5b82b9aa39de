"""BookImg's own demo assets (synthetic catalog and shelf photo), built by ``python -m demo.make_demo``."""
