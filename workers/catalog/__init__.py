"""The library catalog, shared by the candidates stage (the hybrid builder checks it before asking Claude) and
the validation stage (which names each book from it): the `Catalog` Protocol (base), the local CSV index
(local), Open Library and Google Books (online), the matcher that scores a spine against a catalog's books,
and `make_catalog`, which picks one from the settings (factory).
"""
