"""Video files and numbered-frame folders read as frame sequences with an exact, stable identity per frame."""
