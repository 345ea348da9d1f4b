"""A shared engine cache whose engines predict each distinct image once (CPU inference is the slow part of the
tests); the auto-label job tests and the app tests both use it."""

from __future__ import annotations

import hashlib

from protolabel.segmentation.project.autolabel import EngineCache


class MemoEngine:
    """The real engine; each (image, settings) pair is predicted once and the result reused."""

    def __init__(self, engine):
        self.engine, self.device, self._memo = engine, engine.device, {}

    def predict(self, images, settings=None):
        settings = settings or self.engine.settings
        keys = [hashlib.sha1(image.tobytes()).hexdigest() + repr(settings) for image in images]
        missing = [i for i, k in enumerate(keys) if k not in self._memo]
        for i, det in zip(missing, self.engine.predict([images[i] for i in missing], settings)):
            self._memo[keys[i]] = det
        return [self._memo[k] for k in keys]

    def predict_image(self, image, settings=None):
        return self.predict([image], settings)[0]

    def __getattr__(self, name):  # info, network, transform...: the real engine's (a video model's keyframe path)
        return getattr(self.engine, name)


class MemoEngineCache(EngineCache):
    """An `EngineCache` that hands out a `MemoEngine` around the engine it loaded."""

    def get(self, settings, on_load=None):
        engine = super().get(settings, on_load)
        if getattr(self, "_memo_engine", None) is None or self._memo_engine.engine is not engine:
            self._memo_engine = MemoEngine(engine)
        return self._memo_engine
