"""Doctor tests build their archives with ``tests/dsave.py`` (hand-made) and
``tests/realcorpus.py`` (real producers)."""
