"""The bundled public dataset and the bulk importer/exporter that shares its format (see FORMAT.md)."""
