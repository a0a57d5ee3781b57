"""Lineage: which datasets hold whose content, and which models were trained from them."""
