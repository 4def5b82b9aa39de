"""pytest fixtures around the fake servers of embedded/fakes (Textract, Anthropic, catalogs) and the emulator."""
