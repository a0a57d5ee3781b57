"""The corpus builder: platform content in, a consent-clean training dataset out."""
