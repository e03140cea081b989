"""Import and export: the pipeline, the file formats, circulation, organizations."""
