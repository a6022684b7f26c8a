"""wordsmith: small text utilities (handmade test fixture)."""
