"""Fake cloud services on 127.0.0.1 that speak the real wire protocol (Textract JSON, Anthropic Messages,
Open Library and Google Books search): the benchmarks measure against them, the tests pin behaviour with them."""
