"""Control tables: row models, snapshot loading, validation, notebook parameters."""
