"""How production stores the static files: WhiteNoise's hashed, pre-compressed storage with gzip
copies only.

Measured on the project's own files (docs/performance.md): Brotli would save 1.4 KB on the
expert page's script and style sheet together (8.8 KB gzipped, 7.5 KB with Brotli), fetched
once and then cached for a year under their hashed names, while it makes `collectstatic` eight
times slower (29 s against 4 s on two cores; Brotli's quality 11 on every admin and API-doc
file). Every browser accepts gzip. WhiteNoise would compress with Brotli whenever the package
happens to be installed (a test tool pulls it in), so the choice is made here, not by the venv.
"""

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


class GzipManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Content-hashed names (cached for ever) with a ``.gz`` copy of every compressible file."""

    def create_compressor(self, **kwargs) -> Compressor:
        return Compressor(**{**kwargs, "use_brotli": False})
