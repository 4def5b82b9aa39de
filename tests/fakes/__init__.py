"""Local fake servers that speak the providers' real wire protocols on 127.0.0.1, for tests."""
