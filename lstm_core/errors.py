"""The one exception type for mistakes a user can make, carrying a translatable message."""

from __future__ import annotations


class LabError(ValueError):
    """A user-fixable problem; ``key`` names its sentence in the translation table.

    ``str(err)`` is the English sentence, so the command line and logs need no table lookup;
    the UI shows ``t(err.key, lang, **err.params)`` instead.
    """

    def __init__(self, key: str, **params: object) -> None:
        from lstm_core.i18n import t

        self.key = key
        self.params = params
        super().__init__(t(key, "en", **params))

    def __reduce__(self) -> tuple:
        """Pickled as its key and parameters (the default would rebuild it from its English sentence)."""
        return (_restore, (self.key, self.params))

    def message(self, lang: str = "en") -> str:
        """The sentence in ``lang``."""
        from lstm_core.i18n import t

        return t(self.key, lang, **self.params)


def _restore(key: str, params: dict[str, object]) -> LabError:
    return LabError(key, **params)
