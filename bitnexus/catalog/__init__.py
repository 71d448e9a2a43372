"""Catalog: products and the rules for who sees and sells them."""
