"""Media handling for uploads: recognise, probe, derive thumbnails, read metadata."""
