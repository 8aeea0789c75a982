"""The portal's own locale formats (FORMAT_MODULE_PATH); Django's are used for what is not here."""
